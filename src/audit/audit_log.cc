#include "audit/audit_log.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <algorithm>

#include "audit/audit_record.h"
#include "util/log.h"

namespace udp::audit {
namespace {

// O_NONBLOCK only for the open itself: a FIFO put at our path must fail it (ENXIO) rather than
// hang the reactor.
constexpr int kOpenFlags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;

// Past a burst, give the memory back: the daemon's idle footprint is a target (DESIGN.md §1).
constexpr size_t kKeepCapacity = 64 * 1024;

uint64_t countLines(std::string_view bytes) {
  return static_cast<uint64_t>(std::count(bytes.begin(), bytes.end(), '\n'));
}

struct OpenedFile {
  UniqueFd fd;
  uint64_t size = 0;  // appends continue an existing file
};

Result<OpenedFile> openFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), kOpenFlags, 0640));
  if (!fd.valid()) {
    int err = errno;
    return makeError(-err, "cannot open audit log " + path + ": " + strerror(err));
  }
  struct stat st {};
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return makeError(-EINVAL, "audit log " + path + " is not a regular file");
  }
  // Then off: io_uring hands -EAGAIN back for an O_NONBLOCK file instead of finishing the write
  // in its worker, and resubmitting would spin.
  int flags = fcntl(fd.get(), F_GETFL);
  if (flags < 0 || fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    int err = errno;
    return makeError(-err, "audit log " + path + ": fcntl: " + strerror(err));
  }
  return OpenedFile{std::move(fd), static_cast<uint64_t>(st.st_size)};
}

}  // namespace

AuditLog::AuditLog(reactor::Reactor& reactor, AuditOptions options)
    : reactor_(reactor), options_(std::move(options)) {}

Result<void> AuditLog::open() {
  if (options_.path.empty() || opened_) return {};
  auto file = openFile(options_.path);
  if (!file) return file.error();
  fd_ = std::move(file->fd);
  fileBytes_ = file->size;
  opened_ = true;
  pump();  // lines appended before open()
  return {};
}

bool AuditLog::reopen() {
  auto file = openFile(options_.path);
  if (!file) {
    if (!failing_) {
      failing_ = true;
      logError(file.error().message + "; lines wait in memory");
    }
    return false;
  }
  fd_ = std::move(file->fd);
  fileBytes_ = file->size;
  return true;
}

bool AuditLog::wanted() const {
  return !stopped_ &&
         (!options_.path.empty() || (options_.toLogStream && logEnabled(LogLevel::kInfo)));
}

void AuditLog::append(std::string line) {
  while (!line.empty() && line.back() == '\n') line.pop_back();
  if (line.empty() || stopped_) return;
  // A raw newline would split one record into two lines.
  std::replace(line.begin(), line.end(), '\n', ' ');
  if (options_.toLogStream) logInfo("audit: " + line);
  if (options_.path.empty()) return;

  queueDropReport();
  if (queued_.size() + line.size() + 1 > options_.maxQueuedBytes) {
    if (unreported_ == 0) {
      logWarning("audit log " + options_.path + ": " + std::to_string(queued_.size()) +
                 " bytes wait for the file; dropping lines until it catches up");
    }
    ++dropped_;
    ++unreported_;
    return;
  }
  queued_ += line;
  queued_ += '\n';
  pump();
}

void AuditLog::queueDropReport() {
  if (unreported_ == 0) return;
  std::string line =
      renderAuditLine(DroppedAudit{unreported_}, std::chrono::system_clock::now()) + '\n';
  if (queued_.size() + line.size() > options_.maxQueuedBytes) return;
  queued_ += line;
  unreported_ = 0;
}

size_t AuditLog::wholeLinesWithin(uint64_t room) const {
  if (queued_.size() <= room) return queued_.size();
  if (room == 0) return 0;
  size_t lastNewline = queued_.rfind('\n', static_cast<size_t>(room) - 1);
  return lastNewline == std::string::npos ? 0 : lastNewline + 1;
}

void AuditLog::pump() {
  if (!opened_ || writeOp_.pending()) return;
  queueDropReport();
  if (queued_.empty()) {
    if (stopped_) fd_.reset();
    return;
  }
  if (!fd_.valid() && !reopen()) return;

  uint64_t room = fileBytes_ < options_.maxBytes ? options_.maxBytes - fileBytes_ : 0;
  size_t take = wholeLinesWithin(room);
  if (take == 0 && fileBytes_ > 0) {
    if (!rotate()) return;
    room = fileBytes_ < options_.maxBytes ? options_.maxBytes - fileBytes_ : 0;
    take = wholeLinesWithin(room);
  }
  // A line longer than maxBytes gets a file of its own (or, if rotating failed, goes on the end
  // of the current one): never split, never lost.
  if (take == 0) take = queued_.find('\n') + 1;

  if (take == queued_.size()) {
    writing_.clear();
    writing_.swap(queued_);
  } else {
    writing_.assign(queued_, 0, take);
    queued_.erase(0, take);
  }
  fileBytes_ += take;
  writtenOfChunk_ = 0;
  submitWrite();
}

void AuditLog::submitWrite() {
  // writing_ belongs to writeOp_ (the kernel reads it) until onWrite runs: nothing touches it
  // before then, and the owner keeps us alive until idle().
  reactor_.write(writeOp_, fd_.get(), writing_.data() + writtenOfChunk_,
                 writing_.size() - writtenOfChunk_, reactor::Reactor::kAtFilePosition);
}

void AuditLog::onWrite(int res, uint32_t) noexcept {
  if (res == -EINTR || res == -EAGAIN) {
    submitWrite();
    return;
  }
  if (res <= 0) {
    writeFailed(res == 0 ? -EIO : -res);
    // No retry from here: a full disk would turn it into a loop. The next line retries.
    if (stopped_) dropQueued();
    return;
  }
  writtenOfChunk_ += static_cast<size_t>(res);
  if (writtenOfChunk_ < writing_.size()) {
    submitWrite();  // short write: the rest, still ours until that completes too
    return;
  }
  failing_ = false;
  writing_.clear();
  if (writing_.capacity() > kKeepCapacity) writing_.shrink_to_fit();
  pump();
}

void AuditLog::writeFailed(int err) {
  std::string_view unwritten = std::string_view(writing_).substr(writtenOfChunk_);
  uint64_t lost = countLines(unwritten);
  dropped_ += lost;
  unreported_ += lost;
  // A line cut short in the file must not swallow the next one.
  if (writtenOfChunk_ > 0 && writing_[writtenOfChunk_ - 1] != '\n') queued_.insert(0, "\n");
  if (!failing_) {
    failing_ = true;
    logError("cannot write audit log " + options_.path + ": " + strerror(err) + "; " +
             std::to_string(lost) + " lines lost");
  }
  writing_.clear();
  // Reopen for the next line: the error may have passed or the file been replaced.
  fd_.reset();
}

bool AuditLog::rotate() {
  fd_.reset();
  const std::string& path = options_.path;
  // Synchronous renames: metadata only, once per maxBytes, and with no write in flight they
  // cannot reorder lines across files.
  int rc = 0;
  if (options_.keepFiles <= 0) {
    rc = ::unlink(path.c_str());
  } else {
    for (int k = options_.keepFiles - 1; k >= 1; --k) {
      // ENOENT is normal: fewer files than keepFiles so far.
      ::rename((path + "." + std::to_string(k)).c_str(),
               (path + "." + std::to_string(k + 1)).c_str());
    }
    rc = ::rename(path.c_str(), (path + ".1").c_str());
  }
  int err = rc == 0 ? 0 : errno;
  if (err == 0 || err == ENOENT) {
    rotateFailing_ = false;
  } else if (!rotateFailing_) {
    rotateFailing_ = true;
    logError("cannot rotate audit log " + path + ": " + strerror(err) +
             "; it grows past maxBytes meanwhile");
  }
  return reopen();
}

void AuditLog::dropQueued() {
  uint64_t queuedLines = countLines(queued_);
  uint64_t lost = queuedLines + unreported_;
  dropped_ += queuedLines;
  queued_.clear();
  unreported_ = 0;
  if (lost == 0) return;
  logError("audit log " + options_.path + ": " + std::to_string(lost) +
           " lines could not be written before stopping");
}

void AuditLog::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (!opened_) {
    dropQueued();
    return;
  }
  pump();  // closes the file once everything is written
  if (!writeOp_.pending()) dropQueued();
}

bool AuditLog::idle() const {
  return !writeOp_.pending() && queued_.empty();
}

}  // namespace udp::audit
