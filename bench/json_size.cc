// What a JSON library adds to a binary (bench/json_choice.cc prints the stripped sizes): read a
// ResourceClaim on stdin, write a ResourceSlice-like body with its allocated devices. Built three
// times: JSON_SIZE_LIB 0 (no JSON, the baseline: reads and echoes), 1 (RapidJSON), 2 (simdjson,
// with src/util/json_writer for writing, since simdjson has none).

#include <cstdio>
#include <string>
#include <vector>

#if JSON_SIZE_LIB == 1
#define RAPIDJSON_HAS_STDSTRING 1
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#elif JSON_SIZE_LIB == 2
#include <simdjson.h>

#include "util/json_writer.h"
#endif

namespace {

std::string readAll() {
  std::string in;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, stdin)) > 0) in.append(buffer, n);
  return in;
}

#if JSON_SIZE_LIB == 1
std::string run(const std::string& in) {
  rapidjson::Document doc;
  doc.Parse(in.data(), in.size());
  std::vector<std::string> devices;
  if (!doc.HasParseError() && doc.IsObject() && doc.HasMember("status")) {
    const rapidjson::Value& status = doc["status"];
    if (status.IsObject() && status.HasMember("allocation")) {
      const rapidjson::Value& results = status["allocation"]["devices"]["results"];
      for (const rapidjson::Value& r : results.GetArray()) {
        if (r.IsObject() && r.HasMember("device") && r["device"].IsString()) {
          devices.push_back(r["device"].GetString());
        }
      }
    }
  }
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("kind");
  w.String("ResourceSlice");
  w.Key("devices");
  w.StartArray();
  for (const std::string& d : devices) {
    w.StartObject();
    w.Key("name");
    w.String(d);
    w.Key("int");
    w.Int64(static_cast<int64_t>(d.size()));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buffer.GetString();
}
#elif JSON_SIZE_LIB == 2
std::string run(const std::string& in) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(in);
  std::vector<std::string> devices;
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc) == simdjson::SUCCESS) {
    simdjson::ondemand::array results;
    if (doc["status"]["allocation"]["devices"]["results"].get_array().get(results) ==
        simdjson::SUCCESS) {
      for (auto r : results) {
        std::string_view device;
        if (r["device"].get_string().get(device) == simdjson::SUCCESS) {
          devices.emplace_back(device);
        }
      }
    }
  }
  udp::JsonWriter w;
  w.beginObject().key("kind").value("ResourceSlice").key("devices").beginArray();
  for (const std::string& d : devices) {
    w.beginObject().key("name").value(d).key("int").value(static_cast<int64_t>(d.size()));
    w.endObject();
  }
  w.endArray().endObject();
  return w.take();
}
#else
std::string run(const std::string& in) {
  return "{\"bytes\":" + std::to_string(in.size()) + "}";
}
#endif

}  // namespace

int main() {
  std::string out = run(readAll());
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}
