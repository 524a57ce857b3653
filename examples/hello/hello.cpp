// SPDX-License-Identifier: MIT
// The smallest gantry program: a WGAN-GP critic, its output on a batch, and the gradient penalty with its
// exact parameter gradient. A placeholder until the toy2d demo exists.

#include <gantry/gantry.hpp>

#include <fmt/core.h>

int main() {
  using Scalar = double;
  namespace nn = gantry::nn;

  // Critic D: R^2 -> R, as in the 2-D toy experiments of Gulrajani et al. (2017).
  nn::Mlp<Scalar> critic({2, 64, 64, 1}, nn::Activation::relu());
  gantry::Rng rng(1);
  critic.initialize(nn::InitScheme::he_uniform, rng);

  constexpr gantry::Index batch = 256;
  gantry::Matrix<Scalar> x(2, batch);  // one sample per column
  rng.fill_normal(x);

  const gantry::Matrix<Scalar> scores = critic(x);
  const gantry::Matrix<Scalar> input_gradients = nn::input_gradient(critic, x);

  // WGAN-GP (Gulrajani et al. 2017, eq. 3): lambda * mean_i (|grad_x D(x_i)| - 1)^2, lambda = 10.
  nn::GradientPenaltyOptions penalty_options;
  nn::Tape<Scalar> tape;
  gantry::Vector<Scalar> penalty_gradient(critic.parameter_count());
  const Scalar penalty = nn::gradient_penalty(critic, x, penalty_options, tape, &penalty_gradient);

  fmt::print("gantry {}.{}.{}: critic {{2, 64, 64, 1}} with relu, {} parameters, he_uniform from seed 1\n",
             gantry::version_major, gantry::version_minor, gantry::version_patch, critic.parameter_count());
  fmt::print("critic on {} samples of N(0, I): mean score {:.6f}, mean |grad_x D| {:.6f}\n", batch, scores.mean(),
             input_gradients.colwise().norm().mean());
  fmt::print("gradient penalty (lambda = {}): {:.6f}, |d penalty / d theta| = {:.6f}\n",
             penalty_options.coefficient, penalty, penalty_gradient.norm());
  return 0;
}
