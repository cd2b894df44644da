#include "cli/main_program.h"
#include "udev/udev_device_source.h"

int main(int argc, char** argv) {
  return udp::cli::mainProgram(argc, argv, [](const udp::config::Config& config) {
    return std::make_unique<udp::udev::UdevDeviceSource>(config);
  });
}
