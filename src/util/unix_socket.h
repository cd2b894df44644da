#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <string>

#include "util/result.h"
#include "util/unique_fd.h"

namespace udp {

struct ListeningSocket {
  UniqueFd fd;
  ino_t inode = 0;  // of the socket file, to tell our own file from a stranger's
};

// Binds and listens on `path`, mode 0600. A stale file there is replaced only if it is a socket
// (never a symlink or a regular file someone put there).
Result<ListeningSocket> listenUnix(const std::string& path);

// A non-blocking, close-on-exec stream socket and the address of `path`, for a connect op.
struct UnixAddress {
  sockaddr_un addr{};
  socklen_t len = 0;
};
Result<UnixAddress> unixAddress(const std::string& path);
Result<UniqueFd> unixStreamSocket();

// The inode of the socket file at `path`, or 0 when there is none.
ino_t socketInodeAt(const std::string& path);

}  // namespace udp
