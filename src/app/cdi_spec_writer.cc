#include "app/cdi_spec_writer.h"

#include "kubelet/directory_watch.h"
#include "util/atomic_file.h"

namespace udp::app {

CdiSpecWriter::CdiSpecWriter(reactor::Reactor& reactor, std::string directory, std::string fileName,
                             Done done, reactor::OpScope* parent)
    : directory_(std::move(directory)),
      path_(directory_ + "/" + fileName),
      done_(std::move(done)),
      worker_(reactor, parent) {}

void CdiSpecWriter::write(uint64_t generation, std::string contents) {
  requested_ = generation;
  if (inFlight_) {
    waiting_.emplace(generation, std::move(contents));  // only the newest matters
    return;
  }
  dispatch(generation, std::move(contents));
}

void CdiSpecWriter::dispatch(uint64_t generation, std::string contents) {
  inFlight_ = true;
  worker_.run(
      [directory = directory_, path = path_, contents = std::move(contents)]() -> Result<void> {
        if (auto r = kubelet::makeDirectories(directory, 0755); !r) return r;
        return writeFileAtomically(path, contents);
      },
      [this, generation](const Result<void>& result) {
        inFlight_ = false;
        if (waiting_) {
          auto [next, contents] = std::move(*waiting_);
          waiting_.reset();
          dispatch(next, std::move(contents));
        }
        done_(generation, result);
      });
}

}  // namespace udp::app
