#include "util/unix_socket.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <cstddef>

namespace udp {
namespace {

Error errnoError(int err, const std::string& what) {
  return makeError(-err, what + ": " + strerror(err));
}

}  // namespace

Result<UnixAddress> unixAddress(const std::string& path) {
  UnixAddress address;
  if (path.size() >= sizeof(address.addr.sun_path)) {
    return makeError(-ENAMETOOLONG, "socket path too long (max " +
                                        std::to_string(sizeof(address.addr.sun_path) - 1) +
                                        " bytes): " + path);
  }
  address.addr.sun_family = AF_UNIX;
  memcpy(address.addr.sun_path, path.c_str(), path.size() + 1);
  address.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return address;
}

Result<UniqueFd> unixStreamSocket() {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errnoError(errno, "socket");
  return UniqueFd(fd);
}

ino_t socketInodeAt(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return 0;
  return st.st_ino;
}

Result<ListeningSocket> listenUnix(const std::string& path) {
  auto address = unixAddress(path);
  if (!address) return address.error();

  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return makeError(-EEXIST, path + " exists and is not a socket; refusing to replace it");
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return errnoError(errno, "remove stale socket " + path);
    }
  }

  auto fd = unixStreamSocket();
  if (!fd) return fd.error();
  // On Linux the file bind() creates takes the socket inode's mode: 0600 from the start, with no
  // window where another user could connect.
  if (::fchmod(fd->get(), 0600) != 0) return errnoError(errno, "fchmod socket");
  if (::bind(fd->get(), reinterpret_cast<const sockaddr*>(&address->addr), address->len) != 0) {
    return errnoError(errno, "bind " + path);
  }
  if (::listen(fd->get(), SOMAXCONN) != 0) return errnoError(errno, "listen " + path);

  ListeningSocket socket;
  socket.inode = socketInodeAt(path);
  socket.fd = std::move(*fd);
  return socket;
}

}  // namespace udp
