#pragma once

// One event of a WATCH (resource.k8s.io/v1, ?watch=true): the API server streams one JSON object
// per line, {"type": "ADDED", "object": {...}}. Read with SAX, without building the object: the
// caller gets the object's text and parses it with the parser of its kind (parseResourceClaim,
// parseResourceSlice, parseStatus for ERROR) only when it needs more than its
// metadata.resourceVersion. Pure.

#include <string>
#include <string_view>

#include "util/result.h"

namespace udp::dra {

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };

struct WatchEvent {
  WatchEventType type = WatchEventType::kAdded;
  // The object's JSON text, '{' to '}': a view into the text given to parseWatchEvent, valid as
  // long as that is.
  std::string_view object;
  std::string resourceVersion;  // object.metadata.resourceVersion; a bookmark's is where to resume
  std::string name;             // object.metadata.name; empty for bookmarks and ERROR's Status
};

// One event (a line of the stream, trailing whitespace allowed) within kObjectLimits. An error
// when it is not JSON, has no "type" of the five, or no "object" that is an object.
Result<WatchEvent> parseWatchEvent(std::string_view json);

// "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR".
std::string_view watchEventTypeName(WatchEventType type);

}  // namespace udp::dra
