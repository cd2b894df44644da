#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>

#include <string>

#include "util/json_writer.h"
#include "util/utc_time.h"

namespace udp {
namespace {

LogLevel g_minimum = LogLevel::kInfo;
LogFormat g_format = LogFormat::kText;

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

std::string timestamp() {
  return formatUtcMillis(std::chrono::system_clock::now());
}

// A text field value is quoted when it would otherwise not read back as one token.
void appendTextValue(std::string& line, std::string_view value) {
  bool plain = !value.empty() && value.find_first_of(" \"=\t\n") == std::string_view::npos;
  if (plain) {
    line += value;
  } else {
    appendJsonString(line, value);
  }
}

}  // namespace

void setLogLevel(LogLevel level) {
  g_minimum = level;
}
bool logEnabled(LogLevel level) {
  return level >= g_minimum;
}
void setLogFormat(LogFormat format) {
  g_format = format;
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

bool parseLogFormat(std::string_view text, LogFormat& format) {
  if (text == "text") {
    format = LogFormat::kText;
  } else if (text == "json") {
    format = LogFormat::kJson;
  } else {
    return false;
  }
  return true;
}

void logLine(LogLevel level, std::string_view message, LogFields fields) {
  if (level < g_minimum) return;
  std::string line;
  if (g_format == LogFormat::kJson) {
    JsonWriter json;
    json.beginObject();
    if (!underJournal()) json.key("time").value(timestamp());
    json.key("level").value(levelName(level));
    json.key("msg").value(message);
    for (const LogField& field : fields) json.key(field.key).value(field.value);
    json.endObject();
    line = json.take();
  } else {
    if (!underJournal()) line = timestamp() + " ";
    line += levelName(level);
    line += ": ";
    line += message;
    for (const LogField& field : fields) {
      line += ' ';
      line += field.key;
      line += '=';
      appendTextValue(line, field.value);
    }
  }
  line += '\n';
  // One write per line: lines from a dying process are never interleaved half-way.
  fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace udp
