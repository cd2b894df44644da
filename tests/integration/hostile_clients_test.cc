// Hostile HTTP/2 peers against the real plugin binary (scripted devices) with the grpc++ kubelet
// simulator as the well-behaved client: connection floods, stuck and slow readers, header bombs,
// frame floods. Each attack runs from this process on the plugin's socket; afterwards the daemon
// must be alive, small, and still serving the kubelet (DESIGN.md §3, §4).

#include <doctest/doctest.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../support/sanitizers.h"
#include "kubelet_sim.h"
#include "plugin_process.h"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using udp::sim::KubeletSim;
using udp::sim::SimOptions;
using udp::testing::PluginProcess;
using udp::testing::TempDir;

namespace {

constexpr const char* kFoo = "example.com/foo";
constexpr long kRssLimitKiB = 64 * 1024;
constexpr const char* kListAndWatch = "/v1beta1.DevicePlugin/ListAndWatch";
constexpr const char* kAllocate = "/v1beta1.DevicePlugin/Allocate";

enum FrameType : uint8_t {
  kData = 0,
  kHeaders = 1,
  kRstStream = 3,
  kSettings = 4,
  kPing = 6,
  kGoaway = 7,
  kContinuation = 9,
};
constexpr uint8_t kEndStream = 0x1, kEndHeaders = 0x4;
constexpr uint32_t kRefusedStream = 7;
// grpc::ServerLimits' defaults: connections per socket, streams per connection.
constexpr size_t kMaxConnections = 64;
constexpr size_t kMaxStreams = 16;

std::string frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload) {
  std::string f;
  size_t n = payload.size();
  f += {static_cast<char>(n >> 16),
        static_cast<char>(n >> 8),
        static_cast<char>(n),
        static_cast<char>(type),
        static_cast<char>(flags),
        static_cast<char>((stream >> 24) & 0x7f),
        static_cast<char>(stream >> 16),
        static_cast<char>(stream >> 8),
        static_cast<char>(stream)};
  f += payload;
  return f;
}

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

std::string settingsFrame(std::vector<std::pair<uint16_t, uint32_t>> entries) {
  std::string payload;
  for (auto [id, value] : entries) {
    payload += {static_cast<char>(id >> 8), static_cast<char>(id)};
    payload += be32(value);
  }
  return frame(kSettings, 0, 0, payload);
}

std::string preface(uint32_t initialWindow = 65535) {
  return "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + settingsFrame({{0x4, initialWindow}});
}

// HPACK integer with an N-bit prefix (RFC 7541 §5.1).
void hpackInt(std::string& out, int prefixBits, uint8_t flags, size_t value) {
  size_t max = (1u << prefixBits) - 1;
  if (value < max) {
    out += static_cast<char>(flags | value);
    return;
  }
  out += static_cast<char>(flags | max);
  for (value -= max; value >= 128; value >>= 7) out += static_cast<char>(0x80 | (value & 0x7f));
  out += static_cast<char>(value);
}

// A literal field with a new name, added to the dynamic table or not (§6.2.1, §6.2.2).
void hpackLiteral(std::string& out, std::string_view name, std::string_view value,
                  bool indexed = false) {
  out += static_cast<char>(indexed ? 0x40 : 0x00);
  hpackInt(out, 7, 0, name.size());
  out += name;
  hpackInt(out, 7, 0, value.size());
  out += value;
}

// :method POST, :scheme http, :path, :authority, content-type: application/grpc. No dynamic
// table use, so any number of these may go out in any order.
std::string requestBlock(std::string_view path) {
  std::string b = "\x83\x86";  // static indices 3 and 6
  hpackInt(b, 4, 0x00, 4);     // :path, literal without indexing, indexed name
  hpackInt(b, 7, 0, path.size());
  b += path;
  hpackLiteral(b, ":authority", "localhost");
  hpackLiteral(b, "content-type", "application/grpc");
  return b;
}

// A whole call: request HEADERS, then one empty gRPC message with END_STREAM.
std::string call(uint32_t stream, std::string_view path) {
  return frame(kHeaders, kEndHeaders, stream, requestBlock(path)) +
         frame(kData, kEndStream, stream, std::string(5, '\0'));
}

// A header block split over HEADERS + CONTINUATION frames of at most 16 KiB each.
std::string headerFrames(uint32_t stream, std::string_view block) {
  std::string out;
  for (size_t at = 0; at < block.size() || at == 0; at += 16384) {
    bool last = at + 16384 >= block.size();
    out += frame(at == 0 ? kHeaders : kContinuation, last ? kEndHeaders : 0, stream,
                 block.substr(at, 16384));
  }
  return out;
}

struct Frame {
  uint8_t type, flags;
  uint32_t stream;
  std::string payload;  // DATA payloads are not kept
};

// A raw HTTP/2 peer on a unix socket: writes bytes we choose and parses what comes back.
class RawPeer {
 public:
  explicit RawPeer(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
    if (fd_ >= 0) fcntl(fd_, F_SETFL, O_NONBLOCK);
  }
  ~RawPeer() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawPeer(const RawPeer&) = delete;
  RawPeer& operator=(const RawPeer&) = delete;

  bool ok() const { return fd_ >= 0; }
  bool closed() const { return closed_; }

  // Writes all of `bytes` unless the server closes or `timeout` passes; never reads.
  bool send(std::string_view bytes, std::chrono::milliseconds timeout = 5s) {
    auto deadline = Clock::now() + timeout;
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n > 0) {
        bytes.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno != EAGAIN) return false;
      if (Clock::now() > deadline) return false;
      pollfd p{fd_, POLLOUT, 0};
      poll(&p, 1, 20);
    }
    return true;
  }

  // Reads and parses frames until `stop` says so, EOF, or `timeout`; true if `stop` did.
  bool readUntil(std::chrono::milliseconds timeout,
                 const std::function<bool(const Frame&)>& stop = nullptr) {
    auto deadline = Clock::now() + timeout;
    char buf[65536];
    while (!closed_) {
      while (in_.size() >= 9) {
        size_t len = (uint8_t(in_[0]) << 16) | (uint8_t(in_[1]) << 8) | uint8_t(in_[2]);
        if (in_.size() < 9 + len) break;
        Frame f{uint8_t(in_[3]), uint8_t(in_[4]),
                (uint32_t(uint8_t(in_[5]) & 0x7f) << 24) | (uint32_t(uint8_t(in_[6])) << 16) |
                    (uint32_t(uint8_t(in_[7])) << 8) | uint8_t(in_[8]),
                f.type == kData ? std::string() : in_.substr(9, len)};
        dataBytes += f.type == kData ? len : 0;
        in_.erase(0, 9 + len);
        frames.push_back(std::move(f));
        if (stop && stop(frames.back())) return true;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n > 0) {
        in_.append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EAGAIN) {
        closed_ = true;
      }
    }
    return false;
  }

  // Everything the server sends until it closes (or `timeout`): true if it closed.
  bool drainUntilClosed(std::chrono::milliseconds timeout) {
    readUntil(timeout);
    return closed_;
  }

  size_t count(uint8_t type) const {
    return std::count_if(frames.begin(), frames.end(), [&](auto& f) { return f.type == type; });
  }
  // RST_STREAM or GOAWAY error codes, in arrival order.
  std::vector<uint32_t> errorCodes(uint8_t type) const {
    std::vector<uint32_t> codes;
    for (const Frame& f : frames) {
      size_t at = type == kGoaway ? 4 : 0;
      if (f.type != type || f.payload.size() < at + 4) continue;
      codes.push_back((uint32_t(uint8_t(f.payload[at])) << 24) |
                      (uint32_t(uint8_t(f.payload[at + 1])) << 16) |
                      (uint32_t(uint8_t(f.payload[at + 2])) << 8) | uint8_t(f.payload[at + 3]));
    }
    return codes;
  }
  // Whether the server answered `stream` with a response HEADERS frame.
  bool answered(uint32_t stream) const {
    return std::any_of(frames.begin(), frames.end(),
                       [&](auto& f) { return f.type == kHeaders && f.stream == stream; });
  }

  std::vector<Frame> frames;
  size_t dataBytes = 0;

 private:
  int fd_ = -1;
  bool closed_ = false;
  std::string in_;
};

struct Harness {
  TempDir tmp;
  std::string dir = tmp.file("device-plugins");
  std::unique_ptr<KubeletSim> sim;
  std::unique_ptr<PluginProcess> plugin;
  std::string socket;
  int added = 0;

  Harness() {
    tmp.write("config.yaml",
              "resources:\n  - name: example.com/foo\n"
              "    match: [{subsystem: block}]\n");
    mkdir(dir.c_str(), 0755);
    sim = std::make_unique<KubeletSim>(SimOptions{.dir = dir});
    REQUIRE(sim->start());
    plugin = std::make_unique<PluginProcess>(
        udp::testing::binaryFromEnv("SCRIPTED_PLUGIN"),
        std::vector<std::string>{"run", "--config", tmp.file("config.yaml"), "--kubelet-dir", dir});
    REQUIRE(sim->waitForRegistrations(kFoo, 1, 5s));
    REQUIRE(plugin->send("add example.com/foo dev0 devnode=/dev/null"));
    REQUIRE(sim->waitForDevices(kFoo, hasDevice("dev0"), 5s));
    socket = dir + "/" + sim->plugin(kFoo)->endpoint;
  }

  static std::function<bool(const std::vector<v1beta1::Device>&)> hasDevice(std::string id) {
    return [id](const auto& devices) {
      return std::any_of(devices.begin(), devices.end(), [&](auto& d) { return d.id() == id; });
    };
  }

  long rss() const { return plugin->statusField("VmRSS:"); }

  // What every attack must leave intact: the process, its memory bound, a unary call from the
  // kubelet and the kubelet's ListAndWatch stream.
  void checkStillServing(const char* attack, long rssBefore) {
    long rssAfter = rss();
    MESSAGE(std::string(attack) << ": VmRSS " << rssBefore << " → " << rssAfter << " KiB, VmHWM "
                                << plugin->statusField("VmHWM:") << " KiB, fds "
                                << plugin->openFds());
    REQUIRE(plugin->waitExit(0) == -1);
    if (!udp::testing::kUnderAddressSanitizer) CHECK(rssAfter < kRssLimitKiB);
    v1beta1::AllocateResponse response;
    grpc::Status status = sim->allocate(kFoo, {"dev0"}, &response);
    CHECK_MESSAGE(status.ok(), status.error_message());
    std::string id = "after" + std::to_string(++added);
    REQUIRE(plugin->send("add example.com/foo " + id));
    CHECK(sim->waitForDevices(kFoo, hasDevice(id), 10s));
    CHECK(sim->plugin(kFoo)->streaming);
  }
};

// A connection the server answered: its SETTINGS arrived.
bool greeted(RawPeer& peer, std::chrono::milliseconds timeout) {
  return peer.readUntil(timeout, [](const Frame& f) { return f.type == kSettings; });
}

}  // namespace

TEST_CASE("1 000 connections at once: 64 served, the rest closed at once; out of fds too") {
  Harness h;
  rlimit ours{};
  getrlimit(RLIMIT_NOFILE, &ours);
  if (ours.rlim_cur < 4096) {
    ours.rlim_cur = std::min<rlim_t>(ours.rlim_max, 4096);
    setrlimit(RLIMIT_NOFILE, &ours);
  }
  REQUIRE(ours.rlim_cur >= 1200);

  // 4096: every connection is accepted. 512: accept fails with EMFILE half way.
  for (rlim_t daemonLimit : {rlim_t{4096}, rlim_t{512}}) {
    CAPTURE(daemonLimit);
    rlimit limit{daemonLimit, std::max<rlim_t>(daemonLimit, ours.rlim_max)};
    REQUIRE(prlimit(h.plugin->pid(), RLIMIT_NOFILE, &limit, nullptr) == 0);
    long rssBefore = h.rss();
    std::vector<std::unique_ptr<RawPeer>> peers;
    for (int i = 0; i < 1000; ++i) {
      auto peer = std::make_unique<RawPeer>(h.socket);
      if (!peer->ok()) break;  // the listen backlog is full
      peer->send(preface(), 100ms);
      peers.push_back(std::move(peer));
    }
    auto deadline = Clock::now() + 4s;  // within the 5 s a connection has for its first request
    size_t served = 0, refused = 0;
    for (auto& peer : peers) {
      auto left = std::max(deadline - Clock::now(), Clock::duration(1ms));
      served += greeted(*peer, std::chrono::duration_cast<std::chrono::milliseconds>(left));
      refused += peer->closed() && peer->count(kSettings) == 0;
    }
    MESSAGE("daemon fd limit " << daemonLimit << ": " << peers.size() << " connected, " << served
                               << " greeted, " << refused << " closed unanswered; daemon fds "
                               << h.plugin->openFds() << ", VmRSS " << h.rss() << " KiB, VmHWM "
                               << h.plugin->statusField("VmHWM:") << " KiB");
    CHECK(peers.size() >= 500);
    // The kubelet's own connection is one of the 64.
    CHECK(served <= kMaxConnections - 1);
    CHECK(served >= 1);
    // Over the limit a connection is accepted and closed at once, not left hanging.
    if (daemonLimit > 1100) CHECK(served + refused == peers.size());
    // The kubelet's connection is served while the flood is still open.
    v1beta1::AllocateResponse response;
    CHECK(h.sim->allocate(kFoo, {"dev0"}, &response).ok());
    peers.clear();
    std::this_thread::sleep_for(500ms);  // the EMFILE retry timer is 100 ms
    // Recovered: a brand-new connection is accepted and answered.
    RawPeer fresh(h.socket);
    REQUIRE(fresh.ok());
    REQUIRE(fresh.send(preface() + call(1, "/v1beta1.DevicePlugin/GetDevicePluginOptions")));
    CHECK(fresh.readUntil(5s, [](const Frame& f) { return f.type == kHeaders; }));
    h.checkStillServing("1000 connections", rssBefore);
  }
}

TEST_CASE("ListAndWatch clients that never read: memory stays bounded, others are served") {
  Harness h;
  long rssBefore = h.rss();
  // One with a tiny flow-control window, one with the default window and a full socket.
  std::vector<std::unique_ptr<RawPeer>> stuck;
  for (uint32_t window : {100u, 65535u}) {
    stuck.push_back(std::make_unique<RawPeer>(h.socket));
    REQUIRE(stuck.back()->send(preface(window) + call(1, kListAndWatch)));
  }
  // 150 updates, each in its own turn, growing to 1 500 devices with 256-byte IDs (~450 KB per
  // list, ~35 MB in all): without coalescing a stuck client would pass the 16 MiB bound.
  std::string pad(240, 'x');
  for (int batch = 0; batch < 150; ++batch) {
    std::string lines;
    for (int i = 0; i < 10; ++i) {
      lines += "add example.com/foo " + pad + std::to_string(batch * 10 + i + 10000) + "\n";
    }
    lines.pop_back();
    REQUIRE(h.plugin->send(lines));
    if (batch % 10 == 0) std::this_thread::sleep_for(1ms);
  }
  REQUIRE(h.sim->waitForDevices(
      kFoo, [](const auto& d) { return d.size() == 1501; }, 30s));
  long rssPeak = h.plugin->statusField("VmHWM:");
  MESSAGE("stuck readers: VmRSS " << rssBefore << " → " << h.rss() << " KiB, VmHWM " << rssPeak
                                  << " KiB, kubelet got " << h.sim->updates(kFoo).size()
                                  << " updates");
  if (!udp::testing::kUnderAddressSanitizer) CHECK(rssPeak < kRssLimitKiB);
  h.checkStillServing("stuck readers", rssBefore);
  // Now read: a stuck client still connected must get the newest list, not a backlog of all.
  for (auto& peer : stuck) {
    bool closed = peer->drainUntilClosed(2s);
    MESSAGE("stuck client: " << std::string(closed ? "dropped" : "kept") << ", " << peer->dataBytes
                             << " DATA bytes read afterwards");
    // Coalescing keeps a stuck stream at about one list, far below the 16 MiB drop bound.
    CHECK_FALSE(closed);
  }
}

TEST_CASE("slowloris: one byte every 100 ms on several connections") {
  Harness h;
  long rssBefore = h.rss();
  std::vector<std::unique_ptr<RawPeer>> slow;
  for (int i = 0; i < 8; ++i) slow.push_back(std::make_unique<RawPeer>(h.socket));
  std::string bytes = preface() + call(1, kListAndWatch);
  std::atomic<bool> done{false};
  std::vector<double> latencies;
  int failures = 0;
  std::thread kubelet([&] {
    while (!done) {
      auto start = Clock::now();
      v1beta1::AllocateResponse response;
      failures += !h.sim->allocate(kFoo, {"dev0"}, &response).ok();
      latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      std::this_thread::sleep_for(20ms);
    }
  });
  for (size_t at = 0; at < 40 && at < bytes.size(); ++at) {
    for (auto& peer : slow) peer->send(bytes.substr(at, 1), 100ms);
    std::this_thread::sleep_for(100ms);
  }
  done = true;
  kubelet.join();
  double worst = *std::max_element(latencies.begin(), latencies.end());
  MESSAGE("slowloris: " << latencies.size() << " Allocates meanwhile, " << failures
                        << " failed, worst " << worst << " ms");
  CHECK(failures == 0);
  CHECK(worst < 1000);
  h.checkStillServing("slowloris", rssBefore);
}

TEST_CASE("HPACK bomb and oversized headers are refused without memory growth") {
  Harness h;
  long rssBefore = h.rss();

  SUBCASE("one 4 000-byte dynamic table entry, referenced 120 000 times (~480 MB decoded)") {
    RawPeer peer(h.socket);
    std::string block = requestBlock(kAllocate);
    hpackLiteral(block, "x-bomb", std::string(4000, 'b'), /*indexed=*/true);
    block += std::string(120000, '\xbe');  // index 62: the newest dynamic entry
    REQUIRE(peer.send(preface() + headerFrames(1, block) +
                      frame(kData, kEndStream, 1, std::string(5, '\0'))));
    peer.readUntil(3s, [](const Frame& f) { return f.type == kRstStream || f.type == kGoaway; });
    MESSAGE("bomb: RST_STREAM " << peer.count(kRstStream) << ", GOAWAY " << peer.count(kGoaway)
                                << ", closed " << peer.closed() << ", answered "
                                << peer.answered(1));
    CHECK_FALSE(peer.answered(1));
    CHECK((peer.count(kRstStream) + peer.count(kGoaway) > 0 || peer.closed()));
  }
  SUBCASE("64 distinct 1 KiB headers (64 KiB, over MAX_HEADER_LIST_SIZE 16 KiB)") {
    RawPeer peer(h.socket);
    std::string block = requestBlock(kAllocate);
    for (int i = 0; i < 64; ++i)
      hpackLiteral(block, "x-big-" + std::to_string(i), std::string(1024, 'h'));
    REQUIRE(peer.send(preface() + headerFrames(1, block) +
                      frame(kData, kEndStream, 1, std::string(5, '\0'))));
    peer.readUntil(3s, [](const Frame& f) { return f.type != kSettings && f.stream == 1; });
    MESSAGE("oversized: RST_STREAM " << peer.count(kRstStream) << ", GOAWAY " << peer.count(kGoaway)
                                     << ", answered " << peer.answered(1));
    CHECK_FALSE(peer.answered(1));
  }
  h.checkStillServing("header bombs", rssBefore);
}

TEST_CASE("frame floods: SETTINGS, PING, rapid reset, too many streams") {
  Harness h;
  long rssBefore = h.rss();

  SUBCASE("SETTINGS and PING floods without reading the ACKs") {
    for (uint8_t type : {kSettings, kPing}) {
      RawPeer peer(h.socket);
      std::string one =
          type == kSettings ? settingsFrame({{0x2, 0}}) : frame(kPing, 0, 0, std::string(8, 'p'));
      std::string burst;
      for (int i = 0; i < 1000; ++i) burst += one;
      bool sending = peer.send(preface());
      int sent = 0;
      for (; sending && sent < 200; ++sent) sending = peer.send(burst, 2s);
      bool closed = peer.drainUntilClosed(5s);
      MESSAGE(std::string(type == kSettings ? "SETTINGS" : "PING")
              << " flood: " << sent << "k frames written, closed " << closed << ", GOAWAY codes "
              << (peer.errorCodes(kGoaway).empty() ? -1 : int(peer.errorCodes(kGoaway)[0])));
      CHECK(closed);
    }
  }
  SUBCASE("rapid reset: open and cancel 20 000 streams") {
    RawPeer peer(h.socket);
    REQUIRE(peer.send(preface()));
    std::string burst;
    uint32_t stream = 1;
    int opened = 0;
    for (; opened < 20000; opened += 100) {
      burst.clear();
      for (int i = 0; i < 100; ++i, stream += 2) {
        burst += frame(kHeaders, kEndHeaders, stream, requestBlock(kAllocate));
        burst += frame(kRstStream, 0, stream, be32(8));  // CANCEL
      }
      if (!peer.send(burst, 2s)) break;
      peer.readUntil(0ms);  // read what is there, so this is not an ACK flood
      if (peer.closed()) break;
    }
    bool closed = peer.drainUntilClosed(5s);
    MESSAGE("rapid reset: " << opened << " streams opened and cancelled, closed " << closed
                            << ", GOAWAY " << peer.count(kGoaway));
    CHECK(closed);
    CHECK(peer.count(kGoaway) >= 1);
  }
  SUBCASE("150 ListAndWatch streams on one connection (MAX_CONCURRENT_STREAMS 16)") {
    RawPeer peer(h.socket);
    std::string bytes = preface();
    for (uint32_t i = 0; i < 150; ++i) bytes += call(2 * i + 1, kListAndWatch);
    REQUIRE(peer.send(bytes));
    peer.readUntil(3s);
    auto refused = peer.errorCodes(kRstStream);
    size_t refusedCount = std::count(refused.begin(), refused.end(), kRefusedStream);
    size_t answered = 0;
    for (uint32_t i = 0; i < 150; ++i) answered += peer.answered(2 * i + 1);
    MESSAGE("150 streams: " << answered << " answered, " << refusedCount << " REFUSED_STREAM, "
                            << peer.count(kGoaway) << " GOAWAY, closed " << peer.closed());
    CHECK(answered <= kMaxStreams);
    CHECK((refusedCount >= 150 - kMaxStreams || peer.count(kGoaway) > 0));
  }
  h.checkStillServing("frame floods", rssBefore);
}

TEST_CASE("a connection that never sends a request is closed within a few seconds") {
  Harness h;
  RawPeer silent(h.socket), prefaceOnly(h.socket);
  REQUIRE(silent.ok());
  REQUIRE(prefaceOnly.ok());
  REQUIRE(prefaceOnly.send(preface()));
  auto start = Clock::now();
  CHECK(silent.drainUntilClosed(10s));
  CHECK(prefaceOnly.drainUntilClosed(10s));
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  MESSAGE("closed after " << seconds << " s");
  CHECK(seconds >= 4);                       // 5 s from accept; not at once
  CHECK(prefaceOnly.count(kSettings) >= 1);  // served until then
  h.checkStillServing("silent connections", h.rss());
}
