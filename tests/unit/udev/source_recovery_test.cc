// The udev source after a failure (a failed poll, as the reactor would report it): one report to
// the sink, the monitors closed, a retry after the backoff with fresh monitors and a reconciling
// rescan, so that what appeared or vanished while it was deaf is reported; then it follows
// uevents again. libudev's real enumeration and monitor on a umockdev testbed; must run under
// umockdev-wrapper, skipped (77) otherwise.

#include <doctest/doctest.h>
#include <errno.h>
#include <umockdev.h>

#include <chrono>
#include <string>

#include "reactor/reactor.h"
#include "recording_sink.h"
#include "script_runner.h"
#include "udev/udev_device_source.h"

namespace udp::udev {
namespace {

using namespace std::chrono_literals;
using testing::RecordingSink;
using testing::ScriptRunner;

class Testbed {
 public:
  Testbed() : bed_(umockdev_testbed_new()) {}
  ~Testbed() { g_object_unref(bed_); }
  Testbed(const Testbed&) = delete;
  Testbed& operator=(const Testbed&) = delete;

  // A serial port; umockdev sends its "add" uevent. Returns the syspath.
  std::string addTty(const std::string& name, const std::string& minor) {
    std::string devname = "/dev/" + name;
    gchar* path = umockdev_testbed_add_device(bed_, "tty", name.c_str(), nullptr, "dev",
                                              ("4:" + minor).c_str(), nullptr, "DEVNAME",
                                              devname.c_str(), nullptr);
    std::string out = path != nullptr ? path : "";
    g_free(path);
    REQUIRE(!out.empty());
    return out;
  }
  void removeTty(const std::string& syspath) {
    umockdev_testbed_uevent(bed_, syspath.c_str(), "remove");
    umockdev_testbed_remove_device(bed_, syspath.c_str());
  }

 private:
  UMockdevTestbed* bed_;
};

TEST_CASE("a failed source reports once, retries, and reconciles what changed while deaf") {
  for (config::UdevSource choice : {config::UdevSource::kKernel, config::UdevSource::kUdev}) {
    CAPTURE(static_cast<int>(choice));
    Testbed bed;
    std::string ttyS5 = bed.addTty("ttyS5", "69");
    bed.addTty("ttyS6", "70");
    config::Config config;
    config.udevSource = choice;
    config::Resource serial;
    serial.name = "example.com/serial";
    config::MatchRule rule;
    rule.subsystem = "tty";
    serial.match = {rule};
    config.resources.push_back(serial);
    const std::string name = serial.name;

    auto reactor = reactor::Reactor::create();
    REQUIRE(reactor.ok());
    ScriptRunner runner(**reactor);
    RecordingSink sink;
    UdevSourceOptions options;
    options.controlSocket = "/nonexistent/udev/control";
    // Long enough for the test to change devices while the source is deaf.
    options.retry = {300ms, 1000ms};
    UdevDeviceSource source(config, options);
    REQUIRE(source.start(**reactor, sink).ok());
    CHECK(sink.ups == 1);
    REQUIRE(sink.count(name) == 2);

    std::string failedStep = runner.run(
        {
            {"the poll fails; devices change while the source is deaf",
             [&] {
               source.simulateFailure({-EIO, "poll on the kernel monitor: Input/output error"});
               bed.removeTty(ttyS5);
               bed.addTty("ttyS7", "71");
             },
             [&] { return source.failing() && sink.downs.size() == 1; }},
            {"recovered: fresh monitors and a reconciling rescan",
             {},
             [&] { return sink.ups == 2; }},
            {"following uevents again",
             [&] {
               CHECK(sink.findBySyspathSuffix(name, "/ttyS7") != nullptr);
               CHECK(sink.findBySyspathSuffix(name, "/ttyS5") == nullptr);
               CHECK(sink.count(name) == 2);
               bed.addTty("ttyS8", "72");
             },
             [&] { return sink.findBySyspathSuffix(name, "/ttyS8") != nullptr; }},
            {"stop", [&] { source.stop(); }, [&] { return source.idle(); }},
        },
        5s);
    CHECK(failedStep == "");
    CHECK(sink.downs.size() == 1);
    CHECK(sink.downs.front() == "poll on the kernel monitor: Input/output error");
    CHECK(sink.rescans == 1);
    CHECK(source.rescans() == 1);
    CHECK(source.failure() == 0);
    CHECK_FALSE(source.failing());
  }
}

TEST_CASE("a source stopped while failing goes idle without retrying") {
  Testbed bed;
  bed.addTty("ttyS5", "69");
  config::Config config;
  config.udevSource = config::UdevSource::kKernel;
  config::Resource serial;
  serial.name = "example.com/serial";
  serial.match = {config::MatchRule{}};
  serial.match[0].subsystem = "tty";
  config.resources.push_back(serial);

  auto reactor = reactor::Reactor::create();
  REQUIRE(reactor.ok());
  ScriptRunner runner(**reactor);
  RecordingSink sink;
  UdevSourceOptions options;
  options.retry = {10s, 10s};
  UdevDeviceSource source(config, options);
  REQUIRE(source.start(**reactor, sink).ok());
  std::string failedStep = runner.run(
      {
          {"fail, then stop",
           [&] {
             source.simulateFailure({-EIO, "injected"});
             source.stop();
           },
           [&] { return source.idle(); }},
      },
      5s);
  CHECK(failedStep == "");
  CHECK(sink.ups == 1);
  CHECK(sink.downs.size() == 1);
}

}  // namespace
}  // namespace udp::udev
