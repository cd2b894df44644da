#include "util/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

namespace udp {
namespace {

Error failure(const std::string& what, int err) {
  return makeError(-err, what + ": " + strerror(err));
}

}  // namespace

Result<void> writeFileAtomically(const std::string& path, std::string_view contents,
                                 unsigned mode) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  std::string temporary = path + ".tmp." + std::to_string(getpid());
  ::unlink(temporary.c_str());  // a leftover from a crash; O_EXCL then refuses anything else
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return failure("create " + temporary, errno);
  size_t written = 0;
  while (written < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(temporary.c_str());
      return failure("write " + temporary, err);
    }
    written += static_cast<size_t>(n);
  }
  if (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(temporary.c_str());
    return failure("sync " + temporary, err);
  }
  ::close(fd);
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temporary.c_str());
    return failure("rename to " + path, err);
  }
  int dirFd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirFd >= 0) {
    ::fsync(dirFd);  // the rename itself survives a crash
    ::close(dirFd);
  }
  return {};
}

}  // namespace udp
