// SPDX-License-Identifier: MIT
#pragma once
/// A degenerate latent "noise" that is always the same vector, e.g. z = 1 for the Dirac-GAN's generator x = theta z.

#include <Eigen/Core>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/rng.hpp"
#include "gantry/core/types.hpp"

namespace gantry::data {

/// Every sample is `value` in each of its `dimension` coordinates. With z = 1 a bias-free linear generator
/// {1, 1} outputs its own weight, which makes the Dirac-GAN (Mescheder, Geiger & Nowozin 2018, section 2.1)
/// an ordinary trainer run. Draws nothing from the Rng, so the batch stream of the other samplers is unchanged.
template <class ScalarT>
class ConstantNoise {
 public:
  using Scalar = ScalarT;

  explicit ConstantNoise(Index dimension = 1, double value = 1.0) : dimension_(dimension), value_(value) {
    gantry::detail::require(dimension >= 1, "gantry::data::ConstantNoise", "dimension", dimension, ">= 1");
    gantry::detail::require(gantry::detail::finite(value), "gantry::data::ConstantNoise", "value", value, "finite");
  }

  Index dimension() const { return dimension_; }
  double value() const { return value_; }

  void sample(Eigen::Ref<Matrix<Scalar>> out, Rng& /*rng*/) const {
    gantry::detail::check_shape("gantry::data::ConstantNoise::sample", "out", out, dimension_, -1);
    out.setConstant(static_cast<Scalar>(value_));
  }

 private:
  Index dimension_;
  double value_;
};

}  // namespace gantry::data
