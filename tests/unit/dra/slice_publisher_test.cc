// The ResourceSlice publisher (dra/slice_publisher.h) against a scripted API server: what it
// sends, in which order, and what it does with conflicts, failures and changes mid-round.

#include "dra/slice_publisher.h"

#include <doctest/doctest.h>

#include <deque>
#include <map>

using namespace std::chrono_literals;
using udp::dra::PublishedSlice;
using udp::dra::SliceApi;
using udp::dra::SliceBody;
using udp::dra::SlicePublisher;

namespace {

struct Sent {
  std::string method, path, body;
  SliceApi::Done done;
};

class ScriptedApi final : public SliceApi {
 public:
  void request(std::string_view method, std::string path, std::string body, Done done) override {
    sent.push_back({std::string(method), std::move(path), std::move(body), std::move(done)});
  }
  void watch(std::string path, std::function<void(std::string_view)> onLine, Done onEnd) override {
    watches.push_back({std::move(path), std::move(onLine), std::move(onEnd)});
  }
  void cancelAll() override {
    ++cancels;
    sent.clear();
    watches.clear();
  }
  // Answers the oldest request still open.
  Sent answer(int status, std::string body = {}) {
    REQUIRE(!sent.empty());
    Sent s = std::move(sent.front());
    sent.pop_front();
    s.done(Response{status, std::move(body), status == 0 ? "connection refused" : ""});
    return s;
  }
  struct Watch {
    std::string path;
    std::function<void(std::string_view)> onLine;
    Done onEnd;
  };
  std::deque<Sent> sent;
  std::vector<Watch> watches;
  int cancels = 0;
};

// Slices are "name:rv:generation" lines in these tests, with "#devices" after when it matters;
// bodies are "name@generation(rv)".
udp::Result<std::pair<std::vector<PublishedSlice>, std::string>> parseList(std::string_view body) {
  std::vector<PublishedSlice> slices;
  std::string text(body), next;
  if (auto bar = text.find('|'); bar != std::string::npos) {
    next = text.substr(bar + 1);
    text.resize(bar);
  }
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find(' ', at);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(at, end - at);
    size_t devices = 0;
    if (size_t hash = item.find('#'); hash != std::string::npos) {
      devices = std::stoul(item.substr(hash + 1));
      item.resize(hash);
    }
    size_t c1 = item.find(':'), c2 = item.rfind(':');
    if (c1 == std::string::npos || c1 == c2) return udp::makeError(-1, "bad list item " + item);
    slices.push_back({item.substr(0, c1), item.substr(c1 + 1, c2 - c1 - 1),
                      std::stoll(item.substr(c2 + 1)), devices});
    at = end + 1;
  }
  return std::make_pair(std::move(slices), next);
}

udp::Result<PublishedSlice> parseSlice(std::string_view body) {
  auto list = parseList(body);
  if (!list || list->first.size() != 1) return udp::makeError(-1, "bad slice");
  return list->first[0];
}

struct Rig {
  explicit Rig(std::vector<std::string> names) : wanted(std::move(names)) {
    auto made = udp::reactor::Reactor::create(udp::reactor::Backend::kEpoll);
    REQUIRE(made);
    reactor = std::move(*made);
    udp::dra::SliceLayout layout;
    layout.collectionPath = "/slices";
    layout.fieldSelector = "spec.nodeName=n1";
    layout.build = [this](int64_t generation, const udp::dra::ResourceVersions& versions) {
      std::vector<SliceBody> out;
      for (const std::string& name : wanted) {
        auto it = versions.find(name);
        out.push_back({name,
                       name + "@" + std::to_string(generation) + "(" +
                           (it == versions.end() ? "" : it->second) + ")",
                       devicesPerSlice});
      }
      return out;
    };
    layout.parseList = parseList;
    layout.parseSlice = parseSlice;
    layout.parseListVersion = [](std::string_view) -> udp::Result<std::string> {
      return std::string("100");
    };
    // Events are "DELETED name rv", "MODIFIED name rv" or "GONE".
    layout.parseEvent = [](std::string_view line) -> udp::Result<udp::dra::SliceLayout::Event> {
      udp::dra::SliceLayout::Event event;
      std::string text(line);
      if (text == "GONE") {
        event.gone = true;
        return event;
      }
      size_t a = text.find(' '), b = text.rfind(' ');
      if (a == std::string::npos || a == b) return udp::makeError(-1, "bad event");
      event.deleted = text.substr(0, a) == "DELETED";
      event.name = text.substr(a + 1, b - a - 1);
      event.resourceVersion = text.substr(b + 1);
      return event;
    };
    publisher = std::make_unique<SlicePublisher>(
        *reactor, api, std::move(layout), nullptr, [this](std::chrono::nanoseconds) { ++rounds; },
        udp::BackoffTiming{1ms, 4ms});
  }
  ~Rig() {
    publisher->stop();
    CHECK(reactor->drain(1s));
  }
  // Runs reactor turns until a request is open (the retry timer fired) or 2 s passed.
  void runUntilSent() {
    auto deadline = std::chrono::steady_clock::now() + 2s;
    while (api.sent.empty() && std::chrono::steady_clock::now() < deadline) {
      reactor->runOnce(10ms);
    }
    REQUIRE(!api.sent.empty());
  }

  std::vector<std::string> wanted;
  size_t devicesPerSlice = 0;  // what each built body holds
  std::unique_ptr<udp::reactor::Reactor> reactor;
  ScriptedApi api;
  std::unique_ptr<SlicePublisher> publisher;
  int rounds = 0;
};

}  // namespace

TEST_CASE(
    "an earlier run's slices are taken over: updated above their generation, extras deleted") {
  Rig rig({"n1-a"});
  rig.publisher->start();
  REQUIRE(rig.api.sent.size() == 1);
  CHECK(rig.api.sent[0].method == "GET");
  CHECK(rig.api.sent[0].path == "/slices?fieldSelector=spec.nodeName%3Dn1&limit=500");
  rig.api.answer(200, "n1-a:7:4 n1-old:9:4");
  REQUIRE(rig.api.sent.size() == 2);
  CHECK(rig.api.sent[0].method == "PUT");
  CHECK(rig.api.sent[0].path == "/slices/n1-a");
  CHECK(rig.api.sent[0].body == "n1-a@5(7)");  // generation above the pool's 4, its version 7
  CHECK(rig.api.sent[1].method == "DELETE");
  CHECK(rig.api.sent[1].path == "/slices/n1-old");
  rig.api.answer(200, "n1-a:8:5");
  CHECK(!rig.publisher->upToDate());
  rig.api.answer(200);
  CHECK(rig.publisher->upToDate());
  CHECK(rig.rounds == 1);
  CHECK(rig.publisher->stats().generation == 5);
  CHECK(rig.publisher->stats().slices == 1);

  // The next change updates with the version the API server returned.
  rig.publisher->changed();
  REQUIRE(rig.api.sent.size() == 1);
  CHECK(rig.api.sent[0].body == "n1-a@6(8)");
}

TEST_CASE("the slices held, with their devices as the API server's last answer said") {
  using Devices = std::map<std::string, size_t, std::less<>>;
  Rig rig({"n1-a", "n1-b"});
  rig.devicesPerSlice = 99;
  rig.publisher->start();
  rig.api.answer(200, "n1-a:7:4#12 n1-old:9:4#3");
  CHECK(rig.publisher->sliceDevices() == Devices{{"n1-a", 12}, {"n1-old", 3}});
  REQUIRE(rig.api.sent.size() == 3);  // PUT n1-a, POST n1-b, DELETE n1-old
  rig.api.answer(200, "n1-a:8:5#128");
  // An answer that cannot be read: the body's own count.
  rig.api.answer(201, "not a slice");
  CHECK(rig.publisher->sliceDevices() == Devices{{"n1-a", 128}, {"n1-b", 99}, {"n1-old", 3}});
  rig.api.answer(200);
  CHECK(rig.publisher->sliceDevices() == Devices{{"n1-a", 128}, {"n1-b", 99}});
  // Deleted by someone else: no longer held.
  REQUIRE(rig.api.watches.size() == 1);
  rig.api.watches[0].onLine("DELETED n1-b 12");
  CHECK(rig.publisher->sliceDevices() == Devices{{"n1-a", 128}});
}

TEST_CASE("a list in pages is read to its end before anything is written") {
  Rig rig({"n1-a"});
  rig.publisher->start();
  rig.api.answer(200, "n1-x:1:2|tok+en=");
  REQUIRE(rig.api.sent.size() == 1);
  CHECK(rig.api.sent[0].path ==
        "/slices?fieldSelector=spec.nodeName%3Dn1&limit=500&continue=tok%2Ben%3D");
  rig.api.answer(200, "n1-a:3:9");
  REQUIRE(rig.api.sent.size() == 2);
  CHECK(rig.api.sent[0].body == "n1-a@10(3)");
  CHECK(rig.api.sent[1].method == "DELETE");
  CHECK(rig.api.sent[1].path == "/slices/n1-x");
}

TEST_CASE("changes during a round make exactly one more round after it") {
  Rig rig({"n1-a"});
  rig.publisher->start();
  rig.api.answer(200, "");
  REQUIRE(rig.api.sent.size() == 1);
  CHECK(rig.api.sent[0].method == "POST");
  CHECK(rig.api.sent[0].body == "n1-a@1()");
  rig.publisher->changed();
  rig.publisher->changed();
  CHECK(rig.api.sent.size() == 1);  // nothing more while the round is in flight
  rig.api.answer(201, "n1-a:1:1");
  REQUIRE(rig.api.sent.size() == 1);
  CHECK(rig.api.sent[0].body == "n1-a@2(1)");
  rig.api.answer(200, "n1-a:2:2");
  CHECK(rig.api.sent.empty());
  CHECK(rig.rounds == 2);
  CHECK(rig.publisher->upToDate());
}

TEST_CASE("a conflict lists again at once and publishes with the version now there") {
  Rig rig({"n1-a"});
  rig.publisher->start();
  rig.api.answer(200, "n1-a:3:1");
  rig.api.answer(409, R"({"kind":"Status","reason":"Conflict"})");
  REQUIRE(rig.api.sent.size() == 1);
  CHECK(rig.api.sent[0].method == "GET");
  CHECK(rig.publisher->stats().conflicts == 1);
  CHECK(rig.publisher->lastError().find("409") != std::string::npos);
  rig.api.answer(200, "n1-a:4:2");
  REQUIRE(rig.api.sent.size() == 1);
  CHECK(rig.api.sent[0].body == "n1-a@3(4)");
  rig.api.answer(200, "n1-a:5:3");
  CHECK(rig.publisher->upToDate());
  CHECK(rig.publisher->lastError().empty());
}

TEST_CASE("a slice deleted by someone else is created again") {
  Rig rig({"n1-a"});
  rig.publisher->start();
  rig.api.answer(200, "n1-a:3:1");
  rig.api.answer(200, "n1-a:4:2");
  rig.publisher->changed();
  rig.api.answer(404);
  rig.api.answer(200, "");  // the list: gone
  REQUIRE(rig.api.sent.size() == 1);
  CHECK(rig.api.sent[0].method == "POST");
  CHECK(rig.api.sent[0].body == "n1-a@4()");
}

TEST_CASE("an API server that does not answer: retried after a backoff, never given up") {
  Rig rig({"n1-a"});
  rig.publisher->start();
  rig.api.answer(0);
  CHECK(rig.api.sent.empty());
  CHECK(!rig.publisher->upToDate());
  CHECK(rig.publisher->lastError() == "listing our ResourceSlices: connection refused");
  for (int attempt = 0; attempt < 5; ++attempt) {
    rig.runUntilSent();
    CHECK(rig.api.sent[0].method == "GET");
    rig.api.answer(attempt < 4 ? 503 : 200, attempt < 4 ? "busy" : "n1-a:1:1");
  }
  REQUIRE(rig.api.sent.size() == 1);
  CHECK(rig.api.sent[0].method == "PUT");
  rig.api.answer(500, "oops");  // the write fails: list again later, write again
  CHECK(rig.publisher->stats().failures == 6);
  rig.runUntilSent();
  rig.api.answer(200, "n1-a:1:1");
  rig.api.answer(200, "n1-a:2:3");
  CHECK(rig.publisher->upToDate());
  CHECK(rig.rounds == 1);
}

TEST_CASE("a round's latency runs from the first change it carries to the last acknowledgement") {
  Rig rig({"n1-a", "n1-b"});
  rig.publisher->start();
  rig.api.answer(200, "");
  rig.api.answer(201, "n1-a:1:1");
  rig.api.answer(201, "n1-b:1:1");
  REQUIRE(rig.publisher->stats().lastLatency);
  CHECK(rig.publisher->stats().lastLatency->count() > 0);
  // No pool at all: nothing wanted, nothing there, the round completes without a request.
  rig.wanted.clear();
  rig.publisher->changed();
  CHECK(rig.api.sent.size() == 2);  // both slices deleted
  rig.api.answer(200);
  rig.api.answer(404);  // already gone counts as deleted
  CHECK(rig.publisher->stats().slices == 0);
  rig.publisher->changed();
  CHECK(rig.api.sent.empty());
  CHECK(rig.rounds == 3);
}

TEST_CASE("stop cancels what is in flight and sends nothing more") {
  Rig rig({"n1-a"});
  rig.publisher->start();
  rig.publisher->stop();
  CHECK(rig.api.cancels == 1);
  rig.publisher->changed();
  CHECK(rig.api.sent.empty());
}

TEST_CASE("a wanted slice deleted by someone else is put back; our own deletes are not") {
  Rig rig({"n1-a"});
  rig.publisher->start();
  rig.api.answer(200, "n1-a:3:1 n1-old:4:1");
  REQUIRE(rig.api.watches.size() == 1);
  CHECK(rig.api.watches[0].path ==
        "/slices?fieldSelector=spec.nodeName%3Dn1&watch=true&allowWatchBookmarks=true&"
        "resourceVersion=100");
  rig.api.answer(200, "n1-a:5:2");
  rig.api.answer(200);  // n1-old deleted by us
  CHECK(rig.rounds == 1);
  rig.api.watches[0].onLine("DELETED n1-old 6");  // ours: nothing to do
  CHECK(rig.api.sent.empty());
  rig.api.watches[0].onLine("MODIFIED n1-a 7");
  CHECK(rig.api.sent.empty());
  rig.api.watches[0].onLine("DELETED n1-a 8");  // the kubelet wiped it
  REQUIRE(rig.api.sent.size() == 1);
  CHECK(rig.api.sent[0].method == "POST");
  CHECK(rig.api.sent[0].body == "n1-a@3()");
  rig.api.answer(201, "n1-a:9:3");
  CHECK(rig.publisher->stats().deletedByOthers == 1);
  CHECK(rig.publisher->upToDate());

  // The API server ends the watch: it resumes from the last version seen.
  auto end = std::move(rig.api.watches[0].onEnd);
  rig.api.watches.clear();
  end({200, {}, {}});
  REQUIRE(rig.api.watches.size() == 1);
  CHECK(rig.api.watches[0].path.ends_with("&resourceVersion=8"));
  // Too old to resume: list again, then watch from the list.
  rig.api.watches[0].onLine("GONE");
  REQUIRE(rig.api.sent.size() == 1);
  CHECK(rig.api.sent[0].method == "GET");
}
