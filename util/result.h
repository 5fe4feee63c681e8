/*++
 * NAME
 *	util/result.h - a value or an error message
 * SYNOPSIS
 *	#include "util/result.h"
 *
 *	Result<T> r = Parse(...);
 *	if (!r) log::Warn("%s", r.error().c_str());
 *	Status s = Write(...);
 * DESCRIPTION
 *	Result<T> holds either a T or an Error (a human-readable reason).
 *	Status is Result<void>: success or an Error. Both are [[nodiscard]],
 *	so an ignored failure is a compile error under -Werror.
 *
 *	Accessing value() of an error Result is a programming error and
 *	aborts (it is never a recoverable condition).
 * SECURITY
 *	Error text may end up in logs: never put secret bytes into it.
 * DIAGNOSTICS
 *	None of its own.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace pftls {

struct Error {
  std::string message;
};

inline Error MakeError(std::string msg) { return Error{std::move(msg)}; }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}           // NOLINT: implicit by design
  Result(Error err) : v_(std::move(err)) {}           // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { Check(); return std::get<0>(v_); }
  const T& value() const& { Check(); return std::get<0>(v_); }
  T&& value() && { Check(); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const std::string& error() const {
    static const std::string kNone;
    return ok() ? kNone : std::get<1>(v_).message;
  }
  Error take_error() && { return std::get<1>(std::move(v_)); }

 private:
  void Check() const {
    if (!ok()) std::abort();
  }
  std::variant<T, Error> v_;
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error err) : err_(std::move(err.message)), failed_(true) {}  // NOLINT
  static Status Ok() { return Status(); }

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const std::string& error() const { return err_; }

 private:
  std::string err_;
  bool failed_ = false;
};

}  // namespace pftls
