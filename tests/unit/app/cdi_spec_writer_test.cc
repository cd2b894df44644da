// The CDI spec leaves the loop's thread: the write happens on the worker, the answer comes back
// as a completion, the newest spec wins, and the loop never waits for the disk.

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "../../support/temp_dir.h"
#include "app/cdi_spec_writer.h"

namespace {

using namespace std::chrono_literals;
using udp::app::CdiSpecWriter;
using udp::reactor::Backend;
using udp::reactor::Reactor;

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Done {
  std::vector<uint64_t> generations;
  std::vector<bool> ok;
  std::string error;
};

TEST_CASE("specs are written by the worker; the newest waiting one replaces older ones") {
  for (Backend backend : {Backend::kIoUring, Backend::kEpoll}) {
    CAPTURE(backend);
    auto reactor = Reactor::create(backend, 64);
    REQUIRE(reactor.ok());
    udp::testing::TempDir tmp;
    std::string dir = tmp.file("cdi/nested");  // made on the way
    Done done;
    udp::reactor::OpScope owner;
    {
      CdiSpecWriter writer(
          **reactor, dir, "example.com-foo.json",
          [&](uint64_t generation, const udp::Result<void>& result) {
            done.generations.push_back(generation);
            done.ok.push_back(result.ok());
            if (!result) done.error = result.error().message;
          },
          &owner);
      CHECK(writer.idle());
      writer.write(1, "one\n");
      writer.write(2, "two\n");    // waits behind 1
      writer.write(3, "three\n");  // replaces 2
      CHECK(writer.requested() == 3u);
      CHECK_FALSE(writer.idle());
      CHECK(owner.inFlight() == 1);
      for (int i = 0; i < 500 && !writer.idle(); ++i) (*reactor)->runOnce(10ms);
      REQUIRE(writer.idle());
      CHECK(done.generations == std::vector<uint64_t>{1, 3});
      CHECK(done.ok == std::vector<bool>{true, true});
      CHECK(readFile(dir + "/example.com-foo.json") == "three\n");
      struct stat st {};
      REQUIRE(stat((dir + "/example.com-foo.json").c_str(), &st) == 0);
      CHECK((st.st_mode & 0777) == 0644);
    }
    CHECK(owner.idle());
  }
}

TEST_CASE("a failed write comes back as an error for that generation") {
  auto reactor = Reactor::create(Backend::kAuto, 64);
  REQUIRE(reactor.ok());
  udp::testing::TempDir tmp;
  tmp.write("file", "not a directory");
  Done done;
  CdiSpecWriter writer(**reactor, tmp.file("file") + "/cdi", "x.json",
                       [&](uint64_t generation, const udp::Result<void>& result) {
                         done.generations.push_back(generation);
                         done.ok.push_back(result.ok());
                         if (!result) done.error = result.error().message;
                       });
  writer.write(7, "{}");
  for (int i = 0; i < 500 && !writer.idle(); ++i) (*reactor)->runOnce(10ms);
  REQUIRE(done.generations == std::vector<uint64_t>{7});
  CHECK_FALSE(done.ok[0]);
  CHECK(done.error.find("cdi") != std::string::npos);
}

}  // namespace
