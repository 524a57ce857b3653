// SPDX-License-Identifier: MIT
#pragma once
/// How many threads gantry's passes and steps split a batch over, how finely, and how to choose both.

#ifdef _OPENMP
#include <omp.h>
#endif

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"

namespace gantry {

/// Threads a pass or a training step may use (core/share_pool.hpp runs them). Built with OpenMP: the calling
/// thread's omp_get_max_threads(), i.e. set_thread_count(), else OMP_NUM_THREADS, else every core. Without
/// OpenMP: 1.
inline int thread_count() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

/// Sets thread_count() for the calling thread. `threads` must be >= 1; without OpenMP only 1 is possible.
inline void set_thread_count(int threads) {
  if (threads < 1)
    throw OptionError(detail::message("gantry::set_thread_count: threads must be >= 1, given ", threads));
#ifdef _OPENMP
  omp_set_num_threads(threads);
#else
  if (threads != 1)
    throw OptionError(detail::message("gantry::set_thread_count: this build has no OpenMP, so threads must be 1, given ",
                                      threads));
#endif
}

/// How finely a split pass or step is cut (core/share_pool.hpp). The threads claim the pieces one at a time, so a
/// thread the OS runs less often (another process on its core) takes fewer of them and the others take more; finer
/// pieces balance better, but each costs a partial gradient (its memory, and one more vector in the sum) and
/// shorter, less efficient products. Results depend on these settings and thread_count() only: for given values
/// they are the same bits whichever thread ran which piece.
struct SplitOptions {
  /// Pieces per thread, at most (fewer when a piece would fall below min_columns_per_piece or
  /// min_work_per_piece). 1: one piece per thread, the whole job waiting for the slowest. The default, because
  /// measured with one of two cores held by a busy loop (docs/PERFORMANCE.md, "Speed on a busy machine") 2 or 4
  /// gained 5 % at width 512 and lost 3-6 % at width 64: a thread the OS preempts in the middle of a piece still
  /// stalls the step for a time slice, which finer pieces do not shorten (preemption_aware_helpers avoids most
  /// such stalls). On a quiet machine 2 cost 5-8 % at width 512 on two threads.
  int pieces_per_thread = 1;
  /// Samples (columns) of a piece, at least: narrower products lose more to packing than they gain.
  int min_columns_per_piece = 16;
  /// Multiply-adds of a piece, at least: below this a hand-off costs more than it saves.
  double min_work_per_piece = 2e5;
  /// Runs jobs on the calling thread alone for a while when the helper threads have lately cost more waiting than
  /// they saved (another process holding a core; core/helper_advisor.hpp). The pieces, and so the results, stay
  /// the same; only who runs them changes. false: the helpers always join.
  bool adaptive_helpers = true;
  /// A helper thread keeps off the calling thread's CPU (core/helper_placement.hpp: it changes its own affinity,
  /// never the calling thread's); lets the OS end its turn before it claims a piece rather than in the middle of
  /// one (core/preemption_point.hpp); and when it finds its core shared with another process (it waits for the CPU
  /// a quarter of the time or more, core/contention_watch.hpp) spins up to 2 ms for the next job before it
  /// sleeps, since a helper that sleeps gives its turn on that core away. And the calling thread, once it has run
  /// out of pieces of a long job (2 ms or more of its own) while such a helper still holds one, lends that helper
  /// its CPU and yields to it until the piece is done (the helper then takes its own CPUs back). The pieces, and
  /// so the results, stay the same. false: helpers stay where the OS puts them and spin only briefly, as on a
  /// core of their own, and the calling thread waits for them on its CPU.
  bool preemption_aware_helpers = true;

  void validate() const {
    detail::require(pieces_per_thread >= 1 && pieces_per_thread <= 64, "SplitOptions", "pieces_per_thread",
                    pieces_per_thread, "in [1, 64]");
    detail::require(min_columns_per_piece >= 1, "SplitOptions", "min_columns_per_piece", min_columns_per_piece, ">= 1");
    detail::require(min_work_per_piece >= 0 && detail::finite(min_work_per_piece), "SplitOptions",
                    "min_work_per_piece", min_work_per_piece, ">= 0 and finite");
  }
};

namespace detail {
inline SplitOptions& calling_thread_split_options() {
  thread_local SplitOptions options;
  return options;
}
}  // namespace detail

/// The calling thread's SplitOptions (like thread_count(), each thread has its own; the defaults until set).
inline const SplitOptions& split_options() { return detail::calling_thread_split_options(); }

/// Sets split_options() for the calling thread; throws OptionError naming the field when `options` is invalid.
inline void set_split_options(const SplitOptions& options) {
  options.validate();
  detail::calling_thread_split_options() = options;
}

}  // namespace gantry
