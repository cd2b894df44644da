#pragma once

// Blocking work off the reactor's thread (DESIGN.md §4: nothing blocks the loop): a durable file
// replace is two fsyncs, which on a busy disk would stall every socket of the loop for as long as
// they take. Jobs run one at a time, in the order asked, on one worker thread (started with the
// first job); each one's `done` runs on the loop. A job crosses to the worker and back as a
// pointer through two pipes, so nothing is shared under a lock: it is the loop's until written
// into the first pipe, the worker's until it comes back through the second.

#include <deque>
#include <functional>
#include <memory>
#include <thread>

#include "reactor/reactor.h"
#include "util/result.h"
#include "util/unique_fd.h"

namespace udp::reactor {

class WorkerThread {
 public:
  // Runs on the worker: may touch only what it captured by value.
  using Work = std::function<Result<void>()>;
  using Done = std::function<void(const Result<void>&)>;

  explicit WorkerThread(Reactor& reactor, OpScope* parent = nullptr);
  // Joins the worker; the owner frees it only once idle().
  ~WorkerThread();
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  void run(Work work, Done done);
  // No job in flight or waiting.
  bool idle() const { return scope_.idle() && waiting_.empty(); }

 private:
  struct Job {
    Work work;
    Done done;
    Result<void> result;
  };
  Result<void> startWorker();
  void dispatch(std::unique_ptr<Job> job);
  void onReply(int res, uint32_t flags) noexcept;
  static void work(int jobFd, int replyFd);

  Reactor& reactor_;
  OpScope scope_;
  UniqueFd jobWrite_, replyRead_;  // the loop's ends of the two pipes
  std::thread worker_;
  Job* inFlight_ = nullptr;  // owned by the worker until its pointer comes back
  Job* reply_ = nullptr;     // the kernel writes the returning pointer here
  std::deque<std::unique_ptr<Job>> waiting_;
  Op replyOp_{bindOp<&WorkerThread::onReply>(this, scope_)};
};

}  // namespace udp::reactor
