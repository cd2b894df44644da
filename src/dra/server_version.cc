#include "dra/server_version.h"

#include "dra/json_document.h"

namespace udp::dra {

namespace {

constexpr std::string_view kForm =
    "expected a number of at most 4 digits, optionally followed by '+'";

int readMinor(Fields& f, const rapidjson::Value& doc) {
  const std::string minor = f.string(&doc, "", "minor");
  if (!f.ok()) return 0;
  if (minor.empty()) {
    f.fail("minor", "missing or empty");
    return 0;
  }
  std::string_view digits = minor;
  if (digits.ends_with('+')) digits.remove_suffix(1);
  if (digits.empty() || digits.size() > 4) {
    f.fail("minor", kForm);
    return 0;
  }
  int value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') {
      f.fail("minor", kForm);
      return 0;
    }
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace

Result<int> parseMinorVersion(std::string_view json) {
  // /version has no kind; one that names another (a Status) is not a version.
  return readApiObject<int>(json, kObjectLimits, "Version", false, readMinor);
}

}  // namespace udp::dra
