#pragma once

// Indents compact JSON for people (the `describe` command); the daemon serves it compact.

#include <string>
#include <string_view>

namespace udp::governance {

// Re-indents `compact` (JsonWriter's output: no whitespace outside strings) with two spaces per
// level; empty objects and arrays stay "{}" and "[]". The output ends in a newline. Input that
// is not JSON comes out re-spaced but otherwise unchanged.
std::string prettyJson(std::string_view compact);

}  // namespace udp::governance
