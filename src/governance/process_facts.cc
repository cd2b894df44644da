#include "governance/process_facts.h"

#include <elf.h>
#include <google/protobuf/stubs/common.h>
#include <liburing.h>
#include <link.h>
#include <nghttp2/nghttp2.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace udp::governance {
namespace {

// linux/capability.h, in bit order.
constexpr std::array<const char*, 41> kCapabilities = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

std::string_view trim(std::string_view s) {
  size_t begin = s.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  size_t end = s.find_last_not_of(" \t\r");
  return s.substr(begin, end - begin + 1);
}

template <typename T>
std::optional<T> parseDecimal(std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// "Uid:\t0\t0\t0\t0" → the first two fields (real, effective).
template <typename Id>
void parseIdPair(std::string_view fields, Id& real, Id& effective) {
  std::array<std::optional<unsigned long>, 2> ids;
  for (auto& id : ids) {
    fields = trim(fields);
    size_t end = fields.find_first_of(" \t");
    id = parseDecimal<unsigned long>(fields.substr(0, end));
    fields = end == std::string_view::npos ? std::string_view() : fields.substr(end);
  }
  if (ids[0] && ids[1]) {
    real = static_cast<Id>(*ids[0]);
    effective = static_cast<Id>(*ids[1]);
  }
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool isSet(const EnvLookup& env, const char* name) {
  const char* value = env(name);
  return value != nullptr && *value != '\0';
}

std::string readWholeFile(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::string capabilityName(unsigned bit) {
  if (bit < kCapabilities.size()) return kCapabilities[bit];
  return "CAP_" + std::to_string(bit);
}

std::vector<std::string> capabilityNames(uint64_t mask) {
  std::vector<std::string> names;
  for (unsigned bit = 0; bit < 64; ++bit) {
    if (mask & (uint64_t{1} << bit)) names.push_back(capabilityName(bit));
  }
  return names;
}

std::optional<uint64_t> parseCapabilityMask(std::string_view hex) {
  hex = trim(hex);
  if (hex.empty() || hex.size() > 16) return std::nullopt;
  uint64_t mask = 0;
  auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), mask, 16);
  if (ec != std::errc() || end != hex.data() + hex.size()) return std::nullopt;
  return mask;
}

const char* seccompModeName(SeccompMode mode) {
  switch (mode) {
    case SeccompMode::kDisabled:
      return "disabled";
    case SeccompMode::kStrict:
      return "strict";
    case SeccompMode::kFilter:
      return "filter";
    case SeccompMode::kUnknown:
      break;
  }
  return "unknown";
}

StatusFacts parseProcStatus(std::string_view text) {
  StatusFacts facts;
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    std::string_view value = trim(line.substr(colon + 1));
    if (name == "Uid") {
      parseIdPair(value, facts.uid, facts.euid);
    } else if (name == "Gid") {
      parseIdPair(value, facts.gid, facts.egid);
    } else if (name == "CapEff" || name == "CapBnd") {
      if (auto mask = parseCapabilityMask(value)) {
        (name == "CapEff" ? facts.effectiveCapabilities : facts.boundingCapabilities) = *mask;
      }
    } else if (name == "NoNewPrivs") {
      facts.noNewPrivs = value == "1";
    } else if (name == "Seccomp") {
      if (value == "0") facts.seccomp = SeccompMode::kDisabled;
      if (value == "1") facts.seccomp = SeccompMode::kStrict;
      if (value == "2") facts.seccomp = SeccompMode::kFilter;
    }
  }
  return facts;
}

std::string detectStartedBy(const EnvLookup& env, pid_t parentPid, const std::string& root) {
  if (isSet(env, "KUBERNETES_SERVICE_HOST") || exists(root + "/var/run/secrets/kubernetes.io")) {
    return "kubernetes";
  }
  if (isSet(env, "INVOCATION_ID") || isSet(env, "NOTIFY_SOCKET")) return "systemd";
  if (parentPid == 1 && exists(root + "/run/systemd/system")) return "systemd";
  return "manual";
}

std::string detectNodeName(const EnvLookup& env, std::string_view hostname) {
  if (isSet(env, "NODE_NAME")) return env("NODE_NAME");
  return std::string(hostname);
}

std::optional<std::string> sharedObjectVersion(std::string_view path, std::string_view stem) {
  size_t slash = path.rfind('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (!name.starts_with(stem)) return std::nullopt;
  name.remove_prefix(stem.size());
  if (name == ".so") return std::string();
  if (!name.starts_with(".so.")) return std::nullopt;
  return std::string(name.substr(4));
}

LibraryFacts findLibrary(const std::vector<std::string>& loadedObjects, std::string_view stem) {
  LibraryFacts facts;
  for (const std::string& object : loadedObjects) {
    if (auto version = sharedObjectVersion(object, stem)) {
      facts.file = object;
      facts.version = std::move(*version);
      return facts;
    }
  }
  facts.version = "static";
  return facts;
}

std::vector<std::string> loadedObjects(bool* dynamic) {
  struct Walk {
    std::vector<std::string> objects;
    bool first = true;
    bool interpreter = false;
  } walk;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        auto& w = *static_cast<Walk*>(data);
        // The main program comes first, named "" by glibc.
        if (w.first) {
          w.first = false;
          for (ElfW(Half) i = 0; i < info->dlpi_phnum; ++i) {
            if (info->dlpi_phdr[i].p_type == PT_INTERP) w.interpreter = true;
          }
          return 0;
        }
        // The vDSO has no file behind it.
        if (info->dlpi_name == nullptr || info->dlpi_name[0] != '/') return 0;
        char resolved[PATH_MAX];
        const char* path = ::realpath(info->dlpi_name, resolved);
        w.objects.emplace_back(path != nullptr ? path : info->dlpi_name);
        return 0;
      },
      &walk);
  if (dynamic != nullptr) *dynamic = walk.interpreter;
  return walk.objects;
}

ProcessFacts readProcessFacts() {
  ProcessFacts facts;
  facts.status = parseProcStatus(readWholeFile("/proc/self/status"));
  EnvLookup env = [](const char* name) { return ::getenv(name); };
  facts.startedBy = detectStartedBy(env, ::getppid(), "");
  struct utsname names;
  facts.nodeName = detectNodeName(env, ::uname(&names) == 0 ? names.nodename : "");

  bool dynamic = false;
  std::vector<std::string> objects = loadedObjects(&dynamic);
  facts.linkage = dynamic ? "dynamic" : "static";
  facts.liburing = findLibrary(objects, "liburing");
#ifdef IO_URING_VERSION_MAJOR  // liburing >= 2.4
  facts.liburing.runtimeVersion =
      std::to_string(io_uring_major_version()) + "." + std::to_string(io_uring_minor_version());
  facts.liburing.headerVersion =
      std::to_string(IO_URING_VERSION_MAJOR) + "." + std::to_string(IO_URING_VERSION_MINOR);
#endif
  facts.nghttp2 = findLibrary(objects, "libnghttp2");
  if (const nghttp2_info* info = nghttp2_version(0)) {
    facts.nghttp2.runtimeVersion = info->version_str;
  }
  facts.nghttp2.headerVersion = NGHTTP2_VERSION;
  facts.protobuf = findLibrary(objects, "libprotobuf");
  // Protobuf has no runtime version call; its soname version (32.0.12) is not the release
  // number, so the release we compiled against is what names it.
  facts.protobuf.headerVersion = google::protobuf::internal::VersionString(GOOGLE_PROTOBUF_VERSION);
  facts.libudev = findLibrary(objects, "libudev");
  return facts;
}

}  // namespace udp::governance
