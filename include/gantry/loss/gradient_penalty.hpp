// SPDX-License-Identifier: MIT
#pragma once
/// Gradient-norm penalties on the critic: WGAN-GP (two- and one-sided) and zero-centred R1 / R2.

#include <cmath>
#include <string>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/loss/regularizer.hpp"
#include "gantry/nn/gradient_penalty.hpp"

namespace gantry::loss {

/// WGAN-GP: lambda * E (|grad_x D(x_hat)| - k)^2 with center k = 1 (Gulrajani et al. 2017, eq. 3), or with
/// `one_sided` lambda * E max(0, |g| - k)^2; by default at per-sample interpolates.
///
/// The center k: the literature also penalizes toward k != 1, e.g. k > 1 for inputs of a large scale (the same
/// data in other units asks for another Lipschitz constant of the critic). k must be finite and >= 0. k = 0 is
/// allowed and is the zero-centred penalty: center 0 with lambda equals ZeroCenteredPenalty with gamma = 2 lambda,
/// value and gradient (one_sided changes nothing then, since |g| >= 0). Prefer ZeroCenteredPenalty for R1 / R2:
/// it says what is meant and keeps the paper's gamma.
struct GradientPenalty {
  double lambda = 10.0;
  bool one_sided = false;
  PenaltyPoints at = PenaltyPoints::interpolates;
  double center = 1.0;  ///< k: the gradient norm the penalty pulls toward

  static constexpr const char* type_name = "gradient_penalty";  // name() says "one_sided_..." by the settings
  template <class Self, class Fields>
  static void settings(Self& self, Fields& fields) {
    fields.restore("lambda", self.lambda);
    fields.restore("one_sided", self.one_sided);
    fields.restore("at", self.at, penalty_points_names);
    fields.restore("center", self.center, 1.0);  // checkpoints written before the center existed penalized toward 1
  }

  void validate() const {
    constexpr const char* owner = "gantry::loss::GradientPenalty";
    gantry::detail::require(gantry::detail::finite(lambda) && lambda >= 0, owner, "lambda", lambda, "finite and >= 0");
    gantry::detail::require(gantry::detail::finite(center) && center >= 0, owner, "center", center, "finite and >= 0");
  }
  std::string name() const { return one_sided ? "one_sided_gradient_penalty" : "gradient_penalty"; }
  PenaltyPoints points() const { return at; }
  template <class S>
  S penalty(const Eigen::Ref<const Matrix<S>>& g, Eigen::Ref<Matrix<S>> seed) const {
    return nn::penalty_and_seed(nn::GradientPenaltyOptions{lambda, center, one_sided}, g, seed);
  }

  /// d^2 phi / dg^2 at a scalar input gradient g, for the Dirac-GAN analysis (metrics/dirac.hpp), of
  /// lambda (|g| - k)^2, or of lambda max(|g| - k, 0)^2 when one-sided. It does not exist where dphi/dg jumps
  /// (two-sided at g = 0 when k > 0: from -2 lambda k to +2 lambda k) or where phi'' jumps (one-sided at |g| = k
  /// when k > 0): it throws there. With k = 0 both are lambda g^2, smooth everywhere.
  template <class S>
  S penalty_curvature(S g) const {
    const S magnitude = std::abs(g);
    const S k = static_cast<S>(center);
    const S two_lambda = static_cast<S>(2 * lambda);
    if (k == S(0)) return two_lambda;
    if (!one_sided) {
      if (magnitude == S(0))
        throw OptionError(gantry::detail::message(
            "gantry::loss::GradientPenalty::penalty_curvature: the gradient penalty lambda (|g| - ", center,
            ")^2 is not differentiable twice at g = 0 (its gradient jumps by 4 lambda k there): the Dirac-GAN field "
            "has no Jacobian at psi = 0"));
      return two_lambda;
    }
    if (magnitude == k)
      throw OptionError(gantry::detail::message(
          "gantry::loss::GradientPenalty::penalty_curvature: the one-sided gradient penalty lambda max(|g| - ", center,
          ", 0)^2 has no second derivative at |g| = ", center, ": the Dirac-GAN field has no Jacobian at |psi| = ",
          center));
    return magnitude > k ? two_lambda : S(0);
  }
};

/// Zero-centred penalty gamma/2 * E |grad_x D(x)|^2 (Mescheder et al. 2018, eq. 9 for R1 at real samples,
/// eq. 10 for R2 at fake samples). Note the 1/2: gamma multiplies half the squared norm.
struct ZeroCenteredPenalty {
  double gamma = 10.0;
  PenaltyPoints at = PenaltyPoints::real;

  static constexpr const char* type_name = "zero_centered_penalty";  // name() says "r1", "r2", ... by the settings
  template <class Self, class Fields>
  static void settings(Self& self, Fields& fields) {
    fields.restore("gamma", self.gamma);
    fields.restore("at", self.at, penalty_points_names);
  }

  void validate() const {
    gantry::detail::require(gantry::detail::finite(gamma) && gamma >= 0, "gantry::loss::ZeroCenteredPenalty", "gamma",
                            gamma, "finite and >= 0");
  }
  std::string name() const {
    switch (at) {
      case PenaltyPoints::real: return "r1";
      case PenaltyPoints::fake: return "r2";
      case PenaltyPoints::real_and_fake: return "r1_r2";
      case PenaltyPoints::interpolates: return "zero_centered_interpolates";
    }
    return "zero_centered";
  }
  PenaltyPoints points() const { return at; }
  template <class S>
  S penalty(const Eigen::Ref<const Matrix<S>>& g, Eigen::Ref<Matrix<S>> seed) const {
    return nn::penalty_and_seed(nn::GradientPenaltyOptions{gamma / 2, 0.0, false}, g, seed);
  }

  /// d^2 phi / dg^2 of gamma/2 g^2 (per sample, before the batch mean), for the Dirac-GAN analysis: smooth everywhere.
  template <class S>
  S penalty_curvature(S /*g*/) const {
    return static_cast<S>(gamma);
  }
};

}  // namespace gantry::loss
