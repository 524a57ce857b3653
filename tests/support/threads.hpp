// SPDX-License-Identifier: MIT
#pragma once
/// What the tests of split passes and steps share: restoring the thread count, and comparing with one thread.

#include <algorithm>

#include <gantry/core/threads.hpp>
#include <gantry/core/types.hpp>

namespace gantry::test {

/// Restores the thread count a test found.
struct ThreadCountScope {
  int before = gantry::thread_count();
  ~ThreadCountScope() { gantry::set_thread_count(before); }
};

/// Restores the split options a test found; `pieces_per_thread` given: sets it for the scope, and
/// `adaptive_helpers` false keeps the helpers in every job and taking every piece they can (adaptive_helpers and
/// preemption_aware_helpers off: for a test that needs a helper to run pieces, or two schedules to differ,
/// whatever the pool made of a loaded machine).
struct SplitOptionsScope {
  SplitOptions before = gantry::split_options();
  SplitOptionsScope() = default;
  explicit SplitOptionsScope(int pieces_per_thread, bool adaptive_helpers = true) {
    SplitOptions options = before;
    options.pieces_per_thread = pieces_per_thread;
    options.adaptive_helpers = adaptive_helpers;
    options.preemption_aware_helpers = adaptive_helpers;
    gantry::set_split_options(options);
  }
  ~SplitOptionsScope() { gantry::set_split_options(before); }
};

/// The pieces a test found, with the helpers in every job and taking every piece they can (SplitOptions::
/// adaptive_helpers and preemption_aware_helpers off) for the scope.
struct HelpersAlwaysJoinScope : SplitOptionsScope {
  HelpersAlwaysJoinScope() : SplitOptionsScope(gantry::split_options().pieces_per_thread, false) {}
};

/// Largest entry-wise difference, relative to b's largest magnitude (or absolute below 1).
inline double relative_difference(const Matrix<double>& a, const Matrix<double>& b) {
  return (a - b).cwiseAbs().maxCoeff() / std::max(1.0, b.cwiseAbs().maxCoeff());
}

}  // namespace gantry::test
