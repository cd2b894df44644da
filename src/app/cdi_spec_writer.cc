#include "app/cdi_spec_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "kubelet/directory_watch.h"
#include "util/atomic_file.h"

namespace udp::app {

CdiSpecWriter::CdiSpecWriter(reactor::Reactor& reactor, std::string directory, std::string fileName,
                             Done done, reactor::OpScope* parent)
    : reactor_(reactor),
      directory_(std::move(directory)),
      path_(directory_ + "/" + fileName),
      done_(std::move(done)),
      scope_(parent) {}

CdiSpecWriter::~CdiSpecWriter() {
  jobWrite_.reset();  // the worker sees end-of-file and returns
  if (worker_.joinable()) worker_.join();
}

Result<void> CdiSpecWriter::startWorker() {
  int jobs[2], replies[2];
  if (::pipe2(jobs, O_CLOEXEC) != 0) return makeError(-errno, strerror(errno));
  if (::pipe2(replies, O_CLOEXEC) != 0) {
    int err = errno;
    ::close(jobs[0]);
    ::close(jobs[1]);
    return makeError(-err, strerror(err));
  }
  jobWrite_.reset(jobs[1]);
  replyRead_.reset(replies[0]);
  // The worker owns its ends and closes them when it returns.
  worker_ = std::thread(work, jobs[0], replies[1]);
  return {};
}

void CdiSpecWriter::write(uint64_t generation, std::string contents) {
  auto job = std::make_unique<Job>();
  job->directory = directory_;
  job->path = path_;
  job->contents = std::move(contents);
  job->generation = generation;
  requested_ = generation;
  if (inFlight_ != nullptr) {
    waiting_ = std::move(job);  // replaces an older waiting spec: only the newest matters
    return;
  }
  dispatch(std::move(job));
}

void CdiSpecWriter::dispatch(std::unique_ptr<Job> job) {
  if (!worker_.joinable()) {
    if (auto r = startWorker(); !r) {
      uint64_t generation = job->generation;
      done_(generation, makeError(r.error().code, "CDI writer thread: " + r.error().message));
      return;
    }
  }
  Job* raw = job.release();
  // 8 bytes into a pipe with room for thousands: never blocks, never splits (PIPE_BUF).
  if (::write(jobWrite_.get(), &raw, sizeof raw) != static_cast<ssize_t>(sizeof raw)) {
    std::unique_ptr<Job> back(raw);
    done_(back->generation, makeError(-errno, std::string("CDI writer: ") + strerror(errno)));
    return;
  }
  inFlight_ = raw;
  // reply_ belongs to the kernel until replyOp_ completes.
  reactor_.read(replyOp_, replyRead_.get(), &reply_, sizeof reply_);
}

void CdiSpecWriter::onReply(int res, uint32_t) noexcept {
  if (res != static_cast<int>(sizeof reply_)) {
    if (res == -EINTR || res == -EAGAIN || res == -ECANCELED) {
      // Cancelled at exit, or interrupted: the job is still the worker's; wait for it.
      reactor_.read(replyOp_, replyRead_.get(), &reply_, sizeof reply_);
      return;
    }
    // The worker is gone (cannot happen while the job pipe is open); give the job up.
    inFlight_ = nullptr;
    done_(requested_.value_or(0), makeError(res < 0 ? res : -EPIPE, "CDI writer: no reply"));
    return;
  }
  std::unique_ptr<Job> job(reply_);
  inFlight_ = nullptr;
  if (waiting_) dispatch(std::move(waiting_));
  done_(job->generation, job->result);
}

void CdiSpecWriter::work(int jobFd, int replyFd) {
  Job* job = nullptr;
  for (;;) {
    ssize_t n = ::read(jobFd, &job, sizeof job);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof job)) break;  // end of file: the writer is going
    job->result = kubelet::makeDirectories(job->directory, 0755);
    if (job->result) job->result = writeFileAtomically(job->path, job->contents);
    while (::write(replyFd, &job, sizeof job) < 0 && errno == EINTR) {
    }
  }
  ::close(jobFd);
  ::close(replyFd);
}

}  // namespace udp::app
