#pragma once

// Result<T>: a value or an error, without exceptions (DESIGN.md §5.2). A small subset of
// std::expected (C++23), which our compilers do not ship yet.

#include <string>
#include <utility>
#include <variant>

namespace udp {

struct Error {
  int code = 0;         // a negative errno, or a layer-specific code (e.g. a gRPC status)
  std::string message;  // for the log line the caller writes; says what failed and why
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

inline Error makeError(int code, std::string message) {
  return Error{code, std::move(message)};
}

}  // namespace udp
