#pragma once

// Writes one resource's CDI spec off the reactor's thread (DESIGN.md §4: nothing blocks the
// loop). A durable replace is two fsyncs, which on a busy disk stall every socket of the loop
// for as long as they take; here a worker thread does the blocking file I/O. A job crosses to the
// worker and back as a pointer through two pipes, so nothing is shared under a lock: it belongs
// to the loop until written into the first pipe, then to the worker until it comes back
// through the second. One write is in flight at a time; a newer spec replaces a waiting one.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "reactor/reactor.h"
#include "util/result.h"
#include "util/unique_fd.h"

namespace udp::app {

class CdiSpecWriter {
 public:
  // Runs on the loop when a spec is on disk (or failed): the generation it was asked for.
  using Done = std::function<void(uint64_t generation, const Result<void>& result)>;

  CdiSpecWriter(reactor::Reactor& reactor, std::string directory, std::string fileName, Done done,
                reactor::OpScope* parent = nullptr);
  // Joins the worker; the owner frees the writer only once idle().
  ~CdiSpecWriter();
  CdiSpecWriter(const CdiSpecWriter&) = delete;
  CdiSpecWriter& operator=(const CdiSpecWriter&) = delete;

  // Asks for `contents` to become the spec file; returns at once.
  void write(uint64_t generation, std::string contents);
  // The generation of the newest write asked for, in flight or waiting.
  std::optional<uint64_t> requested() const { return requested_; }
  // A waiting spec exists only while one is in flight, so the scope says it all.
  bool idle() const { return scope_.idle(); }

 private:
  struct Job {
    std::string directory, path, contents;
    uint64_t generation = 0;
    Result<void> result;
  };
  Result<void> startWorker();
  void dispatch(std::unique_ptr<Job> job);
  void onReply(int res, uint32_t flags) noexcept;
  static void work(int jobFd, int replyFd);

  reactor::Reactor& reactor_;
  std::string directory_, path_;
  Done done_;
  reactor::OpScope scope_;
  UniqueFd jobWrite_, replyRead_;  // the loop's ends of the two pipes
  std::thread worker_;
  Job* inFlight_ = nullptr;            // owned by the worker until its pointer comes back
  Job* reply_ = nullptr;               // the kernel writes the returning pointer here
  std::unique_ptr<Job> waiting_;       // the newest spec, while one is in flight
  std::optional<uint64_t> requested_;  // newest generation asked for
  reactor::Op replyOp_{reactor::bindOp<&CdiSpecWriter::onReply>(this, scope_)};
};

}  // namespace udp::app
