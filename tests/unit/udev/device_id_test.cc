#include "udev/device_id.h"

#include <doctest/doctest.h>

#include <set>

#include "record_builder.h"

namespace udp::udev {
namespace {

using testing::plainRecord;
using testing::usbSerialRecord;

TEST_CASE("the ID source prefers the short serial, then the serial, the path, the kernel name") {
  DeviceRecord r = usbSerialRecord();
  CHECK(idSource(r) == "A1B2C3");
  r.properties.erase("ID_SERIAL_SHORT");
  CHECK(idSource(r) == "FTDI_FT232R_USB_UART_A1B2C3");
  r.properties.erase("ID_SERIAL");
  CHECK(idSource(r) == "pci-0000:00:14.0-usb-0:1:1.0");
  r.properties["ID_PATH"] = "";  // empty values do not count
  CHECK(idSource(r) == "ttyUSB0");
}

TEST_CASE("sanitizeId keeps what the kubelet accepts") {
  CHECK(sanitizeId("A1B2C3") == "A1B2C3");
  CHECK(sanitizeId("a.b_c-d") == "a.b_c-d");
  CHECK(sanitizeId("pci-0000:00:14.0-usb-0:1:1.0") == "pci-0000_00_14.0-usb-0_1_1.0");
  CHECK(sanitizeId("with space/and\xc3\xa9") == "with_space_and__");
}

TEST_CASE("long IDs are cut to 63 with a hash that keeps them apart") {
  std::string a(80, 'x');
  std::string b = a;
  b.back() = 'y';  // differs only past the cut
  std::string idA = sanitizeId(a);
  std::string idB = sanitizeId(b);
  CHECK(idA.size() == kMaxDeviceIdLength);
  CHECK(idB.size() == kMaxDeviceIdLength);
  CHECK(idA != idB);
  CHECK(idA.substr(0, 54) == std::string(54, 'x'));
  CHECK(idA[54] == '-');
  CHECK(sanitizeId(a) == idA);  // stable
  CHECK(sanitizeId(std::string(63, 'z')) == std::string(63, 'z'));
}

TEST_CASE("shares turn one ID into <id>-<k>, all within 63 characters") {
  CHECK(shareIds("dev", 1) == std::vector<std::string>{"dev"});
  CHECK(shareIds("dev", 3) == std::vector<std::string>{"dev-0", "dev-1", "dev-2"});
  CHECK(maxBaseIdLength(1) == 63);
  CHECK(maxBaseIdLength(10) == 61);
  CHECK(maxBaseIdLength(11) == 60);
  CHECK(maxBaseIdLength(1000) == 59);
  std::string base = sanitizeId(std::string(100, 'q'), maxBaseIdLength(1000));
  std::set<std::string> unique;
  for (const std::string& id : shareIds(base, 1000)) {
    CHECK(id.size() <= kMaxDeviceIdLength);
    unique.insert(id);
  }
  CHECK(unique.size() == 1000);
}

TEST_CASE("the NUMA node comes from the nearest numa_node") {
  CHECK(numaNode(usbSerialRecord()) == 1);  // the PCI controller's
  CHECK(numaNode(plainRecord("zram0")) == -1);

  DeviceRecord own = usbSerialRecord();
  own.attributes = std::make_shared<MapAttributeReader>(
      std::vector<MapAttributeReader::Attributes>{{{"numa_node", "0\n"}}, {{"numa_node", "1"}}});
  CHECK(numaNode(own) == 0);

  DeviceRecord unknown = usbSerialRecord();
  unknown.attributes = std::make_shared<MapAttributeReader>(
      std::vector<MapAttributeReader::Attributes>{{{"numa_node", "-1\n"}}, {{"numa_node", "1"}}});
  CHECK(numaNode(unknown) == -1);

  DeviceRecord garbage = usbSerialRecord();
  garbage.attributes = std::make_shared<MapAttributeReader>(
      std::vector<MapAttributeReader::Attributes>{{{"numa_node", "one"}}});
  CHECK(numaNode(garbage) == -1);
}

TEST_CASE("health follows the resource's attribute when it has one") {
  config::Resource resource;
  CHECK(isHealthy(resource, usbSerialRecord()));
  resource.health = config::HealthAttribute{"close_delay", "5*"};
  CHECK(isHealthy(resource, usbSerialRecord()));
  resource.health = config::HealthAttribute{"close_delay", "0"};
  CHECK_FALSE(isHealthy(resource, usbSerialRecord()));
  resource.health = config::HealthAttribute{"online", "1"};  // absent: not healthy
  CHECK_FALSE(isHealthy(resource, usbSerialRecord()));
}

TEST_CASE("an unhealthy device says why; a healthy one says nothing") {
  config::Resource resource;
  CHECK(unhealthyReason(resource, usbSerialRecord()).empty());
  resource.health = config::HealthAttribute{"close_delay", "5*"};
  CHECK(unhealthyReason(resource, usbSerialRecord()).empty());
  resource.health = config::HealthAttribute{"close_delay", "0"};
  CHECK(unhealthyReason(resource, usbSerialRecord()) ==
        "attribute close_delay is \"50\", expected \"0\"");
  resource.health = config::HealthAttribute{"online", "1"};
  CHECK(unhealthyReason(resource, usbSerialRecord()) ==
        "attribute online is missing, expected \"1\"");

  DeviceRecord chatty = plainRecord("zram0");
  chatty.attributes = std::make_shared<MapAttributeReader>(
      std::vector<MapAttributeReader::Attributes>{{{"state", std::string(100, 'x')}}});
  resource.health = config::HealthAttribute{"state", "ok"};
  CHECK(unhealthyReason(resource, chatty) ==
        "attribute state is \"" + std::string(64, 'x') + "...\", expected \"ok\"");

  DeviceRecord binary = plainRecord("zram0");
  binary.attributes = std::make_shared<MapAttributeReader>(
      std::vector<MapAttributeReader::Attributes>{{{"state", "\xff" + std::string(70, 'y')}}});
  CHECK(unhealthyReason(resource, binary) ==
        "attribute state is \"\xef\xbf\xbd" + std::string(61, 'y') + "...\", expected \"ok\"");

  plugin::Device d = describeDevice(resource, chatty);
  CHECK_FALSE(d.healthy);
  CHECK(d.healthReason.starts_with("attribute state is"));
  CHECK_FALSE(d.removed);
}

TEST_CASE("vendor and product IDs: udev's, else USB attributes, else PCI ones in 0x form") {
  CHECK(vendorIdOf(usbSerialRecord()) == "0403");
  CHECK(productIdOf(usbSerialRecord()) == "6001");

  DeviceRecord usb = usbSerialRecord();
  usb.properties.erase("ID_VENDOR_ID");
  usb.properties.erase("ID_MODEL_ID");
  CHECK(vendorIdOf(usb) == "0403");  // idVendor of the USB device, three levels up
  CHECK(productIdOf(usb) == "6001");

  DeviceRecord pci = plainRecord("nvme0n1");
  pci.attributes = std::make_shared<MapAttributeReader>(std::vector<MapAttributeReader::Attributes>{
      {{"size", "0"}},
      {{"vendor", "ATA"}, {"device", "text, not an ID"}},  // a SCSI-like parent: skipped
      {{"vendor", "0x144d"}, {"device", "0xa808"}}});
  CHECK(vendorIdOf(pci) == "144d");
  CHECK(productIdOf(pci) == "a808");

  CHECK(vendorIdOf(plainRecord("zram0")).empty());
  CHECK(productIdOf(plainRecord("zram0")).empty());
}

TEST_CASE("describeDevice fills everything but the ID") {
  config::Resource resource;
  plugin::Device d = describeDevice(resource, usbSerialRecord());
  CHECK(d.id.empty());
  CHECK(d.healthy);
  CHECK(d.numaNode == 1);
  CHECK(d.devnode == "/dev/ttyUSB0");
  CHECK(d.links == usbSerialRecord().devlinks);
  CHECK(d.syspath == usbSerialRecord().syspath);
  CHECK(d.serial == "A1B2C3");
  CHECK(d.healthReason.empty());
  CHECK_FALSE(d.removed);
  CHECK(d.subsystem == "tty");
  CHECK(d.kernel == "ttyUSB0");
  CHECK(d.devtype.empty());
  CHECK(d.driver == "ftdi_sio");
  CHECK(d.vendorId == "0403");
  CHECK(d.productId == "6001");
  CHECK(d.idPath == "pci-0000:00:14.0-usb-0:1:1.0");
  CHECK(serialOf(plainRecord("zram0")).empty());

  plugin::Device zram = describeDevice(resource, plainRecord("zram0"));
  CHECK(zram.kernel == "zram0");
  CHECK(zram.devtype == "disk");
  CHECK(zram.idPath.empty());
  CHECK(zram.vendorId.empty());
}

TEST_CASE("trimTrailingSpace") {
  CHECK(trimTrailingSpace("1\n") == "1");
  CHECK(trimTrailingSpace("a b \t\r\n") == "a b");
  CHECK(trimTrailingSpace(" x") == " x");
  CHECK(trimTrailingSpace("\n").empty());
}

}  // namespace
}  // namespace udp::udev
