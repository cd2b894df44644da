#include "dra/slice_list_parser.h"

#include "dra/json_document.h"

namespace udp::dra {
namespace {

ResourceSliceInfo readSlice(Fields& f, const rapidjson::Value& slice, const std::string& path) {
  ResourceSliceInfo info;
  if (!slice.IsObject()) {
    f.fail(path.empty() ? "(root)" : path, "expected an object");
    return info;
  }
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

void checkKind(Fields& f, const rapidjson::Value& doc, std::string_view expected) {
  std::string kind = f.string(&doc, "", "kind");
  if (!kind.empty() && kind != expected) {
    f.fail("kind", "is " + kind + ", not " + std::string(expected));
  }
}

}  // namespace

Result<ResourceSliceList> parseResourceSliceList(std::string_view json) {
  rapidjson::Document doc;
  if (Result<void> parsed = parseJson(json, doc, kListLimits, "ResourceSliceList"); !parsed) {
    return parsed.error();
  }
  Fields f("ResourceSliceList");
  if (!doc.IsObject()) {
    f.fail("(root)", "expected an object");
    return f.error();
  }
  checkKind(f, doc, "ResourceSliceList");
  ResourceSliceList list;
  const rapidjson::Value* meta = f.object(&doc, "", "metadata");
  list.continueToken = f.string(meta, "metadata", "continue");
  list.resourceVersion = f.string(meta, "metadata", "resourceVersion");
  if (const rapidjson::Value* items = f.array(&doc, "", "items")) {
    list.items.reserve(items->Size());
    for (rapidjson::SizeType i = 0; i < items->Size() && f.ok(); ++i) {
      list.items.push_back(readSlice(f, (*items)[i], "items[" + std::to_string(i) + "]"));
    }
  }
  if (!f.ok()) return f.error();
  return list;
}

Result<ResourceSliceInfo> parseResourceSlice(std::string_view json) {
  rapidjson::Document doc;
  if (Result<void> parsed = parseJson(json, doc, kObjectLimits, "ResourceSlice"); !parsed) {
    return parsed.error();
  }
  Fields f("ResourceSlice");
  if (doc.IsObject()) checkKind(f, doc, "ResourceSlice");
  ResourceSliceInfo info = readSlice(f, doc, "");
  if (!f.ok()) return f.error();
  return info;
}

}  // namespace udp::dra
