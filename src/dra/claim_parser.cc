#include "dra/claim_parser.h"

#include <string>

#include "dra/json_document.h"

namespace udp::dra {
namespace {

void readResults(Fields& f, const rapidjson::Value* allocation, ResourceClaim& claim) {
  const rapidjson::Value* devices = f.object(allocation, "status.allocation", "devices");
  const rapidjson::Value* results = f.array(devices, "status.allocation.devices", "results");
  if (results == nullptr) return;
  claim.results.reserve(results->Size());
  for (rapidjson::SizeType i = 0; i < results->Size(); ++i) {
    const std::string path = "status.allocation.devices.results[" + std::to_string(i) + "]";
    const rapidjson::Value& r = (*results)[i];
    if (!r.IsObject()) {
      f.fail(path, "expected an object");
      return;
    }
    claim.results.push_back(
        {f.requiredString(&r, path, "request"), f.requiredString(&r, path, "driver"),
         f.requiredString(&r, path, "pool"), f.requiredString(&r, path, "device")});
  }
}

void readReservedFor(Fields& f, const rapidjson::Value* status, ResourceClaim& claim) {
  const rapidjson::Value* reserved = f.array(status, "status", "reservedFor");
  if (reserved == nullptr) return;
  claim.reservedFor.reserve(reserved->Size());
  for (rapidjson::SizeType i = 0; i < reserved->Size(); ++i) {
    const std::string path = "status.reservedFor[" + std::to_string(i) + "]";
    const rapidjson::Value& r = (*reserved)[i];
    if (!r.IsObject()) {
      f.fail(path, "expected an object");
      return;
    }
    claim.reservedFor.push_back({f.requiredString(&r, path, "resource"),
                                 f.requiredString(&r, path, "name"),
                                 f.requiredString(&r, path, "uid")});
  }
}

}  // namespace

Result<ResourceClaim> parseResourceClaim(std::string_view json) {
  rapidjson::Document doc;
  if (Result<void> parsed = parseJson(json, doc, kObjectLimits, "ResourceClaim"); !parsed) {
    return parsed.error();
  }
  Fields f("ResourceClaim");
  if (!doc.IsObject()) {
    f.fail("(root)", "expected an object");
    return f.error();
  }
  // Items of a list carry no kind; anything that names one must name ours.
  std::string kind = f.string(&doc, "", "kind");
  if (!kind.empty() && kind != "ResourceClaim")
    f.fail("kind", "is " + kind + ", not ResourceClaim");

  ResourceClaim claim;
  const rapidjson::Value* meta = f.object(&doc, "", "metadata");
  claim.namespaceName = f.string(meta, "metadata", "namespace");
  claim.name = f.requiredString(meta, "metadata", "name");
  claim.uid = f.requiredString(meta, "metadata", "uid");
  claim.resourceVersion = f.string(meta, "metadata", "resourceVersion");

  const rapidjson::Value* status = f.object(&doc, "", "status");
  const rapidjson::Value* allocation = f.object(status, "status", "allocation");
  claim.allocated = allocation != nullptr;
  readResults(f, allocation, claim);
  readReservedFor(f, status, claim);
  if (!f.ok()) return f.error();
  return claim;
}

}  // namespace udp::dra
