#include "config/node_reader.h"

#include <algorithm>
#include <cstdio>
#include <iterator>

#include "config/config_checks.h"
#include "config/glob.h"

namespace udp::config {

using Kind = YamlNode::Kind;

std::string quote(std::string_view text) {
  constexpr std::size_t kMax = 64;
  std::string out = "'";
  for (std::size_t i = 0; i < text.size() && i < kMax; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > kMax) out += "...";
  return out + "'";
}

std::string describe(const YamlNode& node) {
  switch (node.kind) {
    case Kind::kNull:
      return "an empty value";
    case Kind::kSequence:
      return "a list";
    case Kind::kMapping:
      return "a mapping";
    case Kind::kScalar:
      break;
  }
  return node.quoted ? "the quoted string " + quote(node.text) : quote(node.text);
}

std::string join(NodeReader::Keys keys) {
  std::string out;
  for (std::string_view key : keys) {
    if (!out.empty()) out += ", ";
    out += key;
  }
  return out;
}

void NodeReader::unknownKey(const YamlEntry& entry, std::string_view where, Keys allowed) {
  error(entry.keyPosition, "unknown key " + quote(entry.key) + " " + std::string(where) +
                               "; allowed: " + join(allowed));
}

bool NodeReader::isMapping(const YamlNode& node, std::string_view what) {
  if (node.kind == Kind::kMapping) return true;
  error(node.position, std::string(what) + " must be a mapping, not " + describe(node));
  return false;
}

bool NodeReader::isSequence(const YamlNode& node, std::string_view what) {
  if (node.kind == Kind::kSequence) return true;
  error(node.position, std::string(what) + " must be a list, not " + describe(node));
  return false;
}

// Any scalar reads as a string: `healthy: 1` and `ID_VENDOR_ID: 0403` mean the text as written,
// which is what udev compares against.
std::optional<std::string> NodeReader::string(const YamlNode& node, std::string_view what) {
  if (node.kind == Kind::kScalar) return node.text;
  error(node.position, std::string(what) + " must be a string, not " + describe(node));
  return std::nullopt;
}

// Quoted "true" is a string in YAML and in JSON; accepting it would hide a type confusion.
std::optional<bool> NodeReader::boolean(const YamlNode& node, std::string_view what) {
  if (node.kind == Kind::kScalar && !node.quoted) {
    static constexpr std::string_view kTrue[] = {"true", "True", "TRUE", "yes", "Yes", "YES"};
    static constexpr std::string_view kFalse[] = {"false", "False", "FALSE", "no", "No", "NO"};
    if (std::find(std::begin(kTrue), std::end(kTrue), node.text) != std::end(kTrue)) return true;
    if (std::find(std::begin(kFalse), std::end(kFalse), node.text) != std::end(kFalse)) {
      return false;
    }
  }
  error(node.position, std::string(what) + " must be true or false, not " + describe(node));
  return std::nullopt;
}

std::optional<int> NodeReader::integer(const YamlNode& node, std::string_view what, int min,
                                       int max) {
  auto value = integer64(node, what, min, max);
  if (!value) return std::nullopt;
  return static_cast<int>(*value);
}

std::optional<std::int64_t> NodeReader::integer64(const YamlNode& node, std::string_view what,
                                                  std::int64_t min, std::int64_t max) {
  std::string range = " from " + std::to_string(min) + " to " + std::to_string(max);
  std::string_view text = node.text;
  bool negative = !text.empty() && text.front() == '-';
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) text.remove_prefix(1);
  bool digits = !text.empty() &&
                std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (node.kind != Kind::kScalar || node.quoted || !digits) {
    error(node.position,
          std::string(what) + " must be an integer" + range + ", not " + describe(node));
    return std::nullopt;
  }
  std::int64_t value = 0;
  for (char c : text) {
    // Saturate: only the range matters, and every range we read lies within 2^40.
    value = std::min<std::int64_t>(value * 10 + (c - '0'), std::int64_t{1} << 40);
  }
  if (negative) value = -value;
  if (value < min || value > max) {
    error(node.position, std::string(what) + " must be" + range + ", not " + node.text);
    return std::nullopt;
  }
  return value;
}

std::optional<std::string> NodeReader::path(const YamlNode& node, std::string_view what,
                                            bool allowEmpty) {
  auto text = string(node, what);
  if (!text || (allowEmpty && text->empty())) return text;
  if (auto problem = pathError(*text)) {
    error(node.position, std::string(what) + " " + *problem + ", not " + quote(*text));
    return std::nullopt;
  }
  return text;
}

std::optional<std::string> NodeReader::glob(const YamlNode& node, std::string_view what) {
  auto text = string(node, what);
  if (!text) return text;
  if (auto problem = globError(*text)) {
    error(node.position,
          std::string(what) + " is not a valid glob: " + *problem + " in " + quote(*text));
    return std::nullopt;
  }
  return text;
}

}  // namespace udp::config
