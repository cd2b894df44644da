#pragma once

// Watches the kubelet's device-plugin directory with inotify (DESIGN.md §3: kubelet restarts
// remove every socket, then create a fresh kubelet.sock). No polling: reads are reactor ops.

#include <string>
#include <string_view>

#include "reactor/reactor.h"
#include "util/result.h"
#include "util/unique_fd.h"

namespace udp::kubelet {

class DirectoryListener {
 public:
  virtual ~DirectoryListener() = default;
  virtual void onEntryCreated(std::string_view name) = 0;
  virtual void onEntryRemoved(std::string_view name) = 0;
  // The directory was deleted or moved away (and has been created again by us), or events were
  // lost: re-check everything.
  virtual void onDirectoryReset() = 0;
};

class DirectoryWatch {
 public:
  DirectoryWatch(reactor::Reactor& reactor, std::string dir, DirectoryListener& listener);
  // Creates the directory if missing (the kubelet creates it too, with the same mode).
  Result<void> start();
  void stop();
  bool idle() const { return !readOp_.pending(); }

 private:
  void onRead(int res, uint32_t flags) noexcept;
  Result<void> addWatch();
  void arm();

  reactor::Reactor& reactor_;
  std::string dir_;
  DirectoryListener& listener_;
  UniqueFd inotify_;
  int watch_ = -1;
  bool stopped_ = false;
  reactor::Op readOp_{reactor::bindOp<&DirectoryWatch::onRead>(this)};
  // Owned by the kernel while readOp_ is pending.
  alignas(8) char buffer_[8192];
};

Result<void> makeDirectories(const std::string& path, mode_t mode);

}  // namespace udp::kubelet
