// SPDX-License-Identifier: MIT
#pragma once
/// The toy distributions of the GAN literature (8 and 25 Gaussians, swiss roll, ring) and the Dirac point mass.

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <utility>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/rng.hpp"
#include "gantry/core/types.hpp"

namespace gantry::data {

// The definitions follow the WGAN-GP reference toy code (Gulrajani et al. 2017, gan_toy.py) so that
// pictures and numbers can be compared with the paper's: the divisors (1.414, 2.828, 7.5) are that code's
// rough "divide by the data's standard deviation", kept as written rather than replaced by sqrt(2) etc.

/// An equal-weight mixture of isotropic Gaussians N(center_k, stddev^2 I); the toy mixtures below are
/// presets of it, and it serves any other grid or ring a user wants.
template <class ScalarT>
class GaussianMixture {
 public:
  using Scalar = ScalarT;

  /// `centers` is (dimension x modes); `stddev` is per coordinate, in the same units as the centers.
  GaussianMixture(Matrix<Scalar> centers, double stddev) : centers_(std::move(centers)), stddev_(stddev) {
    if (centers_.rows() == 0 || centers_.cols() == 0)
      throw ShapeError(gantry::detail::message("gantry::data::GaussianMixture: centers expects at least 1x1, given ",
                                               gantry::detail::shape_string(centers_.rows(), centers_.cols())));
    gantry::detail::check_finite("gantry::data::GaussianMixture", "centers", centers_);
    gantry::detail::require(gantry::detail::finite(stddev) && stddev >= 0.0, "gantry::data::GaussianMixture", "stddev",
                            stddev, "finite and >= 0");
  }

  Index dimension() const { return centers_.rows(); }
  Index modes() const { return centers_.cols(); }

  /// (dimension x modes), in the units of the samples (already divided by any normalising divisor).
  const Matrix<Scalar>& centers() const { return centers_; }

  /// Per-coordinate standard deviation of each component, in the units of the samples.
  double stddev() const { return stddev_; }

  /// Per column: a mode uniformly, then one normal draw per coordinate (the order fixes the stream for a seed).
  void sample(Eigen::Ref<Matrix<Scalar>> out, Rng& rng) const {
    gantry::detail::check_shape("gantry::data::GaussianMixture::sample", "out", out, dimension(), -1);
    const auto mode_count = static_cast<std::uint64_t>(centers_.cols());
    for (Index j = 0; j < out.cols(); ++j) {
      const auto mode = static_cast<Index>(rng.below(mode_count));
      for (Index i = 0; i < out.rows(); ++i)
        out(i, j) = static_cast<Scalar>(static_cast<double>(centers_(i, mode)) + stddev_ * rng.normal());
    }
  }

 private:
  Matrix<Scalar> centers_;
  double stddev_;
};

/// Settings of EightGaussians, in the reference code's units (before the division by `divisor`).
struct EightGaussiansOptions {
  double radius = 2.0;     // gan_toy.py: scale = 2
  double stddev = 0.02;    // per coordinate
  double divisor = 1.414;  // the whole sample is divided by this

  void validate() const {
    gantry::detail::require(gantry::detail::finite(radius) && radius > 0.0, "EightGaussiansOptions", "radius", radius,
                            "finite and > 0");
    gantry::detail::require(gantry::detail::finite(stddev) && stddev >= 0.0, "EightGaussiansOptions", "stddev", stddev,
                            "finite and >= 0");
    gantry::detail::require(gantry::detail::finite(divisor) && divisor > 0.0, "EightGaussiansOptions", "divisor",
                            divisor, "finite and > 0");
  }
};

/// Settings of TwentyFiveGaussians, in the reference code's units (before the division by `divisor`).
struct TwentyFiveGaussiansOptions {
  double spacing = 2.0;    // centres at spacing * {-2, ..., 2}^2
  double stddev = 0.05;    // per coordinate
  double divisor = 2.828;  // the whole sample is divided by this

  void validate() const {
    gantry::detail::require(gantry::detail::finite(spacing) && spacing > 0.0, "TwentyFiveGaussiansOptions", "spacing",
                            spacing, "finite and > 0");
    gantry::detail::require(gantry::detail::finite(stddev) && stddev >= 0.0, "TwentyFiveGaussiansOptions", "stddev",
                            stddev, "finite and >= 0");
    gantry::detail::require(gantry::detail::finite(divisor) && divisor > 0.0, "TwentyFiveGaussiansOptions", "divisor",
                            divisor, "finite and > 0");
  }
};

/// Settings of Ring (no divisor: the modes sit on the circle of this radius).
struct RingOptions {
  Index modes = 8;
  double radius = 1.0;
  double stddev = 0.01;  // per coordinate

  void validate() const {
    gantry::detail::require(modes >= 1, "RingOptions", "modes", modes, ">= 1");
    gantry::detail::require(gantry::detail::finite(radius) && radius > 0.0, "RingOptions", "radius", radius,
                            "finite and > 0");
    gantry::detail::require(gantry::detail::finite(stddev) && stddev >= 0.0, "RingOptions", "stddev", stddev,
                            "finite and >= 0");
  }
};

/// Settings of SwissRoll, in sklearn.datasets.make_swiss_roll's units (before the division by `divisor`).
struct SwissRollOptions {
  double noise = 0.25;   // std of the Gaussian noise added to each coordinate
  double divisor = 7.5;  // the whole sample is divided by this

  void validate() const {
    gantry::detail::require(gantry::detail::finite(noise) && noise >= 0.0, "SwissRollOptions", "noise", noise,
                            "finite and >= 0");
    gantry::detail::require(gantry::detail::finite(divisor) && divisor > 0.0, "SwissRollOptions", "divisor", divisor,
                            "finite and > 0");
  }
};

namespace detail {

template <class Scalar>
Matrix<Scalar> eight_gaussians_centers(const EightGaussiansOptions& options) {
  options.validate();
  const double diagonal = 1.0 / std::sqrt(2.0);
  // gan_toy.py's order: the four axis points, then the four diagonals.
  const double unit[8][2] = {{1, 0},
                             {-1, 0},
                             {0, 1},
                             {0, -1},
                             {diagonal, diagonal},
                             {-diagonal, diagonal},
                             {diagonal, -diagonal},
                             {-diagonal, -diagonal}};
  Matrix<Scalar> centers(2, 8);
  for (Index k = 0; k < 8; ++k)
    for (Index i = 0; i < 2; ++i) centers(i, k) = static_cast<Scalar>(options.radius * unit[k][i] / options.divisor);
  return centers;
}

template <class Scalar>
Matrix<Scalar> twenty_five_gaussians_centers(const TwentyFiveGaussiansOptions& options) {
  options.validate();
  Matrix<Scalar> centers(2, 25);
  Index k = 0;
  for (int x = -2; x <= 2; ++x)
    for (int y = -2; y <= 2; ++y, ++k) {
      centers(0, k) = static_cast<Scalar>(options.spacing * x / options.divisor);
      centers(1, k) = static_cast<Scalar>(options.spacing * y / options.divisor);
    }
  return centers;
}

template <class Scalar>
Matrix<Scalar> ring_centers(const RingOptions& options) {
  options.validate();
  Matrix<Scalar> centers(2, options.modes);
  const double two_pi = 6.283185307179586476925;
  for (Index k = 0; k < options.modes; ++k) {
    const double angle = two_pi * static_cast<double>(k) / static_cast<double>(options.modes);
    centers(0, k) = static_cast<Scalar>(options.radius * std::cos(angle));
    centers(1, k) = static_cast<Scalar>(options.radius * std::sin(angle));
  }
  return centers;
}

// Validates before dividing: the base constructor's two arguments are evaluated in an unspecified order.
template <class Options>
double scaled_stddev(const Options& options) {
  options.validate();
  return options.stddev / options.divisor;
}

}  // namespace detail

/// 8 Gaussians on a circle of radius 2 at the compass points, std 0.02, all divided by 1.414
/// (Gulrajani et al. 2017, gan_toy.py "8gaussians"): modes at radius ~1.414, std ~0.0141 after scaling.
template <class ScalarT>
class EightGaussians : public GaussianMixture<ScalarT> {
 public:
  explicit EightGaussians(const EightGaussiansOptions& options = {})
      : GaussianMixture<ScalarT>(detail::eight_gaussians_centers<ScalarT>(options), detail::scaled_stddev(options)) {}
};

/// 25 Gaussians on the grid {-4, -2, 0, 2, 4}^2, std 0.05, all divided by 2.828
/// (Gulrajani et al. 2017, gan_toy.py "25gaussians"; that code shuffles a fixed set of 100000 draws,
/// here every batch is fresh, from the same distribution).
template <class ScalarT>
class TwentyFiveGaussians : public GaussianMixture<ScalarT> {
 public:
  explicit TwentyFiveGaussians(const TwentyFiveGaussiansOptions& options = {})
      : GaussianMixture<ScalarT>(detail::twenty_five_gaussians_centers<ScalarT>(options),
                                 detail::scaled_stddev(options)) {}
};

/// 8 Gaussians evenly spaced on the unit circle (angles 2 pi k / 8, starting at (1, 0)), std 0.01.
template <class ScalarT>
class Ring : public GaussianMixture<ScalarT> {
 public:
  explicit Ring(const RingOptions& options = {})
      : GaussianMixture<ScalarT>(detail::ring_centers<ScalarT>(options), options.stddev) {}
};

/// The 2-D swiss roll of gan_toy.py: sklearn.datasets.make_swiss_roll(noise=0.25)[:, [0, 2]] / 7.5, i.e.
/// t = 1.5 pi (1 + 2 u), u ~ U[0, 1), sample = (t cos t + 0.25 n1, t sin t + 0.25 n2) / 7.5.
/// A curve, not a mixture: it has no centers(); judge it by W1 against its own samples.
template <class ScalarT>
class SwissRoll {
 public:
  using Scalar = ScalarT;

  explicit SwissRoll(const SwissRollOptions& options = {}) : options_(options) { options_.validate(); }

  Index dimension() const { return 2; }
  const SwissRollOptions& options() const { return options_; }

  void sample(Eigen::Ref<Matrix<Scalar>> out, Rng& rng) const {
    gantry::detail::check_shape("gantry::data::SwissRoll::sample", "out", out, 2, -1);
    const double pi = 3.141592653589793238463;
    for (Index j = 0; j < out.cols(); ++j) {
      const double t = 1.5 * pi * (1.0 + 2.0 * rng.uniform());
      // sklearn's height coordinate (21 u) is dropped by the [:, [0, 2]] selection, so it is not drawn.
      const double x = t * std::cos(t) + options_.noise * rng.normal();
      const double z = t * std::sin(t) + options_.noise * rng.normal();
      out(0, j) = static_cast<Scalar>(x / options_.divisor);
      out(1, j) = static_cast<Scalar>(z / options_.divisor);
    }
  }

 private:
  SwissRollOptions options_;
};

/// The point mass at one point (default: the origin): the data of the Dirac-GAN
/// (Mescheder, Geiger & Nowozin 2018), where the equilibrium and its stability are known in closed form.
/// Every sample is exactly the point; no randomness is drawn.
template <class ScalarT>
class Dirac {
 public:
  using Scalar = ScalarT;

  /// The origin of R^dimension.
  explicit Dirac(Index dimension = 1) : point_(Vector<Scalar>::Zero(checked_dimension(dimension))), centers_(point_) {}

  explicit Dirac(const Eigen::Ref<const Vector<Scalar>>& point) : point_(point), centers_(point_) {
    if (point_.size() == 0) throw ShapeError("gantry::data::Dirac: point expects at least 1 entry, given 0");
    gantry::detail::check_finite("gantry::data::Dirac", "point", point_);
  }

  Index dimension() const { return point_.size(); }
  const Vector<Scalar>& point() const { return point_; }

  /// (dimension x 1) and 0, so that the mode-coverage metric treats the Dirac as a one-mode mixture.
  const Matrix<Scalar>& centers() const { return centers_; }
  double stddev() const { return 0.0; }

  void sample(Eigen::Ref<Matrix<Scalar>> out, Rng& /*rng*/) const {
    gantry::detail::check_shape("gantry::data::Dirac::sample", "out", out, dimension(), -1);
    out.colwise() = point_;
  }

 private:
  static Index checked_dimension(Index dimension) {
    gantry::detail::require(dimension >= 1, "gantry::data::Dirac", "dimension", dimension, ">= 1");
    return dimension;
  }

  Vector<Scalar> point_;
  Matrix<Scalar> centers_;
};

}  // namespace gantry::data
