// libFuzzer target for the Prometheus exposition: whatever bytes end up in label values (resource
// names, results, version strings), the text stays valid format 0.0.4 — every line a comment or
// a sample, label values escaped and valid UTF-8 — and each value reads back as written (or
// repaired, when it was not UTF-8).

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/metrics.h"

namespace {

void require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "exposition_fuzzer: %s\n", what);
    std::abort();
  }
}

bool validUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char b = static_cast<unsigned char>(s[i]);
    size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xe ? 3 : (b >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? b : b & (0x7f >> n);
    for (size_t k = 1; k < n; ++k) {
      unsigned char c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n;
  }
  return true;
}

bool nameChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

// Parses one sample line; collects its label values, unescaped.
void checkSample(std::string_view line, std::vector<std::string>& values) {
  size_t i = 0;
  while (i < line.size() && nameChar(line[i], i == 0)) ++i;
  require(i > 0, "sample without a name");
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (true) {
      size_t start = i;
      while (i < line.size() && nameChar(line[i], i == start)) ++i;
      require(i > start && i + 1 < line.size() && line.substr(i, 2) == "=\"", "bad label");
      i += 2;
      std::string value;
      while (true) {
        require(i < line.size(), "unterminated label value");
        char c = line[i++];
        if (c == '"') break;
        if (c == '\\') {
          require(i < line.size(), "dangling escape");
          char e = line[i++];
          require(e == '\\' || e == '"' || e == 'n', "unknown escape");
          value.push_back(e == 'n' ? '\n' : e);
        } else {
          value.push_back(c);
        }
      }
      values.push_back(value);
      require(i < line.size(), "labels not closed");
      if (line[i] == '}') {
        ++i;
        break;
      }
      require(line[i] == ',', "labels not separated by commas");
      ++i;
    }
  }
  require(i < line.size() && line[i] == ' ', "no space before the value");
  std::string_view value = line.substr(i + 1);
  require(!value.empty() && value.find(' ') == std::string_view::npos, "bad value");
  char* end = nullptr;
  std::string copy(value);
  std::strtod(copy.c_str(), &end);
  require(*end == '\0' || copy == "+Inf" || copy == "-Inf" || copy == "NaN", "value not a float");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider provider(data, size);
  std::string resource = provider.ConsumeRandomLengthString(64);
  std::string result = provider.ConsumeRandomLengthString(32);
  std::string version = provider.ConsumeRandomLengthString(32);
  udp::metrics::Metrics m(version, "c");
  m.setProcessStartTime(provider.ConsumeFloatingPoint<double>());
  m.setDevices(resource, provider.ConsumeIntegral<uint32_t>(), provider.ConsumeIntegral<uint8_t>());
  m.allocation(resource, result);
  m.observeAllocate(resource, provider.ConsumeFloatingPoint<double>());
  m.observeAllocate(resource, provider.ConsumeProbability<double>());
  m.uevent(provider.ConsumeRandomLengthString(16));
  m.setRegistered(resource, provider.ConsumeBool());
  m.setStreams(resource, provider.ConsumeIntegral<uint16_t>());

  const std::string text = m.renderPrometheus();
  require(validUtf8(text), "the exposition is not UTF-8");
  require(!text.empty() && text.back() == '\n', "no final newline");
  std::vector<std::string> values;
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol + 1);
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) continue;
    require(!line.starts_with("#"), "unknown comment");
    checkSample(line, values);
  }
  bool sawResource = false;
  bool sawVersion = false;
  for (const std::string& v : values) {
    sawResource |= v == resource;
    sawVersion |= v == version;
  }
  require(sawResource || !validUtf8(resource), "a UTF-8 resource did not read back");
  require(sawVersion || !validUtf8(version), "a UTF-8 version did not read back");
  return 0;
}
