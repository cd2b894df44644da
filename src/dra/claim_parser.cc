#include "dra/claim_parser.h"

#include <string>

#include "dra/json_document.h"

namespace udp::dra {

namespace {

ResourceClaim readClaim(Fields& f, const rapidjson::Value& doc) {
  ResourceClaim claim;
  const rapidjson::Value* meta = f.object(&doc, "", "metadata");
  claim.namespaceName = f.string(meta, "metadata", "namespace");
  claim.name = f.requiredString(meta, "metadata", "name");
  claim.uid = f.requiredString(meta, "metadata", "uid");
  claim.resourceVersion = f.string(meta, "metadata", "resourceVersion");

  const rapidjson::Value* status = f.object(&doc, "", "status");
  const rapidjson::Value* allocation = f.object(status, "status", "allocation");
  claim.allocated = allocation != nullptr;
  const rapidjson::Value* devices = f.object(allocation, "status.allocation", "devices");
  f.eachObject(devices, "status.allocation.devices", "results",
               [&](const rapidjson::Value& r, const std::string& path) {
                 claim.results.push_back(
                     {f.requiredString(&r, path, "request"), f.requiredString(&r, path, "driver"),
                      f.requiredString(&r, path, "pool"), f.requiredString(&r, path, "device")});
               });
  f.eachObject(status, "status", "reservedFor",
               [&](const rapidjson::Value& r, const std::string& path) {
                 claim.reservedFor.push_back({f.requiredString(&r, path, "resource"),
                                              f.requiredString(&r, path, "name"),
                                              f.requiredString(&r, path, "uid")});
               });
  return claim;
}

}  // namespace

Result<ResourceClaim> parseResourceClaim(std::string_view json) {
  // Items of a list carry no kind; anything that names one must name ours.
  return readApiObject<ResourceClaim>(json, kObjectLimits, "ResourceClaim", false, readClaim);
}

}  // namespace udp::dra
