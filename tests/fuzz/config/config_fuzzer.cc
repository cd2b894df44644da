// libFuzzer target for the config parser (DESIGN.md §5.6): any bytes must give either a config
// or positioned errors, never both or neither, and never a crash, leak or hang.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/config_parser.h"
#include "config/dra_names.h"
#include "config/glob.h"
#include "config/rule_overlap.h"

using namespace udp::config;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ParseOutcome outcome = parseConfig(text);
  if (outcome.config.has_value() == !outcome.errors.empty()) std::abort();
  if (outcome.errors.size() > kMaxDiagnostics + 1) std::abort();
  for (const Diagnostic& error : outcome.errors) {
    if (error.message.empty() || error.position.line < 0 || error.position.column < 0) {
      std::abort();
    }
    (void)formatDiagnostic("fuzz.yaml", error);
  }
  if (!outcome.config) return 0;
  // What the validator accepted, the API server must accept too (a DeviceClass name is a DNS
  // subdomain of at most 253 characters, as a node name is).
  const std::optional<DraConfig>& dra = outcome.config->dra;
  if (dra && (draDriverNameError(dra->driverName) || dra->pluginsRegistryDir.empty() ||
              (!dra->nodeName.empty() && nodeNameError(dra->nodeName)))) {
    std::abort();
  }
  // What the validator accepted, the matcher must be able to use.
  std::size_t rules = 0;
  for (const Resource& resource : outcome.config->resources) {
    if (resource.shares < 1 || resource.shares > 1000 || resource.match.empty()) std::abort();
    if (resource.serve != Serve::kDevicePlugin &&
        (!dra || draResourceNameError(resource.name) ||
         nodeNameError(deviceClassNameFor(resource.name)))) {
      std::abort();
    }
    if (resource.deviceFile.mode && *resource.deviceFile.mode > 0777) std::abort();
    for (const MatchRule& rule : resource.match) {
      ++rules;
      if (rule.kernel && !isValidGlob(*rule.kernel)) std::abort();
      if (rule.kernel) (void)globMatch(*rule.kernel, "ttyUSB0");
      for (const auto& [name, pattern] : rule.properties) (void)globMatch(pattern, name);
      // The overlap test may say "maybe" wrongly, never "no" wrongly.
      if (rule.kernel && rule.devnode && globMatch(*rule.kernel, "ttyUSB0") &&
          globMatch(*rule.devnode, "ttyUSB0") && !globsMayIntersect(*rule.kernel, *rule.devnode)) {
        std::abort();
      }
    }
  }
  // check-config's pairwise test; quadratic, so only on configs of a sane size.
  if (rules <= 64) {
    for (const Diagnostic& warning : overlapWarnings(*outcome.config)) {
      if (warning.severity != Severity::kWarning) std::abort();
    }
  }
  return 0;
}
