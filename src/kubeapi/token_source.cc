#include "kubeapi/token_source.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "kubeapi/client_config.h"

namespace udp::kubeapi {
namespace {

std::string trimmed(std::string text) {
  size_t end = text.find_last_not_of(" \t\r\n");
  text.erase(end == std::string::npos ? 0 : end + 1);
  size_t begin = text.find_first_not_of(" \t\r\n");
  text.erase(0, begin == std::string::npos ? text.size() : begin);
  return text;
}

}  // namespace

TokenSource::TokenSource(std::string token, std::string file, std::chrono::milliseconds recheck)
    : token_(std::move(token)), recheck_(recheck) {
  if (token_.empty()) file_ = std::move(file);
}

const std::string& TokenSource::current(std::chrono::steady_clock::time_point now) {
  check(now, false);
  return token_;
}

bool TokenSource::reload(std::chrono::steady_clock::time_point now) {
  if (file_.empty()) return false;
  std::string before = token_;
  check(now, true);
  return token_ != before;
}

void TokenSource::check(std::chrono::steady_clock::time_point now, bool force) {
  if (file_.empty()) return;
  if (!force && checked_ && now - lastCheck_ < recheck_) return;
  checked_ = true;
  lastCheck_ = now;
  struct stat st;
  if (::stat(file_.c_str(), &st) != 0) {
    error_ = "token file " + file_ + ": " + strerror(errno);
    return;
  }
  bool same = st.st_ino == inode_ && st.st_dev == device_ && st.st_size == size_ &&
              st.st_mtim.tv_sec == mtime_.tv_sec && st.st_mtim.tv_nsec == mtime_.tv_nsec;
  // A forced look reads even an unchanged file: a rewrite within the mtime's granularity keeps
  // every field above.
  if (same && !force) return;
  auto text = readSmallFile(file_);
  if (!text) {
    error_ = "token file: " + text.error().message;
    return;
  }
  std::string token = trimmed(std::move(*text));
  if (token.empty()) {
    error_ = "token file " + file_ + " is empty";
    return;
  }
  token_ = std::move(token);
  inode_ = st.st_ino;
  device_ = st.st_dev;
  size_ = st.st_size;
  mtime_ = st.st_mtim;
  error_.clear();
}

}  // namespace udp::kubeapi
