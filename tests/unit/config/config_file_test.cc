#include "config/config_file.h"
#include "config/glob.h"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

using namespace udp::config;

namespace {

// A file in a fresh temporary directory, removed at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    char dir[] = "/tmp/udp-config-test-XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    dir_ = dir;
    path_ = dir_ + "/config.yaml";
    std::ofstream(path_) << text;
  }
  ~TempFile() {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::string path_;
};

}  // namespace

TEST_CASE("a file is read and parsed") {
  TempFile file("resources:\n  - name: example.com/r\n    match: [{subsystem: tty}]\n");
  ParseOutcome outcome = loadConfigFile(file.path());
  CHECK(outcome.errors.empty());
  REQUIRE(outcome.config.has_value());
  CHECK(outcome.config->resources.at(0).name == "example.com/r");
}

TEST_CASE("errors in a file keep their positions") {
  TempFile file("resources:\n  - name: example.com/r\n    match: []\n");
  ParseOutcome outcome = loadConfigFile(file.path());
  REQUIRE(outcome.errors.size() == 1);
  CHECK(outcome.errors[0].position.line == 3);
  CHECK(outcome.errors[0].position.column == 12);
}

TEST_CASE("an unreadable file gives one diagnostic without a position, naming errno") {
  ParseOutcome missing = loadConfigFile("/nonexistent/udp/config.yaml");
  CHECK_FALSE(missing.config.has_value());
  REQUIRE(missing.errors.size() == 1);
  CHECK(missing.errors[0].position.line == 0);
  CHECK(missing.errors[0].position.column == 0);
  CHECK(missing.errors[0].message == "cannot open the config: No such file or directory (ENOENT)");

  TempFile file("");
  ParseOutcome directory = loadConfigFile(file.dir());
  REQUIRE(directory.errors.size() == 1);
  CHECK(directory.errors[0].position.line == 0);
  CHECK(directory.errors[0].message == "cannot read the config: Is a directory (EISDIR)");
}

TEST_CASE("an endless file is cut off at the size limit") {
  ParseOutcome outcome = loadConfigFile("/dev/zero");
  REQUIRE(outcome.errors.size() == 1);
  CHECK(outcome.errors[0].message.find("larger than") != std::string::npos);
}

TEST_CASE("the packaged example config parses cleanly") {
  ParseOutcome outcome = loadConfigFile(UDP_SOURCE_ROOT "/packaging/config.yaml");
  std::string first =
      outcome.errors.empty() ? "" : formatDiagnostic("config.yaml", outcome.errors[0]);
  INFO(first);
  REQUIRE(outcome.config.has_value());
  REQUIRE(outcome.config->resources.size() == 2);
  const Resource& loop = outcome.config->resources[0];
  CHECK(loop.name == "example.com/loop");
  REQUIRE(loop.match.size() == 1);
  CHECK(loop.match[0].subsystem == "block");
  CHECK(loop.match[0].kernel == "loop[0-9]*");
  CHECK(globMatch(*loop.match[0].kernel, "loop7"));
  CHECK_FALSE(globMatch(*loop.match[0].kernel, "loop-control"));
  const Resource& zram = outcome.config->resources[1];
  CHECK(zram.name == "example.com/zram");
  REQUIRE(zram.match.size() == 1);
  CHECK(zram.match[0].subsystem == "block");
  CHECK(zram.match[0].kernel == "zram*");
}
