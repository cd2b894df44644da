#include "audit/audit_record.h"

#include <doctest/doctest.h>

#include "util/utc_time.h"

using namespace udp::audit;
using namespace std::chrono_literals;

namespace {

// 2024-05-01T12:34:56.789Z
const AuditTime kTime =
    std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 12h + 34min + 56s + 789ms;

}  // namespace

TEST_CASE("time is RFC 3339 UTC with milliseconds") {
  CHECK(udp::formatUtcMillis(kTime) == "2024-05-01T12:34:56.789Z");
  CHECK(udp::formatUtcMillis(AuditTime{}) == "1970-01-01T00:00:00.000Z");
  CHECK(udp::formatUtcMillis(AuditTime{} + 5ms) == "1970-01-01T00:00:00.005Z");
  CHECK(udp::formatUtcMillis(AuditTime{} - 1ms) == "1969-12-31T23:59:59.999Z");
  // Sub-millisecond parts are cut, never rounded up into the next second.
  CHECK(udp::formatUtcMillis(AuditTime{} + 999999us) == "1970-01-01T00:00:00.999Z");
  CHECK(udp::formatUtcMillis(AuditTime{} - 1us) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("allocate") {
  AllocateAudit ok{.resource = "example.com/serial",
                   .deviceIds = {"FT1", "FT2"},
                   .devnodes = {"/dev/ttyUSB0", "/dev/ttyUSB1"},
                   .serials = {"FT1", "FT2"},
                   .result = "ok",
                   .containers = 1};
  CHECK(renderAuditLine(ok, kTime) ==
        R"({"time":"2024-05-01T12:34:56.789Z","event":"allocate","resource":"example.com/serial",)"
        R"("result":"ok","deviceIds":["FT1","FT2"],"devnodes":["/dev/ttyUSB0","/dev/ttyUSB1"],)"
        R"("serials":["FT1","FT2"],"containers":1})");

  AllocateAudit refused{.resource = "example.com/serial",
                        .deviceIds = {"gone"},
                        .result = "unknown device \"gone\"",
                        .containers = 2};
  CHECK(renderAuditLine(refused, kTime) ==
        R"({"time":"2024-05-01T12:34:56.789Z","event":"allocate","resource":"example.com/serial",)"
        R"("result":"unknown device \"gone\"","deviceIds":["gone"],"devnodes":[],"serials":[],)"
        R"("containers":2})");
}

TEST_CASE("prestart") {
  CHECK(renderAuditLine(PreStartAudit{.resource = "example.com/fpga", .deviceIds = {"a", "b"}},
                        kTime) ==
        R"({"time":"2024-05-01T12:34:56.789Z","event":"prestart","resource":"example.com/fpga",)"
        R"("result":"ok","deviceIds":["a","b"]})");
}

TEST_CASE("health, with holders when known") {
  HealthAudit event{.resource = "example.com/serial",
                    .deviceId = "FT1",
                    .devnode = "/dev/ttyUSB0",
                    .serial = "FT1",
                    .from = HealthState::kHealthy,
                    .to = HealthState::kAbsent};
  const std::string head =
      R"({"time":"2024-05-01T12:34:56.789Z","event":"health","resource":"example.com/serial",)"
      R"("result":"ok","deviceId":"FT1","devnode":"/dev/ttyUSB0","serial":"FT1",)"
      R"("from":"Healthy","to":"absent")";

  SUBCASE("not known: no holders field") {
    CHECK(renderAuditLine(event, kTime) == head + "}");
  }
  SUBCASE("known to be nobody") {
    event.holders.emplace();
    CHECK(renderAuditLine(event, kTime) == head + R"(,"holders":[]})");
  }
  SUBCASE("held") {
    event.holders = {{.pod = "modem-0", .namespace_ = "edge", .container = "agent"},
                     {.pod = "logger", .namespace_ = "default", .container = "tail"}};
    CHECK(renderAuditLine(event, kTime) ==
          head + R"(,"holders":[{"pod":"modem-0","namespace":"edge","container":"agent"},)"
                 R"({"pod":"logger","namespace":"default","container":"tail"}]})");
  }
  SUBCASE("the kubelet's spelling of health") {
    event.from = HealthState::kUnhealthy;
    event.to = HealthState::kHealthy;
    CHECK(renderAuditLine(event, kTime).find(R"("from":"Unhealthy","to":"Healthy")") !=
          std::string::npos);
  }
}

TEST_CASE("registration") {
  CHECK(renderAuditLine(RegistrationAudit{.resource = "example.com/serial",
                                          .endpoint = "example.com_serial.sock",
                                          .ok = true},
                        kTime) ==
        R"({"time":"2024-05-01T12:34:56.789Z","event":"registration",)"
        R"("resource":"example.com/serial","result":"ok","endpoint":"example.com_serial.sock",)"
        R"("message":""})");
  CHECK(renderAuditLine(RegistrationAudit{.resource = "example.com/serial",
                                          .endpoint = "example.com_serial.sock",
                                          .ok = false,
                                          .message = "UNAVAILABLE: connect: refused"},
                        kTime) ==
        R"({"time":"2024-05-01T12:34:56.789Z","event":"registration",)"
        R"("resource":"example.com/serial","result":"failed","endpoint":"example.com_serial.sock",)"
        R"("message":"UNAVAILABLE: connect: refused"})");
}

TEST_CASE("kubelet restart and dropped lines are about no one resource") {
  CHECK(renderAuditLine(KubeletRestartAudit{.kubeletDir = "/var/lib/kubelet/device-plugins"},
                        kTime) ==
        R"({"time":"2024-05-01T12:34:56.789Z","event":"kubelet-restart","resource":null,)"
        R"("result":"ok","kubeletDir":"/var/lib/kubelet/device-plugins"})");
  CHECK(renderAuditLine(DroppedAudit{.lines = 12}, kTime) ==
        R"({"time":"2024-05-01T12:34:56.789Z","event":"audit-dropped","resource":null,)"
        R"("result":"failed","lines":12})");
}

TEST_CASE("everything a device or an error may contain is escaped: one line stays one line") {
  AllocateAudit event{.resource = "example.com/odd",
                      .deviceIds = {"a\"b\\c"},
                      .devnodes = {"/dev/x\ny"},
                      .serials = {std::string("t\tu\x01v\x1f\0", 7)},
                      .result = "failed:\r\nsecond line",
                      .containers = 1};
  std::string line = renderAuditLine(event, kTime);
  CHECK(line.find('\n') == std::string::npos);
  CHECK(line.find('\r') == std::string::npos);
  CHECK(line ==
        R"({"time":"2024-05-01T12:34:56.789Z","event":"allocate","resource":"example.com/odd",)"
        R"("result":"failed:\r\nsecond line","deviceIds":["a\"b\\c"],"devnodes":["/dev/x\ny"],)"
        R"("serials":["t\tu\u0001v\u001f\u0000"],"containers":1})");
  // UTF-8 passes through untouched.
  CHECK(renderAuditLine(PreStartAudit{.resource = "r", .deviceIds = {"gerät-µ"}}, kTime)
            .find(R"(["gerät-µ"])") != std::string::npos);
}
