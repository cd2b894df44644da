#include "audit/audit_log.h"

#include <dirent.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>
#include "../../support/temp_dir.h"

using namespace udp;
using namespace udp::audit;
using namespace std::chrono_literals;

namespace {

using udp::testing::TempDir;

std::unique_ptr<reactor::Reactor> makeReactor() {
  auto r = reactor::Reactor::create(64);
  REQUIRE(r.ok());
  return std::move(*r);
}

// Steps the reactor until the log has written everything (or a generous time has passed).
void drain(reactor::Reactor& reactor, const AuditLog& log) {
  for (int i = 0; i < 5000 && !log.idle(); ++i) reactor.runOnce(5ms);
  REQUIRE(log.idle());
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> splitLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    REQUIRE(end != std::string::npos);  // every line is complete
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

struct Rotated {
  std::vector<std::string> lines;  // oldest first: path.N … path.1, path
  int rotatedFiles = 0;
  uint64_t largestFile = 0;
};

Rotated readRotated(const std::string& path) {
  Rotated out;
  while (exists(path + "." + std::to_string(out.rotatedFiles + 1))) ++out.rotatedFiles;
  for (int k = out.rotatedFiles; k >= 0; --k) {
    std::string text = readFile(k == 0 ? path : path + "." + std::to_string(k));
    REQUIRE((text.empty() || text.back() == '\n'));  // no line split across files
    out.largestFile = std::max<uint64_t>(out.largestFile, text.size());
    for (auto& line : splitLines(text)) out.lines.push_back(std::move(line));
  }
  return out;
}

// Lines of varying length, so that files end at every possible place.
std::vector<std::string> numberedLines(int count) {
  std::vector<std::string> lines;
  for (int i = 0; i < count; ++i) {
    lines.push_back(R"({"n":)" + std::to_string(i) + R"(,"pad":")" + std::string(i % 37, 'x') +
                    R"("})");
  }
  return lines;
}

int openFds() {
  int count = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  REQUIRE(dir != nullptr);
  while (::readdir(dir) != nullptr) ++count;
  ::closedir(dir);
  return count;
}

}  // namespace

TEST_CASE("10 000 lines through many rotations: every line, in order, none split") {
  TempDir dir;
  auto reactor = makeReactor();
  const std::string path = dir.path() + "/audit.log";
  AuditLog log(*reactor, {.path = path, .maxBytes = 4096, .keepFiles = 1000});
  REQUIRE(log.open().ok());

  auto lines = numberedLines(10000);
  for (size_t i = 0; i < lines.size(); ++i) {
    log.append(lines[i]);
    // Writes complete while lines keep coming, as in the daemon.
    if (i % 700 == 0) reactor->runOnce(0ms);
  }
  drain(*reactor, log);
  log.stop();
  drain(*reactor, log);

  Rotated files = readRotated(path);
  CHECK(files.rotatedFiles > 50);
  CHECK(files.largestFile <= 4096);
  CHECK(files.lines == lines);
  CHECK(log.dropped() == 0);
  // File mode 0640 (less the umask), created without following links.
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0137) == 0);
}

TEST_CASE("with few files kept, only the newest remain") {
  TempDir dir;
  auto reactor = makeReactor();
  const std::string path = dir.path() + "/audit.log";
  AuditLog log(*reactor, {.path = path, .maxBytes = 4096, .keepFiles = 3});
  REQUIRE(log.open().ok());
  auto lines = numberedLines(10000);
  for (const auto& line : lines) log.append(line);
  drain(*reactor, log);

  CHECK_FALSE(exists(path + ".4"));
  Rotated files = readRotated(path);
  CHECK(files.rotatedFiles == 3);
  REQUIRE(files.lines.size() > 100);
  REQUIRE(files.lines.size() < lines.size());
  // Exactly the newest lines: a contiguous tail of what was appended.
  std::vector<std::string> tail(lines.end() - static_cast<long>(files.lines.size()), lines.end());
  CHECK(files.lines == tail);
  CHECK(log.dropped() == 0);
}

TEST_CASE("an existing file is continued, and counts toward maxBytes") {
  TempDir dir;
  auto reactor = makeReactor();
  const std::string path = dir.path() + "/audit.log";
  std::ofstream(path) << std::string(90, 'o') << "\n";
  AuditLog log(*reactor, {.path = path, .maxBytes = 100, .keepFiles = 2});
  REQUIRE(log.open().ok());
  log.append("first");   // 96 bytes: still fits
  log.append("second");  // would make 103: goes to a new file
  drain(*reactor, log);
  CHECK(readFile(path + ".1") == std::string(90, 'o') + "\nfirst\n");
  CHECK(readFile(path) == "second\n");
}

TEST_CASE("a line longer than maxBytes gets a file of its own") {
  TempDir dir;
  auto reactor = makeReactor();
  const std::string path = dir.path() + "/audit.log";
  AuditLog log(*reactor, {.path = path, .maxBytes = 10, .keepFiles = 5});
  REQUIRE(log.open().ok());
  log.append("short");
  log.append(std::string(25, 'L'));
  log.append("tail");
  drain(*reactor, log);
  CHECK(readFile(path + ".2") == "short\n");
  CHECK(readFile(path + ".1") == std::string(25, 'L') + "\n");
  CHECK(readFile(path) == "tail\n");
}

TEST_CASE("past the queue bound lines are counted, and one line says how many") {
  TempDir dir;
  auto reactor = makeReactor();
  const std::string path = dir.path() + "/audit.log";
  AuditLog log(*reactor, {.path = path, .maxQueuedBytes = 1000});
  REQUIRE(log.open().ok());
  auto lines = numberedLines(100);  // ~60 bytes each, appended without the reactor running
  for (const auto& line : lines) log.append(line);
  uint64_t dropped = log.dropped();
  REQUIRE(dropped > 0);
  drain(*reactor, log);
  log.append("after");
  drain(*reactor, log);

  auto written = splitLines(readFile(path));
  REQUIRE(written.size() == lines.size() - dropped + 2);
  // What was kept is the head of the burst, in order; then the report; then the new line.
  std::vector<std::string> head(lines.begin(),
                                lines.begin() + static_cast<long>(written.size() - 2));
  CHECK(std::vector<std::string>(written.begin(), written.end() - 2) == head);
  const std::string& report = written[written.size() - 2];
  CHECK(report.find(R"("event":"audit-dropped")") != std::string::npos);
  CHECK(report.find(R"("lines":)" + std::to_string(dropped) + "}") != std::string::npos);
  CHECK(written.back() == "after");
  CHECK(log.dropped() == dropped);
}

TEST_CASE("lines are one line each") {
  TempDir dir;
  auto reactor = makeReactor();
  const std::string path = dir.path() + "/audit.log";
  AuditLog log(*reactor, {.path = path});
  REQUIRE(log.open().ok());
  log.append("with newline\n");
  log.append("two\nparts");
  log.append("");
  drain(*reactor, log);
  CHECK(readFile(path) == "with newline\ntwo parts\n");
}

TEST_CASE("lines appended before open() are written once it succeeds") {
  TempDir dir;
  auto reactor = makeReactor();
  const std::string path = dir.path() + "/audit.log";
  AuditLog log(*reactor, {.path = path});
  log.append("early");
  CHECK_FALSE(log.idle());
  REQUIRE(log.open().ok());
  log.append("late");
  drain(*reactor, log);
  CHECK(readFile(path) == "early\nlate\n");
}

TEST_CASE("open refuses a symlink, a FIFO and a missing directory") {
  TempDir dir;
  auto reactor = makeReactor();
  const std::string target = dir.path() + "/elsewhere";
  std::ofstream(target) << "";
  REQUIRE(::symlink(target.c_str(), (dir.path() + "/audit.log").c_str()) == 0);
  AuditLog viaLink(*reactor, {.path = dir.path() + "/audit.log"});
  CHECK_FALSE(viaLink.open().ok());
  // A FIFO with no reader would block a plain open forever.
  REQUIRE(::mkfifo((dir.path() + "/fifo").c_str(), 0600) == 0);
  AuditLog viaFifo(*reactor, {.path = dir.path() + "/fifo"});
  CHECK_FALSE(viaFifo.open().ok());
  AuditLog missing(*reactor, {.path = dir.path() + "/no/such/audit.log"});
  auto r = missing.open();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("no/such/audit.log") != std::string::npos);
}

TEST_CASE("toLogStream: each line also goes to the log, prefixed") {
  TempDir dir;
  auto reactor = makeReactor();
  const std::string captured = dir.path() + "/stderr";
  int savedStderr = ::dup(2);
  REQUIRE(savedStderr >= 0);
  {
    UniqueFd capture(::open(captured.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    REQUIRE(capture.valid());
    REQUIRE(::dup2(capture.get(), 2) == 2);
  }
  AuditLog log(*reactor, {.path = dir.path() + "/audit.log", .toLogStream = true});
  REQUIRE(log.open().ok());
  log.append(R"({"event":"allocate"})");
  ::dup2(savedStderr, 2);
  ::close(savedStderr);
  drain(*reactor, log);
  CHECK(readFile(captured).find(R"(audit: {"event":"allocate"})") != std::string::npos);
  CHECK(readFile(dir.path() + "/audit.log") == "{\"event\":\"allocate\"}\n");
}

TEST_CASE("no path: nothing written, always idle") {
  auto reactor = makeReactor();
  AuditLog log(*reactor, {});
  REQUIRE(log.open().ok());
  log.append("nowhere");
  CHECK(log.idle());
  CHECK(log.dropped() == 0);
}

TEST_CASE("stop writes what is queued, closes the file and takes no more lines") {
  TempDir dir;
  auto reactor = makeReactor();
  const std::string path = dir.path() + "/audit.log";
  int fdsBefore = openFds();
  {
    AuditLog log(*reactor, {.path = path, .maxBytes = 64, .keepFiles = 2});
    REQUIRE(log.open().ok());
    for (const auto& line : numberedLines(50)) log.append(line);
    log.stop();
    log.append("too late");
    drain(*reactor, log);
    CHECK(openFds() == fdsBefore);  // no descriptor left behind, rotations included
  }
  CHECK(readFile(path).find("too late") == std::string::npos);
  CHECK(splitLines(readFile(path)).back() == numberedLines(50).back());
}

TEST_CASE("a failing write loses only what it could not write, and says so once it can") {
  TempDir dir;
  auto reactor = makeReactor();
  const std::string path = dir.path() + "/audit.log";
  AuditLog log(*reactor, {.path = path});
  REQUIRE(log.open().ok());
  auto lines = numberedLines(40);

  // A file size limit makes the kernel cut a write short, then refuse the rest (EFBIG).
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  auto previousHandler = ::signal(SIGXFSZ, SIG_IGN);
  rlimit small = saved;
  small.rlim_cur = 1000;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  for (const auto& line : lines) log.append(line);
  for (int i = 0; i < 200 && log.dropped() == 0; ++i) reactor->runOnce(5ms);
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &saved) == 0);
  ::signal(SIGXFSZ, previousHandler);

  REQUIRE(log.dropped() > 0);
  log.append("after");  // the next line retries: a fresh open, the report, then the line
  drain(*reactor, log);

  auto written = splitLines(readFile(path));
  REQUIRE(written.size() >= 2);
  CHECK(written.back() == "after");
  const std::string& report = written[written.size() - 2];
  CHECK(report.find(R"("event":"audit-dropped")") != std::string::npos);
  CHECK(report.find(R"("lines":)" + std::to_string(log.dropped()) + "}") != std::string::npos);
  // Before the report: the lines that made it, whole and in order, then at most one line that
  // the limit cut short, ended so that it swallows nothing after it.
  std::vector<std::string> before(written.begin(), written.end() - 2);
  size_t whole = 0;
  while (whole < before.size() && before[whole] == lines[whole]) ++whole;
  CHECK(whole + log.dropped() == lines.size());
  CHECK(before.size() - whole <= 1);
  if (before.size() > whole) CHECK(lines[whole].starts_with(before[whole]));
}
