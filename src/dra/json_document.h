#pragma once

// Reading the API server's JSON with RapidJSON (bench/README.md says why this library), inside
// src/dra only: the parsers' headers expose plain values. Every read is bounded: a size limit, and
// a depth limit enforced on the SAX events before RapidJSON's recursive parser goes deeper, so no
// input can exhaust the stack. Strings must be valid UTF-8, as the API server always sends, so
// every string read is valid UTF-8 too.
//
// Field access is by Fields, which tolerates absent and null members (Kubernetes omits empty
// ones) but records the first member of the wrong type, with its path, as the error.

#include <rapidjson/document.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"

namespace udp::dra {

struct JsonLimits {
  size_t maxBytes;
  unsigned maxDepth;
};
// One object: the API server refuses requests over 3 MiB (etcd's limit is 1.5 MiB), twice that
// leaves room. Deep enough for managedFields, which mirror the object's own nesting.
inline constexpr JsonLimits kObjectLimits{6u << 20, 64};
// A page of a LIST: the caller asks for pages (limit=), but a page of slices can hold many.
inline constexpr JsonLimits kListLimits{64u << 20, 64};

inline constexpr unsigned kJsonParseFlags = rapidjson::kParseValidateEncodingFlag;

// True when `text` holds a UTF-16 surrogate encoded as UTF-8 (ED A0..BF ..): what RapidJSON makes
// of a lone "\udc00" escape, the one way its encoding check lets ill-formed UTF-8 through.
bool hasSurrogate(std::string_view text);

// Why a Guarded handler stopped a parse.
enum class GuardStop { kNone, kTooDeep, kSurrogate };

// Forwards SAX events to `Handler`, refusing (which stops the parse) any object or array that
// would nest deeper than the limit, and any string or key that would not be valid UTF-8.
template <typename Handler>
class Guarded {
 public:
  using Ch = char;
  Guarded(Handler& handler, unsigned maxDepth) : handler_(handler), maxDepth_(maxDepth) {}

  GuardStop stop() const { return stop_; }

  bool Null() { return handler_.Null(); }
  bool Bool(bool b) { return handler_.Bool(b); }
  bool Int(int i) { return handler_.Int(i); }
  bool Uint(unsigned i) { return handler_.Uint(i); }
  bool Int64(int64_t i) { return handler_.Int64(i); }
  bool Uint64(uint64_t i) { return handler_.Uint64(i); }
  bool Double(double d) { return handler_.Double(d); }
  bool RawNumber(const Ch* s, rapidjson::SizeType n, bool copy) {
    return handler_.RawNumber(s, n, copy);
  }
  bool String(const Ch* s, rapidjson::SizeType n, bool copy) {
    return wellFormed(s, n) && handler_.String(s, n, copy);
  }
  bool Key(const Ch* s, rapidjson::SizeType n, bool copy) {
    return wellFormed(s, n) && handler_.Key(s, n, copy);
  }
  bool StartObject() { return enter() && handler_.StartObject(); }
  bool EndObject(rapidjson::SizeType members) {
    --depth_;
    return handler_.EndObject(members);
  }
  bool StartArray() { return enter() && handler_.StartArray(); }
  bool EndArray(rapidjson::SizeType elements) {
    --depth_;
    return handler_.EndArray(elements);
  }

 private:
  bool enter() {
    if (depth_ >= maxDepth_) {
      stop_ = GuardStop::kTooDeep;
      return false;
    }
    ++depth_;
    return true;
  }
  bool wellFormed(const Ch* s, rapidjson::SizeType n) {
    if (!hasSurrogate(std::string_view(s, n))) return true;
    stop_ = GuardStop::kSurrogate;
    return false;
  }

  Handler& handler_;
  unsigned maxDepth_;
  unsigned depth_ = 0;
  GuardStop stop_ = GuardStop::kNone;
};

// Runs RapidJSON's reader over all of `stream` into `handler` within `limits` (a handler that
// needs offsets, for spans, reads them from the stream). The error says what was read (`what`),
// where, and why.
template <typename Handler>
Result<void> readJson(rapidjson::MemoryStream& stream, Handler& handler, const JsonLimits& limits,
                      std::string_view what);

// `text` as a DOM in `doc`.
Result<void> parseJson(std::string_view text, rapidjson::Document& doc, const JsonLimits& limits,
                       std::string_view what);
// The same, and the root must be an object (every API object is).
Result<void> parseJsonObject(std::string_view text, rapidjson::Document& doc,
                             const JsonLimits& limits, std::string_view what);

std::string describeParseError(std::string_view what, rapidjson::ParseErrorCode code, size_t offset,
                               GuardStop stop, unsigned maxDepth);

template <typename Handler>
Result<void> readJson(rapidjson::MemoryStream& stream, Handler& handler, const JsonLimits& limits,
                      std::string_view what) {
  if (stream.size_ > limits.maxBytes) {
    return makeError(-E2BIG, std::string(what) + ": " + std::to_string(stream.size_) +
                                 " bytes, more than the " + std::to_string(limits.maxBytes) +
                                 " accepted");
  }
  Guarded<Handler> guarded(handler, limits.maxDepth);
  rapidjson::Reader reader;
  rapidjson::ParseResult result = reader.Parse<kJsonParseFlags>(stream, guarded);
  if (result.IsError()) {
    return makeError(-EBADMSG, describeParseError(what, result.Code(), result.Offset(),
                                                  guarded.stop(), limits.maxDepth));
  }
  // The reader stops at a NUL byte as if the text ended there.
  if (stream.Tell() != stream.size_) {
    return makeError(-EBADMSG,
                     describeParseError(what, rapidjson::kParseErrorDocumentRootNotSingular,
                                        stream.Tell(), GuardStop::kNone, limits.maxDepth));
  }
  return {};
}

// Typed access to members; see the top of the file.
class Fields {
 public:
  explicit Fields(std::string_view what) : what_(what) {}

  bool ok() const { return !error_; }
  // The first type error: "<what>: <path>: expected a string".
  const Error& error() const { return *error_; }
  // Records an error of the caller's own (a missing required field, a wrong kind), unless one
  // is recorded already.
  void fail(std::string_view path, std::string_view message);

  // Each returns the member `key` of `object` (itself null when absent): nullptr / empty / nullopt
  // when the member is absent or null, or of the wrong type (then recorded). `path` names
  // `object` in messages, e.g. "status.allocation".
  const rapidjson::Value* object(const rapidjson::Value* object, std::string_view path,
                                 std::string_view key);
  const rapidjson::Value* array(const rapidjson::Value* object, std::string_view path,
                                std::string_view key);
  std::string string(const rapidjson::Value* object, std::string_view path, std::string_view key);
  std::optional<int64_t> integer(const rapidjson::Value* object, std::string_view path,
                                 std::string_view key);
  // As string(), but absent or empty is an error too.
  std::string requiredString(const rapidjson::Value* object, std::string_view path,
                             std::string_view key);

  // Records an error unless the object's "kind" is `expected`. An absent kind passes unless
  // `required`: the items of a list carry none.
  void kind(const rapidjson::Value& object, std::string_view expected, bool required);

  // Calls read(element, elementPath) for each element of the array member `key` of `object`,
  // each of which must be an object; stops at the first error.
  template <typename Read>
  void eachObject(const rapidjson::Value* object, std::string_view path, std::string_view key,
                  Read&& read);

 private:
  const rapidjson::Value* member(const rapidjson::Value* object, std::string_view key) const;
  void wrongType(std::string_view path, std::string_view key, std::string_view expected);

  std::string what_;
  std::optional<Error> error_;
};

// "a.b" from "a" and "b", "b" from "" and "b".
std::string joinPath(std::string_view path, std::string_view key);

// The usual frame of a parser: `json` as an object of `kind` (a "kind" member, when there is one or
// `kindRequired`, must name it), read(fields, root) makes the value, and the first error of
// either is the result. Messages start with the kind.
template <typename T, typename Read>
Result<T> readApiObject(std::string_view json, const JsonLimits& limits, std::string_view kind,
                        bool kindRequired, Read&& read) {
  rapidjson::Document doc;
  if (Result<void> parsed = parseJsonObject(json, doc, limits, kind); !parsed) {
    return parsed.error();
  }
  Fields fields(kind);
  fields.kind(doc, kind, kindRequired);
  T value = read(fields, doc);
  if (!fields.ok()) return fields.error();
  return value;
}

template <typename Read>
void Fields::eachObject(const rapidjson::Value* object, std::string_view path, std::string_view key,
                        Read&& read) {
  const rapidjson::Value* items = array(object, path, key);
  if (items == nullptr) return;
  const std::string arrayPath = joinPath(path, key);
  for (rapidjson::SizeType i = 0; i < items->Size() && ok(); ++i) {
    const std::string itemPath = arrayPath + "[" + std::to_string(i) + "]";
    if (!(*items)[i].IsObject()) {
      fail(itemPath, "expected an object");
      return;
    }
    read((*items)[i], itemPath);
  }
}

}  // namespace udp::dra
