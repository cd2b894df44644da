#include "config/yaml_tree.h"

#include <yaml.h>

#include <cstring>
#include <map>
#include <utility>

namespace udp::config {
namespace {

SourcePosition positionOf(const yaml_mark_t& mark) {
  return {static_cast<int>(mark.line) + 1, static_cast<int>(mark.column) + 1};
}

// libyaml's reader errors (bad UTF-8, control characters) carry a byte offset, not a mark.
SourcePosition positionOfOffset(std::string_view text, std::size_t offset) {
  SourcePosition position{1, 1};
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ++position.line;
      position.column = 1;
    } else if ((c & 0xC0) != 0x80) {  // count characters, not UTF-8 continuation bytes
      ++position.column;
    }
  }
  return position;
}

// The byte at a 1-based line and column (counted in characters), or '\0' past the end.
char charAt(std::string_view text, SourcePosition position) {
  int line = 1;
  int column = 1;
  for (char c : text) {
    bool continuation = (static_cast<unsigned char>(c) & 0xC0) == 0x80;
    if (!continuation && line == position.line && column == position.column) return c;
    if (c == '\n') {
      ++line;
      column = 1;
    } else if (!continuation) {
      ++column;
    }
  }
  return '\0';
}

bool isNullText(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

std::string tagOf(const yaml_char_t* tag) {
  return tag == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(tag));
}

constexpr std::string_view kYamlTagPrefix = "tag:yaml.org,2002:";

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {
    // yaml_parser_initialize only fails when out of memory, which is fatal anyway.
    yaml_parser_initialize(&parser_);
    yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
  }
  ~Parser() { yaml_parser_delete(&parser_); }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  YamlDocument run() {
    bool ok = true;
    bool done = false;
    while (ok && !done) {
      yaml_event_t event;
      if (yaml_parser_parse(&parser_, &event) == 0) {
        syntaxError();
        ok = false;
        break;
      }
      done = event.type == YAML_STREAM_END_EVENT;
      ok = handle(event);
      yaml_event_delete(&event);
    }
    if (!ok) root_.reset();
    return {std::move(root_), std::move(errors_)};
  }

 private:
  // A node under construction, with the key it will be stored under when its parent is a
  // mapping.
  struct Frame {
    YamlNode node;
    std::optional<YamlEntry> pendingKey;  // mappings only: the key waiting for its value
    std::map<std::string, SourcePosition, std::less<>> seenKeys;
  };

  void error(SourcePosition position, std::string message) {
    errors_.add({position, std::move(message)});
  }

  void syntaxError() {
    std::string message = "invalid YAML: ";
    message += parser_.problem != nullptr ? parser_.problem : "unknown error";
    if (parser_.error == YAML_MEMORY_ERROR) message = "out of memory while parsing YAML";
    SourcePosition position = positionOf(parser_.problem_mark);
    if (parser_.error == YAML_READER_ERROR) {
      position = positionOfOffset(text_, parser_.problem_offset);
    } else if (parser_.context != nullptr) {
      SourcePosition context = positionOf(parser_.context_mark);
      message += " (";
      message += parser_.context;
      message += " at line " + std::to_string(context.line) + ", column " +
                 std::to_string(context.column) + ")";
    }
    // libyaml only says "found character that cannot start any token".
    if (charAt(text_, position) == '\t') message += "; YAML cannot be indented with tabs";
    error(position, std::move(message));
  }

  bool handle(const yaml_event_t& event) {
    SourcePosition position = positionOf(event.start_mark);
    switch (event.type) {
      case YAML_DOCUMENT_START_EVENT:
        if (++documents_ > 1) {
          error(position, "a config is one YAML document; a second one starts here");
          return false;
        }
        return true;
      case YAML_ALIAS_EVENT:
        error(position, std::string("aliases are not allowed in a config (*") +
                            reinterpret_cast<const char*>(event.data.alias.anchor) +
                            "): write the value out instead");
        return false;
      case YAML_SCALAR_EVENT:
        return scalar(event, position);
      case YAML_SEQUENCE_START_EVENT:
        return startCollection(YamlNode::Kind::kSequence, tagOf(event.data.sequence_start.tag),
                               "seq", position);
      case YAML_MAPPING_START_EVENT:
        return startCollection(YamlNode::Kind::kMapping, tagOf(event.data.mapping_start.tag), "map",
                               position);
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: {
        YamlNode node = std::move(stack_.back().node);
        stack_.pop_back();
        return attach(std::move(node));
      }
      default:  // stream start and end, document end, no event
        return true;
    }
  }

  bool scalar(const yaml_event_t& event, SourcePosition position) {
    const auto& data = event.data.scalar;
    YamlNode node;
    node.position = position;
    node.text.assign(reinterpret_cast<const char*>(data.value), data.length);
    node.quoted = data.style != YAML_PLAIN_SCALAR_STYLE;
    std::string tag = tagOf(data.tag);
    if (tag == "!" || tag == std::string(kYamlTagPrefix) + "str") {
      node.quoted = true;
    } else if (!tag.empty() && tag != std::string(kYamlTagPrefix) + "int" &&
               tag != std::string(kYamlTagPrefix) + "bool" &&
               tag != std::string(kYamlTagPrefix) + "null") {
      error(position, "unsupported YAML tag '" + tag + "' on a scalar");  // read it as plain
    }
    node.kind =
        !node.quoted && isNullText(node.text) ? YamlNode::Kind::kNull : YamlNode::Kind::kScalar;
    return attach(std::move(node));
  }

  bool startCollection(YamlNode::Kind kind, const std::string& tag, std::string_view expected,
                       SourcePosition position) {
    if (!tag.empty() && tag != std::string(kYamlTagPrefix) + std::string(expected)) {
      error(position, "unsupported YAML tag '" + tag + "' on a " +
                          (kind == YamlNode::Kind::kMapping ? "mapping" : "sequence"));
    }
    if (expectingKey()) {
      error(position, "mapping keys must be plain strings, not a sequence or mapping");
      return false;
    }
    if (static_cast<int>(stack_.size()) >= kMaxYamlDepth) {
      error(position, "nesting is deeper than " + std::to_string(kMaxYamlDepth) + " levels");
      return false;
    }
    Frame frame;
    frame.node.kind = kind;
    frame.node.position = position;
    stack_.push_back(std::move(frame));
    return true;
  }

  bool expectingKey() const {
    return !stack_.empty() && stack_.back().node.kind == YamlNode::Kind::kMapping &&
           !stack_.back().pendingKey.has_value();
  }

  // Hands a finished node to its parent (or makes it the root).
  bool attach(YamlNode node) {
    if (stack_.empty()) {
      root_ = std::move(node);
      return true;
    }
    Frame& parent = stack_.back();
    if (parent.node.kind == YamlNode::Kind::kSequence) {
      parent.node.items.push_back(std::move(node));
      return true;
    }
    if (!parent.pendingKey) {
      // Only scalars reach here as keys; collections were refused in startCollection.
      parent.pendingKey = YamlEntry{std::move(node.text), node.position, {}};
      return true;
    }
    YamlEntry entry = std::move(*parent.pendingKey);
    parent.pendingKey.reset();
    auto [it, inserted] = parent.seenKeys.try_emplace(entry.key, entry.keyPosition);
    if (!inserted) {
      error(entry.keyPosition, "duplicate key '" + entry.key + "' (first at line " +
                                   std::to_string(it->second.line) + ")");
      return true;  // keep the first value and go on, to report what else is wrong
    }
    entry.value = std::move(node);
    parent.node.entries.push_back(std::move(entry));
    return true;
  }

  std::string_view text_;
  yaml_parser_t parser_;
  std::vector<Frame> stack_;
  std::optional<YamlNode> root_;
  DiagnosticList errors_;
  int documents_ = 0;
};

}  // namespace

YamlDocument parseYaml(std::string_view text) {
  Parser parser(text);
  return parser.run();
}

}  // namespace udp::config
