#include "governance/describe.h"

#include <doctest/doctest.h>

#include <string>

#include "../udev/record_builder.h"
#include "cli/command_line.h"
#include "governance/describe_offline.h"
#include "governance/json_pretty.h"
#include "sample_inputs.h"
#include "udev/device_id.h"

namespace udp::governance {
namespace {

std::string sampleRecord() {
  testing::Sample sample;
  testing::fillSample(sample);
  return describeJson(sample.inputs, sample.process, sample.build);
}

// Each section is checked whole, so every field's name, order, type and value is pinned.
TEST_CASE("describe: plugin, deployment and privileges") {
  std::string json = sampleRecord();
  CHECK(json.starts_with(
      R"({"plugin":{"name":"udev-device-plugin","version":"0.1.0","commit":"92e1bba0c0de",)"
      R"("buildType":"release","linkage":"dynamic","libraries":{)"
      R"("liburing":{"version":"2.3","file":"/usr/lib/x86_64-linux-gnu/liburing.so.2.3",)"
      R"("runtimeVersion":null,"headerVersion":null},)"
      R"("nghttp2":{"version":"14.24.1","file":"/usr/lib/x86_64-linux-gnu/libnghttp2.so.14.24.1",)"
      R"("runtimeVersion":"1.52.0","headerVersion":"1.52.0"},)"
      R"("protobuf":{"version":"static","file":null,"runtimeVersion":null,)"
      R"("headerVersion":"3.21.12"},)"
      R"("libudev":{"version":"1.7.5","file":"/usr/lib/x86_64-linux-gnu/libudev.so.1.7.5",)"
      R"("runtimeVersion":null,"headerVersion":null}}},)"
      R"("deployment":{"startedBy":"kubernetes","nodeName":"worker-3"},)"
      R"("privileges":{"uid":0,"gid":0,"euid":0,"egid":0,)"
      R"("effectiveCapabilities":["CAP_SYS_ADMIN","CAP_MKNOD"],"boundingCapabilities":[)"));
  CHECK(
      json.find(R"("CAP_BPF","CAP_CHECKPOINT_RESTORE"],"noNewPrivs":true,"seccomp":"filter"},)") !=
      std::string::npos);
}

TEST_CASE("describe: kubelet and config") {
  std::string json = sampleRecord();
  CHECK(json.find(
            R"("kubelet":{"directory":"/var/lib/kubelet/device-plugins","socketPresent":true,)"
            R"("resources":[{"name":"example.com/serial","registration":"registered",)"
            R"("streaming":true},{"name":"vendor.com/fpga",)"
            R"("registration":"waiting for kubelet.sock","streaming":false}]},)"
            R"("config":{"path":"/etc/udev-device-plugin/config.yaml",)"
            R"("sha256":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},)") !=
        std::string::npos);
}

TEST_CASE("describe: devices, what containers get, driver prerequisites") {
  std::string json = sampleRecord();
  CHECK(json.find(R"("resources":[{"name":"example.com/serial","devices":[)"
                  R"({"id":"A1B2C3","devnode":"/dev/ttyUSB0",)"
                  R"("links":["/dev/serial/by-id/usb-FTDI_A1B2C3-if00-port0"],"subsystem":"tty",)"
                  R"("driver":"ftdi_sio","vendor":"Future Technology Devices International, Ltd",)"
                  R"("model":"FT232 Serial (UART) IC","serial":"A1B2C3","numaNode":1,)"
                  R"("health":"Healthy"},)"
                  R"({"id":"D4E5F6","devnode":"/dev/ttyUSB1",)"
                  R"("links":["/dev/serial/by-id/usb-FTDI_D4E5F6-if00-port0"],"subsystem":"tty",)"
                  R"("driver":"ftdi_sio","vendor":"Future Technology Devices International, Ltd",)"
                  R"("model":"FT232 Serial (UART) IC","serial":"D4E5F6","numaNode":null,)"
                  R"("health":"Unhealthy"}],)"
                  // symlinks: true hands the links over too; env and annotation keys, not values.
                  R"("handedToContainers":{"hostPaths":["/dev/ttyUSB0",)"
                  R"("/dev/serial/by-id/usb-FTDI_A1B2C3-if00-port0","/dev/ttyUSB1",)"
                  R"("/dev/serial/by-id/usb-FTDI_D4E5F6-if00-port0"],)"
                  R"("mounts":[{"hostPath":"/sys/class/tty","containerPath":"/sys/class/tty",)"
                  R"("readOnly":true}],"envKeys":["A_FIRST","SERIAL_PORTS"],)"
                  R"("annotationKeys":["example.com/owner"],"cdiNames":[],"permissions":"rw",)"
                  R"("containerPath":null},)"
                  // Two devices, one driver: listed once.
                  R"("driverPrerequisites":[{"driver":"ftdi_sio","module":"ftdi_sio"}]},)") !=
        std::string::npos);
  CHECK(json.find(R"({"name":"vendor.com/fpga","devices":[{"id":"fpga0","devnode":"/dev/fpga0",)"
                  R"("links":[],"subsystem":"misc","driver":"xdma","vendor":null,"model":null,)"
                  R"("serial":null,"numaNode":null,"health":"Healthy"}],)"
                  R"("handedToContainers":{"hostPaths":["/dev/fpga0"],"mounts":[],"envKeys":[],)"
                  R"("annotationKeys":[],"cdiNames":["vendor.com/fpga=fpga0"],)"
                  R"("permissions":"r","containerPath":"/dev/fpga"},)"
                  R"("driverPrerequisites":[{"driver":"xdma","module":null}]}],)") !=
        std::string::npos);
}

TEST_CASE("describe: health monitoring, time and liveness") {
  std::string json = sampleRecord();
  CHECK(json.find(R"("healthMonitoring":{"eventSource":"udev","onRemove":[)"
                  R"({"resource":"example.com/serial","policy":"unhealthy"},)"
                  R"({"resource":"vendor.com/fpga","policy":"drop"}],)"
                  R"("attributeRules":[{"resource":"example.com/serial","attribute":"online",)"
                  R"("healthy":"1"}],"metricsAddress":"127.0.0.1:9464"},"dra":{)") !=
        std::string::npos);
  CHECK(json.ends_with(R"(},"generatedAt":"2024-05-01T12:00:00Z","live":true})"));
}

// The live shape: what the running driver says of its API connection, pool and claims.
TEST_CASE("describe: the DRA driver of a running daemon") {
  std::string json = sampleRecord();
  CHECK(
      json.find(
          R"("dra":{"driverName":"udev.example.com","nodeName":"worker-3",)"
          R"("registrationSocket":"/var/lib/kubelet/plugins_registry/udev.example.com-reg.sock",)"
          R"("pluginSocket":"/var/lib/kubelet/plugins/udev.example.com/dra.sock",)"
          // The file, never what is in it.
          R"("kubeconfig":{"source":"file","path":"/etc/udev-device-plugin/dra.kubeconfig"},)"
          // Only the resources served through DRA, with their DeviceClasses.
          R"("resources":[{"name":"vendor.com/fpga","serve":"both","deviceClass":"fpga.vendor.com"}],)"
          R"("api":{"server":"https://10.96.0.1:443","connected":true,"lastError":null},)"
          R"("registered":true,)"
          R"("pool":{"name":"worker-3","published":false,"generation":7,)"
          R"("lastError":"ResourceSlice worker-3-udev-example-com-1: HTTP 403",)"
          R"("slices":[{"name":"worker-3-udev-example-com-0","devices":128},)"
          R"({"name":"worker-3-udev-example-com-1","devices":3}]},)"
          R"("preparedClaims":2,)"
          R"("rbac":{"rules":[{"apiGroups":["resource.k8s.io"],"resources":["resourceslices"],)"
          R"("verbs":["list","watch","create","update","delete"]},)"
          R"({"apiGroups":["resource.k8s.io"],"resources":["resourceclaims"],"verbs":["get"]},)"
          R"({"nonResourceURLs":["/version"],"verbs":["get"]}],)"
          R"("lastDenied":{"apiGroup":"resource.k8s.io","resource":"resourceslices",)"
          R"("verb":"delete",)"
          R"("path":"/apis/resource.k8s.io/v1/resourceslices/worker-3-udev-example-com-1",)"
          R"("message":"resourceslices.resource.k8s.io \"worker-3-udev-example-com-1\" is )"
          R"(forbidden","at":"2024-05-01T11:59:58.000Z","granted":true}}},)") != std::string::npos);
}

plugin::Device numbered(int i) {
  plugin::Device d;
  d.id = "dev" + std::to_string(i);
  d.devnode = "/dev/fpga" + std::to_string(i);
  return d;
}

// The offline shape: no live facts; the slices one scan would make, not published.
TEST_CASE("describe: the DRA driver offline") {
  testing::Sample sample;
  testing::fillSample(sample);
  sample.inputs.live = false;
  std::vector<ResourceView> resources = sample.inputs.resources;
  // 130 devices of the DRA resource: two slices, 128 and 2; the serial port is not DRA's.
  resources[1].devices.clear();
  for (int i = 0; i < 130; ++i) resources[1].devices.push_back(numbered(i));
  sample.config.dra->kubeconfig.clear();
  sample.inputs.dra = offlineDraView(sample.config, resources, "worker-3");
  REQUIRE(sample.inputs.dra);
  std::string json = describeJson(sample.inputs, sample.process, sample.build);
  CHECK(
      json.find(
          R"("kubeconfig":{"source":"in-cluster","path":null},)"
          R"("resources":[{"name":"vendor.com/fpga","serve":"both","deviceClass":"fpga.vendor.com"}],)"
          R"("api":{"server":null,"connected":null,"lastError":null},"registered":null,)"
          R"("pool":{"name":"worker-3","published":false,"generation":null,"lastError":null,)"
          R"("slices":[{"name":"worker-3-udev-example-com-0","devices":128},)"
          R"({"name":"worker-3-udev-example-com-1","devices":2}]},"preparedClaims":null,)"
          R"("rbac":{"rules":[{"apiGroups":["resource.k8s.io"],)") != std::string::npos);
  CHECK(json.find(R"("lastDenied":null}})") != std::string::npos);

  // No node name to be had: no pool to name, no slices.
  sample.inputs.dra = offlineDraView(sample.config, resources, "");
  json = describeJson(sample.inputs, sample.process, sample.build);
  CHECK(json.find(R"("dra":{"driverName":"udev.example.com","nodeName":null,)") !=
        std::string::npos);
  CHECK(json.find(R"("pool":{"name":null,"published":false,"generation":null,"lastError":null,)"
                  R"("slices":[]})") != std::string::npos);

  // Nothing served through DRA: no section.
  sample.config.resources[1].serve = config::Serve::kDevicePlugin;
  CHECK_FALSE(offlineDraView(sample.config, resources, "worker-3"));
  sample.config.resources[1].serve = config::Serve::kDra;
  sample.config.dra.reset();
  CHECK_FALSE(offlineDraView(sample.config, resources, "worker-3"));
}

TEST_CASE("describe: an offline record without metrics or config") {
  testing::Sample sample;
  testing::fillSample(sample);
  sample.inputs.metricsAddress.clear();
  sample.inputs.live = false;
  sample.inputs.resources.clear();
  sample.inputs.config = nullptr;
  sample.inputs.dra.reset();
  std::string json = describeJson(sample.inputs, sample.process, sample.build);
  CHECK(json.find(R"("metricsAddress":null},"dra":null,)") != std::string::npos);
  CHECK(json.find(R"("resources":[],"healthMonitoring")") != std::string::npos);
  CHECK(json.find(R"("onRemove":[],"attributeRules":[])") != std::string::npos);
  CHECK(json.ends_with(R"("live":false})"));
  // Without a time given, it is now.
  sample.inputs.generatedAt.reset();
  std::string now = rfc3339Utc(std::chrono::system_clock::now());
  CHECK(describeJson(sample.inputs, sample.process, sample.build).find(now.substr(0, 13)) !=
        std::string::npos);
}

TEST_CASE("the describe command needs a config") {
  auto line = cli::parseCommandLine({"describe", "--config", "/etc/udp.yaml"});
  REQUIRE(line);
  CHECK(line->command == cli::Command::kDescribe);
  CHECK(line->configPath == "/etc/udp.yaml");
  CHECK_FALSE(cli::parseCommandLine({"describe"}));
}

TEST_CASE("RFC 3339 in UTC") {
  using std::chrono::seconds;
  CHECK(rfc3339Utc(std::chrono::system_clock::time_point(seconds(0))) == "1970-01-01T00:00:00Z");
  CHECK(rfc3339Utc(std::chrono::system_clock::time_point(seconds(1714564800))) ==
        "2024-05-01T12:00:00Z");
}

TEST_CASE("the pretty printer indents but leaves strings alone") {
  CHECK(prettyJson(R"({"a":[1,2],"b":{},"c":[],"d":"x,{\"y\":[]}"})") ==
        "{\n"
        "  \"a\": [\n"
        "    1,\n"
        "    2\n"
        "  ],\n"
        "  \"b\": {},\n"
        "  \"c\": [],\n"
        "  \"d\": \"x,{\\\"y\\\":[]}\"\n"
        "}\n");
}

TEST_CASE("devices carry subsystem, driver, module, vendor and model from the record") {
  udev::DeviceRecord record = udev::testing::usbSerialRecord();
  record.module = "ftdi_sio";
  config::Resource resource;
  plugin::Device device = udev::describeDevice(resource, record);
  CHECK(device.subsystem == "tty");
  CHECK(device.driver == "ftdi_sio");
  CHECK(device.module == "ftdi_sio");
  // No hardware database entry in the record: the udev IDs.
  CHECK(device.vendor == "0403");
  CHECK(device.model == "6001");
}

TEST_CASE("vendor and model: database, then udev properties, then sysfs of the nearest parent") {
  udev::DeviceRecord record = udev::testing::usbSerialRecord();
  record.properties["ID_VENDOR"] = "FTDI";
  record.properties["ID_MODEL"] = "FT232R_USB_UART";
  CHECK(udev::vendorOf(record) == "FTDI");
  CHECK(udev::modelOf(record) == "FT232R_USB_UART");
  record.properties["ID_VENDOR_FROM_DATABASE"] = "Future Technology Devices International, Ltd";
  record.properties["ID_MODEL_FROM_DATABASE"] = "FT232 Serial (UART) IC";
  CHECK(udev::vendorOf(record) == "Future Technology Devices International, Ltd");
  CHECK(udev::modelOf(record) == "FT232 Serial (UART) IC");

  // Kernel uevents only: no udev properties, the USB device's idVendor/idProduct (level 3)
  // come before the PCI controller's vendor (level 4).
  record.properties.clear();
  CHECK(udev::vendorOf(record) == "0403");
  CHECK(udev::modelOf(record) == "6001");

  udev::DeviceRecord plain = udev::testing::plainRecord("loop0");
  CHECK(udev::vendorOf(plain).empty());
  CHECK(udev::modelOf(plain).empty());
}

}  // namespace
}  // namespace udp::governance
