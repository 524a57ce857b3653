// SPDX-License-Identifier: MIT
#pragma once
/// Include FIRST in a test that proves code allocates nothing: it makes every Eigen heap allocation inside a
/// NoMallocScope throw, in Release builds too (Eigen's own check is an assert that NDEBUG would silence).

#ifdef EIGEN_CORE_H
#error "support/no_malloc.hpp must be included before any Eigen header"
#endif

#include <stdexcept>
#include <string>

#define EIGEN_RUNTIME_NO_MALLOC
#define eigen_assert(condition)                                                    \
  do {                                                                             \
    if (!(condition)) throw std::logic_error("Eigen assertion failed: " #condition); \
  } while (false)

#include <Eigen/Core>

namespace gantry::test {

/// Forbids Eigen heap allocation for its lifetime.
struct NoMallocScope {
  NoMallocScope() { Eigen::internal::set_is_malloc_allowed(false); }
  ~NoMallocScope() { Eigen::internal::set_is_malloc_allowed(true); }
  NoMallocScope(const NoMallocScope&) = delete;
  NoMallocScope& operator=(const NoMallocScope&) = delete;
};

/// True when an allocation inside a NoMallocScope really throws (the guard is live in this build).
inline bool allocation_guard_is_live() {
  try {
    NoMallocScope scope;
    Eigen::MatrixXd m(7, 7);
    (void)m;
  } catch (const std::logic_error&) {
    return true;
  }
  return false;
}

}  // namespace gantry::test
