#include "dra/slice_publisher.h"

#include <algorithm>
#include <set>

#include "kubeapi/url_query.h"

namespace udp::dra {
namespace {

// Page size for listing our own slices: one node's pool rarely needs a second page.
constexpr std::string_view kListLimit = "500";

bool succeeded(int status) {
  return status >= 200 && status < 300;
}

std::string describe(const SliceApi::Response& response) {
  return describeAnswer(response.status, response.body, response.error);
}

}  // namespace

std::string describeAnswer(int status, std::string_view body, std::string_view error) {
  if (status == 0) return error.empty() ? "no answer" : std::string(error);
  std::string text = "HTTP " + std::to_string(status);
  if (!body.empty()) text += ": " + std::string(body.substr(0, 300));
  return text;
}

SlicePublisher::SlicePublisher(reactor::Reactor& reactor, SliceApi& api, SliceLayout layout,
                               reactor::OpScope* parent,
                               std::function<void(std::chrono::nanoseconds)> onRound,
                               BackoffTiming retry)
    : reactor_(reactor),
      api_(api),
      layout_(std::move(layout)),
      onRound_(std::move(onRound)),
      scope_(parent),
      backoff_(retry) {}

SlicePublisher::~SlicePublisher() {
  stop();
}

void SlicePublisher::start() {
  if (phase_ != Phase::kIdle || listed_) return;
  changedAt_ = std::chrono::steady_clock::now();
  dirty_ = true;
  list("");
}

void SlicePublisher::changed() {
  if (phase_ == Phase::kStopped) return;
  dirty_ = true;
  if (!changedAt_) changedAt_ = std::chrono::steady_clock::now();
  if (phase_ == Phase::kIdle && listed_) startRound();
}

void SlicePublisher::stop() {
  if (phase_ == Phase::kStopped) return;
  phase_ = Phase::kStopped;
  api_.cancelAll();
  if (retryOp_.pending()) reactor_.cancel(retryOp_);
}

std::string SlicePublisher::listPath() const {
  std::string path = layout_.collectionPath;
  if (!layout_.fieldSelector.empty()) {
    kubeapi::addQueryParameter(path, "fieldSelector", layout_.fieldSelector);
  }
  return path;
}

void SlicePublisher::list(std::string continueToken) {
  phase_ = Phase::kListing;
  if (continueToken.empty()) listing_.clear();
  std::string path = listPath();
  kubeapi::addQueryParameter(path, "limit", kListLimit);
  if (!continueToken.empty()) kubeapi::addQueryParameter(path, "continue", continueToken);
  api_.request("GET", std::move(path), {},
               [this](SliceApi::Response response) { onListed(std::move(response)); });
}

void SlicePublisher::onListed(SliceApi::Response response) {
  if (phase_ != Phase::kListing) return;
  if (!succeeded(response.status)) return fail("listing our ResourceSlices", response);
  auto page = layout_.parseList(response.body);
  if (!page) {
    ++stats_.failures;
    lastError_ = "listing our ResourceSlices: " + page.error().message;
    return relistLater();
  }
  for (PublishedSlice& slice : page->first) listing_.push_back(std::move(slice));
  if (!page->second.empty()) return list(std::move(page->second));
  if (layout_.parseListVersion) {
    if (auto version = layout_.parseListVersion(response.body); version) {
      watchVersion_ = std::move(*version);
    }
  }
  published_.clear();
  devices_.clear();
  for (const PublishedSlice& slice : listing_) {
    published_[slice.name] = slice.resourceVersion;
    devices_[slice.name] = slice.devices;
    // A new generation must be above every one in the pool, an earlier run's included, or the
    // scheduler would keep believing the older slices.
    generation_ = std::max(generation_, slice.generation);
  }
  listing_.clear();
  listed_ = true;
  phase_ = Phase::kIdle;
  if (!watching_ && layout_.parseEvent) startWatch();
  startRound();
}

void SlicePublisher::startRound() {
  phase_ = Phase::kWriting;
  dirty_ = false;
  roundFailed_ = mustRelist_ = false;
  roundChangedAt_ = changedAt_;
  changedAt_.reset();
  ++generation_;
  std::vector<SliceBody> slices = layout_.build(generation_, published_);
  wanted_.clear();
  for (const SliceBody& slice : slices) wanted_.insert(slice.name);
  std::vector<std::string> unwanted;
  for (const auto& [name, version] : published_) {
    if (!wanted_.contains(name)) unwanted.push_back(name);
  }
  pending_ = slices.size() + unwanted.size();
  if (pending_ == 0) return finishRound();
  for (const SliceBody& slice : slices) write(slice, published_.contains(slice.name));
  for (const std::string& name : unwanted) remove(name);
}

void SlicePublisher::write(const SliceBody& slice, bool update) {
  std::string name = slice.name;
  auto done = [this, name, devices = slice.devices](SliceApi::Response response) {
    onWritten(name, devices, false, std::move(response));
  };
  if (update) {
    api_.request("PUT", layout_.collectionPath + "/" + slice.name, slice.json, std::move(done));
  } else {
    api_.request("POST", layout_.collectionPath, slice.json, std::move(done));
  }
}

void SlicePublisher::remove(const std::string& name) {
  api_.request(
      "DELETE", layout_.collectionPath + "/" + name, {},
      [this, name](SliceApi::Response response) { onWritten(name, 0, true, std::move(response)); });
}

void SlicePublisher::onWritten(const std::string& name, size_t devices, bool deleted,
                               SliceApi::Response response) {
  if (phase_ != Phase::kWriting) return;
  if (succeeded(response.status) || (deleted && response.status == 404)) {
    ++stats_.writes;
    if (deleted) {
      published_.erase(name);
      devices_.erase(name);
    } else if (auto stored = layout_.parseSlice(response.body); stored) {
      published_[name] = stored->resourceVersion;
      devices_[name] = stored->devices;
    } else {
      // Written, but we cannot tell its new version: the next update would conflict.
      mustRelist_ = true;
      devices_[name] = devices;
    }
  } else if (response.status == 409 || response.status == 404) {
    // Someone else changed or deleted the slice (or a create met one of that name): the list
    // tells us what is there now.
    ++stats_.conflicts;
    roundFailed_ = mustRelist_ = true;
    lastError_ = "ResourceSlice " + name + ": " + describe(response);
  } else {
    ++stats_.failures;
    roundFailed_ = true;
    lastError_ = "ResourceSlice " + name + ": " + describe(response);
  }
  if (--pending_ > 0) return;
  if (!roundFailed_) {
    if (mustRelist_) listed_ = false;
    return finishRound();
  }
  upToDate_ = false;
  // The round's change is still to be published.
  if (roundChangedAt_ && (!changedAt_ || *roundChangedAt_ < *changedAt_))
    changedAt_ = roundChangedAt_;
  dirty_ = true;
  // A conflict is news, not trouble: list again at once, unless the last round conflicted too
  // (then something keeps changing the slices and we must not spin).
  if (mustRelist_ && !lastRoundConflicted_) {
    lastRoundConflicted_ = true;
    return relist();
  }
  relistLater();
}

void SlicePublisher::finishRound() {
  ++stats_.rounds;
  stats_.generation = generation_;
  stats_.slices = published_.size();
  lastRoundConflicted_ = false;
  std::optional<std::chrono::nanoseconds> latency;
  if (roundChangedAt_) latency = std::chrono::steady_clock::now() - *roundChangedAt_;
  stats_.lastLatency = latency;
  roundChangedAt_.reset();
  upToDate_ = true;
  lastError_.clear();
  backoff_.reset();
  phase_ = Phase::kIdle;
  if (latency && onRound_) onRound_(*latency);
  if (phase_ != Phase::kIdle) return;  // onRound_ stopped us
  if (!listed_) return relist();
  if (dirty_) startRound();
}

void SlicePublisher::fail(std::string what, const SliceApi::Response& response) {
  ++stats_.failures;
  lastError_ = what + ": " + describe(response);
  relistLater();
}

void SlicePublisher::relist() {
  listed_ = false;
  dirty_ = true;
  list("");
}

void SlicePublisher::relistLater() {
  upToDate_ = false;
  dirty_ = true;
  listed_ = false;
  phase_ = Phase::kWaitingToRetry;
  reactor_.timeout(retryOp_, backoff_.next());
}

void SlicePublisher::startWatch() {
  std::string path = listPath();
  kubeapi::addQueryParameter(path, "watch", "true");
  kubeapi::addQueryParameter(path, "allowWatchBookmarks", "true");
  if (!watchVersion_.empty()) kubeapi::addQueryParameter(path, "resourceVersion", watchVersion_);
  watching_ = true;
  api_.watch(
      std::move(path), [this](std::string_view line) { onWatchEvent(line); },
      [this](SliceApi::Response response) { onWatchEnd(std::move(response)); });
}

void SlicePublisher::onWatchEvent(std::string_view line) {
  if (phase_ == Phase::kStopped) return;
  auto event = layout_.parseEvent(line);
  if (!event) return;  // not ours to judge; the next list sets things right
  if (event->gone) {
    watchVersion_.clear();
    return changedAndRelist();
  }
  if (!event->resourceVersion.empty()) watchVersion_ = event->resourceVersion;
  // Our own deletes come back too: only a slice we still want matters.
  if (event->deleted && wanted_.contains(event->name)) {
    ++stats_.deletedByOthers;
    published_.erase(event->name);
    devices_.erase(event->name);
    changed();
  }
}

void SlicePublisher::onWatchEnd(SliceApi::Response response) {
  watching_ = false;
  if (phase_ == Phase::kStopped) return;
  // 410 Gone: too old to resume from; a failed or refused watch may have missed events: list
  // again (a list in progress, or one waiting to retry, starts the watch when it completes).
  // Otherwise the API server ended it (its timeout): resume where it left off.
  if (response.status == 410 || response.status == 0 || response.status >= 300) {
    watchVersion_.clear();
    if (phase_ == Phase::kListing || phase_ == Phase::kWaitingToRetry) return;
    return changedAndRelist();
  }
  startWatch();
}

void SlicePublisher::changedAndRelist() {
  if (phase_ == Phase::kListing || phase_ == Phase::kWaitingToRetry) return;
  listed_ = false;
  dirty_ = true;
  if (!changedAt_) changedAt_ = std::chrono::steady_clock::now();
  // A round in flight lists again when it completes (finishRound: !listed_).
  if (phase_ == Phase::kIdle) relist();
}

void SlicePublisher::onRetryTimer(int, uint32_t) noexcept {
  if (phase_ != Phase::kWaitingToRetry) return;
  list("");
}

}  // namespace udp::dra
