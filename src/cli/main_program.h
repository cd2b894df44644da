#pragma once

// Everything main() does, with the device source injected: the product passes udev, the
// integration tests a scripted source, and both run the same daemon.

#include "app/daemon.h"

namespace udp::cli {

int mainProgram(int argc, char** argv, const app::Daemon::SourceFactory& makeSource);

}  // namespace udp::cli
