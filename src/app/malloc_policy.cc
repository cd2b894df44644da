#include "app/malloc_policy.h"

#include <malloc.h>

namespace udp::app {

void applyMallocPolicy() {
  // Each call also turns off glibc's dynamic adjustment of both thresholds. Failure leaves the
  // defaults, which are correct, only larger: nothing to report.
  mallopt(M_MMAP_THRESHOLD, 64 * 1024);
  mallopt(M_TRIM_THRESHOLD, 128 * 1024);
}

void releaseFreeHeap() {
  malloc_trim(0);
}

}  // namespace udp::app
