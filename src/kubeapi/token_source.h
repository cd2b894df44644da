#pragma once

// The bearer token for the next request. A fixed one from a kubeconfig, or a file that someone
// else rewrites: the kubelet rotates a projected service-account token (every hour or so, and
// before 80% of its lifetime), so a token read once at start stops working.
//
// Why this does not block the loop: the file is read only when its identity (inode, size,
// mtime) changed, and its identity is looked at at most once per `recheck` (and at once after a
// 401). The file is a few KiB on a local tmpfs (the projected volume) or disk: stat and read are
// memory copies that never wait on a device or the network, like reading the config file.

#include <sys/types.h>

#include <chrono>
#include <ctime>
#include <string>

namespace udp::kubeapi {

class TokenSource {
 public:
  static constexpr std::chrono::seconds kRecheck{5};

  TokenSource() = default;
  // `token` fixed, or else read from `file` (both empty: no token).
  TokenSource(std::string token, std::string file, std::chrono::milliseconds recheck = kRecheck);

  // The token to send now; empty when there is none (or the file never could be read).
  const std::string& current(std::chrono::steady_clock::time_point now);
  // The server said 401: the file may have changed since our last look. Reads it now; true when
  // the token differs from the one before (a retry may succeed).
  bool reload(std::chrono::steady_clock::time_point now);
  bool fromFile() const { return !file_.empty(); }
  // Why the last read failed (the previous token stays in use); empty after a good read.
  const std::string& error() const { return error_; }

 private:
  void check(std::chrono::steady_clock::time_point now, bool force);

  std::string token_;
  std::string file_;
  std::chrono::milliseconds recheck_{kRecheck};
  std::chrono::steady_clock::time_point lastCheck_{};
  bool checked_ = false;
  // What the file was when last read; a rotation (rename of a new file, or a rewrite) changes it.
  ino_t inode_ = 0;
  dev_t device_ = 0;
  off_t size_ = -1;
  timespec mtime_{};
  std::string error_;
};

}  // namespace udp::kubeapi
