// SPDX-License-Identifier: MIT
#pragma once
/// Mode coverage of generated samples against a known mixture: modes covered and high-quality fraction.

#include <Eigen/Core>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/types.hpp"

namespace gantry::metrics {

/// The result of mode_coverage.
struct ModeCoverage {
  Index modes_covered = 0;                   // modes with at least one high-quality sample
  Index modes = 0;                           // number of centres
  double high_quality_fraction = 0.0;        // high-quality samples / all samples
  std::vector<Index> samples_per_mode;       // samples whose nearest centre is this mode
  std::vector<Index> high_quality_per_mode;  // of those, the ones within the radius
};

/// Assigns every sample (a column) to its nearest centre; a sample is high quality when its Euclidean
/// distance to that centre is <= radius_in_stddevs * stddev, and a mode is covered when it has at least one
/// high-quality sample (the definition of PacGAN, Lin et al. 2018, which follows VEEGAN and Unrolled GAN).
/// `samples` is (dimension x n), `centers` (dimension x modes), both in the same units (a toy sampler's
/// centers() and stddev() are). Float and double inputs are accepted; distances are computed in double.
/// Throws ShapeError on empty sets or mismatched dimensions, DataError on non-finite values, OptionError on
/// a negative or non-finite stddev or a non-positive radius.
template <class SamplesDerived, class CentersDerived>
ModeCoverage mode_coverage(const Eigen::MatrixBase<SamplesDerived>& samples,
                           const Eigen::MatrixBase<CentersDerived>& centers, double stddev,
                           double radius_in_stddevs = 3.0) {
  constexpr const char* where = "gantry::metrics::mode_coverage";
  gantry::detail::check_nonempty_batch(where, "samples", samples);
  gantry::detail::check_nonempty_batch(where, "centers", centers);
  gantry::detail::check_shape(where, "centers", centers, samples.rows(), -1);
  gantry::detail::check_finite(where, "samples", samples);
  gantry::detail::check_finite(where, "centers", centers);
  gantry::detail::require(gantry::detail::finite(stddev) && stddev >= 0.0, where, "stddev", stddev, "finite and >= 0");
  gantry::detail::require(gantry::detail::finite(radius_in_stddevs) && radius_in_stddevs > 0.0, where,
                          "radius_in_stddevs", radius_in_stddevs, "finite and > 0");

  const Matrix<double> points = samples.template cast<double>();
  const Matrix<double> modes = centers.template cast<double>();
  const double radius = radius_in_stddevs * stddev;

  ModeCoverage result;
  result.modes = modes.cols();
  result.samples_per_mode.assign(static_cast<std::size_t>(modes.cols()), 0);
  result.high_quality_per_mode.assign(static_cast<std::size_t>(modes.cols()), 0);
  Index high_quality = 0;
  for (Index j = 0; j < points.cols(); ++j) {
    Index nearest = 0;
    double nearest_squared = std::numeric_limits<double>::infinity();
    for (Index k = 0; k < modes.cols(); ++k) {
      const double squared = (points.col(j) - modes.col(k)).squaredNorm();
      if (squared < nearest_squared) {  // ties go to the lower index
        nearest_squared = squared;
        nearest = k;
      }
    }
    ++result.samples_per_mode[static_cast<std::size_t>(nearest)];
    // Compare distances, not squares: for stddev = 0 (a Dirac) only exact hits count, as they should.
    if (std::sqrt(nearest_squared) <= radius) {
      ++result.high_quality_per_mode[static_cast<std::size_t>(nearest)];
      ++high_quality;
    }
  }
  for (const Index count : result.high_quality_per_mode)
    if (count > 0) ++result.modes_covered;
  result.high_quality_fraction = static_cast<double>(high_quality) / static_cast<double>(points.cols());
  return result;
}

}  // namespace gantry::metrics
