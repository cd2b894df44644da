#pragma once

// Whether this build runs under AddressSanitizer (tests/sanitize). Its shadow memory and the
// quarantine of freed blocks make a process's RSS say nothing about our own memory, so the
// memory-bound checks hold only in the plain build (where they always run).

namespace udp::testing {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kUnderAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kUnderAddressSanitizer = true;
#else
inline constexpr bool kUnderAddressSanitizer = false;
#endif
#else
inline constexpr bool kUnderAddressSanitizer = false;
#endif

}  // namespace udp::testing
