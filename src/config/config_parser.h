#pragma once

// Parses and validates a config (DESIGN.md §2) from YAML or JSON text into a Config. Pure: no
// I/O (config_file.h reads files), so the daemon, check-config and the fuzzer share it.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/diagnostic.h"

namespace udp::config {

struct ParseOutcome {
  std::optional<Config> config;  // set exactly when errors is empty
  // Ordered by position: every problem found, or the first kMaxDiagnostics and then one without
  // a position saying how many more there were.
  std::vector<Diagnostic> errors;
};

// Larger texts are refused before parsing: a config is a few KiB.
inline constexpr std::size_t kMaxConfigBytes = 1 << 20;

ParseOutcome parseConfig(std::string_view text);

// "file:line:col: error: message", or "file: error: message" for a diagnostic without a
// position (line 0); "warning" instead of "error" for a warning.
std::string formatDiagnostic(std::string_view fileName, const Diagnostic& diagnostic);

}  // namespace udp::config
