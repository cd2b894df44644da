#pragma once

// The DRA keys of a config (docs/dra.md): the top-level `dra:` block and each resource's `serve`
// and `deviceFile`, read for the schema walk (config_parser.cc) through its NodeReader, which
// collects their positioned diagnostics.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/node_reader.h"

namespace udp::config {

// The `dra:` block. Its pluginsRegistryDir is left empty when the block does not set it: the
// caller fills in the top-level pluginsRegistryDir, which may come later in the file.
std::optional<DraConfig> readDraConfig(NodeReader& reader, const YamlNode& node);

std::optional<Serve> readServe(NodeReader& reader, const YamlNode& node);

// `deviceFile: {uid: 1000, gid: 1000, mode: "0660"}`.
std::optional<DeviceFile> readDeviceFile(NodeReader& reader, const YamlNode& node);

// Where a resource's DRA-related keys are written (line 0: not written).
struct DraKeyPositions {
  SourcePosition name;  // the name's value
  SourcePosition serveKey;
  SourcePosition deviceFileKey;
  bool nameValid = false;  // the name passed resourceNameError
};

// The checks that span a resource's keys, resources, or the whole file.
class DraResourceChecks {
 public:
  // Once per resource, after its keys were read.
  void resource(NodeReader& reader, const Resource& resource, const DraKeyPositions& at);
  // After the walk: `haveDraBlock` when the file has a `dra:` key, valid or not.
  void finish(NodeReader& reader, bool haveDraBlock);

 private:
  std::vector<SourcePosition> servedAt_;  // the serve keys of resources served through DRA
  std::map<std::string, SourcePosition> classNames_;  // DeviceClass name -> the resource's name
};

}  // namespace udp::config
