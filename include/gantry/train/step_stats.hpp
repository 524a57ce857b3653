// SPDX-License-Identifier: MIT
#pragma once
/// What the trainer reports to callbacks after each generator iteration.

#include "gantry/core/types.hpp"
#include "gantry/train/evaluation.hpp"

namespace gantry::train {

/// One generator iteration (its n_critic critic steps and its generator step). Loss fields come from the
/// last critic step and from the generator step.
template <class Scalar>
struct StepStats {
  Index iteration = 0;              ///< 1-based count of generator iterations done
  Index total_iterations = 0;       ///< the `fit` target, 0 when stepping by hand
  Scalar critic_loss = 0;           ///< objective part of the critic's loss
  Scalar generator_loss = 0;        ///< objective part of the generator's loss
  Scalar penalty = 0;               ///< gradient-norm penalties (critic)
  Scalar consensus = 0;             ///< gamma * 1/2 |v|^2
  Scalar wasserstein_estimate = 0;  ///< E D(real) - E D(fake); an estimate of W1 only for Wasserstein objectives
  bool estimates_wasserstein = false;
  Scalar mean_gradient_norm = 0;    ///< |grad_x D| at the penalized points (NaN without a penalty)
  Scalar max_gradient_norm = 0;
  double seconds = 0;               ///< wall time since fit began

  void take_critic(const Values<Scalar>& v) {
    critic_loss = v.critic_loss;
    penalty = v.penalty;
    consensus = v.consensus;
    wasserstein_estimate = v.wasserstein_estimate;
    mean_gradient_norm = v.mean_gradient_norm;
    max_gradient_norm = v.max_gradient_norm;
  }
};

}  // namespace gantry::train
