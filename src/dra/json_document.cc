#include "dra/json_document.h"

#include <rapidjson/error/en.h>

namespace udp::dra {

bool hasSurrogate(std::string_view text) {
  for (size_t i = text.find('\xed'); i != std::string_view::npos; i = text.find('\xed', i + 1)) {
    if (i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0xa0) return true;
  }
  return false;
}

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

Result<void> parseJson(std::string_view text, rapidjson::Document& doc, const JsonLimits& limits,
                       std::string_view what) {
  Result<void> result;
  // Populate takes the SAX events of a generator: ours is the bounded reader.
  rapidjson::MemoryStream stream(text.data(), text.size());
  auto generator = [&](rapidjson::Document& handler) {
    result = readJson(stream, handler, limits, what);
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
