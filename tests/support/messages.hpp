// SPDX-License-Identifier: MIT
#pragma once
/// The message of the error an action throws, for checks that a message names what was wrong.

#include <exception>
#include <string>

namespace gantry::test {

/// The message of the `Error` that `action` throws; otherwise a note that it threw another type, or nothing
/// (which no expected message contains, so the check that follows fails and shows it).
template <class Error, class Action>
std::string message_of(Action&& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  } catch (const std::exception& other) {
    return std::string("(another exception type: ") + other.what() + ")";
  }
  return "(nothing thrown)";
}

}  // namespace gantry::test
