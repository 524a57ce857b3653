// SPDX-License-Identifier: MIT
#pragma once
/// Summary statistics of per-sample gradient norms, e.g. of the critic's input gradients under a penalty.

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/types.hpp"

namespace gantry::metrics {

/// The result of gradient_norm_stats; all over the per-column Euclidean norms.
struct GradientNormStats {
  Index count = 0;  // number of gradients (columns)
  double mean = 0.0;
  double stddev = 0.0;  // population standard deviation (divides by count)
  double min = 0.0;
  double max = 0.0;
  double fraction_above_one = 0.0;  // share of norms strictly greater than 1
};

/// Statistics of the norms |g_j| of the columns of `gradients` (dimension x batch), one gradient per
/// column, e.g. grad_x D(x_j). The 1-Lipschitz constraint of WGAN asks |grad D| <= 1 and WGAN-GP
/// pushes the norms towards 1 (Gulrajani et al. 2017, eq. 3), hence the fraction above 1: it shows
/// how much of the batch violates the constraint the penalty enforces. Norms are computed in double.
/// Throws ShapeError on an empty batch and DataError on non-finite entries.
template <class Derived>
GradientNormStats gradient_norm_stats(const Eigen::MatrixBase<Derived>& gradients) {
  constexpr const char* where = "gantry::metrics::gradient_norm_stats";
  gantry::detail::check_nonempty_batch(where, "gradients", gradients);
  gantry::detail::check_finite(where, "gradients", gradients);

  GradientNormStats stats;
  stats.count = gradients.cols();
  stats.min = std::numeric_limits<double>::infinity();
  stats.max = 0.0;
  double sum = 0.0;
  Index above_one = 0;
  Vector<double> norms(gradients.cols());
  for (Index j = 0; j < gradients.cols(); ++j) {
    // stableNorm: squaring an entry above ~1e154 overflows although the norm itself is finite.
    const double norm = gradients.col(j).template cast<double>().stableNorm();
    norms(j) = norm;
    sum += norm;
    stats.min = std::min(stats.min, norm);
    stats.max = std::max(stats.max, norm);
    if (norm > 1.0) ++above_one;
  }
  const auto count = static_cast<double>(stats.count);
  stats.mean = sum / count;
  // Two passes: the one-pass E[x^2] - E[x]^2 cancels badly when all norms are close to 1, the usual case.
  // Deviations are scaled by the largest norm so that their squares cannot overflow.
  if (stats.max > 0.0)
    stats.stddev = stats.max * std::sqrt(((norms.array() - stats.mean) / stats.max).square().sum() / count);
  stats.fraction_above_one = static_cast<double>(above_one) / count;
  return stats;
}

}  // namespace gantry::metrics
