#include "draplugin/claim_store.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "draplugin/cdi_claim_spec.h"
#include "kubelet/directory_watch.h"
#include "util/atomic_file.h"
#include "util/log.h"

namespace udp::draplugin {
namespace {

std::string directoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// Runs on the worker.
Result<void> writeInto(const std::string& path, const std::string& contents, unsigned mode) {
  if (auto r = kubelet::makeDirectories(directoryOf(path), 0755); !r) return r;
  return writeFileAtomically(path, contents, mode);
}

Result<std::string> readWhole(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return makeError(-errno, strerror(errno));
  std::string text;
  char buffer[16384];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return makeError(-err, strerror(err));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

}  // namespace

ClaimStore::ClaimStore(reactor::Reactor& reactor, ClaimStorePaths paths, reactor::OpScope* parent)
    : paths_(std::move(paths)), worker_(reactor, parent) {}

std::string ClaimStore::specPath(std::string_view uid) const {
  return paths_.cdiDir + "/" + cdiClaimSpecFileName(paths_.driverName, uid);
}

const PreparedClaim* ClaimStore::find(std::string_view uid) const {
  auto it = claims_.find(uid);
  return it == claims_.end() ? nullptr : &it->second;
}

bool ClaimStore::specPresent(const PreparedClaim& claim) const {
  struct stat st;
  return !claim.hasCdiSpec() || ::stat(specPath(claim.uid).c_str(), &st) == 0;
}

void ClaimStore::load() {
  const std::string& path = paths_.checkpointPath;
  auto text = readWhole(path);
  if (!text) {
    if (text.error().code != -ENOENT) {
      logError("cannot read the DRA checkpoint " + path + ": " + text.error().message +
                   "; starting with no prepared claims",
               {{"driver", paths_.driverName}});
    }
    return;
  }
  auto claims = parseCheckpoint(*text);
  if (!claims) {
    std::string aside = path + ".corrupt";
    ::rename(path.c_str(), aside.c_str());
    logError("the DRA checkpoint " + path + " is unusable (" + claims.error().message +
                 "); kept as " + aside + ", starting with no prepared claims",
             {{"driver", paths_.driverName}});
    return;
  }
  claims_ = std::move(*claims);
  logInfo("DRA checkpoint read: " + std::to_string(claims_.size()) + " prepared claim(s)",
          {{"driver", paths_.driverName}, {"checkpoint", path}});
}

void ClaimStore::restoreSpecs(const DeviceLookup& devices) {
  for (const auto& [uid, claim] : claims_) {
    if (specPresent(claim)) continue;
    std::vector<ClaimSpecDevice> specDevices;
    for (const PreparedDevice& device : claim.devices) {
      std::optional<DraDevice> found = devices.find(device.poolName, device.deviceName);
      if (!found) {
        logWarning("cannot restore the CDI spec entry of a prepared device: not on this node",
                   {{"claim", claim.namespaceName + "/" + claim.name},
                    {"device", device.poolName + "/" + device.deviceName}});
        continue;
      }
      specDevices.push_back({device.deviceName, found->resource, found->device});
    }
    std::string spec = renderClaimCdiSpec(paths_.driverName, uid, specDevices);
    if (spec.empty()) continue;
    std::string path = specPath(uid);
    std::string claimName = claim.namespaceName + "/" + claim.name;
    worker_.run([path, spec] { return writeInto(path, spec, 0644); },
                [path, claimName, driver = paths_.driverName](const Result<void>& r) {
                  if (r) {
                    logInfo("CDI spec of a prepared claim restored",
                            {{"claim", claimName}, {"spec", path}});
                  } else {
                    logError("cannot restore the CDI spec " + path + ": " + r.error().message,
                             {{"claim", claimName}, {"driver", driver}});
                  }
                });
  }
}

void ClaimStore::prepare(PreparedClaim claim, std::string spec, Done done) {
  if (spec.empty()) {
    claims_[claim.uid] = std::move(claim);
    persist(std::move(done));
    return;
  }
  std::string path = specPath(claim.uid);
  worker_.run([path, spec = std::move(spec)] { return writeInto(path, spec, 0644); },
              [this, claim = std::move(claim), done = std::move(done),
               path](const Result<void>& r) mutable {
                if (!r) {
                  done(makeError(r.error().code,
                                 "cannot write the CDI spec " + path + ": " + r.error().message));
                  return;
                }
                claims_[claim.uid] = std::move(claim);
                persist(std::move(done));
              });
}

void ClaimStore::unprepare(std::string uid, Done done) {
  std::string path = specPath(uid);
  worker_.run(
      [path]() -> Result<void> {
        if (::unlink(path.c_str()) == 0 || errno == ENOENT) return {};
        return makeError(-errno, "cannot remove the CDI spec " + path + ": " + strerror(errno));
      },
      [this, uid = std::move(uid), done = std::move(done)](const Result<void>& r) mutable {
        if (!r) {
          done(r);
          return;
        }
        claims_.erase(uid);
        persist(std::move(done));
      });
}

void ClaimStore::persist(Done done) {
  nextCheckpoint_.push_back(std::move(done));
  if (!checkpointInFlight_) startCheckpointWrite();
}

void ClaimStore::startCheckpointWrite() {
  checkpointInFlight_ = true;
  std::string text = renderCheckpoint(claims_);
  std::string path = paths_.checkpointPath;
  worker_.run([path, text = std::move(text)] { return writeInto(path, text, 0600); },
              [this, waiters = std::move(nextCheckpoint_), path](const Result<void>& r) {
                checkpointInFlight_ = false;
                checkpointDirty_ = !r.ok();
                Result<void> outcome = r;
                if (!r) {
                  logError("cannot write the DRA checkpoint " + path + ": " + r.error().message,
                           {{"driver", paths_.driverName}});
                  outcome = makeError(r.error().code,
                                      "cannot write the checkpoint: " + r.error().message);
                }
                for (const Done& waiter : waiters) waiter(outcome);
                if (!checkpointInFlight_ && !nextCheckpoint_.empty()) startCheckpointWrite();
              });
  nextCheckpoint_.clear();
}

}  // namespace udp::draplugin
