#include "dra/slice_list_parser.h"

#include "dra/json_document.h"

namespace udp::dra {
namespace {

ResourceSliceInfo readSlice(Fields& f, const rapidjson::Value& slice, const std::string& path) {
  ResourceSliceInfo info;
  const std::string metaPath = joinPath(path, "metadata");
  const std::string specPath = joinPath(path, "spec");
  const std::string poolPath = joinPath(specPath, "pool");
  const rapidjson::Value* meta = f.object(&slice, path, "metadata");
  info.name = f.requiredString(meta, metaPath, "name");
  info.resourceVersion = f.string(meta, metaPath, "resourceVersion");
  const rapidjson::Value* spec = f.object(&slice, path, "spec");
  info.driver = f.requiredString(spec, specPath, "driver");
  info.nodeName = f.string(spec, specPath, "nodeName");
  const rapidjson::Value* pool = f.object(spec, specPath, "pool");
  info.poolName = f.requiredString(pool, poolPath, "name");
  info.poolGeneration = f.integer(pool, poolPath, "generation").value_or(0);
  info.resourceSliceCount = f.integer(pool, poolPath, "resourceSliceCount").value_or(0);
  if (const rapidjson::Value* devices = f.array(spec, specPath, "devices")) {
    info.deviceCount = devices->Size();
  }
  return info;
}

}  // namespace

Result<ResourceSliceList> parseResourceSliceList(std::string_view json) {
  return readApiObject<ResourceSliceList>(
      json, kListLimits, "ResourceSliceList", false, [](Fields& f, const rapidjson::Value& doc) {
        ResourceSliceList list;
        const rapidjson::Value* meta = f.object(&doc, "", "metadata");
        list.continueToken = f.string(meta, "metadata", "continue");
        list.resourceVersion = f.string(meta, "metadata", "resourceVersion");
        f.eachObject(&doc, "", "items", [&](const rapidjson::Value& item, const std::string& path) {
          list.items.push_back(readSlice(f, item, path));
        });
        return list;
      });
}

Result<ResourceSliceInfo> parseResourceSlice(std::string_view json) {
  return readApiObject<ResourceSliceInfo>(
      json, kObjectLimits, "ResourceSlice", false,
      [](Fields& f, const rapidjson::Value& doc) { return readSlice(f, doc, ""); });
}

}  // namespace udp::dra
