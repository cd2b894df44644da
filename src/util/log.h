#pragma once

// Log lines go to stderr, one per event, written only at the edges (DESIGN.md §5.4). Under
// systemd (JOURNAL_STREAM set) the journal stamps the time, so we do not.

#include <string_view>

namespace udp {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void setLogLevel(LogLevel level);
bool parseLogLevel(std::string_view text, LogLevel& level);
void logLine(LogLevel level, std::string_view message);

inline void logDebug(std::string_view m) {
  logLine(LogLevel::kDebug, m);
}
inline void logInfo(std::string_view m) {
  logLine(LogLevel::kInfo, m);
}
inline void logWarning(std::string_view m) {
  logLine(LogLevel::kWarning, m);
}
inline void logError(std::string_view m) {
  logLine(LogLevel::kError, m);
}

}  // namespace udp
