// SPDX-License-Identifier: MIT
#pragma once
/// The Jacobian J of a GAN's joint gradient field v = -(grad_critic L_D, grad_generator L_G) at fixed parameters and
/// a fixed batch: exact products J w and J^T u for any policy, and the whole matrix for small networks.

#include <type_traits>
#include <utility>

#include "gantry/core/check.hpp"
#include "gantry/core/dual.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/types.hpp"
#include "gantry/loss/objective.hpp"
#include "gantry/loss/regularizer.hpp"
#include "gantry/nn/mlp.hpp"
#include "gantry/policy.hpp"
#include "gantry/train/batch.hpp"
#include "gantry/train/evaluator.hpp"

namespace gantry::metrics {

/// Which matrix stands for a consensus policy's Jacobian.
enum class ConsensusJacobian {
  /// The Jacobian of the field the trainer applies, v_c = v - gamma J^T v (v, J of the objective alone):
  /// J - gamma (J^T J + sum_k v_k Hess v_k).
  exact,
  /// J - gamma J^T J, the matrix Mescheder, Nowozin & Geiger (2017, section 4) analyse and draw; it equals `exact`
  /// wherever v = 0.
  paper,
};

struct GameJacobianOptions {
  ConsensusJacobian consensus = ConsensusJacobian::exact;

  void validate() const {
    gantry::detail::require(consensus == ConsensusJacobian::exact || consensus == ConsensusJacobian::paper,
                            "gantry::metrics::GameJacobianOptions", "consensus", static_cast<int>(consensus),
                            "ConsensusJacobian::exact or ::paper");
  }
};

/// J of v = -(grad_critic L_D, grad_generator L_G), each L the player's total loss under `Policy` (objective,
/// penalties, consensus), on one batch held fixed (real samples, noise, interpolation weights, instance noise), so
/// that v is a deterministic function of the parameters. Coordinates: the critic's parameters, then the
/// generator's (each in its Mlp's flat layout). Weight clipping is a projection, not part of v.
///
/// How each product is exact (no finite differences anywhere):
///  - objective: with g the objective's gradients, J_g w = (Hess L_D w, Hess L_G w) restricted to each player's
///    rows, forward-over-reverse: a tangent pass through G along w_G, one through D along (dG, w_D), the reverse of
///    it from adj(a) = l''(a) da / B, adj(da) = l'(a) / B, once with the critic's terms on [real | fake] (critic
///    rows) and once with the generator's on the fake columns, reversed into G (generator rows). J_g^T u is
///    H_{L_D} (u_D, 0) + H_{L_G} (0, u_G), the Hessian-vector products consensus optimization runs.
///  - penalties: grad P is itself a reverse of a tangent pass, so its derivative is third order in the networks,
///    which no pass of nn::Mlp computes. It is the tangent of that computation: the library's own passes run on
///    Dual numbers (core/dual.hpp) with the parameters' tangents set to the direction. Hess P is symmetric, so the
///    same gives the transposed product: J_P w takes the critic rows of Hess P (w_D, w_G), J_P^T u the whole of
///    Hess P (u_D, 0), grad_generator P flowing back from the fake and interpolated samples into G.
///  - consensus: gamma d(J_g^T g) is the tangent of J_g^T g, Dual as well ("exact"), or gamma J_g^T J_g ("paper").
///    This block is a Hessian (of gamma/2 |g|^2), hence symmetric: J and J^T share it.
/// The objective's products run in Scalar (BLAS when enabled) and cost 2.5-3 times a simultaneous step's gradients;
/// the Dual ones are several times slower (Eigen's generic products): docs/SPECTRUM.md. Once sized, a product
/// allocates nothing.
template <class Policy, class Scalar>
class GameJacobian {
 public:
  using Mlp = nn::Mlp<Scalar>;
  using Dual = gantry::Dual<Scalar>;
  using Objective = typename Policy::objective_type;

  GameJacobian(Policy policy, const Mlp& generator, const Mlp& critic, const train::Batch<Scalar>& batch,
               GameJacobianOptions options = {})
      : policy_(std::move(policy)), generator_(generator), critic_(critic), batch_(batch), options_(options) {
    options_.validate();
    policy_.validate();
    train::Evaluator<Policy, Scalar> evaluator;
    Vector<Scalar> critic_gradient, generator_gradient;
    evaluator.both_gradients(policy_, generator_, critic_, batch_, critic_gradient, generator_gradient);
    field_.resize(size());
    field_ << -critic_gradient, -generator_gradient;
    if constexpr (Policy::has_consensus) {
      train::Evaluator<gantry::Policy<Objective>, Scalar> objective_evaluator;
      objective_evaluator.both_gradients(gantry::Policy<Objective>(policy_.objective), generator_, critic_, batch_,
                                         objective_critic_gradient_, objective_generator_gradient_);
      double weight = 0;
      policy_.for_each_regularizer([&](const auto& r) {
        if constexpr (loss::is_consensus_v<std::decay_t<decltype(r)>>) weight += r.consensus_weight();
      });
      consensus_weight_ = static_cast<Scalar>(weight);
    }
    if constexpr (uses_dual) {
      dual_generator_ = nn::Mlp<Dual>(generator_.sizes(), generator_.options());
      dual_critic_ = nn::Mlp<Dual>(critic_.sizes(), critic_.options());
      dual_batch_.real = batch_.real.template cast<Dual>();
      dual_batch_.z = batch_.z.template cast<Dual>();
      dual_batch_.eps = batch_.eps.template cast<Dual>();
      dual_batch_.fake_noise = batch_.fake_noise.template cast<Dual>();
    }
  }

  Index critic_size() const { return critic_.parameter_count(); }
  Index generator_size() const { return generator_.parameter_count(); }
  /// n = critic_size() + generator_size(): J is n x n.
  Index size() const { return critic_size() + generator_size(); }
  /// v at the point, as the trainer's Evaluator computes it (both players' totals, negated).
  const Vector<Scalar>& field() const { return field_; }
  const Policy& policy() const { return policy_; }
  const GameJacobianOptions& options() const { return options_; }
  /// Products formed so far (J w and J^T u each count one).
  Index products() const { return products_; }

  /// out = J w.
  void apply(const Eigen::Ref<const Vector<Scalar>>& w, Eigen::Ref<Vector<Scalar>> out) {
    check_vectors("gantry::metrics::GameJacobian::apply", "w", w, out);
    ++products_;
    const Index nd = critic_size(), ng = generator_size();
    objective_rows(critic_, generator_, batch_, w.head(nd), w.tail(ng), passes_, rows_critic_, rows_generator_);
    out.head(nd) = -rows_critic_;
    out.tail(ng) = -rows_generator_;
    if constexpr (Policy::has_penalty) {
      set_dual_point(w.head(nd), w.tail(ng));
      penalty_gradients(dual_critic_, dual_generator_, dual_batch_, dual_passes_, dual_critic_part_,
                        dual_generator_part_);
      out.head(nd) -= gantry::detail::tangents_of(dual_critic_part_);
    }
    if constexpr (Policy::has_consensus) subtract_consensus_block(w, out);
  }

  /// out = J^T u.
  void apply_transpose(const Eigen::Ref<const Vector<Scalar>>& u, Eigen::Ref<Vector<Scalar>> out) {
    check_vectors("gantry::metrics::GameJacobian::apply_transpose", "u", u, out);
    ++products_;
    const Index nd = critic_size(), ng = generator_size();
    objective_columns(critic_, generator_, batch_, u.head(nd), u.tail(ng), passes_, columns_critic_,
                      columns_generator_);
    out.head(nd) = -columns_critic_;
    out.tail(ng) = -columns_generator_;
    if constexpr (Policy::has_penalty) {
      zero_generator_direction_.setZero(ng);
      set_dual_point(u.head(nd), zero_generator_direction_);
      penalty_gradients(dual_critic_, dual_generator_, dual_batch_, dual_passes_, dual_critic_part_,
                        dual_generator_part_);
      out.head(nd) -= gantry::detail::tangents_of(dual_critic_part_);
      out.tail(ng) -= gantry::detail::tangents_of(dual_generator_part_);
    }
    if constexpr (Policy::has_consensus) {
      objective_rows(critic_, generator_, batch_, u.head(nd), u.tail(ng), passes_, rows_critic_, rows_generator_);
      subtract_consensus_block(u, out);
    }
  }

  /// The whole of J, column j = J e_j (n products): for networks of up to a few thousand parameters.
  void matrix(Eigen::Ref<Matrix<Scalar>> out) {
    gantry::detail::check_shape("gantry::metrics::GameJacobian::matrix", "out", out, size(), size());
    basis_.setZero(size());
    for (Index j = 0; j < size(); ++j) {
      basis_(j) = Scalar(1);
      apply(basis_, out.col(j));
      basis_(j) = Scalar(0);
    }
  }
  Matrix<Scalar> matrix() {
    Matrix<Scalar> out(size(), size());
    matrix(out);
    return out;
  }

 private:
  static constexpr bool uses_dual = Policy::has_penalty || Policy::has_consensus;

  /// What the passes keep, in the scalar T they run on (Scalar, or Dual for the third-order terms).
  template <class T>
  struct Passes {
    nn::Tape<T> generator, critic, critic_fake, penalty;
    Matrix<T> critic_input, input_tangent, fake, points, input_gradients, seed, fake_adjoint;
  };

  template <class W, class Out>
  void check_vectors(const char* where, const char* name, const W& w, const Out& out) const {
    gantry::detail::check_shape(where, name, w, size(), 1);
    gantry::detail::check_shape(where, "out", out, size(), 1);
  }

  /// The Dual networks at the point plus eps (d_critic, d_generator).
  template <class DC, class DG>
  void set_dual_point(const DC& d_critic, const DG& d_generator) {
    for (Index i = 0; i < critic_size(); ++i) dual_critic_.parameters()(i) = Dual(critic_.parameters()(i), d_critic(i));
    for (Index i = 0; i < generator_size(); ++i)
      dual_generator_.parameters()(i) = Dual(generator_.parameters()(i), d_generator(i));
  }

  /// out -= gamma d(J_g^T g) w, with rows_* = J_g w already formed. Symmetric, so it serves J^T as well.
  template <class W, class Out>
  void subtract_consensus_block(const W& w, Out& out) {
    const Index nd = critic_size(), ng = generator_size();
    if (options_.consensus == ConsensusJacobian::paper) {
      objective_columns(critic_, generator_, batch_, rows_critic_, rows_generator_, passes_, columns_critic_,
                        columns_generator_);
      out.head(nd) -= consensus_weight_ * columns_critic_;
      out.tail(ng) -= consensus_weight_ * columns_generator_;
      return;
    }
    // Tangent of J_g(x)^T g(x) along w: the networks at x + eps w, the vector g + eps J_g w.
    set_dual_point(w.head(nd), w.tail(ng));
    dual_u_critic_.resize(nd);
    dual_u_generator_.resize(ng);
    for (Index i = 0; i < nd; ++i) dual_u_critic_(i) = Dual(objective_critic_gradient_(i), rows_critic_(i));
    for (Index i = 0; i < ng; ++i) dual_u_generator_(i) = Dual(objective_generator_gradient_(i), rows_generator_(i));
    objective_columns(dual_critic_, dual_generator_, dual_batch_, dual_u_critic_, dual_u_generator_, dual_passes_,
                      dual_critic_part_, dual_generator_part_);
    out.head(nd) -= consensus_weight_ * gantry::detail::tangents_of(dual_critic_part_);
    out.tail(ng) -= consensus_weight_ * gantry::detail::tangents_of(dual_generator_part_);
  }

  /// The forwards both products start from: G(z) with its tangent along `generator_direction`, then D on
  /// [real | fake] (fake = G(z) + the batch's noise) with room for 2B tangent columns. Sizes the outputs.
  template <class T, class DG>
  static void forward_game(const nn::Mlp<T>& critic, const nn::Mlp<T>& generator, const train::Batch<T>& batch,
                           const DG& generator_direction, Passes<T>& p, Vector<T>& out_critic,
                           Vector<T>& out_generator) {
    const Index b = batch.real.cols();
    out_critic.resize(critic.parameter_count());
    out_generator.resize(generator.parameter_count());
    generator.forward(batch.z, p.generator, b);
    generator.tangent_forward_parameters(p.generator, generator_direction);
    p.critic_input.resize(critic.input_size(), 2 * b);
    p.critic_input.leftCols(b) = batch.real;
    p.critic_input.rightCols(b) = p.generator.output();
    if (batch.fake_noise.size() != 0) p.critic_input.rightCols(b) += batch.fake_noise;
    critic.forward(p.critic_input, p.critic, 2 * b);
  }

  /// After a tangent pass: adj(a) = l''(a) da / B, adj(da) = l'(a) / B on the first `count` outputs, l the critic's
  /// terms on [real | fake] (`critic_terms`) or the generator's on fake columns.
  template <class T>
  void seed_hessian(nn::Tape<T>& tape, Index count, bool critic_terms) const {
    const Index b = critic_terms ? count / 2 : count;
    const T inv_b = T(1) / T(static_cast<double>(b));
    const Objective& objective = policy_.objective;
    const auto logits = tape.output();
    const auto da = tape.output_tangent();
    auto adjoint = tape.output_adjoint();
    auto tangent_adjoint = tape.output_tangent_adjoint();
    for (Index j = 0; j < count; ++j) {
      const T a = logits(0, j);
      const loss::Term<T> t = !critic_terms ? objective.generator_fake(a)
                              : j < b       ? objective.critic_real(a)
                                            : objective.critic_fake(a);
      adjoint(0, j) = t.second * da(0, j) * inv_b;
      tangent_adjoint(0, j) = t.first * inv_b;
    }
  }

  /// J_g w, by rows: out_critic = (Hess L_D w)_critic, out_generator = (Hess L_G w)_generator (objective only).
  template <class T, class WC, class WG>
  void objective_rows(const nn::Mlp<T>& critic, const nn::Mlp<T>& generator, const train::Batch<T>& batch,
                      const WC& w_critic, const WG& w_generator, Passes<T>& p, Vector<T>& out_critic,
                      Vector<T>& out_generator) const {
    const Index b = batch.real.cols();
    forward_game(critic, generator, batch, w_generator, p, out_critic, out_generator);
    p.input_tangent.resize(critic.input_size(), 2 * b);
    p.input_tangent.leftCols(b).setZero();
    p.input_tangent.rightCols(b) = p.generator.output_tangent();
    critic.tangent_forward_both(p.critic, p.input_tangent, w_critic);
    seed_hessian(p.critic, 2 * b, true);
    critic.reverse_tangent(p.critic, &out_critic, false, false);
    // The generator's loss sees only the fake columns, with its own seeds: a second reverse through D, into G.
    critic.forward_from(p.critic, b, b, p.critic_fake, b);
    critic.tangent_forward_both(p.critic_fake, p.generator.output_tangent(), w_critic);
    seed_hessian(p.critic_fake, b, false);
    critic.reverse_tangent(p.critic_fake, nullptr, false, true);
    p.generator.output_adjoint() = p.critic_fake.input_adjoint();
    p.generator.output_tangent_adjoint() = p.critic_fake.input_tangent_adjoint();
    generator.reverse_tangent(p.generator, &out_generator, false, false);
  }

  /// J_g^T u = H_{L_D} (u_D, 0) + H_{L_G} (0, u_G) (objective only), both players' parts.
  template <class T, class UC, class UG>
  void objective_columns(const nn::Mlp<T>& critic, const nn::Mlp<T>& generator, const train::Batch<T>& batch,
                         const UC& u_critic, const UG& u_generator, Passes<T>& p, Vector<T>& out_critic,
                         Vector<T>& out_generator) const {
    const Index b = batch.real.cols();
    forward_game(critic, generator, batch, u_generator, p, out_critic, out_generator);
    critic.tangent_forward_parameters(p.critic, u_critic);
    seed_hessian(p.critic, 2 * b, true);
    critic.reverse_tangent(p.critic, &out_critic, false, true);
    critic.forward_from(p.critic, b, b, p.critic_fake, b);
    critic.tangent_forward_input(p.critic_fake, p.generator.output_tangent());
    seed_hessian(p.critic_fake, b, false);
    critic.reverse_tangent(p.critic_fake, &out_critic, true, true);
    // Both Hessians reach G through the fake samples; G's reverse is linear in its seeds, so it runs once.
    p.generator.output_adjoint() = p.critic_fake.input_adjoint() + p.critic.input_adjoint().rightCols(b);
    p.generator.output_tangent_adjoint() = p.critic_fake.input_tangent_adjoint();
    generator.reverse_tangent(p.generator, &out_generator, false, false);
  }

  /// The penalties P of the policy and their gradients w.r.t. both players (the generator moves the fake and
  /// interpolated points): grad_critic P = grad <g, u> with u = dP/dg fixed, a tangent pass along u and its reverse;
  /// dP/dx = that reverse's input adjoint, sent back through G. In Dual, the tangents are the Hessian products.
  template <class T>
  T penalty_gradients(const nn::Mlp<T>& critic, const nn::Mlp<T>& generator, const train::Batch<T>& batch,
                      Passes<T>& p, Vector<T>& out_critic, Vector<T>& out_generator) const {
    const Index b = batch.real.cols(), inputs = critic.input_size();
    out_critic.setZero(critic.parameter_count());
    out_generator.resize(generator.parameter_count());
    generator.forward(batch.z, p.generator);
    p.fake = p.generator.output();
    if (batch.fake_noise.size() != 0) p.fake += batch.fake_noise;
    p.fake_adjoint.setZero(inputs, b);
    T total = T(0);
    const auto group = [&](const auto& r, loss::PenaltyPoints at) {
      switch (at) {
        case loss::PenaltyPoints::real: p.points = batch.real; break;
        case loss::PenaltyPoints::fake: p.points = p.fake; break;
        default:  // interpolates x_hat = eps x_real + (1 - eps) x_fake
          p.points = p.fake;
          for (Index j = 0; j < b; ++j) p.points.col(j) += batch.eps(j) * (batch.real.col(j) - p.fake.col(j));
          break;
      }
      critic.forward(p.points, p.penalty, b);
      p.penalty.output_adjoint().setOnes();
      critic.backward(p.penalty, 0, b, nullptr, false, true);
      p.input_gradients = p.penalty.input_adjoint();
      p.seed.resize(inputs, b);
      total += r.template penalty<T>(p.input_gradients, p.seed);
      critic.tangent_forward_input(p.penalty, p.seed);
      p.penalty.output_adjoint().setZero();
      p.penalty.output_tangent_adjoint().setOnes();
      const bool moves_with_generator = at != loss::PenaltyPoints::real;
      critic.reverse_tangent(p.penalty, &out_critic, true, moves_with_generator);
      if (at == loss::PenaltyPoints::fake) p.fake_adjoint += p.penalty.input_adjoint();
      if (at == loss::PenaltyPoints::interpolates)
        for (Index j = 0; j < b; ++j) p.fake_adjoint.col(j) += (T(1) - batch.eps(j)) * p.penalty.input_adjoint().col(j);
    };
    policy_.for_each_regularizer([&](const auto& r) {
      if constexpr (loss::is_penalty_v<std::decay_t<decltype(r)>>) {
        if (r.points() == loss::PenaltyPoints::real_and_fake) {
          group(r, loss::PenaltyPoints::real);
          group(r, loss::PenaltyPoints::fake);
        } else {
          group(r, r.points());
        }
      }
    });
    p.generator.output_adjoint() = p.fake_adjoint;
    generator.backward(p.generator, 0, b, &out_generator, false, false);
    return total;
  }

  Policy policy_;
  Mlp generator_, critic_;
  train::Batch<Scalar> batch_;
  GameJacobianOptions options_;
  Vector<Scalar> field_;
  Vector<Scalar> objective_critic_gradient_, objective_generator_gradient_;  ///< consensus: g of the objective
  Scalar consensus_weight_ = 0;
  Index products_ = 0;

  Passes<Scalar> passes_;
  Vector<Scalar> rows_critic_, rows_generator_, columns_critic_, columns_generator_, basis_, zero_generator_direction_;

  nn::Mlp<Dual> dual_generator_{{1, 1}}, dual_critic_{{1, 1}};
  train::Batch<Dual> dual_batch_;
  Passes<Dual> dual_passes_;
  Vector<Dual> dual_critic_part_, dual_generator_part_, dual_u_critic_, dual_u_generator_;
};

/// Deduces the policy and scalar: `auto jacobian = metrics::make_game_jacobian(policy, generator, critic, batch);`
template <class Policy, class Scalar>
GameJacobian<Policy, Scalar> make_game_jacobian(const Policy& policy, const nn::Mlp<Scalar>& generator,
                                                const nn::Mlp<Scalar>& critic, const train::Batch<Scalar>& batch,
                                                GameJacobianOptions options = {}) {
  return GameJacobian<Policy, Scalar>(policy, generator, critic, batch, options);
}

}  // namespace gantry::metrics
