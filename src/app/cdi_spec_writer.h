#pragma once

// Writes one resource's CDI spec off the reactor's thread (DESIGN.md §4: nothing blocks the
// loop): a durable replace is two fsyncs, which on a busy disk stall every socket of the loop for
// as long as they take, so a reactor::WorkerThread does the blocking file I/O. One write is in
// flight at a time; a newer spec replaces a waiting one.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "reactor/reactor.h"
#include "reactor/worker_thread.h"
#include "util/result.h"

namespace udp::app {

class CdiSpecWriter {
 public:
  // Runs on the loop when a spec is on disk (or failed): the generation it was asked for.
  using Done = std::function<void(uint64_t generation, const Result<void>& result)>;

  CdiSpecWriter(reactor::Reactor& reactor, std::string directory, std::string fileName, Done done,
                reactor::OpScope* parent = nullptr);
  CdiSpecWriter(const CdiSpecWriter&) = delete;
  CdiSpecWriter& operator=(const CdiSpecWriter&) = delete;

  // Asks for `contents` to become the spec file; returns at once.
  void write(uint64_t generation, std::string contents);
  // The generation of the newest write asked for, in flight or waiting.
  std::optional<uint64_t> requested() const { return requested_; }
  // A waiting spec exists only while one is in flight, so the worker says it all. The owner frees
  // the writer only once idle.
  bool idle() const { return worker_.idle(); }

 private:
  void dispatch(uint64_t generation, std::string contents);

  std::string directory_, path_;
  Done done_;
  reactor::WorkerThread worker_;
  bool inFlight_ = false;
  std::optional<std::pair<uint64_t, std::string>>
      waiting_;                        // the newest spec, while one is in flight
  std::optional<uint64_t> requested_;  // newest generation asked for
};

}  // namespace udp::app
