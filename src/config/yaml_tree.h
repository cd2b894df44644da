#pragma once

// A YAML document as a small tree of positioned nodes, built from libyaml's event stream. It
// refuses what a config never needs and an attacker could use: aliases (billion laughs), more
// than one document, deep nesting. Scalars keep their text: what a scalar means (string,
// number, boolean) is for the schema to say, so "0403" stays "0403".

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/diagnostic.h"

namespace udp::config {

struct YamlEntry;

struct YamlNode {
  enum class Kind { kNull, kScalar, kSequence, kMapping };

  Kind kind = Kind::kNull;  // kNull: an empty value, ~, or null, unquoted
  SourcePosition position;
  std::string text;  // kScalar; may contain NUL when written as "\0"
  // kScalar: quoted, a block scalar or tagged !!str, so never a number or a boolean.
  bool quoted = false;
  std::vector<YamlNode> items;     // kSequence
  std::vector<YamlEntry> entries;  // kMapping: keys unique, in document order
};

struct YamlEntry {
  std::string key;
  SourcePosition keyPosition;
  YamlNode value;
};

// Mappings and sequences nest at most this deep; a config needs six levels.
inline constexpr int kMaxYamlDepth = 32;

struct YamlDocument {
  // nullopt after a syntax error, an alias, a second document, a non-string key, or too deep
  // nesting; also for a text with no document at all. Duplicate keys and unknown tags are
  // errors, but the tree (holding each key's first value, reading a tagged node as untagged) is
  // still returned so that the schema can report more.
  std::optional<YamlNode> root;
  DiagnosticList errors;
};

// Pure: no I/O, no globals.
YamlDocument parseYaml(std::string_view text);

}  // namespace udp::config
