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

// The SAX events of a parse, behind one interface: RapidJSON's reader, the larger part of what
// JSON costs in the binary, is then instantiated once for every handler. Numbers arrive as
// Int64/Uint64/Double (RapidJSON's int and unsigned widened).
class SaxHandler {
 public:
  virtual ~SaxHandler() = default;
  virtual bool Null() = 0;
  virtual bool Bool(bool value) = 0;
  virtual bool Int64(int64_t value) = 0;
  virtual bool Uint64(uint64_t value) = 0;
  virtual bool Double(double value) = 0;
  virtual bool String(const char* text, rapidjson::SizeType length, bool copy) = 0;
  virtual bool Key(const char* text, rapidjson::SizeType length, bool copy) = 0;
  virtual bool StartObject() = 0;
  virtual bool EndObject(rapidjson::SizeType members) = 0;
  virtual bool StartArray() = 0;
  virtual bool EndArray(rapidjson::SizeType elements) = 0;
};

// Runs RapidJSON's reader over all of `stream` into `handler` within `limits`: refused (the parse
// stops) are text over the size limit, objects or arrays nested deeper than the depth limit, and
// strings or keys that would not be valid UTF-8. A handler that needs offsets, for spans, reads
// them from the stream. The error says what was read (`what`), where, and why.
Result<void> readJson(rapidjson::MemoryStream& stream, SaxHandler& handler,
                      const JsonLimits& limits, std::string_view what);

// `text` as a DOM in `doc`.
Result<void> parseJson(std::string_view text, rapidjson::Document& doc, const JsonLimits& limits,
                       std::string_view what);
// The same, and the root must be an object (every API object is).
Result<void> parseJsonObject(std::string_view text, rapidjson::Document& doc,
                             const JsonLimits& limits, std::string_view what);

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
