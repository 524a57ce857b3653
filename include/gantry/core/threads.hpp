// SPDX-License-Identifier: MIT
#pragma once
/// How many threads gantry's passes split a batch over, and how to choose it.

#ifdef _OPENMP
#include <omp.h>
#endif

#include "gantry/core/error.hpp"

namespace gantry {

/// Threads a pass over a batch may use (nn/mlp.hpp splits the batch over them). Built with OpenMP: the calling
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

}  // namespace gantry
