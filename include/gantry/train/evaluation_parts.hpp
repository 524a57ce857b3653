// SPDX-License-Identifier: MIT
#pragma once
/// An evaluation broken into its parts: each player's gradient of the objective, of each penalty and of consensus.

#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "gantry/core/types.hpp"
#include "gantry/nn/mlp.hpp"
#include "gantry/policy.hpp"
#include "gantry/train/batch.hpp"
#include "gantry/train/evaluation.hpp"
#include "gantry/train/evaluator.hpp"

namespace gantry::train {

/// One penalty regularizer's share of the critic's loss and gradient.
template <class Scalar>
struct PenaltyPart {
  std::string name;  ///< the regularizer's name() ("gradient_penalty", "r1", ...)
  Scalar value = 0;
  Vector<Scalar> critic_gradient;
};

/// What a step applies, and where it comes from. The parts sum to the totals (up to rounding, ~1e-15 relative):
///   critic_gradient    = critic_objective_gradient + sum_k penalties[k].critic_gradient + critic_consensus_gradient
///   generator_gradient = generator_objective_gradient + generator_consensus_gradient
///   penalty            = sum_k penalties[k].value
/// The consensus gradients are gamma J^T v (zero vectors without consensus). Weight clipping and instance noise
/// have no gradient part: clipping acts after the step, the noise is in the batch.
template <class Scalar>
struct EvaluationParts : Evaluation<Scalar> {
  Vector<Scalar> critic_objective_gradient, generator_objective_gradient;
  std::vector<PenaltyPart<Scalar>> penalties;  ///< one per penalty regularizer, in the policy's order
  Vector<Scalar> critic_consensus_gradient, generator_consensus_gradient;
};

namespace detail {

/// The policy's consensus regularizers as one, with their summed weight (as the evaluator sums them).
struct SummedConsensus {
  double weight = 0;
  std::string name() const { return "consensus"; }
  double consensus_weight() const { return weight; }
};

}  // namespace detail

/// Evaluates `policy` on `batch` like Trainer::evaluate (the totals are the very same computation), then each part
/// on its own: the objective alone, each penalty alone (Evaluator::penalty_gradient) and consensus alone. Opt-in
/// and allocating: it costs about two more evaluations, and the training step never calls it.
template <class Policy, class Scalar>
EvaluationParts<Scalar> evaluate_parts(const Policy& policy, const nn::Mlp<Scalar>& generator,
                                       const nn::Mlp<Scalar>& critic, const Batch<Scalar>& batch) {
  using Objective = typename Policy::objective_type;
  EvaluationParts<Scalar> parts;
  {
    Evaluator<Policy, Scalar> evaluator;
    static_cast<Values<Scalar>&>(parts) =
        evaluator.both_gradients(policy, generator, critic, batch, parts.critic_gradient, parts.generator_gradient);
  }
  {
    Evaluator<gantry::Policy<Objective>, Scalar> evaluator;
    evaluator.both_gradients(gantry::Policy<Objective>(policy.objective), generator, critic, batch,
                             parts.critic_objective_gradient, parts.generator_objective_gradient);
  }
  double consensus_weight = 0;
  policy.for_each_regularizer([&](const auto& r) {
    using R = std::decay_t<decltype(r)>;
    if constexpr (loss::is_penalty_v<R>) {
      Evaluator<gantry::Policy<Objective, R>, Scalar> evaluator;
      PenaltyPart<Scalar> part;
      part.name = r.name();
      part.value = evaluator
                       .penalty_gradient(gantry::Policy<Objective, R>(policy.objective, r), generator, critic, batch,
                                         part.critic_gradient)
                       .penalty;
      parts.penalties.push_back(std::move(part));
    }
    if constexpr (loss::is_consensus_v<R>) consensus_weight += r.consensus_weight();
  });
  parts.critic_consensus_gradient = Vector<Scalar>::Zero(critic.parameter_count());
  parts.generator_consensus_gradient = Vector<Scalar>::Zero(generator.parameter_count());
  if constexpr (Policy::has_consensus) {
    using ConsensusPolicy = gantry::Policy<Objective, detail::SummedConsensus>;
    Evaluator<ConsensusPolicy, Scalar> evaluator;
    Vector<Scalar> critic_total, generator_total;
    evaluator.both_gradients(ConsensusPolicy(policy.objective, detail::SummedConsensus{consensus_weight}), generator,
                             critic, batch, critic_total, generator_total);
    const auto gamma = static_cast<Scalar>(consensus_weight);
    parts.critic_consensus_gradient = gamma * evaluator.consensus_critic_part();
    parts.generator_consensus_gradient = gamma * evaluator.consensus_generator_part();
  }
  return parts;
}

}  // namespace gantry::train
