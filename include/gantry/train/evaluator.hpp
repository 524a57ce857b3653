// SPDX-License-Identifier: MIT
#pragma once
/// Losses and exact gradients of a policy on a batch, for either player, with every buffer owned and reused.

#include <algorithm>
#include <cmath>

#include "gantry/core/check.hpp"
#include "gantry/nn/mlp.hpp"
#include "gantry/policy.hpp"
#include "gantry/train/batch.hpp"
#include "gantry/train/evaluation.hpp"

namespace gantry::train {

/// Computes what a trainer applies. It never names a policy: it asks the regularizers which hooks they have.
///
/// Critic step: one critic batch [interpolates | penalized real/fake | the rest] so that real, fake and
/// interpolated samples share every GEMM; the penalized samples lead, since a tape's tangent columns belong to
/// its first samples. Input gradients come from a backward pass over the penalized columns, each penalty writes
/// its seed dP/dg, a tangent pass along the seed and one reverse pass give the exact gradient of objective and
/// penalties together.
/// Generator step: no critic parameter gradient is formed, only the critic's input adjoint.
/// Consensus: v = (grad_D L_D, grad_G L_G) of the objective, then J^T v as two Hessian-vector products.
template <class Policy, class Scalar>
class Evaluator {
 public:
  using Mlp = nn::Mlp<Scalar>;

  /// Critic: objective loss, penalties and the critic gradient; writes it into `gradient` (resized once).
  Values<Scalar> critic_gradient(const Policy& policy, const Mlp& generator, const Mlp& critic,
                                 const Batch<Scalar>& batch, Vector<Scalar>& gradient) {
    check_batch("gantry::train::Evaluator::critic_gradient", generator, critic, batch);
    gradient.resize(critic.parameter_count());
    if constexpr (Policy::has_consensus) {
      Vector<Scalar>& unused_generator_gradient = consensus_generator_gradient_;
      return joint(policy, generator, critic, batch, gradient, unused_generator_gradient);
    } else {
      return critic_pass(policy, generator, critic, batch, gradient, true);
    }
  }

  /// Generator: objective loss and the generator gradient (plus consensus when the policy has it).
  Values<Scalar> generator_gradient(const Policy& policy, const Mlp& generator, const Mlp& critic,
                                    const Batch<Scalar>& batch, Vector<Scalar>& gradient) {
    check_batch("gantry::train::Evaluator::generator_gradient", generator, critic, batch);
    gradient.resize(generator.parameter_count());
    if constexpr (Policy::has_consensus) {
      return joint(policy, generator, critic, batch, consensus_critic_gradient_, gradient);
    } else {
      return generator_pass(policy, generator, critic, batch, gradient);
    }
  }

  /// Both players at the same point (simultaneous updates, and the evaluation API).
  Values<Scalar> both_gradients(const Policy& policy, const Mlp& generator, const Mlp& critic,
                                const Batch<Scalar>& batch, Vector<Scalar>& critic_gradient,
                                Vector<Scalar>& generator_gradient) {
    check_batch("gantry::train::Evaluator::both_gradients", generator, critic, batch);
    critic_gradient.resize(critic.parameter_count());
    generator_gradient.resize(generator.parameter_count());
    if constexpr (Policy::has_consensus) {
      return joint(policy, generator, critic, batch, critic_gradient, generator_gradient);
    } else {
      Values<Scalar> values = critic_pass(policy, generator, critic, batch, critic_gradient, true);
      values.generator_loss = generator_pass(policy, generator, critic, batch, generator_gradient).generator_loss;
      return values;
    }
  }

 private:
  struct Layout {
    Index interpolates = -1, real = 0, fake = 0;  ///< first column of each group (-1: absent)
    Index penalized = 0;                           ///< leading columns that carry a penalty (= tangent columns)
    Index columns = 0;
  };

  static void check_batch(const char* where, const Mlp& generator, const Mlp& critic, const Batch<Scalar>& batch) {
    const Index b = batch.real.cols();
    if (b < 1) throw ShapeError(gantry::detail::message(where, ": batch.real is a batch of 0 samples"));
    if (generator.output_size() != critic.input_size())
      throw ShapeError(gantry::detail::message(where, ": generator output size ", generator.output_size(),
                                               " differs from critic input size ", critic.input_size()));
    if (critic.output_size() != 1)
      throw ShapeError(gantry::detail::message(where, ": the critic must have 1 output, it has ", critic.output_size()));
    gantry::detail::check_shape(where, "batch.real", batch.real, critic.input_size(), b);
    gantry::detail::check_shape(where, "batch.z", batch.z, generator.input_size(), b);
    if constexpr (Policy::has_penalty) gantry::detail::check_shape(where, "batch.eps", batch.eps, 1, b);
    if (batch.fake_noise.size() != 0) gantry::detail::check_shape(where, "batch.fake_noise", batch.fake_noise, critic.input_size(), b);
  }

  static Layout layout_for(const Policy& policy, Index b) {
    bool interpolates = false, real = false, fake = false;
    policy.for_each_regularizer([&](const auto& r) {
      if constexpr (loss::is_penalty_v<std::decay_t<decltype(r)>>) {
        switch (r.points()) {
          case loss::PenaltyPoints::interpolates: interpolates = true; break;
          case loss::PenaltyPoints::real: real = true; break;
          case loss::PenaltyPoints::fake: fake = true; break;
          case loss::PenaltyPoints::real_and_fake: real = fake = true; break;
        }
      }
    });
    Layout layout;
    Index next = 0;
    if (interpolates) layout.interpolates = std::exchange(next, next + b);
    // Penalized groups first, so that they fall inside the tangent columns.
    if (real) layout.real = std::exchange(next, next + b);
    if (fake) layout.fake = std::exchange(next, next + b);
    layout.penalized = next;
    if (!real) layout.real = std::exchange(next, next + b);
    if (!fake) layout.fake = std::exchange(next, next + b);
    layout.columns = next;
    return layout;
  }

  /// Fake samples G(z) (+ noise) as the generator tape's output or a noisy copy.
  const Matrix<Scalar>& generate(const Mlp& generator, const Batch<Scalar>& batch, nn::Tape<Scalar>& tape) {
    generator.forward(batch.z, tape);
    fake_ = tape.output();
    if (batch.fake_noise.size() != 0) fake_ += batch.fake_noise;
    return fake_;
  }

  /// The critic's objective loss and, when `with_objective`, its adjoints on the output; then the penalties.
  Values<Scalar> critic_pass(const Policy& policy, const Mlp& generator, const Mlp& critic, const Batch<Scalar>& batch,
                             Vector<Scalar>& gradient, bool with_objective) {
    const Index b = batch.real.cols();
    const Layout layout = layout_for(policy, b);
    const Matrix<Scalar>& fake = generate(generator, batch, generator_tape_);

    critic_input_.resize(critic.input_size(), layout.columns);
    critic_input_.middleCols(layout.real, b) = batch.real;
    critic_input_.middleCols(layout.fake, b) = fake;
    if (layout.interpolates >= 0) {
      // x_hat_i = eps_i x_real_i + (1 - eps_i) x_fake_i, one eps per sample.
      critic_input_.middleCols(layout.interpolates, b) =
          fake + (batch.real - fake) * batch.eps.transpose().asDiagonal();
    }
    critic.forward(critic_input_, critic_tape_, layout.penalized);

    Values<Scalar> values;
    if (layout.penalized > 0) {
      critic_tape_.output_adjoint().leftCols(layout.penalized).setOnes();
      critic.backward_core(critic_tape_, 0, layout.penalized, nullptr, false, true);
      const auto g = critic_tape_.input_adjoint().leftCols(layout.penalized);
      auto seed = critic_tape_.input_tangent();
      seed.setZero();
      values.penalty = 0;
      policy.for_each_regularizer([&](const auto& r) {
        if constexpr (loss::is_penalty_v<std::decay_t<decltype(r)>>) {
          const auto apply_at = [&](Index first) {
            seed_scratch_.resize(critic.input_size(), b);
            values.penalty += r.template penalty<Scalar>(g.middleCols(first, b), seed_scratch_);
            seed.middleCols(first, b) += seed_scratch_;
          };
          switch (r.points()) {
            case loss::PenaltyPoints::interpolates: apply_at(layout.interpolates); break;
            case loss::PenaltyPoints::real: apply_at(layout.real); break;
            case loss::PenaltyPoints::fake: apply_at(layout.fake); break;
            case loss::PenaltyPoints::real_and_fake:
              apply_at(layout.real);
              apply_at(layout.fake);
              break;
          }
        }
      });
      Scalar norm_sum = 0, norm_max = 0;
      for (Index i = 0; i < layout.penalized; ++i) {
        const Scalar norm = g.col(i).norm();
        norm_sum += norm;
        norm_max = std::max(norm_max, norm);
      }
      values.mean_gradient_norm = norm_sum / static_cast<Scalar>(layout.penalized);
      values.max_gradient_norm = norm_max;
      critic.tangent_forward_core(critic_tape_, true, nullptr);
    }

    const auto logits = critic_tape_.output();
    auto adjoint = critic_tape_.output_adjoint();
    const Scalar inv_b = Scalar(1) / static_cast<Scalar>(b);
    Scalar real_sum = 0, fake_sum = 0, loss = 0;
    for (Index i = 0; i < b; ++i) {
      const Scalar a_real = logits(0, layout.real + i), a_fake = logits(0, layout.fake + i);
      const loss::Term<Scalar> t_real = policy.objective.critic_real(a_real);
      const loss::Term<Scalar> t_fake = policy.objective.critic_fake(a_fake);
      loss += t_real.value + t_fake.value;
      real_sum += a_real;
      fake_sum += a_fake;
      adjoint(0, layout.real + i) = with_objective ? t_real.first * inv_b : Scalar(0);
      adjoint(0, layout.fake + i) = with_objective ? t_fake.first * inv_b : Scalar(0);
    }
    if (layout.interpolates >= 0) adjoint.middleCols(layout.interpolates, b).setZero();
    values.critic_loss = loss * inv_b;
    values.wasserstein_estimate = (real_sum - fake_sum) * inv_b;

    if (layout.penalized > 0) {
      critic_tape_.output_tangent_adjoint().setOnes();
      // Interpolates carry no objective: with a piecewise-linear critic their primal adjoints stay 0.
      const Index zero_cols = layout.interpolates >= 0 ? b : 0;
      // The tangent stream's adjoints equal the backward's over the penalized columns (both seeded with ones).
      critic.reverse_tangent_core(critic_tape_, gradient.data(), false, false, zero_cols, true);
    } else {
      critic.backward_core(critic_tape_, 0, layout.columns, gradient.data(), false, false);
    }
    return values;
  }

  Values<Scalar> generator_pass(const Policy& policy, const Mlp& generator, const Mlp& critic,
                                const Batch<Scalar>& batch, Vector<Scalar>& gradient) {
    critic.forward(generate(generator, batch, generator_step_tape_), critic_step_tape_);
    return generator_objective_gradient(policy, generator, critic, batch.z.cols(), gradient);
  }

  /// The generator's loss and gradient from the forwards G(z) and D(G(z)) in generator_step_tape_ and
  /// critic_step_tape_.
  Values<Scalar> generator_objective_gradient(const Policy& policy, const Mlp& generator, const Mlp& critic, Index b,
                                              Vector<Scalar>& gradient) {
    const auto logits = critic_step_tape_.output();
    auto adjoint = critic_step_tape_.output_adjoint();
    const Scalar inv_b = Scalar(1) / static_cast<Scalar>(b);
    Scalar loss = 0;
    for (Index i = 0; i < b; ++i) {
      const loss::Term<Scalar> t = policy.objective.generator_fake(logits(0, i));
      loss += t.value;
      adjoint(0, i) = t.first * inv_b;
    }
    critic.backward_core(critic_step_tape_, 0, b, nullptr, false, true);  // input adjoint only
    generator_step_tape_.output_adjoint() = critic_step_tape_.input_adjoint();
    generator.backward_core(generator_step_tape_, 0, b, gradient.data(), false, false);
    Values<Scalar> values;
    values.generator_loss = loss * inv_b;
    return values;
  }

  /// Seeds a Hessian-vector product of a loss on the first `count` outputs of `tape`, after its tangent pass:
  /// adj(a) = l''(a) da / B, adj(da) = l'(a) / B, with term(i, a) the loss term of sample i.
  template <class TermOf>
  static void seed_hessian_vector_product(nn::Tape<Scalar>& tape, Index count, Scalar inv_b, TermOf term) {
    const auto logits = tape.output();
    const auto da = tape.output_tangent();
    auto adjoint = tape.output_adjoint();
    auto tangent_adjoint = tape.output_tangent_adjoint();
    for (Index i = 0; i < count; ++i) {
      const loss::Term<Scalar> t = term(i, logits(0, i));
      adjoint(0, i) = t.second * da(0, i) * inv_b;
      tangent_adjoint(0, i) = t.first * inv_b;
    }
  }

  /// Consensus (and anything combined with it): objective gradients v of both players at one batch, then
  /// gradients of R = 1/2 |v|^2 by J^T v = H_{L_D} (v_D, 0) + H_{L_G} (0, v_G), then the penalties.
  Values<Scalar> joint(const Policy& policy, const Mlp& generator, const Mlp& critic, const Batch<Scalar>& batch,
                       Vector<Scalar>& critic_gradient, Vector<Scalar>& generator_gradient) {
    const Index b = batch.real.cols();
    critic_gradient.resize(critic.parameter_count());
    generator_gradient.resize(generator.parameter_count());
    // Every forward keeps room for the tangent passes below, which then reuse them instead of running them again;
    // the generator's side copies G(z) and D(G(z)) from the critic's (critic_tape_ holds D([real, fake])).
    Values<Scalar> values = objective_critic_gradient(policy, generator, critic, batch, critic_gradient, 2 * b);
    generator.forward_from(generator_tape_, 0, b, generator_step_tape_, b);
    critic.forward_from(critic_tape_, b, b, critic_step_tape_, b);
    values.generator_loss = generator_objective_gradient(policy, generator, critic, b, generator_gradient).generator_loss;

    double weight = 0;
    policy.for_each_regularizer([&](const auto& r) {
      if constexpr (loss::is_consensus_v<std::decay_t<decltype(r)>>) weight += r.consensus_weight();
    });
    const Scalar gamma = static_cast<Scalar>(weight);
    const Scalar half_norm = (critic_gradient.squaredNorm() + generator_gradient.squaredNorm()) / Scalar(2);
    values.consensus = gamma * half_norm;
    const Scalar inv_b = Scalar(1) / static_cast<Scalar>(b);

    // J^T v = H_{L_D} (v_D, 0) + H_{L_G} (0, v_G), each a tangent pass and its reverse (adj(a) = l''(a) da / B,
    // adj(da) = l'(a) / B). Both reverses reuse the first-order passes' adjoints as their tangent streams' (same
    // seeds l'(a) / B). Their primal streams are linear in their seeds, so on the shared fake samples they are run
    // once: the generator's seeds are added and G reversed once; with a piecewise-linear critic, whose primal
    // stream gets nothing from a tangent inside the network, H_{L_G}'s critic seed moves into H_{L_D}'s fake columns.
    const bool merge_critic_primal = critic.hidden_activation().piecewise_linear();
    generator.tangent_forward_parameters(generator_step_tape_, generator_gradient);
    critic.tangent_forward_input(critic_step_tape_, generator_step_tape_.output_tangent());
    critic.tangent_forward_parameters(critic_tape_, critic_gradient);
    seed_hessian_vector_product(critic_step_tape_, b, inv_b,
                                [&](Index, Scalar a) { return policy.objective.generator_fake(a); });
    seed_hessian_vector_product(critic_tape_, 2 * b, inv_b, [&](Index i, Scalar a) {
      return i < b ? policy.objective.critic_real(a) : policy.objective.critic_fake(a);
    });
    if (merge_critic_primal) {
      critic_tape_.output_adjoint().rightCols(b) += critic_step_tape_.output_adjoint();
      critic_step_tape_.output_adjoint().setZero();
    }
    consensus_critic_part_.resize(critic.parameter_count());
    critic.reverse_tangent_core(critic_tape_, consensus_critic_part_.data(), false, true, 0, true);
    // With the primal seeds merged, H_{L_G}'s critic reverse has only its tangent stream: zero primal adjoints.
    critic.reverse_tangent_core(critic_step_tape_, consensus_critic_part_.data(), true, true,
                                merge_critic_primal ? b : 0, true);
    generator_step_tape_.output_adjoint() = critic_step_tape_.input_adjoint() + critic_tape_.input_adjoint().rightCols(b);
    generator_step_tape_.output_tangent_adjoint() = critic_step_tape_.input_tangent_adjoint();
    consensus_generator_part_.resize(generator.parameter_count());
    generator.reverse_tangent_core(generator_step_tape_, consensus_generator_part_.data(), false, false, 0, true);
    critic_gradient += gamma * consensus_critic_part_;
    generator_gradient += gamma * consensus_generator_part_;

    if constexpr (Policy::has_penalty) {
      penalty_gradient_.resize(critic.parameter_count());
      const Values<Scalar> penalties = critic_pass(policy, generator, critic, batch, penalty_gradient_, false);
      critic_gradient += penalty_gradient_;
      values.penalty = penalties.penalty;
      values.mean_gradient_norm = penalties.mean_gradient_norm;
      values.max_gradient_norm = penalties.max_gradient_norm;
    }
    return values;
  }

  /// The objective's critic gradient alone (consensus's v_D excludes the penalties).
  Values<Scalar> objective_critic_gradient(const Policy& policy, const Mlp& generator, const Mlp& critic,
                                           const Batch<Scalar>& batch, Vector<Scalar>& gradient,
                                           Index tangent_cols = 0) {
    const Index b = batch.real.cols();
    const Matrix<Scalar>& fake = generate(generator, batch, generator_tape_);
    critic_input_.resize(critic.input_size(), 2 * b);
    critic_input_.leftCols(b) = batch.real;
    critic_input_.rightCols(b) = fake;
    critic.forward(critic_input_, critic_tape_, tangent_cols);
    const auto logits = critic_tape_.output();
    auto adjoint = critic_tape_.output_adjoint();
    const Scalar inv_b = Scalar(1) / static_cast<Scalar>(b);
    Scalar loss = 0, real_sum = 0, fake_sum = 0;
    for (Index i = 0; i < b; ++i) {
      const loss::Term<Scalar> t_real = policy.objective.critic_real(logits(0, i));
      const loss::Term<Scalar> t_fake = policy.objective.critic_fake(logits(0, b + i));
      loss += t_real.value + t_fake.value;
      real_sum += logits(0, i);
      fake_sum += logits(0, b + i);
      adjoint(0, i) = t_real.first * inv_b;
      adjoint(0, b + i) = t_fake.first * inv_b;
    }
    critic.backward_core(critic_tape_, 0, 2 * b, gradient.data(), false, false);
    Values<Scalar> values;
    values.critic_loss = loss * inv_b;
    values.wasserstein_estimate = (real_sum - fake_sum) * inv_b;
    return values;
  }

  nn::Tape<Scalar> generator_tape_, critic_tape_;                ///< critic step
  nn::Tape<Scalar> generator_step_tape_, critic_step_tape_;      ///< generator step
  Matrix<Scalar> critic_input_, fake_, seed_scratch_;
  Vector<Scalar> consensus_critic_part_, consensus_generator_part_, penalty_gradient_;
  Vector<Scalar> consensus_critic_gradient_, consensus_generator_gradient_;  ///< the other player's, discarded
};

}  // namespace gantry::train
