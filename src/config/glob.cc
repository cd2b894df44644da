#include "config/glob.h"

#include <fnmatch.h>

#include <array>
#include <cstddef>

namespace udp::config {
namespace {

constexpr std::array<std::string_view, 12> kClasses = {"alnum", "alpha", "blank", "cntrl",
                                                       "digit", "graph", "lower", "print",
                                                       "punct", "space", "upper", "xdigit"};

// Checks the bracket expression starting at pattern[open] == '['; on success returns the index
// just past its closing ']'.
std::optional<std::string> checkBracket(std::string_view pattern, std::size_t open,
                                        std::size_t& end) {
  std::size_t i = open + 1;
  if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) ++i;
  // A ']' right after the '[' (or its negation) is a member, not the end.
  if (i < pattern.size() && pattern[i] == ']') ++i;
  while (i < pattern.size()) {
    char c = pattern[i];
    if (c == ']') {
      end = i + 1;
      return std::nullopt;
    }
    if (c == '\\') {
      if (i + 1 >= pattern.size()) break;
      i += 2;
      continue;
    }
    if (c == '[' && i + 1 < pattern.size() &&
        (pattern[i + 1] == ':' || pattern[i + 1] == '=' || pattern[i + 1] == '.')) {
      char kind = pattern[i + 1];
      const char closer[2] = {kind, ']'};
      std::size_t close = pattern.find(std::string_view(closer, 2), i + 2);
      if (close == std::string_view::npos) {
        return "'[" + std::string(1, kind) + "' at offset " + std::to_string(i) +
               " has no closing '" + std::string(1, kind) + "]'";
      }
      std::string_view inner = pattern.substr(i + 2, close - (i + 2));
      if (kind == ':') {
        bool known = false;
        for (std::string_view name : kClasses) known = known || name == inner;
        if (!known) return "unknown character class '[:" + std::string(inner) + ":]'";
      } else if (inner.empty()) {
        return "empty '[" + std::string(1, kind) + std::string(1, kind) + "]'";
      }
      i = close + 2;
      continue;
    }
    ++i;
  }
  return "'[' at offset " + std::to_string(open) + " has no closing ']'";
}

}  // namespace

std::optional<std::string> globError(std::string_view pattern) {
  if (pattern.find('\0') != std::string_view::npos) return "contains a NUL character";
  std::size_t i = 0;
  while (i < pattern.size()) {
    char c = pattern[i];
    if (c == '\\') {
      if (i + 1 >= pattern.size()) return "ends with a '\\' that escapes nothing";
      i += 2;
    } else if (c == '[') {
      std::size_t end = 0;
      if (auto error = checkBracket(pattern, i, end)) return error;
      i = end;
    } else {
      ++i;
    }
  }
  return std::nullopt;
}

bool globMatch(std::string_view pattern, std::string_view text) {
  if (pattern.find('\0') != std::string_view::npos || text.find('\0') != std::string_view::npos) {
    return false;
  }
  // fnmatch wants C strings; the views are not NUL-terminated.
  std::string p(pattern);
  std::string t(text);
  return ::fnmatch(p.c_str(), t.c_str(), 0) == 0;
}

}  // namespace udp::config
