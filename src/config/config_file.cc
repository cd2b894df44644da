#include "config/config_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/unique_fd.h"

namespace udp::config {
namespace {

ParseOutcome failure(const char* what, int error) {
  ParseOutcome outcome;
  const char* name = strerrorname_np(error);
  outcome.errors.push_back({{},
                            std::string(what) + ": " + std::strerror(error) + " (" +
                                (name != nullptr ? name : std::to_string(error)) + ")"});
  return outcome;
}

}  // namespace

ParseOutcome loadConfigFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) return failure("cannot open the config", errno);
  std::string text;
  char buffer[16384];
  while (text.size() <= kMaxConfigBytes) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return failure("cannot read the config", errno);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return parseConfig(text);
}

}  // namespace udp::config
