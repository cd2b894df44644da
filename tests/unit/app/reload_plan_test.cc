// What a SIGHUP keeps, retires and makes: the diff is pure, so every case is a table row.

#include <doctest/doctest.h>

#include "app/reload_plan.h"

namespace {

using udp::app::planReload;
using udp::config::Resource;

Resource named(const std::string& name, const std::string& subsystem = "block") {
  Resource r;
  r.name = name;
  udp::config::MatchRule rule;
  rule.subsystem = subsystem;
  r.match.push_back(rule);
  return r;
}

TEST_CASE("unchanged resources are kept, wherever they moved in the file") {
  std::vector<Resource> running = {named("a.com/x"), named("a.com/y")};
  std::vector<Resource> next = {named("a.com/y"), named("a.com/x")};
  auto plan = planReload(running, next);
  REQUIRE(plan.keep.size() == 2);
  CHECK(plan.keep[0] == 1u);
  CHECK(plan.keep[1] == 0u);
  CHECK(plan.retire.empty());
  CHECK(plan.unchanged() == 2);
}

TEST_CASE("a removed resource is retired; an added one is made") {
  std::vector<Resource> running = {named("a.com/x"), named("a.com/gone")};
  std::vector<Resource> next = {named("a.com/x"), named("a.com/new")};
  auto plan = planReload(running, next);
  CHECK(plan.keep[0] == 0u);
  CHECK_FALSE(plan.keep[1].has_value());
  CHECK(plan.retire == std::vector<size_t>{1});
  CHECK(plan.unchanged() == 1);
}

TEST_CASE("a changed resource is retired and made anew, even under the same name") {
  std::vector<Resource> running = {named("a.com/x", "block")};
  std::vector<Resource> next = {named("a.com/x", "tty")};
  auto plan = planReload(running, next);
  CHECK_FALSE(plan.keep[0].has_value());
  CHECK(plan.retire == std::vector<size_t>{0});
  CHECK(plan.unchanged() == 0);
}

TEST_CASE("every running resource is either kept once or retired") {
  std::vector<Resource> running = {named("a.com/x"), named("a.com/y"), named("a.com/z")};
  std::vector<Resource> next = {named("a.com/z"), named("a.com/w"), named("a.com/x")};
  auto plan = planReload(running, next);
  std::vector<int> uses(running.size(), 0);
  for (const auto& k : plan.keep) {
    if (k) ++uses[*k];
  }
  for (size_t i : plan.retire) ++uses[i];
  CHECK(uses == std::vector<int>{1, 1, 1});
  CHECK(plan.retire == std::vector<size_t>{1});
}

TEST_CASE("an empty new config retires everything; from nothing everything is made") {
  std::vector<Resource> some = {named("a.com/x"), named("a.com/y")};
  auto down = planReload(some, {});
  CHECK(down.keep.empty());
  CHECK(down.retire == std::vector<size_t>{0, 1});
  auto up = planReload({}, some);
  CHECK(up.keep == std::vector<std::optional<size_t>>{std::nullopt, std::nullopt});
  CHECK(up.retire.empty());
}

}  // namespace
