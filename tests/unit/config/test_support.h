#pragma once

// Helpers shared by the config tests: build a text line by line (line N of the text is the
// N-th string), and compare diagnostics by position and message fragment.

#include <doctest/doctest.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_parser.h"

namespace udp::config::testing {

inline std::string lines(std::initializer_list<std::string_view> parts) {
  std::string text;
  for (std::string_view part : parts) {
    text += part;
    text += '\n';
  }
  return text;
}

struct Expected {
  int line;
  int column;
  std::string_view fragment;  // must occur in the message
};

inline std::string dump(const std::vector<Diagnostic>& errors) {
  std::string out;
  for (const Diagnostic& error : errors) out += formatDiagnostic("config", error) + "\n";
  return out;
}

// The text is rejected with exactly these diagnostics, in this order.
inline void expectErrors(const std::string& text, std::vector<Expected> expected) {
  ParseOutcome outcome = parseConfig(text);
  INFO("text:\n", text, "diagnostics:\n", dump(outcome.errors));
  CHECK_FALSE(outcome.config.has_value());
  REQUIRE(outcome.errors.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(i);
    CHECK(outcome.errors[i].position.line == expected[i].line);
    CHECK(outcome.errors[i].position.column == expected[i].column);
    CHECK(outcome.errors[i].message.find(expected[i].fragment) != std::string::npos);
  }
}

inline Config expectConfig(const std::string& text) {
  ParseOutcome outcome = parseConfig(text);
  INFO("text:\n", text, "diagnostics:\n", dump(outcome.errors));
  CHECK(outcome.errors.empty());
  REQUIRE(outcome.config.has_value());
  return *outcome.config;
}

}  // namespace udp::config::testing
