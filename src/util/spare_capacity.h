#pragma once

// Buffers reused across sends and receives keep the capacity of their largest use. One burst (a
// pool of ResourceSlices written at start, a long list answered) would pin that much memory for
// the connection's whole life; an idle daemon should hold little more than its state.

#include <cstddef>
#include <string>

namespace udp {

// What an emptied buffer may keep: one TLS record and then some, so that steady traffic
// reuses it without going back to malloc.
inline constexpr size_t kSpareCapacity = 32 * 1024;

// Frees an empty buffer's storage when it grew past kSpareCapacity.
inline void releaseSpareCapacity(std::string& buffer) {
  if (buffer.empty() && buffer.capacity() > kSpareCapacity) std::string().swap(buffer);
}

}  // namespace udp
