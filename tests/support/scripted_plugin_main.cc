// The real daemon with devices scripted on stdin instead of udev: integration tests drive the
// device set exactly while everything else (reactor, HTTP/2, gRPC, registration) is the product.

#include <unistd.h>

#include "cli/main_program.h"
#include "scripted_source.h"

int main(int argc, char** argv) {
  udp::testing::ScriptedWorld world;
  return udp::cli::mainProgram(argc, argv, [&world](const udp::config::Config&) {
    return std::make_unique<udp::testing::ScriptedSource>(STDIN_FILENO, world);
  });
}
