#pragma once

// What the running process can say about itself for the governance record (DESIGN.md §1
// "accounts"): who it runs as, with which privileges, who started it, on which node, and which
// library builds it actually runs with. Each reader takes what it reads (file contents, an
// environment, a path root) as a parameter, so the parsing is pure and tested; the read*()
// functions at the end do the I/O.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace udp::governance {

// --- /proc/self/status -------------------------------------------------------------------

// "CAP_CHOWN" for 0 ... "CAP_CHECKPOINT_RESTORE" for 40; "CAP_<n>" for bits newer kernels add.
std::string capabilityName(unsigned bit);
// The names of the bits set in `mask`, lowest bit first.
std::vector<std::string> capabilityNames(uint64_t mask);
// A CapEff/CapBnd value: up to 16 hex digits. nullopt when it is not one.
std::optional<uint64_t> parseCapabilityMask(std::string_view hex);

enum class SeccompMode { kUnknown, kDisabled, kStrict, kFilter };
// "disabled", "strict", "filter"; "unknown" when the kernel does not report it.
const char* seccompModeName(SeccompMode mode);

struct StatusFacts {
  uid_t uid = static_cast<uid_t>(-1), euid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1), egid = static_cast<gid_t>(-1);
  uint64_t effectiveCapabilities = 0;
  uint64_t boundingCapabilities = 0;
  bool noNewPrivs = false;
  SeccompMode seccomp = SeccompMode::kUnknown;
};

// Parses the lines Uid, Gid, CapEff, CapBnd, NoNewPrivs and Seccomp; absent or malformed lines
// leave their defaults.
StatusFacts parseProcStatus(std::string_view text);

// --- deployment ----------------------------------------------------------------------------

// getenv(3)'s shape, so tests can inject an environment.
using EnvLookup = std::function<const char*(const char*)>;

// "kubernetes" when KUBERNETES_SERVICE_HOST is set or <root>/var/run/secrets/kubernetes.io
// exists; else "systemd" when INVOCATION_ID or NOTIFY_SOCKET is set, or when our parent is PID 1
// on a systemd-booted host (<root>/run/systemd/system exists); else "manual". Kubernetes is
// checked first because a privileged pod may share the host's /run and PID namespace, while a
// systemd unit never carries the pod's service variables. `root` is "" in production.
std::string detectStartedBy(const EnvLookup& env, pid_t parentPid, const std::string& root);

// NODE_NAME (set by the DaemonSet from spec.nodeName) when set, else `hostname`.
std::string detectNodeName(const EnvLookup& env, std::string_view hostname);

// --- libraries -------------------------------------------------------------------------------

struct LibraryFacts {
  std::string file;     // the loaded shared object, symlinks resolved; empty when linked statically
  std::string version;  // from the file name ("libudev.so.1.7.5" → "1.7.5"), or "static"
  std::string runtimeVersion;  // the library's own version API, where it has one
  std::string headerVersion;   // the version compiled against, where the headers say
};

// The version suffix of `path`'s file name after "<stem>.so.": ("/lib/libudev.so.1.7.5",
// "libudev") → "1.7.5". nullopt when the file name is not "<stem>.so" or "<stem>.so.*"; "" for
// an unversioned "<stem>.so".
std::optional<std::string> sharedObjectVersion(std::string_view path, std::string_view stem);

// The object among `loadedObjects` (resolved paths) that is `stem`'s, with its version; file
// empty and version "static" when none is.
LibraryFacts findLibrary(const std::vector<std::string>& loadedObjects, std::string_view stem);

struct ProcessFacts {
  StatusFacts status;
  std::string startedBy;  // "systemd" | "kubernetes" | "manual"
  std::string nodeName;
  // "dynamic" when the executable has a program interpreter (PT_INTERP: ld.so loads its
  // libraries), "static" when it has none (fully static or static-pie).
  std::string linkage;
  LibraryFacts liburing, nghttp2, protobuf, libudev;
};

// --- the I/O -------------------------------------------------------------------------------

// The shared objects loaded into this process (dl_iterate_phdr), resolved with realpath(3);
// the main program and the vDSO are left out. `dynamic` is set from the main program's PT_INTERP.
std::vector<std::string> loadedObjects(bool* dynamic = nullptr);

// Everything above for this process, read now.
ProcessFacts readProcessFacts();

}  // namespace udp::governance
