#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "config/config.h"

namespace udp::config {

enum class Severity { kError, kWarning };

// One problem found in a config, at the key or value it is about. Errors reject the config;
// warnings (check-config's: rules that overlap, a device list too large for the kubelet) do not.
struct Diagnostic {
  SourcePosition position;  // line 0 when the problem is not at a place in the text
  std::string message;
  Severity severity = Severity::kError;
};

// Diagnostics shown at most; one more line says how many were left out.
inline constexpr std::size_t kMaxDiagnostics = 100;

// Collects diagnostics, keeping the first `keep` by position (ties in the order added) and only
// counting the rest: a hostile megabyte can hold hundreds of thousands of errors, and they are
// not found in document order (a resource's missing 'name' is known after its keys).
class DiagnosticList {
 public:
  explicit DiagnosticList(std::size_t keep = kMaxDiagnostics) : keep_(keep) {}

  void add(Diagnostic diagnostic) {
    ++count_;
    Entry entry{std::move(diagnostic), count_};
    if (heap_.size() < keep_) {
      heap_.push_back(std::move(entry));
      std::push_heap(heap_.begin(), heap_.end(), later);
    } else if (!heap_.empty() && later(entry, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), later);
      heap_.back() = std::move(entry);
      std::push_heap(heap_.begin(), heap_.end(), later);
    }
  }

  // Every diagnostic added, kept or not.
  std::size_t count() const { return count_; }
  std::size_t dropped() const { return count_ - heap_.size(); }

  // The kept ones, ordered by position; leaves the list empty.
  std::vector<Diagnostic> take() {
    std::sort_heap(heap_.begin(), heap_.end(), later);
    std::vector<Diagnostic> out;
    out.reserve(heap_.size());
    for (Entry& entry : heap_) out.push_back(std::move(entry.diagnostic));
    heap_.clear();
    count_ = 0;
    return out;
  }

 private:
  struct Entry {
    Diagnostic diagnostic;
    std::uint64_t order;
  };

  // a comes before b; the heap's top is the one that comes last, the first to give way.
  static bool later(const Entry& a, const Entry& b) {
    const SourcePosition& pa = a.diagnostic.position;
    const SourcePosition& pb = b.diagnostic.position;
    return std::tie(pa.line, pa.column, a.order) < std::tie(pb.line, pb.column, b.order);
  }

  std::size_t keep_;
  std::size_t count_ = 0;
  std::vector<Entry> heap_;  // a max-heap under later(): front() is the last kept
};

}  // namespace udp::config
