#include "reactor/worker_thread.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

namespace udp::reactor {

WorkerThread::WorkerThread(Reactor& reactor, OpScope* parent) : reactor_(reactor), scope_(parent) {}

WorkerThread::~WorkerThread() {
  jobWrite_.reset();  // the worker sees end-of-file and returns
  if (worker_.joinable()) worker_.join();
}

Result<void> WorkerThread::startWorker() {
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

void WorkerThread::run(Work work, Done done) {
  auto job = std::make_unique<Job>();
  job->work = std::move(work);
  job->done = std::move(done);
  if (inFlight_ != nullptr) {
    waiting_.push_back(std::move(job));
    return;
  }
  dispatch(std::move(job));
}

void WorkerThread::dispatch(std::unique_ptr<Job> job) {
  if (!worker_.joinable()) {
    if (auto r = startWorker(); !r) {
      job->done(makeError(r.error().code, "worker thread: " + r.error().message));
      return;
    }
  }
  Job* raw = job.release();
  // 8 bytes into an empty pipe (one job at a time): never blocks, never splits (PIPE_BUF).
  if (::write(jobWrite_.get(), &raw, sizeof raw) != static_cast<ssize_t>(sizeof raw)) {
    std::unique_ptr<Job> back(raw);
    back->done(makeError(-errno, std::string("worker thread: ") + strerror(errno)));
    return;
  }
  inFlight_ = raw;
  // reply_ belongs to the kernel until replyOp_ completes.
  reactor_.read(replyOp_, replyRead_.get(), &reply_, sizeof reply_);
}

void WorkerThread::onReply(int res, uint32_t) noexcept {
  if (res != static_cast<int>(sizeof reply_)) {
    if (res == -EINTR || res == -EAGAIN || res == -ECANCELED) {
      // Cancelled at exit, or interrupted: the job is still the worker's; wait for it.
      reactor_.read(replyOp_, replyRead_.get(), &reply_, sizeof reply_);
      return;
    }
    // The worker is gone (cannot happen while the job pipe is open). The job may still be in its
    // hands, so it is not freed; its owner hears of the failure.
    Done done = inFlight_->done;
    inFlight_ = nullptr;
    done(makeError(res < 0 ? res : -EPIPE, "worker thread: no reply"));
    return;
  }
  std::unique_ptr<Job> job(reply_);
  inFlight_ = nullptr;
  if (!waiting_.empty()) {
    std::unique_ptr<Job> next = std::move(waiting_.front());
    waiting_.pop_front();
    dispatch(std::move(next));
  }
  job->done(job->result);
}

void WorkerThread::work(int jobFd, int replyFd) {
  Job* job = nullptr;
  for (;;) {
    ssize_t n = ::read(jobFd, &job, sizeof job);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof job)) break;  // end of file: the owner is going
    job->result = job->work();
    while (::write(replyFd, &job, sizeof job) < 0 && errno == EINTR) {
    }
  }
  ::close(jobFd);
  ::close(replyFd);
}

}  // namespace udp::reactor
