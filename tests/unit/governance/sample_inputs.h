#pragma once

// A hand-built governance record's inputs: every section filled, nulls and non-nulls both
// present, so the describe test can check each field and the schema test can validate a record
// richer than this machine's.

#include <chrono>

#include "governance/describe.h"
#include "governance/describe_dra.h"

namespace udp::governance::testing {

struct Sample {
  config::Config config;
  DescribeInputs inputs;
  ProcessFacts process;
  BuildFacts build;
};

inline plugin::Device serialDevice() {
  plugin::Device d;
  d.id = "A1B2C3";
  d.numaNode = 1;
  d.devnode = "/dev/ttyUSB0";
  d.links = {"/dev/serial/by-id/usb-FTDI_A1B2C3-if00-port0"};
  d.syspath = "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0/ttyUSB0/tty/ttyUSB0";
  d.serial = "A1B2C3";
  d.subsystem = "tty";
  d.driver = "ftdi_sio";
  d.module = "ftdi_sio";
  d.vendor = "Future Technology Devices International, Ltd";
  d.model = "FT232 Serial (UART) IC";
  return d;
}

// Sample has pointers into itself: build it in place.
inline void fillSample(Sample& s) {
  config::Resource serial;
  serial.name = "example.com/serial";
  serial.permissions = "rw";
  serial.symlinks = true;
  serial.mounts = {{"/sys/class/tty", "/sys/class/tty", true}};
  serial.env = {{"SERIAL_PORTS", "{devnodes}"}, {"A_FIRST", "{ids}"}};
  serial.annotations = {{"example.com/owner", "{resource}"}};
  serial.onRemove = config::OnRemove::kUnhealthy;
  serial.health = config::HealthAttribute{"online", "1"};

  config::Resource fpga;
  fpga.name = "vendor.com/fpga";
  fpga.permissions = "r";
  fpga.containerPath = "/dev/fpga";
  fpga.cdi = true;
  fpga.serve = config::Serve::kBoth;

  s.config.kubeletDir = "/var/lib/kubelet/device-plugins";
  s.config.resources = {serial, fpga};
  s.config.dra = config::DraConfig{};
  s.config.dra->driverName = "udev.example.com";
  s.config.dra->kubeconfig = "/etc/udev-device-plugin/dra.kubeconfig";

  plugin::Device second = serialDevice();
  second.id = "D4E5F6";
  second.healthy = false;
  second.numaNode = -1;
  second.devnode = "/dev/ttyUSB1";
  second.links = {"/dev/serial/by-id/usb-FTDI_D4E5F6-if00-port0"};
  second.serial = "D4E5F6";

  plugin::Device card;
  card.id = "fpga0";
  card.devnode = "/dev/fpga0";
  card.subsystem = "misc";
  card.driver = "xdma";  // built in: no module

  s.inputs.configPath = "/etc/udev-device-plugin/config.yaml";
  s.inputs.configSha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  s.inputs.config = &s.config;
  s.inputs.resources = {{"example.com/serial", "registered", true, {serialDevice(), second}},
                        {"vendor.com/fpga", "waiting for kubelet.sock", false, {card}}};
  s.inputs.eventSource = "udev";
  s.inputs.metricsAddress = "127.0.0.1:9464";
  s.inputs.live = true;
  s.inputs.kubeletSocketPresent = true;
  s.inputs.dra = draViewOf(s.config, "worker-3");
  dra::DriverView live;
  live.apiServer = "https://10.96.0.1:443";
  live.apiConnected = true;
  live.published = false;
  live.publishError = "ResourceSlice worker-3-udev-example-com-1: HTTP 403";
  live.generation = 7;
  live.slices = {{"worker-3-udev-example-com-0", 128}, {"worker-3-udev-example-com-1", 3}};
  live.preparedClaims = 2;
  live.registered = true;
  live.lastDenied =
      dra::ApiDenial{{"resource.k8s.io", "resourceslices", "", "delete"},
                     "/apis/resource.k8s.io/v1/resourceslices/worker-3-udev-example-com-1",
                     "resourceslices.resource.k8s.io \"worker-3-udev-example-com-1\" is forbidden",
                     "2024-05-01T11:59:58.000Z"};
  s.inputs.dra->live = std::move(live);
  s.inputs.generatedAt = std::chrono::system_clock::time_point(std::chrono::seconds(1714564800));

  s.process.status.uid = 0;
  s.process.status.gid = 0;
  s.process.status.euid = 0;
  s.process.status.egid = 0;
  s.process.status.effectiveCapabilities = (uint64_t{1} << 21) | (uint64_t{1} << 27);
  s.process.status.boundingCapabilities = (uint64_t{1} << 41) - 1;
  s.process.status.noNewPrivs = true;
  s.process.status.seccomp = SeccompMode::kFilter;
  s.process.startedBy = "kubernetes";
  s.process.nodeName = "worker-3";
  s.process.linkage = "dynamic";
  s.process.liburing = {"/usr/lib/x86_64-linux-gnu/liburing.so.2.3", "2.3", "", ""};
  s.process.nghttp2 = {"/usr/lib/x86_64-linux-gnu/libnghttp2.so.14.24.1", "14.24.1", "1.52.0",
                       "1.52.0"};
  s.process.protobuf = {"", "static", "", "3.21.12"};
  s.process.libudev = {"/usr/lib/x86_64-linux-gnu/libudev.so.1.7.5", "1.7.5", "", ""};

  s.build = {"udev-device-plugin", "0.1.0", "92e1bba0c0de", "release"};
}

}  // namespace udp::governance::testing
