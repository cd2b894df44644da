#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "udev/udev_device_source.h"
#include "util/unique_fd.h"

namespace udp::udev {
namespace {

// A temporary directory for fake control sockets, removed with everything in it.
struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/udev-answers-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    unlink((path + "/control").c_str());
    rmdir(path.c_str());
  }
  std::string path;
};

UniqueFd bindSeqpacket(const std::string& path, bool listening) {
  UniqueFd fd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  REQUIRE(fd.valid());
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  REQUIRE(bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  if (listening) REQUIRE(listen(fd.get(), 4) == 0);
  return fd;
}

TEST_CASE("udevdAnswers: a listening socket answers") {
  TempDir dir;
  UniqueFd live = bindSeqpacket(dir.path + "/control", true);
  CHECK(udevdAnswers(dir.path + "/control"));
}

TEST_CASE("udevdAnswers: the socket file a dead udevd left behind does not") {
  TempDir dir;
  { UniqueFd dead = bindSeqpacket(dir.path + "/control", true); }  // closed, file stays
  CHECK(access((dir.path + "/control").c_str(), F_OK) == 0);
  CHECK_FALSE(udevdAnswers(dir.path + "/control"));
}

TEST_CASE("udevdAnswers: no file, or not a socket") {
  CHECK_FALSE(udevdAnswers("/nonexistent/udev/control"));
  CHECK_FALSE(udevdAnswers("/dev/null"));
  CHECK_FALSE(udevdAnswers(std::string(200, 'x')));
}

TEST_CASE("decideSwitch: auto and udev follow udevd both ways, kernel never moves") {
  using config::UdevSource;
  for (UdevSource choice : {UdevSource::kAuto, UdevSource::kUdev}) {
    CAPTURE(static_cast<int>(choice));
    CHECK(decideSwitch(choice, true, true) == SourceSwitch::kStay);
    CHECK(decideSwitch(choice, true, false) == SourceSwitch::kToKernel);
    CHECK(decideSwitch(choice, false, true) == SourceSwitch::kToUdev);
    CHECK(decideSwitch(choice, false, false) == SourceSwitch::kStay);
  }
  for (bool following : {true, false}) {
    for (bool answers : {true, false}) {
      CHECK(decideSwitch(UdevSource::kKernel, following, answers) == SourceSwitch::kStay);
    }
  }
}

}  // namespace
}  // namespace udp::udev
