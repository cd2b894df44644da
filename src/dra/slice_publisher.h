#pragma once

// Keeps this node's pool of ResourceSlices at the API server equal to what the driver serves
// (DESIGN.md §3b, docs/dra.md). At start it lists the slices an earlier run of the driver left for
// this node, so that they are updated rather than duplicated; from then on every change is
// published as a new pool generation: each desired slice created or updated, each slice no longer
// wanted deleted. One round is in flight at a time; changes during a round make one more round
// after it, so a burst of hotplug events costs two rounds, not one per event.
//
// A conflict (409: the slice changed under us) or a slice that vanished (404) re-lists and runs
// the round again at once; any other failure (the API server away, 5xx, 429) retries the round
// after a capped backoff. Either way the failure is in lastError() until a round succeeds.
//
// Between rounds it watches the pool's slices from the list's resourceVersion: a slice we want
// deleted by someone else (the kubelet wipes a driver's slices when the driver's registration
// goes, as on every kubelet restart) makes a round that puts it back. The watch is re-made from
// the last resourceVersion seen whenever the API server ends it, and after a list.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "reactor/reactor.h"
#include "util/backoff.h"
#include "util/result.h"

namespace udp::dra {

// The API server as the publisher sees it: a seam for tests; the driver adapts kubeapi's client.
class SliceApi {
 public:
  struct Response {
    int status = 0;  // HTTP status; 0: no answer (transport failure, deadline)
    std::string body;
    std::string error;  // why, when status is 0
  };
  using Done = std::function<void(Response)>;

  virtual ~SliceApi() = default;
  // `done` runs once, later, on the reactor thread, unless cancelAll() comes first.
  virtual void request(std::string_view method, std::string path, std::string body, Done done) = 0;
  // A watch: `onLine` gets each event line as it comes, `onEnd` its end; both later, on the
  // reactor thread, unless cancelAll() comes first.
  virtual void watch(std::string path, std::function<void(std::string_view)> onLine,
                     Done onEnd) = 0;
  virtual void cancelAll() = 0;
};

// An API server's answer in one line, for logs and lastError(): the transport error when there
// was no answer (status 0), else the HTTP status and the start of the body.
std::string describeAnswer(int status, std::string_view body, std::string_view error);

// A slice of ours the API server holds.
struct PublishedSlice {
  std::string name;
  std::string resourceVersion;
  int64_t generation = 0;
  size_t devices = 0;  // entries of spec.devices
};

// Slice name → metadata.resourceVersion.
using ResourceVersions = std::map<std::string, std::string, std::less<>>;

// One slice to write: its name and its full JSON body.
struct SliceBody {
  std::string name;
  std::string json;
  size_t devices = 0;  // in the body; what the slice holds if the answer does not tell
};

// What the driver knows about its slices' shape; the publisher knows only the protocol.
struct SliceLayout {
  // POST target; a slice's own path is collectionPath + "/" + name.
  std::string collectionPath;
  // This node's slices of this driver, unescaped ("spec.nodeName=n1,spec.driver=d.example.com"):
  // the collection is listed and watched with it; the publisher adds paging.
  std::string fieldSelector;
  // The desired slices at `generation`. A slice named in `resourceVersions` is an update and
  // must carry that metadata.resourceVersion; the others are created.
  std::function<std::vector<SliceBody>(int64_t generation,
                                       const ResourceVersions& resourceVersions)>
      build;
  // A list response: the slices in it and the `continue` token ("" on the last page).
  std::function<Result<std::pair<std::vector<PublishedSlice>, std::string>>(std::string_view)>
      parseList;
  // A create or update response: the slice as stored (its new resourceVersion).
  std::function<Result<PublishedSlice>(std::string_view)> parseSlice;
  // A list's metadata.resourceVersion, where its watch starts.
  std::function<Result<std::string>(std::string_view)> parseListVersion;
  // A watch event line: whether it says a slice was deleted, the slice's name, and the
  // resourceVersion to resume from.
  struct Event {
    bool deleted = false;
    bool gone = false;  // ERROR 410: the resourceVersion is too old; list again
    std::string name;
    std::string resourceVersion;
  };
  std::function<Result<Event>(std::string_view)> parseEvent;
};

struct PublisherStats {
  uint64_t rounds = 0;           // rounds that completed: the pool matched the inventory
  uint64_t writes = 0;           // creates, updates and deletes acknowledged
  uint64_t conflicts = 0;        // 409 and 404 answers (re-listed)
  uint64_t failures = 0;         // other failed requests (retried after a backoff)
  uint64_t deletedByOthers = 0;  // slices we wanted that someone else deleted (put back)
  int64_t generation = 0;        // of the last round that completed
  size_t slices = 0;             // the pool's slices after it
  // From the first change a round published to the API server's last acknowledgement of it.
  std::optional<std::chrono::nanoseconds> lastLatency;
};

class SlicePublisher {
 public:
  // `onRound` (optional) runs after each completed round, with its latency.
  SlicePublisher(reactor::Reactor& reactor, SliceApi& api, SliceLayout layout,
                 reactor::OpScope* parent = nullptr,
                 std::function<void(std::chrono::nanoseconds)> onRound = {},
                 BackoffTiming retry = {});
  ~SlicePublisher();
  SlicePublisher(const SlicePublisher&) = delete;
  SlicePublisher& operator=(const SlicePublisher&) = delete;

  // Lists what is there, then publishes.
  void start();
  // The inventory changed: publish a new generation (now, or after the round in flight).
  void changed();
  // Cancels what is in flight; nothing more is sent. The slices stay at the API server: a
  // restarted driver takes them over, and the kubelet's own cleanup removes a retired node's.
  void stop();

  // True once a round has completed and none has failed since.
  bool upToDate() const { return upToDate_; }
  const std::string& lastError() const { return lastError_; }
  const PublisherStats& stats() const { return stats_; }
  // The pool's slices the API server holds, as far as we know: name -> devices, as its last
  // answer about each slice (list, create or update) said.
  const std::map<std::string, size_t, std::less<>>& sliceDevices() const { return devices_; }
  bool idle() const { return scope_.idle(); }

 private:
  enum class Phase { kIdle, kListing, kWriting, kWaitingToRetry, kStopped };

  // The collection with our field selector: what list() pages through and startWatch() watches.
  std::string listPath() const;
  void list(std::string continueToken);
  void onListed(SliceApi::Response response);
  void startRound();
  void write(const SliceBody& slice, bool update);
  void remove(const std::string& name);
  void onWritten(const std::string& name, size_t devices, bool deleted,
                 SliceApi::Response response);
  void finishRound();
  void fail(std::string what, const SliceApi::Response& response);
  void relist();
  // After a failure: list again after the next backoff delay.
  void relistLater();
  void onRetryTimer(int res, uint32_t flags) noexcept;
  void startWatch();
  void onWatchEvent(std::string_view line);
  void onWatchEnd(SliceApi::Response response);
  // What is there may differ from what we know: list, then publish.
  void changedAndRelist();

  reactor::Reactor& reactor_;
  SliceApi& api_;
  SliceLayout layout_;
  std::function<void(std::chrono::nanoseconds)> onRound_;
  reactor::OpScope scope_;
  Phase phase_ = Phase::kIdle;
  // What the API server holds, as far as we know: name → resourceVersion.
  ResourceVersions published_;
  std::map<std::string, size_t, std::less<>> devices_;  // of the slices in published_
  std::vector<PublishedSlice> listing_;                 // pages so far of a list in progress
  std::set<std::string, std::less<>> wanted_;           // the slices of the last round
  std::string watchVersion_;                            // where the watch resumes
  bool watching_ = false;
  int64_t generation_ = 0;  // the highest generation seen or written
  bool listed_ = false;
  bool dirty_ = true;  // a change not yet in a completed round
  bool roundFailed_ = false;
  bool mustRelist_ = false;
  bool lastRoundConflicted_ = false;  // the round before this one ended in a conflict
  size_t pending_ = 0;                // requests of the round in flight
  std::optional<std::chrono::steady_clock::time_point> changedAt_, roundChangedAt_;
  bool upToDate_ = false;
  std::string lastError_;
  PublisherStats stats_;
  Backoff backoff_;
  reactor::Op retryOp_{reactor::bindOp<&SlicePublisher::onRetryTimer>(this, scope_)};
};

}  // namespace udp::dra
