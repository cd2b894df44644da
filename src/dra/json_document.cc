#include "dra/json_document.h"

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

namespace udp::dra {
namespace {

// Why a Guarded parse stopped.
enum class GuardStop { kNone, kTooDeep, kSurrogate };

// True when `text` holds a UTF-16 surrogate encoded as UTF-8 (ED A0..BF ..): what RapidJSON makes
// of a lone "\udc00" escape, the one way its encoding check lets ill-formed UTF-8 through.
bool hasSurrogate(std::string_view text) {
  for (size_t i = text.find('\xed'); i != std::string_view::npos; i = text.find('\xed', i + 1)) {
    if (i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0xa0) return true;
  }
  return false;
}

// The handler RapidJSON's reader sees: forwards to a SaxHandler, refusing (which stops the parse)
// any object or array that would nest deeper than the limit, so that its recursion is bounded,
// and any string or key that would not be valid UTF-8.
class Guarded {
 public:
  using Ch = char;
  Guarded(SaxHandler& handler, unsigned maxDepth) : handler_(handler), maxDepth_(maxDepth) {}

  GuardStop stop() const { return stop_; }

  bool Null() { return handler_.Null(); }
  bool Bool(bool b) { return handler_.Bool(b); }
  bool Int(int i) { return handler_.Int64(i); }
  bool Uint(unsigned i) { return handler_.Uint64(i); }
  bool Int64(int64_t i) { return handler_.Int64(i); }
  bool Uint64(uint64_t i) { return handler_.Uint64(i); }
  bool Double(double d) { return handler_.Double(d); }
  bool RawNumber(const Ch*, rapidjson::SizeType, bool) { return false; }  // not asked for
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

  SaxHandler& handler_;
  unsigned maxDepth_;
  unsigned depth_ = 0;
  GuardStop stop_ = GuardStop::kNone;
};

// Builds a DOM from the events.
class DomBuilder final : public SaxHandler {
 public:
  explicit DomBuilder(rapidjson::Document& doc) : doc_(doc) {}

  bool Null() override { return doc_.Null(); }
  bool Bool(bool value) override { return doc_.Bool(value); }
  bool Int64(int64_t value) override { return doc_.Int64(value); }
  bool Uint64(uint64_t value) override { return doc_.Uint64(value); }
  bool Double(double value) override { return doc_.Double(value); }
  bool String(const char* text, rapidjson::SizeType length, bool copy) override {
    return doc_.String(text, length, copy);
  }
  bool Key(const char* text, rapidjson::SizeType length, bool copy) override {
    return doc_.Key(text, length, copy);
  }
  bool StartObject() override { return doc_.StartObject(); }
  bool EndObject(rapidjson::SizeType members) override { return doc_.EndObject(members); }
  bool StartArray() override { return doc_.StartArray(); }
  bool EndArray(rapidjson::SizeType elements) override { return doc_.EndArray(elements); }

 private:
  rapidjson::Document& doc_;
};

std::string describeParseError(std::string_view what, rapidjson::ParseErrorCode code, size_t offset,
                               GuardStop stop, unsigned maxDepth) {
  std::string message =
      std::string(what) + ": invalid JSON at byte " + std::to_string(offset) + ": ";
  switch (stop) {
    case GuardStop::kTooDeep:
      return message + "nested deeper than " + std::to_string(maxDepth) + " levels";
    case GuardStop::kSurrogate:
      return message + "a string escapes a lone UTF-16 surrogate";
    case GuardStop::kNone:
      break;
  }
  return message + rapidjson::GetParseError_En(code);
}

}  // namespace

Result<void> readJson(rapidjson::MemoryStream& stream, SaxHandler& handler,
                      const JsonLimits& limits, std::string_view what) {
  if (stream.size_ > limits.maxBytes) {
    return makeError(-E2BIG, std::string(what) + ": " + std::to_string(stream.size_) +
                                 " bytes, more than the " + std::to_string(limits.maxBytes) +
                                 " accepted");
  }
  Guarded guarded(handler, limits.maxDepth);
  rapidjson::Reader reader;
  rapidjson::ParseResult result =
      reader.Parse<rapidjson::kParseValidateEncodingFlag>(stream, guarded);
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

Result<void> parseJson(std::string_view text, rapidjson::Document& doc, const JsonLimits& limits,
                       std::string_view what) {
  Result<void> result;
  rapidjson::MemoryStream stream(text.data(), text.size());
  // Populate takes the SAX events of a generator: ours is the bounded reader.
  auto generator = [&](rapidjson::Document& target) {
    DomBuilder builder(target);
    result = readJson(stream, builder, limits, what);
    return result.ok();
  };
  doc.Populate(generator);
  return result;
}

Result<void> parseJsonObject(std::string_view text, rapidjson::Document& doc,
                             const JsonLimits& limits, std::string_view what) {
  if (Result<void> parsed = parseJson(text, doc, limits, what); !parsed) return parsed;
  if (!doc.IsObject())
    return makeError(-EBADMSG, std::string(what) + ": (root): expected an object");
  return {};
}

std::string joinPath(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  std::string out;
  out.reserve(path.size() + 1 + key.size());
  out.append(path).append(".").append(key);
  return out;
}

void Fields::fail(std::string_view path, std::string_view message) {
  if (error_) return;
  error_ = makeError(-EBADMSG, what_ + ": " + std::string(path) + ": " + std::string(message));
}

const rapidjson::Value* Fields::member(const rapidjson::Value* object, std::string_view key) const {
  if (object == nullptr || !object->IsObject()) return nullptr;
  for (auto it = object->MemberBegin(); it != object->MemberEnd(); ++it) {
    if (std::string_view(it->name.GetString(), it->name.GetStringLength()) == key) {
      return it->value.IsNull() ? nullptr : &it->value;
    }
  }
  return nullptr;
}

void Fields::wrongType(std::string_view path, std::string_view key, std::string_view expected) {
  fail(joinPath(path, key), std::string("expected ") + std::string(expected));
}

const rapidjson::Value* Fields::object(const rapidjson::Value* object, std::string_view path,
                                       std::string_view key) {
  const rapidjson::Value* value = member(object, key);
  if (value == nullptr || value->IsObject()) return value;
  wrongType(path, key, "an object");
  return nullptr;
}

const rapidjson::Value* Fields::array(const rapidjson::Value* object, std::string_view path,
                                      std::string_view key) {
  const rapidjson::Value* value = member(object, key);
  if (value == nullptr || value->IsArray()) return value;
  wrongType(path, key, "an array");
  return nullptr;
}

std::string Fields::string(const rapidjson::Value* object, std::string_view path,
                           std::string_view key) {
  const rapidjson::Value* value = member(object, key);
  if (value == nullptr) return {};
  if (!value->IsString()) {
    wrongType(path, key, "a string");
    return {};
  }
  return std::string(value->GetString(), value->GetStringLength());
}

std::optional<int64_t> Fields::integer(const rapidjson::Value* object, std::string_view path,
                                       std::string_view key) {
  const rapidjson::Value* value = member(object, key);
  if (value == nullptr) return std::nullopt;
  if (!value->IsInt64()) {
    wrongType(path, key, "an integer");
    return std::nullopt;
  }
  return value->GetInt64();
}

void Fields::kind(const rapidjson::Value& object, std::string_view expected, bool required) {
  const std::string kind = string(&object, "", "kind");
  if (kind.empty() && required) {
    fail("kind", "missing");
  } else if (!kind.empty() && kind != expected) {
    fail("kind", "is " + kind + ", not " + std::string(expected));
  }
}

std::string Fields::requiredString(const rapidjson::Value* object, std::string_view path,
                                   std::string_view key) {
  std::string value = string(object, path, key);
  if (value.empty()) fail(joinPath(path, key), "missing");
  return value;
}

}  // namespace udp::dra
