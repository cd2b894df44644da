#pragma once

// Reads a config file and parses it (config_parser.h). The only part of config/ that does I/O.

#include <string>

#include "config/config_parser.h"

namespace udp::config {

// An unreadable file gives one diagnostic without a position that names the errno. Reads at
// most kMaxConfigBytes + 1 bytes, so a huge or endless file (/dev/zero) is refused quickly.
ParseOutcome loadConfigFile(const std::string& path);

}  // namespace udp::config
