// Which JSON library the DRA driver uses (issue 13): RapidJSON against simdjson on what the driver
// does with JSON, in one run, as ratios (a shared machine is noisy; both sides see the same noise).
//   (a) a ResourceClaimList of 100 claims, as the API server sends it, into dra::ResourceClaim;
//   (b) a watch stream of 200 events (ResourceClaims and bookmarks), one line each: type,
//       metadata.resourceVersion and the claim;
//   (c) a ResourceSlice body of 128 devices. simdjson has no writer: its column uses the
//       hand-written src/util/json_writer, which is what choosing simdjson would mean.
// Then the stripped size of a tiny program (bench/json_size.cc) built without JSON, with
// RapidJSON and with simdjson, and the shared library simdjson adds.
//
//   json-choice [--rounds N] SIZE_NONE SIZE_RAPIDJSON SIZE_SIMDJSON

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "dra/claim.h"
#include "json_choice_input.h"
#include "util/json_writer.h"

#define RAPIDJSON_HAS_STDSTRING 1
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <simdjson.h>

namespace {

using Clock = std::chrono::steady_clock;
using udp::dra::ResourceClaim;
namespace bench = udp::bench;

// ---- RapidJSON ----

std::string rjString(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return {};
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return {};
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

const rapidjson::Value* rjMember(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

ResourceClaim rjClaim(const rapidjson::Value& item) {
  ResourceClaim claim;
  if (const rapidjson::Value* meta = rjMember(item, "metadata")) {
    claim.namespaceName = rjString(*meta, "namespace");
    claim.name = rjString(*meta, "name");
    claim.uid = rjString(*meta, "uid");
    claim.resourceVersion = rjString(*meta, "resourceVersion");
  }
  const rapidjson::Value* status = rjMember(item, "status");
  if (status == nullptr) return claim;
  if (const rapidjson::Value* allocation = rjMember(*status, "allocation")) {
    claim.allocated = true;
    const rapidjson::Value* devices = rjMember(*allocation, "devices");
    const rapidjson::Value* results = devices ? rjMember(*devices, "results") : nullptr;
    if (results != nullptr && results->IsArray()) {
      for (const rapidjson::Value& r : results->GetArray()) {
        claim.results.push_back({rjString(r, "request"), rjString(r, "driver"), rjString(r, "pool"),
                                 rjString(r, "device")});
      }
    }
  }
  const rapidjson::Value* reserved = rjMember(*status, "reservedFor");
  if (reserved != nullptr && reserved->IsArray()) {
    for (const rapidjson::Value& r : reserved->GetArray()) {
      claim.reservedFor.push_back(
          {rjString(r, "resource"), rjString(r, "name"), rjString(r, "uid")});
    }
  }
  return claim;
}

size_t rjList(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) std::abort();
  const rapidjson::Value* items = rjMember(doc, "items");
  size_t results = 0;
  for (const rapidjson::Value& item : items->GetArray()) results += rjClaim(item).results.size();
  return results;
}

size_t rjWatch(const std::vector<std::string>& lines) {
  size_t n = 0;
  for (const std::string& line : lines) {
    rapidjson::Document doc;
    doc.Parse(line.data(), line.size());
    if (doc.HasParseError()) std::abort();
    std::string type = rjString(doc, "type");
    const rapidjson::Value* object = rjMember(doc, "object");
    const rapidjson::Value* meta = object ? rjMember(*object, "metadata") : nullptr;
    std::string version = meta ? rjString(*meta, "resourceVersion") : std::string();
    n += version.size();
    if (type != "BOOKMARK") n += rjClaim(*object).results.size();
  }
  return n;
}

template <typename Writer>
void rjString(Writer& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

size_t rjSlice(const std::vector<bench::SliceDevice>& devices) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("apiVersion");
  w.String("resource.k8s.io/v1");
  w.Key("kind");
  w.String("ResourceSlice");
  w.Key("metadata");
  w.StartObject();
  w.Key("name");
  w.String("node-1-udev-example-com-0");
  w.EndObject();
  w.Key("spec");
  w.StartObject();
  w.Key("driver");
  w.String("udev.example.com");
  w.Key("nodeName");
  w.String("node-1");
  w.Key("pool");
  w.StartObject();
  w.Key("name");
  w.String("node-1");
  w.Key("generation");
  w.Int64(7);
  w.Key("resourceSliceCount");
  w.Int64(1);
  w.EndObject();
  w.Key("devices");
  w.StartArray();
  for (const bench::SliceDevice& d : devices) {
    w.StartObject();
    rjString(w, "name", d.name);
    w.Key("attributes");
    w.StartObject();
    for (const auto& [key, value] : d.attributes) {
      w.Key(key.c_str());
      w.StartObject();
      rjString(w, "string", value);
      w.EndObject();
    }
    w.Key("resource.kubernetes.io/numaNode");
    w.StartObject();
    w.Key("int");
    w.Int(d.numaNode);
    w.EndObject();
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  w.EndObject();
  return buffer.GetSize();
}

// ---- simdjson (on-demand, the fast API) ----

using simdjson::ondemand::object;
using simdjson::ondemand::value;

std::string sjString(object obj, const char* name) {
  std::string_view text;
  if (obj[name].get_string().get(text) != simdjson::SUCCESS) return {};
  return std::string(text);
}

ResourceClaim sjClaim(object item) {
  ResourceClaim claim;
  object meta;
  if (item["metadata"].get_object().get(meta) == simdjson::SUCCESS) {
    claim.namespaceName = sjString(meta, "namespace");
    claim.name = sjString(meta, "name");
    claim.uid = sjString(meta, "uid");
    claim.resourceVersion = sjString(meta, "resourceVersion");
  }
  object status;
  if (item["status"].get_object().get(status) != simdjson::SUCCESS) return claim;
  object allocation;
  if (status["allocation"].get_object().get(allocation) == simdjson::SUCCESS) {
    claim.allocated = true;
    simdjson::ondemand::array results;
    if (allocation["devices"]["results"].get_array().get(results) == simdjson::SUCCESS) {
      for (auto element : results) {
        object r;
        if (element.get_object().get(r) != simdjson::SUCCESS) continue;
        claim.results.push_back({sjString(r, "request"), sjString(r, "driver"), sjString(r, "pool"),
                                 sjString(r, "device")});
      }
    }
  }
  simdjson::ondemand::array reserved;
  if (status["reservedFor"].get_array().get(reserved) == simdjson::SUCCESS) {
    for (auto element : reserved) {
      object r;
      if (element.get_object().get(r) != simdjson::SUCCESS) continue;
      claim.reservedFor.push_back(
          {sjString(r, "resource"), sjString(r, "name"), sjString(r, "uid")});
    }
  }
  return claim;
}

size_t sjList(simdjson::ondemand::parser& parser, const simdjson::padded_string& json) {
  simdjson::ondemand::document doc;
  if (parser.iterate(json).get(doc) != simdjson::SUCCESS) std::abort();
  simdjson::ondemand::array items;
  if (doc["items"].get_array().get(items) != simdjson::SUCCESS) std::abort();
  size_t results = 0;
  for (auto element : items) {
    object item;
    if (element.get_object().get(item) != simdjson::SUCCESS) std::abort();
    results += sjClaim(item).results.size();
  }
  return results;
}

// Lines arrive in a network buffer; simdjson needs SIMDJSON_PADDING readable bytes after each,
// so each is copied into one reused padded buffer (the cheapest correct way).
size_t sjWatch(simdjson::ondemand::parser& parser, const std::vector<std::string>& lines) {
  size_t n = 0;
  std::string buffer;
  for (const std::string& line : lines) {
    buffer.assign(line);
    buffer.resize(line.size() + simdjson::SIMDJSON_PADDING);
    simdjson::ondemand::document doc;
    if (parser.iterate(simdjson::padded_string_view(buffer.data(), line.size(), buffer.size()))
            .get(doc) != simdjson::SUCCESS) {
      std::abort();
    }
    std::string_view type;
    if (doc["type"].get_string().get(type) != simdjson::SUCCESS) std::abort();
    object obj;
    if (doc["object"].get_object().get(obj) != simdjson::SUCCESS) std::abort();
    if (type == "BOOKMARK") {
      n += sjString(obj["metadata"].get_object().value_unsafe(), "resourceVersion").size();
      continue;
    }
    ResourceClaim claim = sjClaim(obj);
    n += claim.resourceVersion.size() + claim.results.size();
  }
  return n;
}

size_t handSlice(const std::vector<bench::SliceDevice>& devices) {
  udp::JsonWriter w;
  w.beginObject();
  w.key("apiVersion").value("resource.k8s.io/v1");
  w.key("kind").value("ResourceSlice");
  w.key("metadata").beginObject().key("name").value("node-1-udev-example-com-0").endObject();
  w.key("spec").beginObject();
  w.key("driver").value("udev.example.com");
  w.key("nodeName").value("node-1");
  w.key("pool").beginObject();
  w.key("name").value("node-1");
  w.key("generation").value(int64_t{7});
  w.key("resourceSliceCount").value(int64_t{1});
  w.endObject();
  w.key("devices").beginArray();
  for (const bench::SliceDevice& d : devices) {
    w.beginObject().key("name").value(d.name).key("attributes").beginObject();
    for (const auto& [key, value] : d.attributes) {
      w.key(key).beginObject().key("string").value(value).endObject();
    }
    w.key("resource.kubernetes.io/numaNode").beginObject().key("int").value(d.numaNode);
    w.endObject().endObject().endObject();
  }
  w.endArray().endObject().endObject();
  return w.text().size();
}

// ---- measurement ----

volatile size_t sink;

// ns per call: the best of `rounds` rounds of `iterations` calls (the minimum is the figure least
// disturbed by other processes on a shared machine).
template <typename F>
double nsPerOp(int rounds, int iterations, F&& f) {
  double best = 1e300;
  for (int r = 0; r < rounds; ++r) {
    auto start = Clock::now();
    for (int i = 0; i < iterations; ++i) sink = f();
    double ns = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
    best = std::min(best, ns / iterations);
  }
  return best;
}

long strippedSize(const std::string& binary) {
  std::string out = "/tmp/json-choice-stripped-" + std::to_string(getpid());
  std::string cmd = "strip --strip-all -o " + out + " " + binary;
  if (std::system(cmd.c_str()) != 0) return -1;
  struct stat st {};
  long size = stat(out.c_str(), &st) == 0 ? static_cast<long>(st.st_size) : -1;
  unlink(out.c_str());
  return size;
}

long fileSize(const char* path) {
  struct stat st {};
  return stat(path, &st) == 0 ? static_cast<long>(st.st_size) : -1;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 15;
  std::vector<std::string> sizes;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--rounds" && i + 1 < argc) {
      rounds = std::atoi(argv[++i]);
    } else {
      sizes.push_back(arg);
    }
  }

  const std::string list = bench::claimList(100);
  const std::vector<std::string> events = bench::watchEvents(200);
  const std::vector<bench::SliceDevice> devices = bench::sliceDevices(128);
  size_t eventBytes = 0;
  for (const std::string& e : events) eventBytes += e.size();

  // Both sides must agree on what they read, or the comparison means nothing.
  simdjson::ondemand::parser parser;
  const simdjson::padded_string paddedList(list);
  if (rjList(list) != sjList(parser, paddedList) || rjWatch(events) != sjWatch(parser, events)) {
    std::fprintf(stderr, "json-choice: RapidJSON and simdjson read different values\n");
    return 1;
  }

  struct Row {
    const char* what;
    size_t bytes;
    double rapid, simd;
  };
  std::vector<Row> rows = {
      {"(a) parse ResourceClaimList, 100 claims", list.size(),
       nsPerOp(rounds, 20, [&] { return rjList(list); }),
       nsPerOp(rounds, 20, [&] { return sjList(parser, paddedList); })},
      {"(b) parse watch stream, 200 events", eventBytes,
       nsPerOp(rounds, 20, [&] { return rjWatch(events); }),
       nsPerOp(rounds, 20, [&] { return sjWatch(parser, events); })},
      {"(c) write ResourceSlice, 128 devices *", 0,
       nsPerOp(rounds, 50, [&] { return rjSlice(devices); }),
       nsPerOp(rounds, 50, [&] { return handSlice(devices); })},
  };
  rows[2].bytes = rjSlice(devices);

  std::printf("JSON library choice (RapidJSON %s, simdjson %d.%d.%d); best of %d rounds\n\n",
              RAPIDJSON_VERSION_STRING, simdjson::SIMDJSON_VERSION_MAJOR,
              simdjson::SIMDJSON_VERSION_MINOR, simdjson::SIMDJSON_VERSION_REVISION, rounds);
  std::printf("| %-40s | %9s | %14s | %14s | %16s |\n", "operation", "bytes", "RapidJSON ns/op",
              "simdjson ns/op", "simdjson/Rapid");
  std::printf("|%s|%s|%s|%s|%s|\n", std::string(42, '-').c_str(), std::string(11, '-').c_str(),
              std::string(16, '-').c_str(), std::string(16, '-').c_str(),
              std::string(18, '-').c_str());
  for (const Row& row : rows) {
    std::printf("| %-40s | %9zu | %14.0f | %14.0f | %16.2f |\n", row.what, row.bytes, row.rapid,
                row.simd, row.simd / row.rapid);
  }
  std::printf("* simdjson has no writer: its column is the hand-written src/util/json_writer.\n");

  if (sizes.size() == 3) {
    long none = strippedSize(sizes[0]), rapid = strippedSize(sizes[1]),
         simd = strippedSize(sizes[2]);
    long so = fileSize("/usr/lib/x86_64-linux-gnu/libsimdjson.so.14.0.0");
    std::printf("\nstripped tiny program (bench/json_size.cc: parse a claim, write a slice)\n");
    std::printf("| %-28s | %10s | %12s |\n", "build", "bytes", "vs no JSON");
    std::printf("|%s|%s|%s|\n", std::string(30, '-').c_str(), std::string(12, '-').c_str(),
                std::string(14, '-').c_str());
    std::printf("| %-28s | %10ld | %12s |\n", "no JSON (reads, echoes)", none, "");
    std::printf("| %-28s | %10ld | %+12ld |\n", "RapidJSON (header-only)", rapid, rapid - none);
    std::printf("| %-28s | %10ld | %+12ld |\n", "simdjson (+ json_writer)", simd, simd - none);
    std::printf("| %-28s | %10ld | %+12ld |\n", "  + libsimdjson.so.14 needed", so,
                simd - none + so);
    std::printf(
        "Debian ships simdjson as a shared library only (no .a): the self-contained "
        "build could not link it statically.\n");
  }
  return 0;
}
