#pragma once

// The one timestamp format of our output (log lines, audit records): RFC 3339, UTC, milliseconds.

#include <chrono>
#include <string>

namespace udp {

// "2024-05-01T12:34:56.789Z". Floored to the millisecond, so times before 1970 read correctly
// and a time never rounds up into the next second.
std::string formatUtcMillis(std::chrono::system_clock::time_point time);

}  // namespace udp
