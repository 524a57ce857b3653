// SPDX-License-Identifier: MIT
#pragma once
/// The exception types gantry throws, and a helper that builds their messages.

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace gantry {

/// Base of every gantry error; catch this to catch them all.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A matrix or vector of the wrong shape was given.
class ShapeError : public Error {
 public:
  using Error::Error;
};

/// An option or argument had a value outside its domain.
class OptionError : public Error {
 public:
  using Error::Error;
};

/// Data (from a sampler or a file) was malformed or not finite.
class DataError : public Error {
 public:
  using Error::Error;
};

/// Reading or writing a file failed, or its content was invalid.
class IoError : public Error {
 public:
  using Error::Error;
};

/// Training produced a non-finite loss, gradient or parameter.
class DivergenceError : public Error {
 public:
  using Error::Error;
};

namespace detail {

/// Concatenates anything streamable into one message (nn/ stays free of fmt).
template <class... Parts>
std::string message(Parts&&... parts) {
  std::ostringstream out;
  out.precision(17);
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}

}  // namespace detail
}  // namespace gantry
