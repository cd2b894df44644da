// The registration state machine against the grpc++ kubelet simulator (an independent gRPC
// implementation), with our server and the directory watch on a real reactor, wired the way the
// daemon wires them: registers; the kubelet gone, it waits without spinning; the kubelet back, it
// registers again; Register refused or kubelet.sock refusing connections, it retries with capped
// backoff and registers once the kubelet accepts.

#include "kubelet/registration.h"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../../support/temp_dir.h"
#include "grpc/server.h"
#include "kubelet/directory_watch.h"
#include "plugin/resource_service.h"
#include "sim_handle.h"
#include "util/unique_fd.h"

namespace udp::kubelet {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kResource = "example.com/foo";

using testing::SimHandle;
using testing::TempDir;

// One resource served and registered as the daemon does it, plus a directory watch that tells
// the registration what the daemon's DirectoryListener would.
struct Plugin final : DirectoryListener {
  Plugin(const std::string& dir, std::string resourceName, RegistrationTiming timing)
      : reactor(makeReactor()),
        service(resourceOf(resourceName)),
        server(*reactor, service),
        registration(*reactor, dir, std::move(resourceName), {}, server, timing),
        watch(*reactor, dir, *this) {
    registration.setOutcomeHandler([this](const grpc::Status& status) {
      outcomes.push_back({Clock::now(), status.ok()});
    });
    reactor->addTurnEndHook([this] {
      service.publishIfChanged();
      registration.sweep();
      server.sweep();
    });
  }

  static std::unique_ptr<reactor::Reactor> makeReactor() {
    auto r = reactor::Reactor::create(reactor::Backend::kAuto, 64);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    return std::move(*r);
  }
  static config::Resource resourceOf(const std::string& name) {
    config::Resource resource;
    resource.name = name;
    return resource;
  }

  void start(bool watchDirectory) {
    if (watchDirectory) REQUIRE(watch.start().ok());
    watching = watchDirectory;
    REQUIRE(registration.start().ok());
  }

  bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
    auto deadline = Clock::now() + limit;
    while (!done()) {
      if (Clock::now() > deadline) return false;
      reactor->runOnce(10ms);
    }
    return true;
  }

  // Stops everything and runs the reactor until nothing is in flight.
  void shutDown() {
    if (watching) watch.stop();
    registration.stop();
    service.endStreams();
    server.closeConnections();
    server.stopListening();
    CHECK(runUntil([&] {
      return registration.idle() && server.connectionCount() == 0 && (!watching || watch.idle());
    }));
  }

  void onEntryCreated(std::string_view name) override {
    if (name == "kubelet.sock") registration.kubeletAppeared();
  }
  void onEntryRemoved(std::string_view name) override {
    if (name == "kubelet.sock") {
      registration.kubeletGone();
    } else {
      registration.entryRemoved(name);
    }
  }
  void onDirectoryReset() override { registration.recheck(); }

  struct Outcome {
    Clock::time_point at;
    bool ok;
  };

  std::unique_ptr<reactor::Reactor> reactor;
  plugin::ResourceService service;
  grpc::Server server;
  Registration registration;
  DirectoryWatch watch;
  bool watching = false;
  std::vector<Outcome> outcomes;
};

TEST_CASE(
    "registration: registers, waits without spinning while the kubelet is gone, "
    "registers again when it is back") {
  TempDir tmp;
  SimHandle sim(tmp.path());
  REQUIRE(sim.start());
  Plugin p(tmp.path(), kResource, {});
  p.start(true);

  REQUIRE(p.runUntil([&] {
    return p.registration.state() == RegistrationState::kRegistered &&
           sim.registrations(kResource) == 1;
  }));
  CHECK(p.registration.registrations() == 1);
  CHECK(p.outcomes.size() == 1);

  // The kubelet stops; its socket goes (the kubelet removes it, or its restart does).
  sim.stop();
  ::unlink(sim.socketPath().c_str());
  REQUIRE(
      p.runUntil([&] { return p.registration.state() == RegistrationState::kWaitingForKubelet; }));
  // Idle: no Register attempts, and the reactor only turns when its 50 ms wait runs out.
  uint64_t turns = p.reactor->turns();
  auto until = Clock::now() + 500ms;
  while (Clock::now() < until) p.reactor->runOnce(50ms);
  CHECK(p.reactor->turns() - turns <= 20);
  CHECK(p.outcomes.size() == 1);
  CHECK(p.registration.state() == RegistrationState::kWaitingForKubelet);

  // Back: it removes every socket (ours too) and listens on a fresh kubelet.sock.
  auto back = Clock::now();
  REQUIRE(sim.start());
  REQUIRE(p.runUntil([&] {
    return p.registration.state() == RegistrationState::kRegistered &&
           sim.registrations(kResource) == 2;
  }));
  CHECK(p.registration.registrations() == 2);
  CHECK(p.outcomes.back().ok);
  CHECK(p.outcomes.back().at >= back);
  sim.stop();
  p.shutDown();
}

TEST_CASE("registration: Register refused, it retries with capped exponential backoff") {
  TempDir tmp;
  SimHandle sim(tmp.path());
  REQUIRE(sim.start());
  // The kubelet refuses a resource name without a domain, every time.
  Plugin p(tmp.path(), "no-domain", RegistrationTiming{10ms, 80ms, 15s});
  p.start(false);
  REQUIRE(p.runUntil([&] { return p.outcomes.size() >= 7; }));
  CHECK(p.registration.state() != RegistrationState::kRegistered);
  for (const auto& outcome : p.outcomes) CHECK_FALSE(outcome.ok);
  CHECK(sim.registrationErrors() > 0);
  // Each retry waits at least its backoff step: 10, 20, 40, 80, then 80 again (capped), with the
  // attempt itself in between.
  const std::chrono::milliseconds steps[] = {10ms, 20ms, 40ms, 80ms, 80ms, 80ms};
  for (size_t i = 0; i < std::size(steps); ++i) {
    auto gap = p.outcomes[i + 1].at - p.outcomes[i].at;
    CAPTURE(i);
    CHECK(gap >= steps[i]);
  }
  // Capped: the last gaps stay near 80 ms instead of doubling on (160, 320...).
  CHECK(p.outcomes[6].at - p.outcomes[5].at < 150ms);
  sim.stop();
  p.shutDown();
}

TEST_CASE(
    "registration: kubelet.sock refusing connections, it backs off and registers once the "
    "kubelet listens") {
  TempDir tmp;
  // What a kubelet that died leaves behind: the socket file, nobody listening.
  std::string kubeletSock = tmp.path() + "/kubelet.sock";
  {
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", kubeletSock.c_str());
    REQUIRE(bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  // No directory watch: only the backoff retry can find the kubelet listening.
  Plugin p(tmp.path(), kResource, RegistrationTiming{10ms, 40ms, 15s});
  p.start(false);
  REQUIRE(p.runUntil([&] { return p.outcomes.size() >= 3; }));
  CHECK(p.registration.state() == RegistrationState::kBackingOff);
  CHECK_FALSE(p.outcomes.back().ok);

  SimHandle sim(tmp.path(), false);
  REQUIRE(sim.start());  // replaces the stale file
  REQUIRE(p.runUntil([&] {
    return p.registration.state() == RegistrationState::kRegistered &&
           sim.registrations(kResource) == 1;
  }));
  CHECK(p.outcomes.back().ok);
  sim.stop();
  p.shutDown();
}

}  // namespace
}  // namespace udp::kubelet
