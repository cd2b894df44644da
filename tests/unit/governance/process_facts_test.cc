#include "governance/process_facts.h"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>

namespace udp::governance {
namespace {

// Trimmed from a root process in a Docker container with default privileges.
constexpr const char* kStatus =
    "Name:\tudev-device-plu\n"
    "Umask:\t0022\n"
    "State:\tS (sleeping)\n"
    "Uid:\t1000\t0\t0\t0\n"
    "Gid:\t1001\t5\t5\t5\n"
    "CapInh:\t0000000000000000\n"
    "CapPrm:\t00000000a80425fb\n"
    "CapEff:\t00000000a80425fb\n"
    "CapBnd:\t000001ffffffffff\n"
    "CapAmb:\t0000000000000000\n"
    "NoNewPrivs:\t1\n"
    "Seccomp:\t2\n"
    "Seccomp_filters:\t1\n";

TEST_CASE("capability names follow linux/capability.h") {
  CHECK(capabilityName(0) == "CAP_CHOWN");
  CHECK(capabilityName(21) == "CAP_SYS_ADMIN");
  CHECK(capabilityName(27) == "CAP_MKNOD");
  CHECK(capabilityName(40) == "CAP_CHECKPOINT_RESTORE");
  CHECK(capabilityName(41) == "CAP_41");  // a newer kernel's bit still shows
  CHECK(capabilityNames(0).empty());
  CHECK(capabilityNames((uint64_t{1} << 21) | 1) ==
        std::vector<std::string>{"CAP_CHOWN", "CAP_SYS_ADMIN"});
}

TEST_CASE("capability masks are 1 to 16 hex digits") {
  CHECK(parseCapabilityMask("000001ffffffffff") == uint64_t{0x1ffffffffff});
  CHECK(parseCapabilityMask("  00000000a80425fb ") == uint64_t{0xa80425fb});
  CHECK(parseCapabilityMask("ffffffffffffffff") == ~uint64_t{0});
  CHECK_FALSE(parseCapabilityMask(""));
  CHECK_FALSE(parseCapabilityMask("xyz"));
  CHECK_FALSE(parseCapabilityMask("0x1f"));
  CHECK_FALSE(parseCapabilityMask("10000000000000000"));  // 17 digits
}

TEST_CASE("/proc/self/status gives IDs, capabilities, no_new_privs and seccomp") {
  StatusFacts facts = parseProcStatus(kStatus);
  CHECK(facts.uid == 1000);
  CHECK(facts.euid == 0);
  CHECK(facts.gid == 1001);
  CHECK(facts.egid == 5);
  // Docker's default set: 14 capabilities, no CAP_SYS_ADMIN.
  std::vector<std::string> effective = capabilityNames(facts.effectiveCapabilities);
  CHECK(effective.size() == 14);
  CHECK(effective.front() == "CAP_CHOWN");
  CHECK(effective.back() == "CAP_SETFCAP");
  CHECK(std::find(effective.begin(), effective.end(), "CAP_MKNOD") != effective.end());
  CHECK(std::find(effective.begin(), effective.end(), "CAP_SYS_ADMIN") == effective.end());
  CHECK(capabilityNames(facts.boundingCapabilities).size() == 41);
  CHECK(facts.noNewPrivs);
  CHECK(facts.seccomp == SeccompMode::kFilter);
  CHECK(std::string(seccompModeName(facts.seccomp)) == "filter");
}

TEST_CASE("seccomp modes and missing lines") {
  CHECK(parseProcStatus("Seccomp:\t0\n").seccomp == SeccompMode::kDisabled);
  CHECK(parseProcStatus("Seccomp:\t1").seccomp == SeccompMode::kStrict);
  CHECK(std::string(seccompModeName(SeccompMode::kStrict)) == "strict");
  CHECK(std::string(seccompModeName(SeccompMode::kDisabled)) == "disabled");
  // Kernels without CONFIG_SECCOMP have no line at all.
  StatusFacts empty = parseProcStatus("Name:\tx\nCapEff:\tnot-hex\nUid:\t7\n");
  CHECK(empty.seccomp == SeccompMode::kUnknown);
  CHECK(std::string(seccompModeName(empty.seccomp)) == "unknown");
  CHECK_FALSE(empty.noNewPrivs);
  CHECK(empty.effectiveCapabilities == 0);
  CHECK(empty.uid == static_cast<uid_t>(-1));  // one field is not a (real, effective) pair
  CHECK(parseProcStatus("NoNewPrivs:\t0\n").noNewPrivs == false);
}

TEST_CASE("this process's status parses") {
  StatusFacts facts = readProcessFacts().status;
  CHECK(facts.uid == ::getuid());
  CHECK(facts.euid == ::geteuid());
  CHECK(facts.egid == ::getegid());
  CHECK(facts.seccomp != SeccompMode::kUnknown);
}

// An injected environment and a scratch root, so the host's own setup does not leak in.
class Host {
 public:
  Host() {
    char pattern[] = "/tmp/udp-governance-XXXXXX";
    root_ = ::mkdtemp(pattern);
  }
  ~Host() { std::filesystem::remove_all(root_); }
  EnvLookup env() const {
    return [this](const char* name) -> const char* {
      auto it = vars_.find(name);
      return it == vars_.end() ? nullptr : it->second.c_str();
    };
  }
  void set(const std::string& name, const std::string& value) { vars_[name] = value; }
  void mkdirs(const std::string& path) { std::filesystem::create_directories(root_ + path); }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
  std::map<std::string, std::string> vars_;
};

TEST_CASE("started by hand when nothing says otherwise") {
  Host host;
  CHECK(detectStartedBy(host.env(), 1234, host.root()) == "manual");
  CHECK(detectStartedBy(host.env(), 1, host.root()) == "manual");  // PID 1 is no systemd here
  host.set("INVOCATION_ID", "");                                   // empty counts as unset
  CHECK(detectStartedBy(host.env(), 1234, host.root()) == "manual");
}

TEST_CASE("started by systemd: its variables, or parent PID 1 on a systemd host") {
  {
    Host host;
    host.set("INVOCATION_ID", "0123456789abcdef0123456789abcdef");
    CHECK(detectStartedBy(host.env(), 1234, host.root()) == "systemd");
  }
  {
    Host host;
    host.set("NOTIFY_SOCKET", "/run/systemd/notify");
    CHECK(detectStartedBy(host.env(), 1234, host.root()) == "systemd");
  }
  {
    Host host;
    host.mkdirs("/run/systemd/system");
    CHECK(detectStartedBy(host.env(), 1, host.root()) == "systemd");
    CHECK(detectStartedBy(host.env(), 1234, host.root()) == "manual");
  }
}

TEST_CASE("started by Kubernetes: its service variables or a service-account mount win") {
  {
    Host host;
    host.set("KUBERNETES_SERVICE_HOST", "10.96.0.1");
    host.set("INVOCATION_ID", "x");  // e.g. leaked through a hostPID pod's environment
    CHECK(detectStartedBy(host.env(), 1, host.root()) == "kubernetes");
  }
  {
    Host host;
    host.mkdirs("/var/run/secrets/kubernetes.io/serviceaccount");
    host.mkdirs("/run/systemd/system");  // the host's /run mounted into the pod
    CHECK(detectStartedBy(host.env(), 1, host.root()) == "kubernetes");
  }
}

TEST_CASE("the node name comes from NODE_NAME, else the host name") {
  Host host;
  CHECK(detectNodeName(host.env(), "edge-7") == "edge-7");
  host.set("NODE_NAME", "");
  CHECK(detectNodeName(host.env(), "edge-7") == "edge-7");
  host.set("NODE_NAME", "worker-3");
  CHECK(detectNodeName(host.env(), "edge-7") == "worker-3");
}

TEST_CASE("library versions come from the loaded file's name") {
  CHECK(sharedObjectVersion("/usr/lib/x86_64-linux-gnu/libudev.so.1.7.5", "libudev") == "1.7.5");
  CHECK(sharedObjectVersion("liburing.so.2.3", "liburing") == "2.3");
  CHECK(sharedObjectVersion("/opt/lib/libnghttp2.so", "libnghttp2") == "");
  CHECK_FALSE(sharedObjectVersion("/lib/libprotobuf-lite.so.32.0.12", "libprotobuf"));
  CHECK_FALSE(sharedObjectVersion("/lib/libudevx.so.1", "libudev"));
  CHECK_FALSE(sharedObjectVersion("/libudev.so.1/libc.so.6", "libudev"));

  std::vector<std::string> objects = {"/lib/x86_64-linux-gnu/libc.so.6",
                                      "/lib/x86_64-linux-gnu/libprotobuf-lite.so.32.0.12",
                                      "/lib/x86_64-linux-gnu/libprotobuf.so.32.0.12"};
  LibraryFacts protobuf = findLibrary(objects, "libprotobuf");
  CHECK(protobuf.file == "/lib/x86_64-linux-gnu/libprotobuf.so.32.0.12");
  CHECK(protobuf.version == "32.0.12");
  LibraryFacts uring = findLibrary(objects, "liburing");
  CHECK(uring.file.empty());
  CHECK(uring.version == "static");
}

TEST_CASE("this process: linkage and libraries as loaded") {
  bool dynamic = false;
  std::vector<std::string> objects = loadedObjects(&dynamic);
  ProcessFacts facts = readProcessFacts();
  CHECK(facts.linkage == (dynamic ? "dynamic" : "static"));
  for (const std::string& object : objects) CHECK(object.starts_with("/"));
  // The test binary links the core library as the plugin does: each library is either a
  // resolved shared object or static, never unknown.
  for (const LibraryFacts* library :
       {&facts.liburing, &facts.nghttp2, &facts.protobuf, &facts.libudev}) {
    CHECK((library->version == "static") == library->file.empty());
    if (!library->file.empty()) CHECK(std::filesystem::is_regular_file(library->file));
  }
  CHECK_FALSE(facts.nghttp2.runtimeVersion.empty());
  CHECK_FALSE(facts.protobuf.headerVersion.empty());
  CHECK((facts.startedBy == "manual" || facts.startedBy == "systemd" ||
         facts.startedBy == "kubernetes"));
  CHECK_FALSE(facts.nodeName.empty());
}

}  // namespace
}  // namespace udp::governance
