#pragma once

// glibc's malloc raises its mmap threshold each time a large mmapped block is freed (up to
// 32 MiB), after which every later large buffer comes from the heap, whose top is trimmed only
// past a threshold that rises with it. For a daemon whose large buffers are short-lived (a
// 70 kB ResourceSlice body, a list answered at start) that turns one burst into a resident heap
// for the process's life. Fixed thresholds keep large buffers in their own mappings, returned on
// free, and the heap trimmed.

namespace udp::app {

// Called once, before the daemon allocates anything large.
void applyMallocPolicy();

// Returns the heap's free pages to the kernel, those between live blocks too (a burst of many
// small blocks, freed, leaves such holes that the trim threshold never reaches). Costs a walk of
// the free lists: call it after a burst, not on every event.
void releaseFreeHeap();

}  // namespace udp::app
