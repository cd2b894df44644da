#pragma once

// Log lines go to stderr, one per event, written only at the edges (DESIGN.md §5.4). Each line
// carries the resource and device it is about as fields, in text ("key=value") or JSON. Under
// systemd (JOURNAL_STREAM set) the journal stamps the time, so we do not.

#include <initializer_list>
#include <string_view>

namespace udp {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };
enum class LogFormat { kText, kJson };

struct LogField {
  std::string_view key;
  std::string_view value;
};
using LogFields = std::initializer_list<LogField>;

void setLogLevel(LogLevel level);
// Whether a line at `level` would be written (to skip building ones that would not).
bool logEnabled(LogLevel level);
void setLogFormat(LogFormat format);
bool parseLogLevel(std::string_view text, LogLevel& level);
bool parseLogFormat(std::string_view text, LogFormat& format);
void logLine(LogLevel level, std::string_view message, LogFields fields = {});

inline void logDebug(std::string_view m, LogFields f = {}) {
  logLine(LogLevel::kDebug, m, f);
}
inline void logInfo(std::string_view m, LogFields f = {}) {
  logLine(LogLevel::kInfo, m, f);
}
inline void logWarning(std::string_view m, LogFields f = {}) {
  logLine(LogLevel::kWarning, m, f);
}
inline void logError(std::string_view m, LogFields f = {}) {
  logLine(LogLevel::kError, m, f);
}

}  // namespace udp
