// SPDX-License-Identifier: MIT
#pragma once
/// Instance noise: Gaussian noise of a fixed sigma added to every real and fake sample before the critic.

#include <string>

#include "gantry/core/check.hpp"
#include "gantry/loss/regularizer.hpp"

namespace gantry::loss {

/// Sonderby et al. 2016; analysed for the Dirac-GAN by Mescheder et al. 2018, section 3.
/// The noise is drawn with the batch, so the evaluation of a batch is deterministic.
struct InstanceNoise {
  double sigma = 0.1;

  void validate() const {
    gantry::detail::require(gantry::detail::finite(sigma) && sigma >= 0, "gantry::loss::InstanceNoise", "sigma", sigma,
                            "finite and >= 0");
  }
  std::string name() const { return "instance_noise"; }
  template <class S>
  void sample_noise(Eigen::Ref<Matrix<S>> noise, Rng& rng) const {
    rng.fill_normal(noise, 0.0, sigma);
  }
};

}  // namespace gantry::loss
