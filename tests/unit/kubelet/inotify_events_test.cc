#include "kubelet/inotify_events.h"

#include <doctest/doctest.h>
#include <sys/inotify.h>

#include <cstring>

using udp::kubelet::parseInotifyEvents;

namespace {

// One record as the kernel writes it: header, then the name NUL-padded to `padded` bytes.
std::string record(int wd, uint32_t mask, std::string name, uint32_t padded) {
  inotify_event header{};
  header.wd = wd;
  header.mask = mask;
  header.len = padded;
  std::string bytes(reinterpret_cast<const char*>(&header), sizeof header);
  name.resize(padded, '\0');
  return bytes + name;
}

}  // namespace

TEST_CASE("records with padded names, and the directory's own events") {
  std::string bytes = record(1, IN_CREATE, "kubelet.sock", 16) +
                      record(1, IN_DELETE, "example.com_foo.sock", 32) +
                      record(1, IN_DELETE_SELF, "", 0) + record(1, IN_IGNORED, "", 0);
  auto events = parseInotifyEvents(bytes);
  REQUIRE(events.size() == 4);
  CHECK(events[0].name == "kubelet.sock");
  CHECK(events[0].mask == IN_CREATE);
  CHECK(events[1].name == "example.com_foo.sock");
  CHECK(events[1].watch == 1);
  CHECK(events[2].name.empty());
  CHECK(events[3].mask == IN_IGNORED);
}

TEST_CASE("a truncated record is dropped, the whole ones before it kept") {
  std::string bytes = record(3, IN_CREATE, "a", 16) + record(3, IN_CREATE, "b", 16);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    auto events = parseInotifyEvents(std::string_view(bytes).substr(0, cut));
    size_t whole = cut / (sizeof(inotify_event) + 16);
    CHECK(events.size() == whole);
  }
  CHECK(parseInotifyEvents(bytes).size() == 2);
}

TEST_CASE("a length field larger than the buffer is not trusted") {
  std::string bytes = record(1, IN_CREATE, "x", 16);
  inotify_event header;
  memcpy(&header, bytes.data(), sizeof header);
  header.len = 0xFFFFFFF0u;
  memcpy(bytes.data(), &header, sizeof header);
  CHECK(parseInotifyEvents(bytes).empty());
}
