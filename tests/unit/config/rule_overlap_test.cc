#include "config/rule_overlap.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "config/config_parser.h"
#include "config/glob.h"
#include "test_support.h"

using namespace udp::config;
using udp::config::testing::expectConfig;
using udp::config::testing::lines;

namespace {

// Every string of up to `maxLength` bytes over `alphabet`.
std::vector<std::string> allStrings(std::string_view alphabet, size_t maxLength) {
  std::vector<std::string> out = {""};
  for (size_t begin = 0, length = 0; length < maxLength; ++length) {
    size_t end = out.size();
    for (size_t i = begin; i < end; ++i) {
      for (char c : alphabet) out.push_back(out[i] + c);
    }
    begin = end;
  }
  return out;
}

bool someStringMatchesBoth(const std::string& a, const std::string& b,
                           const std::vector<std::string>& texts) {
  for (const std::string& text : texts) {
    if (globMatch(a, text) && globMatch(b, text)) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("globsMayIntersect") {
  CHECK(globsMayIntersect("ttyUSB*", "ttyUSB[0-9]"));
  CHECK(globsMayIntersect("*0", "tty*"));
  CHECK(globsMayIntersect("*", ""));
  CHECK(globsMayIntersect("a*b*c", "*c"));
  CHECK(globsMayIntersect("[[:digit:]]x", "5?"));
  CHECK_FALSE(globsMayIntersect("ttyUSB*", "ttyACM*"));
  CHECK_FALSE(globsMayIntersect("loop*", "zram*"));
  CHECK_FALSE(globsMayIntersect("sd[a-c]", "sd[d-z]"));
  CHECK_FALSE(globsMayIntersect("sd[!a]", "sda"));
  CHECK_FALSE(globsMayIntersect("[[:digit:]]", "[[:alpha:]]"));
  CHECK_FALSE(globsMayIntersect("a\\*", "ab"));
  CHECK_FALSE(globsMayIntersect("*a", "*b"));
  CHECK_FALSE(globsMayIntersect("?", ""));

  // Against brute force: never false when a string matches both, and, for these short patterns,
  // never true when none of the strings up to 7 bytes does.
  std::vector<std::string> patterns = {"",       "a",   "b",      "*",   "?",    "a*",
                                       "*a",     "*b*", "a?b",    "??",  "[ab]", "[!a]",
                                       "a[!a]*", "*/*", "[a-b]?", "b*a", "\\*"};
  std::vector<std::string> texts = allStrings("ab/*", 7);
  for (const std::string& a : patterns) {
    for (const std::string& b : patterns) {
      CAPTURE(a);
      CAPTURE(b);
      CHECK(globsMayIntersect(a, b) == someStringMatchesBoth(a, b, texts));
    }
  }
}

TEST_CASE("rulesMayOverlap") {
  MatchRule tty;
  tty.subsystem = "tty";
  tty.kernel = "ttyUSB*";
  MatchRule other = tty;
  CHECK(rulesMayOverlap(tty, other));

  other.subsystem = "block";
  CHECK_FALSE(rulesMayOverlap(tty, other));
  other.subsystem.reset();  // any subsystem: may be tty
  CHECK(rulesMayOverlap(tty, other));
  other.kernel = "ttyACM*";
  CHECK_FALSE(rulesMayOverlap(tty, other));
  other.kernel = "tty*";
  other.properties = {{"ID_VENDOR_ID", "0403"}};
  CHECK(rulesMayOverlap(tty, other));  // tty says nothing of the vendor
  tty.properties = {{"ID_VENDOR_ID", "067b"}};
  CHECK_FALSE(rulesMayOverlap(tty, other));
  tty.properties.clear();
  tty.parentAttributes = {{"idVendor", "0403"}};
  other.parentAttributes = {{"idVendor", "067b"}};  // may be met on two different ancestors
  CHECK(rulesMayOverlap(tty, other));
  other.devtype = "disk";
  tty.devtype = "partition";
  CHECK_FALSE(rulesMayOverlap(tty, other));
}

TEST_CASE("overlapWarnings: at the later rule, naming both resources") {
  Config config = expectConfig(lines({
      "resources:",
      "  - name: example.com/serial",
      "    match: [{subsystem: tty, kernel: \"ttyUSB*\"}]",
      "  - name: example.com/zram",
      "    match: [{subsystem: block, kernel: \"zram*\"}]",
      "  - name: example.com/tty",
      "    match:",
      "      - {subsystem: tty, kernel: \"ttyACM*\"}",
      "      - {kernel: \"tty*\"}",
  }));
  std::vector<Diagnostic> warnings = overlapWarnings(config);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].severity == Severity::kWarning);
  CHECK(warnings[0].position.line == 9);
  std::string text = formatDiagnostic("c.yaml", warnings[0]);
  CHECK(text.starts_with("c.yaml:9:9: warning: this rule of 'example.com/tty' may match"));
  CHECK(text.find("'example.com/serial' at line 3") != std::string::npos);
  CHECK(text.find("shareDevicesWithEarlierResources") != std::string::npos);

  SUBCASE("no warning where the later resource shares on purpose") {
    config.resources[2].shareDevicesWithEarlierResources = true;
    CHECK(overlapWarnings(config).empty());
  }
}

TEST_CASE("the packaged example has no overlapping rules") {
  ParseOutcome outcome = parseConfig(lines({
      "resources:",
      "  - name: example.com/loop",
      "    match: [{subsystem: block, kernel: \"loop[0-9]*\"}]",
      "  - name: example.com/zram",
      "    match: [{subsystem: block, kernel: \"zram*\"}]",
  }));
  REQUIRE(outcome.config);
  CHECK(overlapWarnings(*outcome.config).empty());
}
