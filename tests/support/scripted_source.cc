#include "scripted_source.h"

#include <errno.h>

#include <sstream>

namespace udp::testing {

namespace {

// The device of an "add" line, from the words after its RESOURCE and ID.
plugin::Device deviceFrom(const std::string& id, const std::string& words) {
  plugin::Device device;
  device.id = id;
  std::istringstream in(words);
  std::string word;
  while (in >> word) {
    if (word == "unhealthy") {
      device.healthy = false;
    } else if (word.starts_with("numa=")) {
      device.numaNode = std::stoi(word.substr(5));
    } else if (word.starts_with("devnode=")) {
      device.devnode = word.substr(8);
    } else if (word.starts_with("serial=")) {
      device.serial = word.substr(7);
    } else if (word.starts_with("link=")) {
      device.links.push_back(word.substr(5));
    }
  }
  return device;
}

}  // namespace

Result<void> ScriptedSource::start(reactor::Reactor& reactor, plugin::DeviceSink& sink) {
  reactor_ = &reactor;
  sink_ = &sink;
  for (const auto& [resource, devices] : world_) {
    for (const auto& [id, words] : devices) sink.upsertDevice(resource, deviceFrom(id, words));
  }
  reactor.read(readOp_, fd_, buffer_, sizeof buffer_);
  return {};
}

void ScriptedSource::stop() {
  stopped_ = true;
  if (reactor_ != nullptr) reactor_->cancel(readOp_);
}

void ScriptedSource::onRead(int res, uint32_t) noexcept {
  if (stopped_ || res == 0) return;  // EOF: the test closed the pipe; devices stay as they are
  if (res > 0) {
    pending_.append(buffer_, static_cast<size_t>(res));
    size_t newline;
    while ((newline = pending_.find('\n')) != std::string::npos) {
      apply(std::string_view(pending_).substr(0, newline));
      pending_.erase(0, newline + 1);
    }
  } else if (res != -EINTR && res != -EAGAIN) {
    return;
  }
  reactor_->read(readOp_, fd_, buffer_, sizeof buffer_);
}

void ScriptedSource::apply(std::string_view line) {
  std::istringstream in{std::string(line)};
  std::string verb, resource, id;
  in >> verb >> resource >> id;
  if (verb == "remove") {
    world_[resource].erase(id);
    sink_->removeDevice(resource, id);
    return;
  }
  if (verb == "vanish") {  // gone without an event, as while no source listened
    world_[resource].erase(id);
    return;
  }
  if (verb != "add") return;
  std::string words;
  std::getline(in, words);
  world_[resource][id] = words;
  sink_->upsertDevice(resource, deviceFrom(id, words));
}

}  // namespace udp::testing
