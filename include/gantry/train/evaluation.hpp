// SPDX-License-Identifier: MIT
#pragma once
/// What evaluating a policy on one batch yields: each player's loss, the regularizers and the gradients.

#include <limits>

#include "gantry/core/types.hpp"

namespace gantry::train {

/// Values of one batch. Both players minimize:
///   critic total    = critic_loss + penalty + consensus
///   generator total = generator_loss + consensus
template <class Scalar>
struct Values {
  static constexpr Scalar not_computed = std::numeric_limits<Scalar>::quiet_NaN();
  Scalar critic_loss = not_computed;           ///< the objective's critic loss
  Scalar generator_loss = not_computed;        ///< the objective's generator loss
  Scalar penalty = 0;                          ///< sum of the gradient-norm penalties (critic only)
  Scalar consensus = 0;                        ///< gamma * 1/2 |v|^2, added to both players' losses
  Scalar wasserstein_estimate = not_computed;  ///< E D(real) - E D(fake) on the batch
  Scalar mean_gradient_norm = not_computed;    ///< mean |grad_x D| at the penalized points (NaN without a penalty)
  Scalar max_gradient_norm = not_computed;     ///< max |grad_x D| there
};

/// The evaluation API's answer: values and the gradients of each player's total loss, exactly what a
/// simultaneous step would apply.
template <class Scalar>
struct Evaluation : Values<Scalar> {
  Vector<Scalar> critic_gradient;
  Vector<Scalar> generator_gradient;
};

}  // namespace gantry::train
