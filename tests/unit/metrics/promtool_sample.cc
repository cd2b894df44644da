// Prints the exposition of a Metrics with every family populated, for `promtool check metrics`.

#include <cstdio>

#include "metrics/metrics.h"

int main() {
  udp::metrics::Metrics m("0.1.0", "0123456789ab");
  m.setDevices("example.com/loop", 3, 1);
  m.setDevices("example.com/zram", 0, 0);
  for (const char* result : {"ok", "unknown_device", "unhealthy", "invalid", "error"}) {
    m.allocation("example.com/loop", result);
  }
  for (double seconds : {0.00002, 0.0003, 0.004, 0.05, 0.7, 3.0}) {
    m.observeAllocate("example.com/loop", seconds);
  }
  m.preStart("example.com/loop", "ok");
  m.registration("example.com/loop", true);
  m.registration("example.com/zram", false);
  m.kubeletRestart();
  for (const char* action : {"add", "remove", "change", "bind", "???"}) m.uevent(action);
  m.rescan();
  m.setStreams("example.com/loop", 1);
  m.setRegistered("example.com/loop", true);
  m.setRegistered("example.com/zram", false);
  m.setReactorTurns(12345);
  m.setComponentUp("device_source", true);
  m.setComponentUp("kubelet_dir_watch", true);
  m.componentFailure("kubelet_dir_watch");
  std::string text = m.renderPrometheus();
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}
