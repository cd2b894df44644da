#pragma once

// The audit log (DESIGN.md §1 "accounts"): one JSON line per event (audit_record.h) appended to
// a file, with size-based rotation. append() never blocks the reactor: lines wait in memory and
// an io_uring write carries them to the file, one write in flight at a time.

#include <cstdint>
#include <string>

#include "reactor/reactor.h"
#include "util/result.h"
#include "util/unique_fd.h"

namespace udp::audit {

struct AuditOptions {
  std::string path{};                    // "" = no file
  uint64_t maxBytes = 10 * 1024 * 1024;  // rotate before a line would take the file past this
  int keepFiles = 5;                     // rotated files kept beside path: path.1 … path.<keep>
  bool toLogStream = false;              // also log each line, prefixed "audit: "
  // Lines waiting for the file, at most. Beyond it lines are dropped and counted, and one line
  // saying how many follows once there is room again. Generous: a full bound is ~40 000 lines,
  // and a local file drains far faster than the daemon produces events.
  uint64_t maxQueuedBytes = 4 * 1024 * 1024;
};

class AuditLog {
 public:
  AuditLog(reactor::Reactor& reactor, AuditOptions options);
  // Destroy only when idle(): the line buffer in flight belongs to the kernel until its write
  // completes.
  ~AuditLog() = default;
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Opens (creates, 0640) the file, refusing a symlink or anything but a regular file at path.
  // Lines appended before wait in the queue. Nothing to do when path is empty.
  Result<void> open();
  // Queues one line (without its newline). Never blocks, never fails: a line that finds the
  // queue full is counted in dropped().
  void append(std::string line);
  // Whether append() would write anywhere: callers skip rendering lines nobody gets.
  bool wanted() const;
  // No more lines are accepted; those queued are still written, then the file is closed.
  void stop();
  // Nothing queued that could still be written, and no write in flight.
  bool idle() const;
  uint64_t dropped() const { return dropped_; }

 private:
  void pump();
  void onWrite(int res, uint32_t flags) noexcept;
  void submitWrite();
  bool reopen();
  bool rotate();
  size_t wholeLinesWithin(uint64_t room) const;
  void queueDropReport();
  void dropQueued();
  void writeFailed(int err);

  reactor::Reactor& reactor_;
  AuditOptions options_;
  UniqueFd fd_;
  uint64_t fileBytes_ = 0;  // size of the current file, including the write in flight
  std::string queued_;      // whole lines, each ending in '\n'
  std::string writing_;     // belongs to writeOp_ until its completion
  size_t writtenOfChunk_ = 0;
  uint64_t dropped_ = 0;
  uint64_t unreported_ = 0;  // dropped lines no line in the file tells of yet
  bool opened_ = false;
  bool stopped_ = false;
  bool failing_ = false;  // a file error was logged; log the next one only after a success
  bool rotateFailing_ = false;
  reactor::Op writeOp_{reactor::bindOp<&AuditLog::onWrite>(this)};
};

}  // namespace udp::audit
