#pragma once

// Watches the kubelet's device-plugin directory with inotify (DESIGN.md §3: kubelet restarts
// remove every socket, then create a fresh kubelet.sock). No polling: reads are reactor ops.

#include <sys/types.h>

#include <string>
#include <string_view>

#include "reactor/reactor.h"
#include "util/backoff.h"
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
  // The watch works: at start, and again after a failure (then onDirectoryReset follows).
  virtual void onWatchUp() {}
  // The directory cannot be watched (or the watch read); the watch has logged `cause` once and
  // retries with capped backoff. Until onWatchUp, changes in the directory go unseen.
  virtual void onWatchDown(std::string_view /*cause*/) {}
};

// The directory itself is watched for its entries, and its parent for the directory's own name:
// the kernel reports IN_DELETE_SELF only once the last reference to the deleted directory is
// gone, and every unix socket bound in it (ours, the kubelet's, the connections accepted on
// them) holds one. After `rm -rf` of the directory under a running plugin that report may never
// come, while the parent's IN_DELETE for the name comes at once.
//
// When the directory cannot be watched again after a reset (its path is a file now, a parent
// cannot be made, inotify is out of watches), or the inotify fd cannot be read, the watch
// retries with capped backoff until it works, then tells onWatchUp and onDirectoryReset.
class DirectoryWatch {
 public:
  DirectoryWatch(reactor::Reactor& reactor, std::string dir, DirectoryListener& listener,
                 BackoffTiming retry = {});
  // Creates the directory if missing (the kubelet creates it too, with the same mode).
  Result<void> start();
  void stop();
  bool idle() const { return !readOp_.pending() && !retryOp_.pending(); }
  // Failing and retrying; for tests.
  bool failing() const { return failing_; }

 private:
  void onRead(int res, uint32_t flags) noexcept;
  void onRetry(int res, uint32_t flags) noexcept;
  Result<void> addWatch();
  // Drops both watches and adds them again, on whatever directory is at the path now.
  Result<void> rewatch();
  void fail(const Error& error);
  void recovered();
  void arm();
  // The directory at our path is not the one we watch (deleted, moved away or replaced).
  bool replaced() const;

  reactor::Reactor& reactor_;
  std::string dir_;
  DirectoryListener& listener_;
  UniqueFd inotify_;
  int watch_ = -1;
  int parentWatch_ = -1;
  std::string parent_;    // dir_'s parent directory
  std::string name_;      // dir_'s last component, as events on parent_ name it
  dev_t watchedDev_ = 0;  // the directory watch_ is on
  ino_t watchedIno_ = 0;
  bool stopped_ = false;
  bool failing_ = false;
  Backoff backoff_;
  reactor::Op readOp_{reactor::bindOp<&DirectoryWatch::onRead>(this)};
  reactor::Op retryOp_{reactor::bindOp<&DirectoryWatch::onRetry>(this)};
  // Owned by the kernel while readOp_ is pending.
  alignas(8) char buffer_[8192];
};

Result<void> makeDirectories(const std::string& path, mode_t mode);

}  // namespace udp::kubelet
