#pragma once

// Reads typed values out of YAML nodes for the config schema (config_parser.cc), recording a
// positioned diagnostic for each value that does not fit instead of stopping, so that one run
// reports every problem.

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/diagnostic.h"
#include "config/yaml_tree.h"

namespace udp::config {

// User text for a message: quoted, control bytes escaped, long text cut short.
std::string quote(std::string_view text);

// What a node is, for "must be X, not <describe>".
std::string describe(const YamlNode& node);

class NodeReader {
 public:
  using Keys = std::span<const std::string_view>;

  // Starts with the errors found while building the tree.
  explicit NodeReader(DiagnosticList errors) : errors_(std::move(errors)) {}

  void error(SourcePosition position, std::string message) {
    errors_.add({position, std::move(message)});
  }
  std::size_t errorCount() const { return errors_.count(); }
  DiagnosticList& errors() { return errors_; }

  // `where` completes "unknown key 'x' ...", e.g. "in a resource".
  void unknownKey(const YamlEntry& entry, std::string_view where, Keys allowed);

  // `what` starts each message, e.g. "'shares'" or "env 'FOO'".
  bool isMapping(const YamlNode& node, std::string_view what);
  bool isSequence(const YamlNode& node, std::string_view what);
  std::optional<std::string> string(const YamlNode& node, std::string_view what);
  std::optional<bool> boolean(const YamlNode& node, std::string_view what);
  std::optional<int> integer(const YamlNode& node, std::string_view what, int min, int max);
  // For ranges past int's, such as uids.
  std::optional<std::int64_t> integer64(const YamlNode& node, std::string_view what,
                                        std::int64_t min, std::int64_t max);
  // pathError holds; an empty string passes when allowEmpty (meaning "not set").
  std::optional<std::string> path(const YamlNode& node, std::string_view what, bool allowEmpty);
  std::optional<std::string> glob(const YamlNode& node, std::string_view what);

  template <typename T>
  std::optional<T> choice(const YamlNode& node, std::string_view what,
                          std::initializer_list<std::pair<std::string_view, T>> options) {
    std::string names;
    for (const auto& [name, value] : options) {
      if (node.kind == YamlNode::Kind::kScalar && node.text == name) return value;
      names += names.empty() ? "" : " | ";
      names += name;
    }
    error(node.position,
          std::string(what) + " must be one of " + names + ", not " + describe(node));
    return std::nullopt;
  }

 private:
  DiagnosticList errors_;
};

std::string join(NodeReader::Keys keys);

}  // namespace udp::config
