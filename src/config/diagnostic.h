#pragma once

#include <string>

#include "config/config.h"

namespace udp::config {

// One problem found in a config, at the key or value it is about.
struct Diagnostic {
  SourcePosition position;  // line 0 when the problem is not at a place in the text
  std::string message;
};

}  // namespace udp::config
