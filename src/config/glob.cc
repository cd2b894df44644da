#include "config/glob.h"

#include <fnmatch.h>

#include <array>
#include <bitset>
#include <cctype>
#include <cstddef>
#include <set>
#include <utility>
#include <vector>

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

// One position of a pattern: '*' or the set of bytes one character may be.
struct Token {
  bool star = false;
  std::bitset<256> bytes;
};

bool inClass(std::string_view name, unsigned char c) {
  if (name == "alnum") return std::isalnum(c);
  if (name == "alpha") return std::isalpha(c);
  if (name == "blank") return std::isblank(c);
  if (name == "cntrl") return std::iscntrl(c);
  if (name == "digit") return std::isdigit(c);
  if (name == "graph") return std::isgraph(c);
  if (name == "lower") return std::islower(c);
  if (name == "print") return std::isprint(c);
  if (name == "punct") return std::ispunct(c);
  if (name == "space") return std::isspace(c);
  if (name == "upper") return std::isupper(c);
  return std::isxdigit(c);
}

// The bracket expression at pattern[open] == '[' as a set of bytes; false when it does not close
// (fnmatch then reads the '[' as a literal).
bool bracketBytes(std::string_view pattern, std::size_t open, std::size_t& end,
                  std::bitset<256>& bytes) {
  std::size_t i = open + 1;
  bool negate = i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^');
  if (negate) ++i;
  std::bitset<256> set;
  bool first = true;
  while (i < pattern.size()) {
    unsigned char c = static_cast<unsigned char>(pattern[i]);
    if (c == ']' && !first) {
      end = i + 1;
      bytes = negate ? ~set : set;
      bytes.reset(0);  // a text never holds a NUL
      return true;
    }
    first = false;
    if (c == '[' && i + 1 < pattern.size() &&
        (pattern[i + 1] == ':' || pattern[i + 1] == '=' || pattern[i + 1] == '.')) {
      char kind = pattern[i + 1];
      const char closer[2] = {kind, ']'};
      std::size_t close = pattern.find(std::string_view(closer, 2), i + 2);
      if (close == std::string_view::npos) return false;
      std::string_view inner = pattern.substr(i + 2, close - (i + 2));
      for (int b = 1; b < 256; ++b) {
        if (kind != ':' || inClass(inner, static_cast<unsigned char>(b))) set.set(b);
      }
      i = close + 2;
      continue;
    }
    if (c == '\\' && i + 1 < pattern.size()) c = static_cast<unsigned char>(pattern[++i]);
    unsigned char last = c;
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      std::size_t at = i + 2;
      if (pattern[at] == '\\' && at + 1 < pattern.size()) ++at;
      last = static_cast<unsigned char>(pattern[at]);
      i = at;
    }
    for (int b = c; b <= last; ++b) set.set(b);
    ++i;
  }
  return false;
}

std::vector<Token> tokens(std::string_view pattern) {
  std::vector<Token> out;
  for (std::size_t i = 0; i < pattern.size();) {
    Token token;
    char c = pattern[i];
    std::size_t end = 0;
    if (c == '*') {
      token.star = true;
      ++i;
    } else if (c == '?') {
      token.bytes.set();
      token.bytes.reset(0);
      ++i;
    } else if (c == '[' && bracketBytes(pattern, i, end, token.bytes)) {
      i = end;
    } else {
      if (c == '\\' && i + 1 < pattern.size()) c = pattern[++i];
      token.bytes.set(static_cast<unsigned char>(c));
      ++i;
    }
    out.push_back(token);
  }
  return out;
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

namespace udp::config {

// Both patterns as automata walked in step: a state is a position in each; a '*' may be skipped
// or consume any byte and stay; two byte positions advance together on a byte both accept.
bool globsMayIntersect(std::string_view a, std::string_view b) {
  std::vector<Token> ta = tokens(a);
  std::vector<Token> tb = tokens(b);
  std::bitset<256> any;
  any.set();
  any.reset(0);
  std::set<std::pair<std::size_t, std::size_t>> seen;
  std::vector<std::pair<std::size_t, std::size_t>> work = {{0, 0}};
  while (!work.empty()) {
    auto [i, j] = work.back();
    work.pop_back();
    if (!seen.insert({i, j}).second) continue;
    if (i == ta.size() && j == tb.size()) return true;
    if (i < ta.size() && ta[i].star) work.push_back({i + 1, j});
    if (j < tb.size() && tb[j].star) work.push_back({i, j + 1});
    if (i == ta.size() || j == tb.size()) continue;
    const std::bitset<256>& ba = ta[i].star ? any : ta[i].bytes;
    const std::bitset<256>& bb = tb[j].star ? any : tb[j].bytes;
    if ((ba & bb).any()) work.push_back({ta[i].star ? i : i + 1, tb[j].star ? j : j + 1});
  }
  return false;
}

}  // namespace udp::config
