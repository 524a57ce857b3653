// SPDX-License-Identifier: MIT
#pragma once
/// Losses and exact gradients of a policy on a batch, for either player, with every buffer owned and reused.

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

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
/// Threads: a step splits its batch into shares of samples (Share), each running every pass of the step on its
/// own tapes; they meet only where the whole batch is needed (penalties, v, the sums). There are several shares per
/// thread (SplitOptions), claimed one at a time from core/share_pool.hpp's pool, so a thread the OS runs less
/// often takes fewer; each share's partial gradient has its own buffer, added in share order.
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

  /// The penalties alone (no objective term): their value and their exact critic gradient into `gradient`.
  Values<Scalar> penalty_gradient(const Policy& policy, const Mlp& generator, const Mlp& critic,
                                  const Batch<Scalar>& batch, Vector<Scalar>& gradient) {
    check_batch("gantry::train::Evaluator::penalty_gradient", generator, critic, batch);
    gradient.resize(critic.parameter_count());
    Values<Scalar> values = critic_pass(policy, generator, critic, batch, gradient, false);
    values.critic_loss = values.wasserstein_estimate = Values<Scalar>::not_computed;
    return values;
  }

  /// After a step of a policy with consensus: J^T v of each player, the gradient of R = 1/2 |v|^2 before the
  /// consensus weight multiplies it (train/evaluation_parts.hpp reads it).
  const Vector<Scalar>& consensus_critic_part() const { return consensus_critic_part_; }
  const Vector<Scalar>& consensus_generator_part() const { return consensus_generator_part_; }

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

  /// Fake samples G(z) (+ noise) of samples [first, first + count) of the batch, as a copy of the tape's output.
  static const Matrix<Scalar>& generate(const Mlp& generator, const Batch<Scalar>& batch, Index first, Index count,
                                        nn::Tape<Scalar>& tape, Matrix<Scalar>& fake) {
    generator.forward(batch.z.middleCols(first, count), tape);
    fake = tape.output();
    if (batch.fake_noise.size() != 0) fake += batch.fake_noise.middleCols(first, count);
    return fake;
  }

  /// What one share of a step owns. A step splits its batch into shares of samples that run through every pass of
  /// the step on their own tapes: one hand-off per phase of the step instead of one per pass (and per layer in a
  /// reverse pass), and no serial code between the passes (losses, seeds, copies run inside the shares).
  struct Share {
    nn::Tape<Scalar> generator_tape, critic_tape;
    nn::Tape<Scalar> generator_step_tape, critic_step_tape;  ///< consensus: the generator's side
    Matrix<Scalar> critic_input, fake;
    Matrix<Scalar> consensus_input;  ///< [real | fake]: apart from critic_input, whose width a penalty may change
    /// Shares after the first: their parts of the gradients (the first share writes the caller's). Two slots, as
    /// consensus forms two gradients at once; each grows to the largest player's parameter count and is used from
    /// its start, so that steps of both players allocate nothing once sized, and a share holds at most two
    /// parameter vectors however many shares a step has.
    std::array<Vector<Scalar>, 2> gradients;
    Scalar loss = 0, real_sum = 0, fake_sum = 0, generator_loss = 0;
    Index first = 0, count = 0;  ///< the samples of the batch this share holds
  };

  /// Splits a batch of b samples into shares for thread_count() threads, several per thread (one share when the step
  /// is too small to pay for a hand-off; then its passes may still split themselves). `critic_columns` critic
  /// columns per sample. The count depends on the sizes, thread_count() and SplitOptions only, never on timing.
  int plan_shares(const Mlp& generator, const Mlp& critic, Index b, Index critic_columns) {
    // Multiply-adds per sample: G's forward and backward, D's forward and (about) twice that in reverse.
    const double work = 2 * generator.multiply_adds_per_sample() +
                        3 * static_cast<double>(critic_columns) * critic.multiply_adds_per_sample();
    const int n = gantry::detail::batch_shares(b, work);
    if (shares_.size() < static_cast<std::size_t>(n)) shares_.resize(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      shares_[i].first = gantry::detail::share_begin(0, b, i, n);
      shares_[i].count = gantry::detail::share_begin(0, b, i + 1, n) - shares_[i].first;
    }
    return n;
  }

  /// The slots of Share::gradients: a pass forming one gradient uses the first; consensus, which forms the two
  /// players' at once, both (its first-order pair is summed before its Hessian-vector pair reuses them).
  static constexpr std::size_t first_slot = 0, second_slot = 1;

  /// Where share i writes its part of `gradient`: the caller's vector for the first share, else its own `slot`.
  Scalar* share_gradient(int i, std::size_t slot, Vector<Scalar>& gradient) {
    if (i == 0) return gradient.data();
    Vector<Scalar>& part = shares_[i].gradients[slot];
    if (part.size() < gradient.size()) part.resize(gradient.size());
    return part.data();
  }

  /// gradient += the other shares' parts, in share order (split over the pool by segments of the vector).
  void add_share_gradients(int n, std::size_t slot, Vector<Scalar>& gradient) const {
    gantry::detail::add_parts(gradient.data(), gradient.size(), n - 1, [&](int k) {
      return shares_[static_cast<std::size_t>(k) + 1].gradients[slot].data();
    });
  }

  /// The critic's objective loss and, when `with_objective`, its adjoints on the output; then the penalties.
  /// Each share runs G(z), D on its [interpolates | penalized | rest] and grad_x D at its penalized samples; the
  /// penalties then see the whole batch's input gradients (a regularizer may couple samples); each share runs the
  /// tangent pass along its seeds and the reverse pass.
  Values<Scalar> critic_pass(const Policy& policy, const Mlp& generator, const Mlp& critic, const Batch<Scalar>& batch,
                             Vector<Scalar>& gradient, bool with_objective) {
    const Index b = batch.real.cols();
    const Layout layout = layout_for(policy, b);
    const Index penalized_groups = layout.penalized / b;
    const int n = plan_shares(generator, critic, b, layout.columns / b);

    const auto forward_share = [&](int i) {
      Share& s = shares_[i];
      const Index m = s.count;
      const Layout local = layout_for(policy, m);
      const Matrix<Scalar>& fake = generate(generator, batch, s.first, m, s.generator_tape, s.fake);
      s.critic_input.resize(critic.input_size(), local.columns);
      s.critic_input.middleCols(local.real, m) = batch.real.middleCols(s.first, m);
      s.critic_input.middleCols(local.fake, m) = fake;
      if (local.interpolates >= 0) {
        // x_hat_i = eps_i x_real_i + (1 - eps_i) x_fake_i, one eps per sample.
        s.critic_input.middleCols(local.interpolates, m) =
            fake + (batch.real.middleCols(s.first, m) - fake) * batch.eps.segment(s.first, m).transpose().asDiagonal();
      }
      critic.forward(s.critic_input, s.critic_tape, local.penalized);
      if (local.penalized > 0) {
        s.critic_tape.output_adjoint().leftCols(local.penalized).setOnes();
        critic.backward_core(s.critic_tape, 0, local.penalized, nullptr, false, true);
      }
    };
    const Scalar inv_b = Scalar(1) / static_cast<Scalar>(b);
    const auto reverse_share = [&](int i) {
      Share& s = shares_[i];
      const Index m = s.count;
      const Layout local = layout_for(policy, m);
      if (local.penalized > 0) {
        for (Index k = 0; k < penalized_groups; ++k)
          s.critic_tape.input_tangent().middleCols(k * m, m) = penalty_seeds_.middleCols(k * b + s.first, m);
        critic.tangent_forward_core(s.critic_tape, true, nullptr);
      }
      critic_objective(policy, s, local.real, local.fake, inv_b, with_objective);
      if (local.interpolates >= 0) s.critic_tape.output_adjoint().middleCols(local.interpolates, m).setZero();
      Scalar* target = share_gradient(i, first_slot, gradient);
      if (local.penalized > 0) {
        s.critic_tape.output_tangent_adjoint().setOnes();
        // Interpolates carry no objective: with a piecewise-linear critic their primal adjoints stay 0.
        const Index zero_cols = local.interpolates >= 0 ? m : 0;
        // The tangent stream's adjoints equal the backward's over the penalized columns (both seeded with ones).
        critic.reverse_tangent_core(s.critic_tape, target, false, false, zero_cols, true);
      } else {
        critic.backward_core(s.critic_tape, 0, local.columns, target, false, false);
      }
    };

    Values<Scalar> values;
    if (layout.penalized > 0) {
      gantry::detail::run_shares(n, [&](int i, int) { forward_share(i); });
      values = penalties(policy, critic.input_size(), b, layout, n);
      gantry::detail::run_shares(n, [&](int i, int) { reverse_share(i); });
    } else {
      gantry::detail::run_shares(n, [&](int i, int) {
        forward_share(i);
        reverse_share(i);
      });
    }
    add_share_gradients(n, first_slot, gradient);
    sum_critic_values(n, inv_b, values);
    return values;
  }

  /// The critic's objective on the share's logits at columns real + j and fake + j: its loss terms and sums into the
  /// share, and (when `with_objective`, else 0) their derivatives / B as the output adjoints of those columns.
  static void critic_objective(const Policy& policy, Share& s, Index real, Index fake, Scalar inv_b,
                               bool with_objective) {
    const auto logits = s.critic_tape.output();
    auto adjoint = s.critic_tape.output_adjoint();
    s.loss = s.real_sum = s.fake_sum = 0;
    for (Index j = 0; j < s.count; ++j) {
      const Scalar a_real = logits(0, real + j), a_fake = logits(0, fake + j);
      const loss::Term<Scalar> t_real = policy.objective.critic_real(a_real);
      const loss::Term<Scalar> t_fake = policy.objective.critic_fake(a_fake);
      s.loss += t_real.value + t_fake.value;
      s.real_sum += a_real;
      s.fake_sum += a_fake;
      adjoint(0, real + j) = with_objective ? t_real.first * inv_b : Scalar(0);
      adjoint(0, fake + j) = with_objective ? t_fake.first * inv_b : Scalar(0);
    }
  }

  /// The critic's loss and Wasserstein estimate from the sums of the first n shares.
  void sum_critic_values(int n, Scalar inv_b, Values<Scalar>& values) const {
    Scalar loss = 0, real_sum = 0, fake_sum = 0;
    for (int i = 0; i < n; ++i) {
      loss += shares_[i].loss;
      real_sum += shares_[i].real_sum;
      fake_sum += shares_[i].fake_sum;
    }
    values.critic_loss = loss * inv_b;
    values.wasserstein_estimate = (real_sum - fake_sum) * inv_b;
  }

  /// The penalties on the input gradients the shares computed, gathered in the batch's layout; their seeds dP/dg
  /// go to penalty_seeds_ in the same layout.
  Values<Scalar> penalties(const Policy& policy, Index inputs, Index b, const Layout& layout, int n) {
    input_gradients_.resize(inputs, layout.penalized);
    for (int i = 0; i < n; ++i) {
      const Share& s = shares_[i];
      for (Index k = 0; k < layout.penalized / b; ++k)
        input_gradients_.middleCols(k * b + s.first, s.count) =
            s.critic_tape.input_adjoint().middleCols(k * s.count, s.count);
    }
    const auto& g = input_gradients_;
    penalty_seeds_.resize(inputs, layout.penalized);
    penalty_seeds_.setZero();
    Values<Scalar> values;
    values.penalty = 0;
    policy.for_each_regularizer([&](const auto& r) {
      if constexpr (loss::is_penalty_v<std::decay_t<decltype(r)>>) {
        const auto apply_at = [&](Index first) {
          seed_scratch_.resize(inputs, b);
          values.penalty += r.template penalty<Scalar>(g.middleCols(first, b), seed_scratch_);
          penalty_seeds_.middleCols(first, b) += seed_scratch_;
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
    return values;
  }

  /// Generator step, split like the critic's: each share runs G(z), D(G(z)), D's input adjoint and G's gradient.
  Values<Scalar> generator_pass(const Policy& policy, const Mlp& generator, const Mlp& critic,
                                const Batch<Scalar>& batch, Vector<Scalar>& gradient) {
    const Index b = batch.z.cols();
    const int n = plan_shares(generator, critic, b, 1);
    const Scalar inv_b = Scalar(1) / static_cast<Scalar>(b);
    gantry::detail::run_shares(n, [&](int i, int) {
      Share& s = shares_[i];
      critic.forward(generate(generator, batch, s.first, s.count, s.generator_tape, s.fake), s.critic_tape);
      s.loss = generator_objective_gradient(policy, generator, critic, s.generator_tape, s.critic_tape, s.count, inv_b,
                                            share_gradient(i, first_slot, gradient));
    });
    add_share_gradients(n, first_slot, gradient);
    Scalar loss = 0;
    for (int i = 0; i < n; ++i) loss += shares_[i].loss;
    Values<Scalar> values;
    values.generator_loss = loss * inv_b;
    return values;
  }

  /// From the forwards G(z) and D(G(z)) of `count` samples in the two tapes: the generator's gradient (its objective
  /// scaled by inv_b) into `gradient`; returns the unscaled sum of the loss terms.
  static Scalar generator_objective_gradient(const Policy& policy, const Mlp& generator, const Mlp& critic,
                                             nn::Tape<Scalar>& generator_tape, nn::Tape<Scalar>& critic_tape,
                                             Index count, Scalar inv_b, Scalar* gradient) {
    const auto logits = critic_tape.output();
    auto adjoint = critic_tape.output_adjoint();
    Scalar loss = 0;
    for (Index i = 0; i < count; ++i) {
      const loss::Term<Scalar> t = policy.objective.generator_fake(logits(0, i));
      loss += t.value;
      adjoint(0, i) = t.first * inv_b;
    }
    critic.backward_core(critic_tape, 0, count, nullptr, false, true);  // input adjoint only
    generator_tape.output_adjoint() = critic_tape.input_adjoint();
    generator.backward_core(generator_tape, 0, count, gradient, false, false);
    return loss;
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
  /// gradients of R = 1/2 |v|^2 by J^T v = H_{L_D} (v_D, 0) + H_{L_G} (0, v_G), then the penalties. Two phases
  /// of shares: the first-order gradients (v is their sum over the shares), then the Hessian-vector products.
  Values<Scalar> joint(const Policy& policy, const Mlp& generator, const Mlp& critic, const Batch<Scalar>& batch,
                       Vector<Scalar>& critic_gradient, Vector<Scalar>& generator_gradient) {
    const Index b = batch.real.cols();
    const Scalar inv_b = Scalar(1) / static_cast<Scalar>(b);
    critic_gradient.resize(critic.parameter_count());
    generator_gradient.resize(generator.parameter_count());
    const int n = plan_shares(generator, critic, b, 3);

    // Every forward keeps room for the tangent passes of the second phase, which then reuse them instead of
    // running them again; the generator's side copies G(z) and D(G(z)) from the critic's (D on [real, fake]).
    gantry::detail::run_shares(n, [&](int i, int) {
      Share& s = shares_[i];
      const Index m = s.count;
      const Matrix<Scalar>& fake = generate(generator, batch, s.first, m, s.generator_tape, s.fake);
      s.consensus_input.resize(critic.input_size(), 2 * m);
      s.consensus_input.leftCols(m) = batch.real.middleCols(s.first, m);
      s.consensus_input.rightCols(m) = fake;
      critic.forward(s.consensus_input, s.critic_tape, 2 * m);
      critic_objective(policy, s, 0, m, inv_b, true);
      critic.backward_core(s.critic_tape, 0, 2 * m, share_gradient(i, first_slot, critic_gradient), false, false);
      generator.forward_from(s.generator_tape, 0, m, s.generator_step_tape, m);
      critic.forward_from(s.critic_tape, m, m, s.critic_step_tape, m);
      s.generator_loss = generator_objective_gradient(policy, generator, critic, s.generator_step_tape,
                                                      s.critic_step_tape, m, inv_b,
                                                      share_gradient(i, second_slot, generator_gradient));
    });
    add_share_gradients(n, first_slot, critic_gradient);
    add_share_gradients(n, second_slot, generator_gradient);
    Values<Scalar> values;
    sum_critic_values(n, inv_b, values);
    Scalar generator_loss = 0;
    for (int i = 0; i < n; ++i) generator_loss += shares_[i].generator_loss;
    values.generator_loss = generator_loss * inv_b;

    double weight = 0;
    policy.for_each_regularizer([&](const auto& r) {
      if constexpr (loss::is_consensus_v<std::decay_t<decltype(r)>>) weight += r.consensus_weight();
    });
    const Scalar gamma = static_cast<Scalar>(weight);
    const Scalar half_norm = (critic_gradient.squaredNorm() + generator_gradient.squaredNorm()) / Scalar(2);
    values.consensus = gamma * half_norm;

    // J^T v = H_{L_D} (v_D, 0) + H_{L_G} (0, v_G), each a tangent pass and its reverse (adj(a) = l''(a) da / B,
    // adj(da) = l'(a) / B). Both reverses reuse the first-order passes' adjoints as their tangent streams' (same
    // seeds l'(a) / B). Their primal streams are linear in their seeds, so on the shared fake samples they are run
    // once: the generator's seeds are added and G reversed once; with a piecewise-linear critic, whose primal
    // stream gets nothing from a tangent inside the network (Mlp::piecewise_linear), H_{L_G}'s critic seed moves into H_{L_D}'s fake columns.
    const bool merge_critic_primal = critic.piecewise_linear();
    consensus_critic_part_.resize(critic.parameter_count());
    consensus_generator_part_.resize(generator.parameter_count());
    gantry::detail::run_shares(n, [&](int i, int) {
      Share& s = shares_[i];
      const Index m = s.count;
      generator.tangent_forward_parameters(s.generator_step_tape, generator_gradient);
      critic.tangent_forward_input(s.critic_step_tape, s.generator_step_tape.output_tangent());
      critic.tangent_forward_parameters(s.critic_tape, critic_gradient);
      seed_hessian_vector_product(s.critic_step_tape, m, inv_b,
                                  [&](Index, Scalar a) { return policy.objective.generator_fake(a); });
      seed_hessian_vector_product(s.critic_tape, 2 * m, inv_b, [&](Index j, Scalar a) {
        return j < m ? policy.objective.critic_real(a) : policy.objective.critic_fake(a);
      });
      if (merge_critic_primal) {
        s.critic_tape.output_adjoint().rightCols(m) += s.critic_step_tape.output_adjoint();
        s.critic_step_tape.output_adjoint().setZero();
      }
      Scalar* critic_part = share_gradient(i, first_slot, consensus_critic_part_);
      critic.reverse_tangent_core(s.critic_tape, critic_part, false, true, 0, true);
      // With the primal seeds merged, H_{L_G}'s critic reverse has only its tangent stream: zero primal adjoints.
      critic.reverse_tangent_core(s.critic_step_tape, critic_part, true, true, merge_critic_primal ? m : 0, true);
      s.generator_step_tape.output_adjoint() =
          s.critic_step_tape.input_adjoint() + s.critic_tape.input_adjoint().rightCols(m);
      s.generator_step_tape.output_tangent_adjoint() = s.critic_step_tape.input_tangent_adjoint();
      generator.reverse_tangent_core(s.generator_step_tape,
                                     share_gradient(i, second_slot, consensus_generator_part_), false,
                                     false, 0, true);
    });
    add_share_gradients(n, first_slot, consensus_critic_part_);
    add_share_gradients(n, second_slot, consensus_generator_part_);
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

  std::vector<Share> shares_;
  Matrix<Scalar> input_gradients_, penalty_seeds_, seed_scratch_;  ///< penalties over the whole batch
  Vector<Scalar> consensus_critic_part_, consensus_generator_part_, penalty_gradient_;
  Vector<Scalar> consensus_critic_gradient_, consensus_generator_gradient_;  ///< the other player's, discarded
};

}  // namespace gantry::train
