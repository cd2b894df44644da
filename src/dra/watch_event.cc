#include "dra/watch_event.h"

#include <array>
#include <optional>
#include <vector>

#include "dra/json_document.h"

namespace udp::dra {
namespace {

constexpr std::array<std::string_view, 5> kTypeNames = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK",
                                                        "ERROR"};

// Where an object or array sits: only the event itself, its object and that object's metadata
// hold members we read.
enum class Context { kEvent, kObject, kMetadata, kOther };
// The member whose value comes next.
enum class Slot { kNone, kType, kObject, kMetadata, kResourceVersion, kName };

class EventHandler final : public SaxHandler {
 public:
  explicit EventHandler(const rapidjson::MemoryStream& stream) : stream_(stream) {}

  const std::optional<Error>& error() const { return error_; }
  bool sawRoot() const { return sawRoot_; }
  const std::string& type() const { return type_; }
  bool hasType() const { return hasType_; }
  std::string_view objectSpan(std::string_view text) const {
    return objectEnd_ > objectBegin_ ? text.substr(objectBegin_, objectEnd_ - objectBegin_)
                                     : std::string_view();
  }
  std::string& resourceVersion() { return resourceVersion_; }
  std::string& name() { return name_; }

  // Kubernetes omits empty members, but null reads as absent wherever it appears.
  bool Null() override {
    if (frames_.empty()) return rootNotObject();
    take();
    return true;
  }
  bool Bool(bool) override { return scalar("a boolean"); }
  bool Int64(int64_t) override { return scalar("a number"); }
  bool Uint64(uint64_t) override { return scalar("a number"); }
  bool Double(double) override { return scalar("a number"); }

  bool String(const char* text, rapidjson::SizeType length, bool) override {
    const std::string_view value(text, length);
    switch (take()) {
      case Slot::kType:
        type_.assign(value);
        hasType_ = true;
        return true;
      case Slot::kResourceVersion:
        resourceVersion_.assign(value);
        return true;
      case Slot::kName:
        name_.assign(value);
        return true;
      case Slot::kObject:
      case Slot::kMetadata:
        return wrong("an object");
      case Slot::kNone:
        return true;
    }
    return true;
  }

  bool Key(const char* text, rapidjson::SizeType length, bool) override {
    const std::string_view key(text, length);
    Frame& frame = frames_.back();
    frame.pending = Slot::kNone;
    if (frame.context == Context::kEvent) {
      if (key == "type") frame.pending = Slot::kType;
      if (key == "object") frame.pending = Slot::kObject;
    } else if (frame.context == Context::kObject) {
      if (key == "metadata") frame.pending = Slot::kMetadata;
    } else if (frame.context == Context::kMetadata) {
      if (key == "resourceVersion") frame.pending = Slot::kResourceVersion;
      if (key == "name") frame.pending = Slot::kName;
    }
    return true;
  }

  bool StartObject() override {
    if (frames_.empty()) {
      sawRoot_ = true;
      frames_.push_back({Context::kEvent, Slot::kNone});
      return true;
    }
    Context context = Context::kOther;
    switch (take()) {
      case Slot::kObject:
        // A repeated "object" member replaces the first, as for Go's decoder.
        context = Context::kObject;
        objectBegin_ = stream_.Tell() - 1;  // the '{' was just consumed
        objectEnd_ = 0;
        resourceVersion_.clear();
        name_.clear();
        break;
      case Slot::kMetadata:
        context = Context::kMetadata;
        break;
      case Slot::kType:
      case Slot::kResourceVersion:
      case Slot::kName:
        return wrong("a string");
      case Slot::kNone:
        break;
    }
    frames_.push_back({context, Slot::kNone});
    return true;
  }

  bool EndObject(rapidjson::SizeType) override {
    if (frames_.back().context == Context::kObject) objectEnd_ = stream_.Tell();
    frames_.pop_back();
    return true;
  }

  bool StartArray() override {
    if (frames_.empty()) return rootNotObject();
    if (!scalar("an array")) return false;
    frames_.push_back({Context::kOther, Slot::kNone});
    return true;
  }

  bool EndArray(rapidjson::SizeType) override {
    frames_.pop_back();
    return true;
  }

 private:
  struct Frame {
    Context context;
    Slot pending;
  };

  // The slot the value now read fills, which is then no longer pending.
  Slot take() {
    if (frames_.empty()) return Slot::kNone;
    Slot slot = frames_.back().pending;
    frames_.back().pending = Slot::kNone;
    return slot;
  }

  // A value other than a string or an object: fine unless a member we read wanted one.
  bool scalar(std::string_view what) {
    if (frames_.empty()) return rootNotObject();
    switch (take()) {
      case Slot::kNone:
        return true;
      case Slot::kObject:
      case Slot::kMetadata:
        return wrong("an object, not " + std::string(what));
      default:
        return wrong("a string, not " + std::string(what));
    }
  }

  bool wrong(std::string message) {
    error_ = makeError(-EBADMSG, "watch event: invalid member at byte " +
                                     std::to_string(stream_.Tell()) + ": expected " + message);
    return false;
  }

  bool rootNotObject() {
    error_ = makeError(-EBADMSG, "watch event: expected an object");
    return false;
  }

  const rapidjson::MemoryStream& stream_;
  std::vector<Frame> frames_;
  std::optional<Error> error_;
  bool sawRoot_ = false;
  std::string type_;
  bool hasType_ = false;
  size_t objectBegin_ = 0;
  size_t objectEnd_ = 0;
  std::string resourceVersion_;
  std::string name_;
};

}  // namespace

std::string_view watchEventTypeName(WatchEventType type) {
  return kTypeNames[static_cast<size_t>(type)];
}

Result<WatchEvent> parseWatchEvent(std::string_view json) {
  rapidjson::MemoryStream stream(json.data(), json.size());
  EventHandler handler(stream);
  Result<void> read = readJson(stream, handler, kObjectLimits, "watch event");
  // The handler's own complaint is more precise than the reader's "terminated".
  if (handler.error()) return *handler.error();
  if (!read) return read.error();
  if (!handler.sawRoot()) return makeError(-EBADMSG, "watch event: expected an object");

  WatchEvent event;
  size_t index = 0;
  while (index < kTypeNames.size() && kTypeNames[index] != handler.type()) ++index;
  if (!handler.hasType()) return makeError(-EBADMSG, "watch event: type missing");
  if (index == kTypeNames.size()) {
    return makeError(-EBADMSG, "watch event: unknown type \"" + handler.type() + "\"");
  }
  event.type = static_cast<WatchEventType>(index);
  event.object = handler.objectSpan(json);
  if (event.object.empty()) return makeError(-EBADMSG, "watch event: object missing");
  event.resourceVersion = std::move(handler.resourceVersion());
  event.name = std::move(handler.name());
  return event;
}

}  // namespace udp::dra
