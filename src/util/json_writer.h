#pragma once

// A small streaming JSON writer for the documents we emit (CDI specs, describe, audit lines):
// enough to get escaping and commas right without a library.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace udp {

class JsonWriter {
 public:
  JsonWriter& beginObject();
  JsonWriter& endObject();
  JsonWriter& beginArray();
  JsonWriter& endArray();
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(int64_t number);
  JsonWriter& value(uint64_t number);
  JsonWriter& value(int number) { return value(static_cast<int64_t>(number)); }
  JsonWriter& value(bool flag);
  JsonWriter& null();

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void separate();

  std::string out_;
  // Per open container: whether it already holds an element (a comma is owed).
  std::vector<bool> hasElement_;
  bool afterKey_ = false;
};

// Appends `text` as a JSON string literal, quotes included. The literal is always valid UTF-8,
// whatever `text` holds (sysfs strings such as a USB model are bytes, not text): each ill-formed
// part becomes U+FFFD, one per maximal subpart as Unicode §3.9 and the WHATWG decoder do, so
// overlongs, surrogates, code points above U+10FFFF and truncated sequences never reach a reader
// that would reject the whole line. Well-formed UTF-8 passes through unescaped.
void appendJsonString(std::string& out, std::string_view text);

}  // namespace udp
