#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <string>

namespace udp {
namespace {

LogLevel g_minimum = LogLevel::kInfo;

const char* levelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

bool underJournal() {
  static const bool journal = getenv("JOURNAL_STREAM") != nullptr;
  return journal;
}

}  // namespace

void setLogLevel(LogLevel level) {
  g_minimum = level;
}

bool parseLogLevel(std::string_view text, LogLevel& level) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning, LogLevel::kError}) {
    if (text == levelName(l)) {
      level = l;
      return true;
    }
  }
  return false;
}

void logLine(LogLevel level, std::string_view message) {
  if (level < g_minimum) return;
  std::string line;
  if (!underJournal()) {
    timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    tm utc;
    gmtime_r(&now.tv_sec, &utc);
    char stamp[96];
    snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ ", utc.tm_year + 1900,
             utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
             now.tv_nsec / 1000000);
    line += stamp;
  }
  line += levelName(level);
  line += ": ";
  line += message;
  line += '\n';
  // One write per line: lines from a dying process are never interleaved half-way.
  fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace udp
