#include "kubelet/directory_watch.h"

#include <errno.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "kubelet/inotify_events.h"
#include "util/log.h"

namespace udp::kubelet {

Result<void> makeDirectories(const std::string& path, mode_t mode) {
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i < path.size() && path[i] != '/') continue;
    std::string prefix = path.substr(0, i);
    if (::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) {
      return makeError(-errno, "mkdir " + prefix + ": " + strerror(errno));
    }
  }
  return {};
}

DirectoryWatch::DirectoryWatch(reactor::Reactor& reactor, std::string dir,
                               DirectoryListener& listener, BackoffTiming retry)
    : reactor_(reactor), dir_(std::move(dir)), listener_(listener), backoff_(retry) {
  std::string path = dir_;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  size_t slash = path.rfind('/');
  parent_ = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  name_ = slash == std::string::npos ? path : path.substr(slash + 1);
}

Result<void> DirectoryWatch::start() {
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return makeError(-errno, std::string("inotify_init1: ") + strerror(errno));
  inotify_.reset(fd);
  if (auto r = addWatch(); !r) return r;
  arm();
  listener_.onWatchUp();
  return {};
}

Result<void> DirectoryWatch::addWatch() {
  if (auto r = makeDirectories(dir_, 0755); !r) return r;
  constexpr uint32_t kMask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF |
                             IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK;
  int wd = inotify_add_watch(inotify_.get(), dir_.c_str(), kMask);
  if (wd < 0) return makeError(-errno, "inotify_add_watch " + dir_ + ": " + strerror(errno));
  struct stat st;
  if (::stat(dir_.c_str(), &st) == 0) {
    watchedDev_ = st.st_dev;
    watchedIno_ = st.st_ino;
  }
  // The parent tells at once when our directory's name goes or comes back (see the header).
  if (name_.empty() || name_ == "." || name_ == "..") {  // no parent to speak of
    watch_ = wd;
    return {};
  }
  constexpr uint32_t kParentMask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR;
  int parentWd = inotify_add_watch(inotify_.get(), parent_.c_str(), kParentMask);
  if (parentWd < 0) {
    int err = errno;
    inotify_rm_watch(inotify_.get(), wd);  // both or neither: a retry adds both again
    return makeError(-err, "inotify_add_watch " + parent_ + ": " + strerror(err));
  }
  watch_ = wd;
  parentWatch_ = parentWd;
  return {};
}

Result<void> DirectoryWatch::rewatch() {
  if (watch_ >= 0) inotify_rm_watch(inotify_.get(), watch_);
  // The parent may have been replaced too (rm -rf of a directory above ours).
  if (parentWatch_ >= 0) inotify_rm_watch(inotify_.get(), parentWatch_);
  watch_ = -1;
  parentWatch_ = -1;
  return addWatch();
}

void DirectoryWatch::fail(const Error& error) {
  if (!failing_) {
    failing_ = true;
    logError("cannot watch the kubelet directory; retrying with backoff: " + error.message,
             {{"dir", dir_}});
    listener_.onWatchDown(error.message);
  } else {
    logDebug("the kubelet directory still cannot be watched: " + error.message, {{"dir", dir_}});
  }
  // One still in flight (due, or cancelled by a recovery) retries or re-arms when it completes.
  if (!retryOp_.pending()) reactor_.timeout(retryOp_, backoff_.next());
}

void DirectoryWatch::recovered() {
  if (!failing_) return;
  failing_ = false;
  backoff_.reset();
  if (retryOp_.pending()) reactor_.cancel(retryOp_);
  logInfo("watching the kubelet directory again", {{"dir", dir_}});
  listener_.onWatchUp();
}

void DirectoryWatch::onRetry(int res, uint32_t) noexcept {
  if (stopped_ || !failing_) return;
  if (res == -ECANCELED) {
    // Cancelled by a recovery, and failing again before the cancellation completed.
    reactor_.timeout(retryOp_, backoff_.next());
    return;
  }
  if (auto r = rewatch(); !r) {
    fail(r.error());
    return;
  }
  recovered();
  // Whatever happened in the directory meanwhile went unseen.
  listener_.onDirectoryReset();
  if (!readOp_.pending()) arm();
}

bool DirectoryWatch::replaced() const {
  struct stat st;
  return ::stat(dir_.c_str(), &st) != 0 || st.st_dev != watchedDev_ || st.st_ino != watchedIno_;
}

void DirectoryWatch::arm() {
  if (stopped_) return;
  // buffer_ belongs to readOp_ until its completion arrives.
  reactor_.read(readOp_, inotify_.get(), buffer_, sizeof buffer_);
}

void DirectoryWatch::stop() {
  stopped_ = true;
  reactor_.cancel(readOp_);
  if (retryOp_.pending()) reactor_.cancel(retryOp_);
}

void DirectoryWatch::onRead(int res, uint32_t) noexcept {
  if (stopped_) return;
  if (res < 0) {
    if (res == -EINTR || res == -EAGAIN) {
      arm();
      return;
    }
    // Cannot read the watch any more; losing it would leave us deaf to kubelet restarts. Read
    // again only from the retry, so that a read that keeps failing does not spin.
    fail({res, std::string("read inotify events: ") + strerror(-res)});
    return;
  }
  bool reset = false;
  for (const InotifyEvent& event : parseInotifyEvents({buffer_, static_cast<size_t>(res)})) {
    if (event.mask & IN_Q_OVERFLOW) {
      reset = true;
    } else if (event.watch == parentWatch_ && parentWatch_ >= 0) {
      // Our own re-creation of the directory shows up here too: only a different one counts.
      if (event.name == name_ &&
          (event.mask & (IN_DELETE | IN_MOVED_FROM | IN_CREATE | IN_MOVED_TO)) && replaced()) {
        reset = true;
      }
    } else if (event.watch != watch_) {
      continue;  // a stale watch from before the directory was re-created
    } else if (event.mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
      reset = true;
    } else if (event.mask & (IN_CREATE | IN_MOVED_TO)) {
      listener_.onEntryCreated(event.name);
    } else if (event.mask & (IN_DELETE | IN_MOVED_FROM)) {
      listener_.onEntryRemoved(event.name);
    }
  }
  if (reset) {
    if (auto r = rewatch(); !r) {
      // Nothing to watch until the directory can be made: no event will come to repair it,
      // only the retry.
      fail(r.error());
      arm();
      return;
    }
    recovered();  // an overflow may come while failing, and rewatch then worked
    listener_.onDirectoryReset();
  }
  arm();
}

}  // namespace udp::kubelet
