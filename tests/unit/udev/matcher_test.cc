#include "udev/matcher.h"

#include <doctest/doctest.h>

#include "record_builder.h"

namespace udp::udev {
namespace {

using testing::usbSerialRecord;

bool matches(const config::MatchRule& rule) {
  return matchesRule(rule, usbSerialRecord());
}

TEST_CASE("an empty rule matches every device") {
  CHECK(matches({}));
}

TEST_CASE("subsystem is exact") {
  config::MatchRule rule;
  rule.subsystem = "tty";
  CHECK(matches(rule));
  rule.subsystem = "tt*";
  CHECK_FALSE(matches(rule));
  rule.subsystem = "usb-serial";
  CHECK_FALSE(matches(rule));
}

TEST_CASE("kernel is a glob on the kernel name") {
  config::MatchRule rule;
  rule.kernel = "ttyUSB*";
  CHECK(matches(rule));
  rule.kernel = "ttyUSB[0-3]";
  CHECK(matches(rule));
  rule.kernel = "ttyACM*";
  CHECK_FALSE(matches(rule));
  rule.kernel = "ttyUSB";
  CHECK_FALSE(matches(rule));
}

TEST_CASE("devnode is a glob on the device node") {
  config::MatchRule rule;
  rule.devnode = "/dev/ttyUSB*";
  CHECK(matches(rule));
  rule.devnode = "/dev/ttyS*";
  CHECK_FALSE(matches(rule));

  DeviceRecord nodeless = usbSerialRecord();
  nodeless.devnode.clear();
  rule.devnode = "*";
  CHECK_FALSE(matchesRule(rule, nodeless));
}

TEST_CASE("devtype is exact") {
  config::MatchRule rule;
  rule.devtype = "disk";
  CHECK(matchesRule(rule, testing::plainRecord("zram0")));
  CHECK_FALSE(matches(rule));  // the tty has no devtype
  rule.devtype = "dis*";
  CHECK_FALSE(matchesRule(rule, testing::plainRecord("zram0")));
}

TEST_CASE("driver is a glob on the effective driver") {
  config::MatchRule rule;
  rule.driver = "ftdi_sio";
  CHECK(matches(rule));
  rule.driver = "ftdi*";
  CHECK(matches(rule));
  rule.driver = "cdc_acm";
  CHECK_FALSE(matches(rule));

  DeviceRecord driverless = usbSerialRecord();
  driverless.driver.clear();
  rule.driver = "*";
  CHECK_FALSE(matchesRule(rule, driverless));
}

TEST_CASE("properties are glob values and must all be present") {
  config::MatchRule rule;
  rule.properties = {{"ID_VENDOR_ID", "0403"}};
  CHECK(matches(rule));
  rule.properties = {{"ID_VENDOR_ID", "04*"}, {"ID_MODEL_ID", "6001"}};
  CHECK(matches(rule));
  rule.properties = {{"ID_VENDOR_ID", "0404"}};
  CHECK_FALSE(matches(rule));
  rule.properties = {{"ID_VENDOR_ID", "0403"}, {"ID_MODEL_ID", "6015"}};
  CHECK_FALSE(matches(rule));
  rule.properties = {{"ID_NOT_THERE", "*"}};
  CHECK_FALSE(matches(rule));
}

TEST_CASE("attributes are the device's own, trimmed, glob values") {
  config::MatchRule rule;
  rule.attributes = {{"close_delay", "50"}};  // sysfs says "50\n"
  CHECK(matches(rule));
  rule.attributes = {{"close_delay", "5*"}, {"type", "4"}};
  CHECK(matches(rule));
  rule.attributes = {{"close_delay", "500"}};
  CHECK_FALSE(matches(rule));
  rule.attributes = {{"idVendor", "0403"}};  // a parent's attribute, not the device's
  CHECK_FALSE(matches(rule));
  rule.attributes = {{"missing", "*"}};
  CHECK_FALSE(matches(rule));
}

TEST_CASE("parentAttributes match on one device up the chain, like ATTRS") {
  config::MatchRule rule;
  rule.parentAttributes = {{"idVendor", "0403"}};
  CHECK(matches(rule));
  rule.parentAttributes = {{"idVendor", "0403"}, {"idProduct", "60*"}};
  CHECK(matches(rule));
  rule.parentAttributes = {{"vendor", "0x8086"}};  // the PCI controller, four levels up
  CHECK(matches(rule));
  rule.parentAttributes = {{"idVendor", "0403"}, {"idProduct", "6015"}};
  CHECK_FALSE(matches(rule));
  // Both exist, but on different ancestors: udev's ATTRS would not match either.
  rule.parentAttributes = {{"idVendor", "0403"}, {"vendor", "0x8086"}};
  CHECK_FALSE(matches(rule));
  rule.parentAttributes = {{"idVendor", "1d6b"}};
  CHECK_FALSE(matches(rule));
}

TEST_CASE("a rule needs every key, a resource any rule") {
  config::MatchRule good;
  good.subsystem = "tty";
  good.kernel = "ttyUSB*";
  good.driver = "ftdi_sio";
  good.properties = {{"ID_VENDOR_ID", "0403"}};
  good.parentAttributes = {{"idProduct", "6001"}};
  CHECK(matches(good));

  config::MatchRule bad = good;
  bad.kernel = "ttyACM*";
  CHECK_FALSE(matches(bad));

  config::Resource resource;
  resource.name = "example.com/serial";
  CHECK_FALSE(matchesResource(resource, usbSerialRecord()));  // no rules, no devices
  resource.match = {bad};
  CHECK_FALSE(matchesResource(resource, usbSerialRecord()));
  resource.match = {bad, good};
  CHECK(matchesResource(resource, usbSerialRecord()));
}

TEST_CASE("globMatch lets '*' cross '/' like udev") {
  CHECK(globMatch("/dev/serial/*", "/dev/serial/by-id/x"));
  CHECK(globMatch("a?c", "abc"));
  CHECK_FALSE(globMatch("a?c", "abbc"));
}

}  // namespace
}  // namespace udp::udev
