#pragma once

// SHA-256 (FIPS 180-4) for the governance record's config digest: a few dozen lines rather than
// a crypto library dependency for one hash of a small file.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace udp::governance {

class Sha256 {
 public:
  Sha256();
  void update(std::string_view bytes);
  // The digest; the hasher is spent afterwards.
  std::array<uint8_t, 32> finish();

 private:
  void compress(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t totalBytes_ = 0;
};

// Lowercase hex of the SHA-256 of `bytes` (64 characters).
std::string sha256Hex(std::string_view bytes);

}  // namespace udp::governance
