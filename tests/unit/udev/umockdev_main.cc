// main() of the test binaries that run under umockdev-wrapper: without its preload they report
// SKIP (77) instead of testing the real sysfs.

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
  // umockdev_in_mock_environment() looks for a path in LD_PRELOAD, but umockdev-wrapper
  // preloads the bare library name.
  const char* preload = std::getenv("LD_PRELOAD");
  if (preload == nullptr || std::strstr(preload, "libumockdev-preload") == nullptr) {
    std::fprintf(stderr, "not running under umockdev-wrapper: skipped\n");
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
