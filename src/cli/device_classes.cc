#include "cli/device_classes.h"

#include <yaml.h>

#include <strings.h>
#include <array>
#include <cstdio>
#include <cstdlib>

#include "config/dra_names.h"

namespace udp::cli {
namespace {

constexpr std::string_view kManagedByLabel = "app.kubernetes.io/managed-by";

// Whether `text` reads back as this very string when written plain, under YAML 1.1 (PyYAML,
// kubectl's go-yaml) and 1.2 alike: starting with a letter rules out numbers, dates and
// indicators; the words rule out booleans and null. Anything else is quoted.
bool plainIsSafe(std::string_view text) {
  static constexpr std::array<const char*, 11> kWords = {
      "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"};
  if (text.empty() || !((text[0] >= 'a' && text[0] <= 'z') || (text[0] >= 'A' && text[0] <= 'Z'))) {
    return false;
  }
  for (char c : text) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_' || c == '/';
    if (!ok) return false;
  }
  for (const char* word : kWords) {
    if (text.size() == std::string_view(word).size() &&
        strncasecmp(text.data(), word, text.size()) == 0) {
      return false;
    }
  }
  return true;
}

// libyaml's emitter, writing into a string. Every event it is handed it owns (and frees), even
// when emitting fails; failing means running out of memory, which is fatal here as everywhere.
class YamlWriter {
 public:
  YamlWriter() {
    if (!yaml_emitter_initialize(&emitter_)) std::abort();
    yaml_emitter_set_output(&emitter_, &YamlWriter::append, &out_);
    yaml_emitter_set_width(&emitter_, -1);  // never fold a long CEL expression
    yaml_emitter_set_unicode(&emitter_, 1);
    yaml_event_t event;
    check(yaml_stream_start_event_initialize(&event, YAML_UTF8_ENCODING));
    emit(event);
  }
  ~YamlWriter() { yaml_emitter_delete(&emitter_); }
  YamlWriter(const YamlWriter&) = delete;
  YamlWriter& operator=(const YamlWriter&) = delete;

  void documentStart() {
    yaml_event_t event;
    check(yaml_document_start_event_initialize(&event, nullptr, nullptr, nullptr, 0));
    emit(event);
  }
  void documentEnd() {
    yaml_event_t event;
    check(yaml_document_end_event_initialize(&event, 1));
    emit(event);
  }
  void mappingStart() {
    yaml_event_t event;
    check(
        yaml_mapping_start_event_initialize(&event, nullptr, nullptr, 1, YAML_BLOCK_MAPPING_STYLE));
    emit(event);
  }
  void mappingEnd() {
    yaml_event_t event;
    check(yaml_mapping_end_event_initialize(&event));
    emit(event);
  }
  void sequenceStart() {
    yaml_event_t event;
    check(yaml_sequence_start_event_initialize(&event, nullptr, nullptr, 1,
                                               YAML_BLOCK_SEQUENCE_STYLE));
    emit(event);
  }
  void sequenceEnd() {
    yaml_event_t event;
    check(yaml_sequence_end_event_initialize(&event));
    emit(event);
  }
  void scalar(std::string_view text) {
    yaml_event_t event;
    yaml_scalar_style_t style =
        plainIsSafe(text) ? YAML_PLAIN_SCALAR_STYLE : YAML_SINGLE_QUOTED_SCALAR_STYLE;
    check(yaml_scalar_event_initialize(&event, nullptr, nullptr,
                                       reinterpret_cast<const yaml_char_t*>(text.data()),
                                       static_cast<int>(text.size()), 1, 1, style));
    emit(event);
  }
  void entry(std::string_view key, std::string_view value) {
    scalar(key);
    scalar(value);
  }

  std::string finish() {
    yaml_event_t event;
    check(yaml_stream_end_event_initialize(&event));
    emit(event);
    check(yaml_emitter_flush(&emitter_));
    return std::move(out_);
  }

 private:
  static int append(void* data, unsigned char* buffer, size_t size) {
    static_cast<std::string*>(data)->append(reinterpret_cast<const char*>(buffer), size);
    return 1;
  }
  static void check(int ok) {
    if (!ok) std::abort();
  }
  void emit(yaml_event_t& event) { check(yaml_emitter_emit(&emitter_, &event)); }

  yaml_emitter_t emitter_;
  std::string out_;
};

// A CEL string literal. Driver and resource names hold neither quotes nor backslashes; escaped
// anyway, so that the selector can never mean more than it says.
std::string celString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string deviceClassSelector(std::string_view driver, std::string_view resource) {
  return "device.driver == " + celString(driver) + " && device.attributes[" + celString(driver) +
         "].resource == " + celString(resource);
}

std::string deviceClassesYaml(const config::Config& config) {
  if (!config.dra) return {};
  YamlWriter yaml;
  bool any = false;
  for (const config::Resource& resource : config.resources) {
    if (!config::servedThroughDra(resource)) continue;
    any = true;
    yaml.documentStart();
    yaml.mappingStart();
    yaml.entry("apiVersion", "resource.k8s.io/v1");
    yaml.entry("kind", "DeviceClass");
    yaml.scalar("metadata");
    yaml.mappingStart();
    yaml.entry("name", config::deviceClassNameFor(resource.name));
    yaml.scalar("labels");
    yaml.mappingStart();
    yaml.entry(kManagedByLabel, "udev-device-plugin");
    yaml.mappingEnd();
    yaml.mappingEnd();
    yaml.scalar("spec");
    yaml.mappingStart();
    yaml.scalar("selectors");
    yaml.sequenceStart();
    yaml.mappingStart();
    yaml.scalar("cel");
    yaml.mappingStart();
    yaml.entry("expression", deviceClassSelector(config.dra->driverName, resource.name));
    yaml.mappingEnd();
    yaml.mappingEnd();
    yaml.sequenceEnd();
    if (resource.serve == config::Serve::kDra) yaml.entry("extendedResourceName", resource.name);
    yaml.mappingEnd();
    yaml.mappingEnd();
    yaml.documentEnd();
  }
  std::string out = yaml.finish();
  return any ? out : std::string();
}

int printDeviceClasses(const std::string& configPath, const config::Config& config) {
  std::string yaml = deviceClassesYaml(config);
  if (yaml.empty()) {
    fprintf(stderr,
            "udev-device-plugin: %s: no resource is served through DRA (serve: dra or both, with "
            "a dra block), so there is no DeviceClass to print\n",
            configPath.c_str());
    return 1;
  }
  fwrite(yaml.data(), 1, yaml.size(), stdout);
  return 0;
}

}  // namespace udp::cli
