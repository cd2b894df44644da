#include "util/json_writer.h"

#include <cstdio>

namespace udp {

namespace {

// Length of the well-formed UTF-8 sequence at the start of `text` (Unicode Table 3-7: no
// overlongs, no surrogates, nothing above U+10FFFF), or 0 when there is none. `*bad` is then
// the length of the maximal subpart to replace: the lead byte and the continuation bytes that
// were still valid for it, at least 1.
size_t utf8SequenceLength(std::string_view text, size_t* bad) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  size_t length = 0;
  unsigned char low = 0x80, high = 0xbf;  // the range of the second byte
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;   // overlong below U+0800
    if (lead == 0xed) high = 0x9f;  // surrogates U+D800..U+DFFF
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;   // overlong below U+10000
    if (lead == 0xf4) high = 0x8f;  // above U+10FFFF
  } else {
    *bad = 1;  // a continuation byte, C0/C1 (always overlong) or F5..FF
    return 0;
  }
  for (size_t i = 1; i < length; ++i) {
    const bool fits =
        i < text.size() && byte(i) >= (i == 1 ? low : 0x80) && byte(i) <= (i == 1 ? high : 0xbf);
    if (!fits) {
      *bad = i;
      return 0;
    }
  }
  return length;
}

constexpr std::string_view kReplacement = "\xef\xbf\xbd";  // U+FFFD

}  // namespace

void appendJsonString(std::string& out, std::string_view text) {
  out += '"';
  // Runs of characters that need no escape are appended whole (the common case: all of it).
  size_t plain = 0;
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      size_t bad = 0;
      if (size_t n = utf8SequenceLength(text.substr(i), &bad); n > 0) {
        i += n;
        continue;
      }
      out.append(text.substr(plain, i - plain));
      out += kReplacement;
      i += bad;
      plain = i;
      continue;
    }
    if (c >= 0x20 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    out.append(text.substr(plain, i - plain));
    plain = ++i;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        char escaped[8];
        snprintf(escaped, sizeof escaped, "\\u%04x", c);
        out += escaped;
      }
    }
  }
  out.append(text.substr(plain));
  out += '"';
}

std::string validUtf8(std::string_view text, size_t maxBytes) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    size_t take = 1;
    std::string_view piece = text.substr(i, 1);
    if (static_cast<unsigned char>(text[i]) >= 0x80) {
      size_t bad = 0;
      take = utf8SequenceLength(text.substr(i), &bad);
      piece = take > 0 ? text.substr(i, take) : kReplacement;
      if (take == 0) take = bad;
    }
    if (out.size() + piece.size() > maxBytes) break;
    out.append(piece);
    i += take;
  }
  return out;
}

void JsonWriter::separate() {
  if (afterKey_) {
    afterKey_ = false;
    return;
  }
  if (!hasElement_.empty()) {
    if (hasElement_.back()) out_ += ',';
    hasElement_.back() = true;
  }
}

JsonWriter& JsonWriter::beginObject() {
  separate();
  out_ += '{';
  hasElement_.push_back(false);
  return *this;
}

JsonWriter& JsonWriter::endObject() {
  out_ += '}';
  hasElement_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::beginArray() {
  separate();
  out_ += '[';
  hasElement_.push_back(false);
  return *this;
}

JsonWriter& JsonWriter::endArray() {
  out_ += ']';
  hasElement_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
  separate();
  appendJsonString(out_, name);
  out_ += ':';
  afterKey_ = true;
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view text) {
  separate();
  appendJsonString(out_, text);
  return *this;
}

JsonWriter& JsonWriter::value(int64_t number) {
  separate();
  out_ += std::to_string(number);
  return *this;
}

JsonWriter& JsonWriter::value(uint64_t number) {
  separate();
  out_ += std::to_string(number);
  return *this;
}

JsonWriter& JsonWriter::value(bool flag) {
  separate();
  out_ += flag ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::null() {
  separate();
  out_ += "null";
  return *this;
}

}  // namespace udp
