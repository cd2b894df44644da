#include "config/config_checks.h"

#include <array>
#include <cstddef>

namespace udp::config {
namespace {

bool isIdentStart(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

bool isIdentChar(char c) {
  return isIdentStart(c) || (c >= '0' && c <= '9');
}

constexpr std::array<std::string_view, 4> kPlaceholders = {"ids", "devnodes", "serials",
                                                           "resource"};

}  // namespace

std::optional<std::string> pathError(std::string_view path) {
  if (path.find('\0') != std::string_view::npos) return "must not contain a NUL character";
  if (!path.starts_with('/')) return "must be an absolute path (start with '/')";
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    std::size_t end = slash == std::string_view::npos ? path.size() : slash;
    if (path.substr(start, end - start) == "..") return "must not contain a '..' component";
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return std::nullopt;
}

std::optional<std::string> permissionsError(std::string_view permissions) {
  if (permissions.empty()) return "must not be empty: use any of r, w and m";
  for (std::size_t i = 0; i < permissions.size(); ++i) {
    char c = permissions[i];
    if (c != 'r' && c != 'w' && c != 'm') {
      return "may only contain r, w and m, not '" + std::string(permissions) + "'";
    }
    if (permissions.find(c, i + 1) != std::string_view::npos) {
      return "lists '" + std::string(1, c) + "' twice in '" + std::string(permissions) + "'";
    }
  }
  return std::nullopt;
}

bool isEnvVarName(std::string_view name) {
  if (name.empty() || !isIdentStart(name.front())) return false;
  for (char c : name) {
    if (!isIdentChar(c)) return false;
  }
  return true;
}

std::optional<std::string> templateError(std::string_view value) {
  for (std::size_t open = value.find('{'); open != std::string_view::npos;
       open = value.find('{', open + 1)) {
    std::size_t i = open + 1;
    if (i >= value.size() || !isIdentStart(value[i])) continue;
    while (i < value.size() && isIdentChar(value[i])) ++i;
    if (i >= value.size() || value[i] != '}') continue;
    std::string_view name = value.substr(open + 1, i - open - 1);
    bool known = false;
    for (std::string_view placeholder : kPlaceholders) known = known || name == placeholder;
    if (!known) {
      return "uses an unknown placeholder '{" + std::string(name) +
             "}'; the placeholders are {ids} {devnodes} {serials} {resource}";
    }
  }
  return std::nullopt;
}

}  // namespace udp::config
