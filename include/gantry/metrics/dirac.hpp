// SPDX-License-Identifier: MIT
#pragma once
/// The Dirac-GAN (Mescheder, Geiger & Nowozin 2018): its gradient field as the trainer computes it, and the exact
/// Jacobian and eigenvalues of that field and of one gradient-descent training iteration.

#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <initializer_list>
#include <type_traits>
#include <utility>

#include <Eigen/Core>

#include "gantry/core/check.hpp"
#include "gantry/core/detect.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/types.hpp"
#include "gantry/loss/objective.hpp"
#include "gantry/loss/regularizer.hpp"
#include "gantry/metrics/game_jacobian.hpp"
#include "gantry/nn/mlp.hpp"
#include "gantry/policy.hpp"
#include "gantry/train/batch.hpp"
#include "gantry/train/evaluator.hpp"
#include "gantry/train/trainer.hpp"

namespace gantry::metrics {

// The game (section 2.1 of the paper): data is the point mass at 0, the generator is x = theta z with z = 1
// (nn::Mlp {1, 1}, no bias), the critic is D(x) = psi x (nn::Mlp {1, 1}, no bias). Both players minimize their
// own total loss (objective + regularizers), so the gradient-descent field is
//   v(theta, psi) = -(dL_G / dtheta, dL_D / dpsi),
// and a trainer step with SGD of learning rate h moves (theta, psi) by h v. Its only equilibrium is (0, 0).
// The paper writes the critic with the opposite sign (its D is high on fake samples); psi -> -psi conjugates the
// Jacobian by diag(1, -1), which leaves every eigenvalue unchanged.

template <class Scalar>
using Matrix2 = Eigen::Matrix<Scalar, 2, 2>;
template <class Scalar>
using Vector2 = Eigen::Matrix<Scalar, 2, 1>;

struct DiracOptions {
  /// Instance noise N(0, sigma^2) is represented by this many equal-weight nodes, the midpoint quantiles of the
  /// normal law rescaled to variance sigma^2 exactly. The field's Jacobian at (0, 0) involves only the noise's
  /// first two moments, so there it is the Jacobian of the expected field exactly; elsewhere the nodes are a
  /// deterministic stand-in for the expectation that improves with their number (the trainer draws random noise).
  Index noise_nodes = 64;

  void validate() const {
    gantry::detail::require(noise_nodes >= 2, "gantry::metrics::DiracOptions", "noise_nodes", noise_nodes, ">= 2");
  }
};

/// The field at a point and its Jacobian, rows and columns ordered (theta, psi).
template <class Scalar>
struct DiracJacobian {
  Vector2<Scalar> field;                            ///< v = -(dL_G/dtheta, dL_D/dpsi), totals, by train::Evaluator
  Matrix2<Scalar> jacobian;                         ///< dv / d(theta, psi)
  std::array<std::complex<Scalar>, 2> eigenvalues;  ///< of `jacobian`, see eigenvalues_2x2
};

/// One generator iteration of gradient descent (its critic steps, projections and generator step) as a map
/// (theta, psi) -> (theta', psi'), and its Jacobian. At a fixed point, a spectral radius < 1 means local
/// convergence, > 1 that the fixed point repels (the paper's supplementary material, section A.1).
template <class Scalar>
struct DiracUpdateJacobian {
  Vector2<Scalar> next;  ///< (theta', psi')
  Matrix2<Scalar> jacobian;
  std::array<std::complex<Scalar>, 2> eigenvalues;
  Scalar spectral_radius = 0;
};

/// Both eigenvalues of a real 2x2 matrix [[a, b], [c, d]]: m +- sqrt(q), m = (a + d) / 2, q = ((a - d) / 2)^2 + b c
/// (which avoids the cancellation of m^2 - det), principal square root. The first has the larger real part, or for a complex pair the
/// positive imaginary part.
template <class Scalar>
std::array<std::complex<Scalar>, 2> eigenvalues_2x2(const Matrix2<Scalar>& m) {
  const Scalar mean = (m(0, 0) + m(1, 1)) / Scalar(2);
  const Scalar half_gap = (m(0, 0) - m(1, 1)) / Scalar(2);
  const Scalar discriminant = half_gap * half_gap + m(0, 1) * m(1, 0);
  const std::complex<Scalar> root = std::sqrt(std::complex<Scalar>(discriminant, Scalar(0)));
  return {std::complex<Scalar>(mean, Scalar(0)) + root, std::complex<Scalar>(mean, Scalar(0)) - root};
}

// ---- what the Dirac metric needs to know of a regularizer beyond the trainer's interface ----
//
// Each regularizer says it where it is defined (loss/regularizer.hpp): the law of instance noise, `noise_stddev()`
// (the hook only draws from it), required of a noise regularizer here. And, optionally, `penalty_curvature(g)`, the
// second derivative of a penalty phi(g) in the critic's input gradient g: metrics::GameJacobian computes the
// penalty's Hessian exactly wherever it exists, but cannot tell a kink of phi from a smooth point; penalty_curvature
// throws at the kinks, so that dirac_jacobian refuses a point where the field has no Jacobian.

namespace detail {

template <class R, class Scalar>
using penalty_curvature_member_t = decltype(std::declval<const R&>().penalty_curvature(std::declval<Scalar>()));
template <class R>
using noise_stddev_member_t = decltype(double(std::declval<const R&>().noise_stddev()));

template <class Policy>
double total_noise_stddev(const Policy& policy) {
  double variance = 0;
  policy.for_each_regularizer([&](const auto& r) {
    using R = std::decay_t<decltype(r)>;
    if constexpr (loss::is_noise_v<R>) {
      static_assert(gantry::detail::is_detected_v<noise_stddev_member_t, R>,
                    "gantry::metrics (Dirac-GAN): a noise regularizer needs the member `double noise_stddev() const` "
                    "(see gantry/loss/regularizer.hpp)");
      const double sigma = r.noise_stddev();
      variance += sigma * sigma;  // independent Gaussians add their variances
    }
  });
  return std::sqrt(variance);
}

/// Phi^{-1}(p) by bisection on the normal CDF: K quantiles once per call, robustness over speed.
inline double standard_normal_quantile(double p) {
  double low = -40.0, high = 40.0;
  for (int i = 0; i < 200 && high - low > 1e-15; ++i) {
    const double mid = 0.5 * (low + high);
    if (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p)
      low = mid;
    else
      high = mid;
  }
  return 0.5 * (low + high);
}

/// Symmetric, equal-weight stand-in for N(0, sigma^2): mean exactly 0, mean square exactly sigma^2.
inline Eigen::VectorXd gaussian_nodes(Index count, double sigma) {
  Eigen::VectorXd nodes(count);
  for (Index k = 0; k < count / 2; ++k) {
    const double p = (static_cast<double>(k) + 0.5) / static_cast<double>(count);
    nodes(k) = standard_normal_quantile(p);
    nodes(count - 1 - k) = -nodes(k);
  }
  if (count % 2 == 1) nodes(count / 2) = 0.0;
  const double rms = std::sqrt(nodes.squaredNorm() / static_cast<double>(count));
  return nodes * (sigma / rms);
}

template <class Scalar>
nn::Mlp<Scalar> linear_unit(Index inputs, std::initializer_list<Scalar> weights) {
  nn::Mlp<Scalar> net({inputs, 1}, nn::MlpOptions{nn::Activation::identity(), false});
  Index k = 0;
  for (const Scalar w : weights) net.parameters()(k++) = w;
  return net;
}

template <class Scalar>
void check_point(const char* where, Scalar theta, Scalar psi) {
  gantry::detail::require(gantry::detail::finite(theta), where, "theta", theta, "finite");
  gantry::detail::require(gantry::detail::finite(psi), where, "psi", psi, "finite");
}

}  // namespace detail

/// The Dirac-GAN generator x = theta z: nn::Mlp {1, 1}, identity, no bias, weight theta (feed it z = 1).
template <class Scalar>
nn::Mlp<Scalar> dirac_generator(Scalar theta) {
  return detail::linear_unit<Scalar>(1, {theta});
}

/// The Dirac-GAN critic D(x) = psi x: nn::Mlp {1, 1}, identity, no bias, weight psi.
template <class Scalar>
nn::Mlp<Scalar> dirac_critic(Scalar psi) {
  return detail::linear_unit<Scalar>(1, {psi});
}

/// The batch the Dirac metric evaluates the policy on: z = 1, real = 0, plus, when the policy has instance noise,
/// the deterministic noise nodes of DiracOptions on real and fake samples (then B = noise_nodes, else B = 1).
template <class Scalar, class Policy>
train::Batch<Scalar> dirac_batch(const Policy& policy, const DiracOptions& options = {}) {
  options.validate();
  const Index b = Policy::has_noise ? options.noise_nodes : 1;
  train::Batch<Scalar> batch;
  batch.z = Matrix<Scalar>::Ones(1, b);
  batch.real = Matrix<Scalar>::Zero(1, b);
  batch.eps = RowVector<Scalar>::Constant(b, Scalar(0.5));  // the critic is linear: where it is penalized does not matter
  if constexpr (Policy::has_noise) {
    const Eigen::VectorXd nodes = detail::gaussian_nodes(b, detail::total_noise_stddev(policy));
    batch.real.row(0) = nodes.transpose().cast<Scalar>();
    batch.fake_noise = batch.real;  // the real and fake terms of the losses are separate means: one node set serves both
  }
  return batch;
}

/// v(theta, psi) = -(dL_G/dtheta, dL_D/dpsi) with each player's total loss, computed by train::Evaluator (the code
/// the trainer runs) on dirac_batch.
template <class Policy, class Scalar>
Vector2<Scalar> dirac_field(const Policy& policy, Scalar theta, Scalar psi, const DiracOptions& options = {}) {
  detail::check_point("gantry::metrics::dirac_field", theta, psi);
  policy.validate();
  const train::Batch<Scalar> batch = dirac_batch<Scalar>(policy, options);
  train::Evaluator<Policy, Scalar> evaluator;
  Vector<Scalar> critic_gradient, generator_gradient;
  evaluator.both_gradients(policy, dirac_generator(theta), dirac_critic(psi), batch, critic_gradient, generator_gradient);
  return Vector2<Scalar>(-generator_gradient(0), -critic_gradient(0));
}

/// The exact Jacobian of dirac_field at (theta, psi), and its eigenvalues: metrics::GameJacobian's (the code that
/// serves networks of any size) on the one-parameter players and dirac_batch, rows and columns reordered to
/// (theta, psi). Objective, penalties and consensus (its whole Jacobian, J_g^T J_g and the third-order
/// sum_k g_k Hess g_k, at any point) are all exact; finite differences are not used, the tests check against them.
/// A penalty with a kink at the point (WGAN-GP at psi = 0, its one-sided form at |psi| = 1) is refused.
template <class Policy, class Scalar>
DiracJacobian<Scalar> dirac_jacobian(const Policy& policy, Scalar theta, Scalar psi, const DiracOptions& options = {}) {
  constexpr const char* where = "gantry::metrics::dirac_jacobian";
  detail::check_point(where, theta, psi);
  policy.validate();
  const train::Batch<Scalar> batch = dirac_batch<Scalar>(policy, options);
  policy.for_each_regularizer([&](const auto& r) {
    using R = std::decay_t<decltype(r)>;
    if constexpr (loss::is_penalty_v<R> && gantry::detail::is_detected_v<detail::penalty_curvature_member_t, R, Scalar>)
      r.penalty_curvature(psi);  // the critic's input gradient is psi at every point; throws at a kink
  });
  GameJacobian<Policy, Scalar> game(policy, dirac_generator(theta), dirac_critic(psi), batch);
  const Matrix<Scalar> j = game.matrix();  // coordinates (psi, theta)
  DiracJacobian<Scalar> result;
  result.field = Vector2<Scalar>(game.field()(1), game.field()(0));
  result.jacobian << j(1, 1), j(1, 0), j(0, 1), j(0, 0);
  result.eigenvalues = eigenvalues_2x2(result.jacobian);
  return result;
}

/// The exact Jacobian of one generator iteration of plain gradient descent (SGD without momentum or weight
/// decay, learning rate h for both players) under `schedule` (its schedule, n_critic and generator_first; batch
/// size and seed are ignored), starting from (theta, psi):
///   critic step      psi <- Pi(psi + h v_psi),   d = [[1, 0], [p h J_psi,theta, p (1 + h J_psi,psi)]]
///   generator step   theta <- theta + h v_theta, d = [[1 + h J_theta,theta, h J_theta,psi], [0, 1]]
/// composed in the trainer's order, each J at the point where that step's gradient is taken (simultaneous: both at
/// the start). Pi is the policy's projection (weight clipping); for a one-parameter critic it is a projection onto
/// an interval, so its slope p is 1 where it leaves psi unchanged and 0 where it moves it.
template <class Policy, class Scalar>
DiracUpdateJacobian<Scalar> dirac_update_jacobian(const Policy& policy, const train::TrainerOptions& schedule,
                                                  double learning_rate, Scalar theta, Scalar psi,
                                                  const DiracOptions& options = {}) {
  constexpr const char* where = "gantry::metrics::dirac_update_jacobian";
  schedule.validate();
  gantry::detail::require(gantry::detail::finite(learning_rate) && learning_rate > 0, where, "learning_rate",
                          learning_rate, "finite and > 0");
  const Scalar h = static_cast<Scalar>(learning_rate);
  Scalar t = theta, p = psi;
  Matrix2<Scalar> update = Matrix2<Scalar>::Identity();

  const auto project = [&](Scalar moved) {
    nn::Mlp<Scalar> critic = dirac_critic(moved);
    policy.for_each_regularizer([&](const auto& r) {
      if constexpr (loss::is_projection_v<std::decay_t<decltype(r)>>) r.project_critic(critic);
    });
    return critic.parameters()(0);
  };
  const auto critic_map = [&](const DiracJacobian<Scalar>& at) {
    const Scalar moved = p + h * at.field(1);
    const Scalar projected = project(moved);
    const Scalar slope = projected == moved ? Scalar(1) : Scalar(0);
    Matrix2<Scalar> d;
    d << Scalar(1), Scalar(0), slope * h * at.jacobian(1, 0), slope * (Scalar(1) + h * at.jacobian(1, 1));
    return std::make_pair(projected, d);
  };
  const auto generator_map = [&](const DiracJacobian<Scalar>& at) {
    Matrix2<Scalar> d;
    d << Scalar(1) + h * at.jacobian(0, 0), h * at.jacobian(0, 1), Scalar(0), Scalar(1);
    return std::make_pair(t + h * at.field(0), d);
  };
  const auto critic_step = [&] {
    const auto [next, d] = critic_map(dirac_jacobian(policy, t, p, options));
    update = d * update;
    p = next;
  };
  const auto generator_step = [&] {
    const auto [next, d] = generator_map(dirac_jacobian(policy, t, p, options));
    update = d * update;
    t = next;
  };

  if (schedule.schedule == train::Schedule::simultaneous) {
    const DiracJacobian<Scalar> at = dirac_jacobian(policy, t, p, options);
    const auto critic_part = critic_map(at);
    const auto generator_part = generator_map(at);
    update.row(0) = generator_part.second.row(0);
    update.row(1) = critic_part.second.row(1);
    t = generator_part.first;
    p = critic_part.first;
  } else {
    if (schedule.generator_first) generator_step();
    for (Index k = 0; k < schedule.n_critic; ++k) critic_step();
    if (!schedule.generator_first) generator_step();
  }

  DiracUpdateJacobian<Scalar> result;
  result.next = Vector2<Scalar>(t, p);
  result.jacobian = update;
  result.eigenvalues = eigenvalues_2x2(update);
  result.spectral_radius = std::max(std::abs(result.eigenvalues[0]), std::abs(result.eigenvalues[1]));
  return result;
}

}  // namespace gantry::metrics
