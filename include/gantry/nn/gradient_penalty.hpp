// SPDX-License-Identifier: MIT
#pragma once
/// Input gradients of a scalar critic, and penalties on their norms with exact parameter gradients.

#include <cmath>

#include "gantry/core/check.hpp"
#include "gantry/core/types.hpp"
#include "gantry/nn/mlp.hpp"

namespace gantry::nn {

/// P = coefficient * mean_i psi(|g_i| - target), g_i = grad_x D(x_i), psi(t) = t^2 (two-sided) or max(t, 0)^2.
///   WGAN-GP (Gulrajani et al. 2017, eq. 3):      coefficient = lambda, target = 1
///   one-sided WGAN-GP (same paper, appendix):    coefficient = lambda, target = 1, one_sided
///   R1 / R2 (Mescheder et al. 2018, eq. 9-10):  coefficient = gamma / 2, target = 0
struct GradientPenaltyOptions {
  double coefficient = 10.0;
  double target = 1.0;
  bool one_sided = false;

  void validate() const {
    constexpr const char* owner = "gantry::nn::GradientPenaltyOptions";
    detail::require(detail::finite(coefficient) && coefficient >= 0, owner, "coefficient", coefficient, "finite and >= 0");
    detail::require(detail::finite(target) && target >= 0, owner, "target", target, "finite and >= 0");
  }
};

/// Per-sample penalty and its gradient w.r.t. g: writes dP/dg_i into `seed` (inputs x B) and returns P.
/// Statistics of the norms are returned through `mean_norm` / `max_norm` when given.
///
/// d psi(|g| - c) / dg = psi'(|g| - c) g / |g|. At |g| = 0 the direction g/|g| is undefined: for c = 0 the
/// product is exactly 2 g = 0; for c > 0 we take the subgradient 0 there, so a critic whose input gradient
/// vanishes yields a finite penalty gradient (never NaN).
template <class GradDerived, class SeedDerived>
typename GradDerived::Scalar penalty_and_seed(const GradientPenaltyOptions& options, const Eigen::MatrixBase<GradDerived>& g,
                                              Eigen::MatrixBase<SeedDerived> const& seed_,
                                              typename GradDerived::Scalar* mean_norm = nullptr,
                                              typename GradDerived::Scalar* max_norm = nullptr) {
  using S = typename GradDerived::Scalar;
  constexpr const char* where = "gantry::nn::penalty_and_seed";
  options.validate();
  detail::check_nonempty_batch(where, "g", g);
  detail::check_shape(where, "seed", seed_, g.rows(), g.cols());
  auto& seed = const_cast<Eigen::MatrixBase<SeedDerived>&>(seed_);
  const Index batch = g.cols();
  const S scale = static_cast<S>(options.coefficient) / static_cast<S>(batch);
  const S target = static_cast<S>(options.target);
  S total = 0, norm_sum = 0, norm_max = 0;
  for (Index i = 0; i < batch; ++i) {
    const S norm = g.col(i).norm();
    norm_sum += norm;
    norm_max = std::max(norm_max, norm);
    S excess = norm - target;
    if (options.one_sided && excess < S(0)) excess = S(0);
    total += excess * excess;
    if (target == S(0)) {
      seed.col(i) = (S(2) * scale) * g.col(i);  // psi = |g|^2: its gradient 2 g needs no division
    } else if (norm > S(0)) {
      seed.col(i) = (S(2) * scale * excess / norm) * g.col(i);
    } else {
      seed.col(i).setZero();
    }
  }
  if (mean_norm) *mean_norm = norm_sum / static_cast<S>(batch);
  if (max_norm) *max_norm = norm_max;
  return scale * total;
}

/// grad_x D(x_i) for every sample (column) of x; D must have one output. The result is tape.input_adjoint().
template <class Scalar>
void input_gradient(const Mlp<Scalar>& critic, const typename Mlp<Scalar>::ConstMatrixRef& x, Tape<Scalar>& tape) {
  if (critic.output_size() != 1)
    throw ShapeError(detail::message("gantry::nn::input_gradient: the network must have 1 output, it has ",
                                     critic.output_size()));
  critic.forward(x, tape);
  tape.output_adjoint().setOnes();
  critic.backward_core(tape, 0, x.cols(), nullptr, false, true);
}

/// Convenience: grad_x D(x) as a new (inputs x B) matrix.
template <class Scalar>
Matrix<Scalar> input_gradient(const Mlp<Scalar>& critic, const typename Mlp<Scalar>::ConstMatrixRef& x) {
  Tape<Scalar> tape;
  input_gradient(critic, x, tape);
  return tape.input_adjoint();
}

/// The penalty on the critic's input-gradient norms at x, and its exact gradient w.r.t. the critic's parameters
/// (written to `gradient`, or added to it when `accumulate`; skipped when null). Returns the penalty.
///
/// grad_theta P = grad_theta sum_i <g_i, u_i> with u_i = dP/dg_i held fixed, and <g_i, u_i> is the directional
/// derivative of D at x_i along u_i: a tangent pass with input tangent u, then its reverse from adj(da_L) = 1.
/// After the first call with a given batch size this allocates nothing.
template <class Scalar>
Scalar gradient_penalty(const Mlp<Scalar>& critic, const typename Mlp<Scalar>::ConstMatrixRef& x,
                        const GradientPenaltyOptions& options, Tape<Scalar>& tape, typename Mlp<Scalar>::ParameterVector* gradient,
                        bool accumulate = false) {
  constexpr const char* where = "gantry::nn::gradient_penalty";
  options.validate();
  if (critic.output_size() != 1)
    throw ShapeError(detail::message(where, ": the critic must have 1 output, it has ", critic.output_size()));
  if (gradient) detail::check_shape(where, "gradient", *gradient, critic.parameter_count(), 1);
  const Index batch = x.cols();
  critic.forward(x, tape, batch);
  tape.output_adjoint().setOnes();
  critic.backward_core(tape, 0, batch, nullptr, false, true);
  const Scalar value = penalty_and_seed(options, tape.input_adjoint(), tape.input_tangent());
  critic.tangent_forward_core(tape, true, nullptr);
  tape.output_adjoint().setZero();
  tape.output_tangent_adjoint().setOnes();
  // The tangent stream's adjoints are the backward's above (same seed of ones): reused, not recomputed.
  if (gradient) critic.reverse_tangent_core(tape, gradient->data(), accumulate, false, batch, true);
  return value;
}

}  // namespace gantry::nn
