#include "util/utc_time.h"

#include <cstdio>

namespace udp {

std::string formatUtcMillis(std::chrono::system_clock::time_point time) {
  // By hand rather than with strftime: every log line and audit record starts with it.
  using namespace std::chrono;
  auto millis = floor<milliseconds>(time);
  sys_days day = floor<days>(millis);
  year_month_day date(day);
  hh_mm_ss clock(millis - day);
  char text[40];
  int length = snprintf(
      text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(date.year()),
      static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
      static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
      static_cast<int>(clock.seconds().count()), static_cast<int>(clock.subseconds().count()));
  return std::string(text, static_cast<size_t>(length));
}

}  // namespace udp
