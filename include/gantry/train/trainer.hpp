// SPDX-License-Identifier: MIT
#pragma once
/// The generic GAN trainer: alternating (n_critic) or simultaneous updates of any policy, with callbacks.

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "gantry/core/check.hpp"
#include "gantry/core/rng.hpp"
#include "gantry/data/sampler.hpp"
#include "gantry/nn/mlp.hpp"
#include "gantry/optim/optimizer.hpp"
#include "gantry/policy.hpp"
#include "gantry/train/batch.hpp"
#include "gantry/train/callbacks.hpp"
#include "gantry/train/divergence_guard.hpp"
#include "gantry/train/evaluation.hpp"
#include "gantry/train/evaluation_parts.hpp"
#include "gantry/train/evaluator.hpp"
#include "gantry/train/schedule.hpp"
#include "gantry/train/step_stats.hpp"

namespace gantry::train {

enum class Schedule {
  alternating,   ///< n_critic critic steps, then one generator step (each step on a fresh batch)
  simultaneous,  ///< both players' gradients at the same point, then both steps (consensus, the Dirac-GAN analysis)
};

inline const char* schedule_name(Schedule s) { return s == Schedule::alternating ? "alternating" : "simultaneous"; }

inline Schedule schedule_from_name(const std::string& name) {
  if (name == "alternating") return Schedule::alternating;
  if (name == "simultaneous") return Schedule::simultaneous;
  throw OptionError(gantry::detail::message("gantry::train::schedule_from_name: unknown schedule '", name,
                                            "' (expected alternating or simultaneous)"));
}

struct TrainerOptions {
  /// The largest batch: BLAS (EIGEN_USE_BLAS) takes matrix dimensions as 32-bit ints, and a batch is a dimension
  /// of every product of a step (up to 3 x batch_size columns with interpolates).
  static constexpr Index max_batch_size = (Index{1} << 31) / 4;

  Index batch_size = 256;
  Index n_critic = 5;                      ///< critic steps per generator step (alternating only; 1 when simultaneous)
  Schedule schedule = Schedule::alternating;
  bool generator_first = false;            ///< alternating: generator step before the critic steps (some reference code)
  std::uint64_t seed = 0;                  ///< seeds the trainer's Rng: batches, noise, interpolation weights
  /// Check every loss and gradient before each optimizer step and the parameters after it; on a non-finite
  /// value, roll back to the state after the last good iteration and throw DivergenceError naming the step
  /// and the quantity (train/divergence_guard.hpp). Costs a copy of both networks and optimizer states per
  /// iteration; the optimizers must expose state() and set_state().
  bool divergence_guard = false;
  /// Schedules over generator iterations (train/schedule.hpp), applied at the start of every iteration with the
  /// trainer's iteration count as their argument, so that a run resumed from a checkpoint continues them exactly.
  /// A regularizer with an `at_iteration(t)` hook (a scheduled instance-noise sigma) is scheduled the same way.
  std::optional<CriticStepsSchedule> critic_steps = std::nullopt;  ///< replaces n_critic (alternating schedule only)
  std::optional<ValueSchedule> critic_learning_rate = std::nullopt;  ///< set into the critic's optimizer
  std::optional<ValueSchedule> generator_learning_rate = std::nullopt;

  void validate() const {
    constexpr const char* owner = "gantry::train::TrainerOptions";
    gantry::detail::require(batch_size >= 1 && batch_size <= max_batch_size, owner, "batch_size", batch_size,
                            gantry::detail::message("in [1, ", max_batch_size, "]"));
    gantry::detail::require(n_critic >= 1, owner, "n_critic", n_critic, ">= 1");
    gantry::detail::require(schedule == Schedule::alternating || n_critic == 1, owner, "n_critic", n_critic,
                            "1 with the simultaneous schedule (both players step once at the same point)");
    if (critic_steps) {
      critic_steps->validate("gantry::train::TrainerOptions.critic_steps");
      gantry::detail::require(schedule == Schedule::alternating, owner, "critic_steps", critic_steps->describe(),
                              "unset with the simultaneous schedule (both players step once at the same point)");
    }
    if (critic_learning_rate) critic_learning_rate->validate("gantry::train::TrainerOptions.critic_learning_rate", 0, true);
    if (generator_learning_rate)
      generator_learning_rate->validate("gantry::train::TrainerOptions.generator_learning_rate", 0, true);
  }

  /// Critic steps of the generator iteration after `t` done ones.
  Index critic_steps_at(Index t) const { return critic_steps ? critic_steps->at(t) : n_critic; }
};

/// Trains `generator` against `critic` under `Policy`. Owns both networks, both optimizers and both samplers
/// (a user reads them through the accessors). Deterministic: the same seed gives bit-identical parameters.
///
/// Per generator iteration (alternating, critic first):
///   repeat n_critic: draw a batch; critic gradient; critic optimizer step; projections (weight clipping)
///   draw a batch; generator gradient; generator optimizer step
template <class Policy, class Scalar, class DataSampler, class NoiseSampler, class CriticOptimizer,
          class GeneratorOptimizer>
class Trainer {
  static_assert(data::check_sampler<DataSampler, Scalar>(), "");
  static_assert(data::check_sampler<NoiseSampler, Scalar>(), "");
  static_assert(optim::check_optimizer<CriticOptimizer>(), "");
  static_assert(optim::check_optimizer<GeneratorOptimizer>(), "");

 public:
  using Mlp = nn::Mlp<Scalar>;
  using Stats = StepStats<Scalar>;
  using scalar_type = Scalar;
  using policy_type = Policy;
  using critic_optimizer_type = CriticOptimizer;
  using generator_optimizer_type = GeneratorOptimizer;

  Trainer(Policy policy, Mlp generator, Mlp critic, DataSampler data, NoiseSampler noise, CriticOptimizer critic_optimizer,
          GeneratorOptimizer generator_optimizer, TrainerOptions options = {})
      : policy_(std::move(policy)),
        generator_(std::move(generator)),
        critic_(std::move(critic)),
        data_(std::move(data)),
        noise_(std::move(noise)),
        critic_optimizer_(std::move(critic_optimizer)),
        generator_optimizer_(std::move(generator_optimizer)),
        options_(options),
        rng_(options.seed) {
    constexpr const char* where = "gantry::train::Trainer";
    check_options(options_);
    policy_.validate();
    if (generator_.output_size() != critic_.input_size())
      throw ShapeError(gantry::detail::message(where, ": generator output size ", generator_.output_size(),
                                               " differs from critic input size ", critic_.input_size()));
    if (critic_.output_size() != 1)
      throw ShapeError(gantry::detail::message(where, ": the critic must have 1 output, it has ", critic_.output_size()));
    if (data_.dimension() != critic_.input_size())
      throw ShapeError(gantry::detail::message(where, ": data sampler dimension ", data_.dimension(),
                                               " differs from critic input size ", critic_.input_size()));
    if (noise_.dimension() != generator_.input_size())
      throw ShapeError(gantry::detail::message(where, ": noise sampler dimension ", noise_.dimension(),
                                               " differs from generator input size ", generator_.input_size()));
  }

  /// Runs `iterations` generator iterations; callbacks may stop earlier. Returns the last iteration's stats.
  /// An error in an iteration (DivergenceError from the guard, DataError from a sampler) propagates at once.
  template <class... Callbacks>
  Stats fit(Index iterations, Callbacks&&... callbacks) {
    if (iterations < 0)
      throw OptionError(gantry::detail::message("gantry::train::Trainer::fit: iterations must be >= 0, given ", iterations));
    const Index target = gantry::detail::checked_sum(iteration_, iterations, "gantry::train::Trainer::fit",
                                                     "the iteration counter after fit (iteration + iterations)");
    const auto start = std::chrono::steady_clock::now();
    target_ = target;
    dispatch_train_begin(*this, callbacks...);
    Stats stats;
    for (Index i = 0; i < iterations; ++i) {
      stats = step();
      stats.total_iterations = target_;
      stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (dispatch_step_end(*this, stats, callbacks...)) break;
    }
    dispatch_train_end(*this, callbacks...);
    return stats;
  }

  /// One generator iteration under the schedule. With the divergence guard on, an exception thrown during the
  /// iteration (a divergence, non-finite data from a sampler) leaves the trainer as it was before it.
  Stats step() {
    if (iteration_ == std::numeric_limits<Index>::max())
      throw OptionError(gantry::detail::message("gantry::train::Trainer::step: iteration ", iteration_,
                                                " is the largest 64-bit count; one more would overflow it"));
    if (!options_.divergence_guard) return unguarded_step();
    guard_.save(generator_, critic_, critic_optimizer_, generator_optimizer_, rng_);
    try {
      return unguarded_step();
    } catch (...) {
      guard_.restore(generator_, critic_, critic_optimizer_, generator_optimizer_, rng_);
      throw;
    }
  }

 private:
  Stats unguarded_step() {
    apply_schedules();
    Stats stats;
    stats.estimates_wasserstein = Policy::objective_type::estimates_wasserstein;
    if (options_.schedule == Schedule::simultaneous) {
      draw_batch(batch_);
      const Values<Scalar> values =
          evaluator_.both_gradients(policy_, generator_, critic_, batch_, critic_gradient_, generator_gradient_);
      const StepPhase phase{StepPhase::simultaneous};
      if (options_.divergence_guard) {
        check_critic_values(values, phase);
        check_value(values.generator_loss, DivergedQuantity::generator_loss, phase);
        check_vector(critic_gradient_, critic_, DivergedQuantity::critic_gradient, phase);
        check_vector(generator_gradient_, generator_, DivergedQuantity::generator_gradient, phase);
      }
      critic_optimizer_.step(critic_.parameters(), critic_gradient_);
      if (options_.divergence_guard)
        check_vector(critic_.parameters(), critic_, DivergedQuantity::critic_parameters, phase);
      project_critic();
      generator_optimizer_.step(generator_.parameters(), generator_gradient_);
      if (options_.divergence_guard)
        check_vector(generator_.parameters(), generator_, DivergedQuantity::generator_parameters, phase);
      stats.take_critic(values);
      stats.generator_loss = values.generator_loss;
    } else {
      if (options_.generator_first) stats.generator_loss = generator_step();
      const Index n_critic = options_.critic_steps_at(iteration_);
      for (Index k = 0; k < n_critic; ++k) stats.take_critic(critic_step(k, n_critic));
      if (!options_.generator_first) stats.generator_loss = generator_step();
    }
    stats.iteration = ++iteration_;
    return stats;
  }

 public:
  /// Draws a batch the way training does (advances the trainer's Rng).
  void draw_batch(Batch<Scalar>& batch) {
    const Index b = options_.batch_size;
    batch.real.resize(critic_.input_size(), b);
    batch.z.resize(generator_.input_size(), b);
    data_.sample(batch.real, rng_);
    gantry::detail::check_finite("gantry::train::Trainer::draw_batch", "a batch from the data sampler", batch.real);
    noise_.sample(batch.z, rng_);
    gantry::detail::check_finite("gantry::train::Trainer::draw_batch", "a batch from the noise sampler", batch.z);
    if constexpr (Policy::has_penalty) {
      batch.eps.resize(b);
      rng_.fill_uniform(batch.eps);
    }
    if constexpr (Policy::has_noise) {
      batch.fake_noise.setZero(critic_.input_size(), b);
      noise_scratch_.resize(critic_.input_size(), b);
      policy_.for_each_regularizer([&](const auto& r) {
        if constexpr (loss::is_noise_v<std::decay_t<decltype(r)>>) {
          r.template sample_noise<Scalar>(noise_scratch_, rng_);
          batch.real += noise_scratch_;
          r.template sample_noise<Scalar>(noise_scratch_, rng_);
          batch.fake_noise += noise_scratch_;
        }
      });
    }
  }

  /// The evaluation API: both players' losses, regularizers and total gradients on `batch`, no update.
  Evaluation<Scalar> evaluate(const Batch<Scalar>& batch) {
    Evaluation<Scalar> result;
    static_cast<Values<Scalar>&>(result) = evaluator_.both_gradients(
        policy_, generator_, critic_, batch, result.critic_gradient, result.generator_gradient);
    return result;
  }

  /// The same evaluation broken into its parts (objective, each penalty, consensus) for both players; opt-in and
  /// allocating, for studies and for inspecting a step (train/evaluation_parts.hpp).
  EvaluationParts<Scalar> evaluate_parts(const Batch<Scalar>& batch) const {
    return train::evaluate_parts(policy_, generator_, critic_, batch);
  }

  // ---- access ----
  Mlp& generator() { return generator_; }
  const Mlp& generator() const { return generator_; }
  Mlp& critic() { return critic_; }
  const Mlp& critic() const { return critic_; }
  Policy& policy() { return policy_; }
  const Policy& policy() const { return policy_; }
  CriticOptimizer& critic_optimizer() { return critic_optimizer_; }
  const CriticOptimizer& critic_optimizer() const { return critic_optimizer_; }
  GeneratorOptimizer& generator_optimizer() { return generator_optimizer_; }
  const GeneratorOptimizer& generator_optimizer() const { return generator_optimizer_; }
  DataSampler& data_sampler() { return data_; }
  const DataSampler& data_sampler() const { return data_; }
  NoiseSampler& noise_sampler() { return noise_; }
  const NoiseSampler& noise_sampler() const { return noise_; }
  const TrainerOptions& options() const { return options_; }
  /// Changes the schedule, n_critic, batch size or the guard between iterations (checkpoints restore them so).
  /// `seed` only records how the run began: the Rng's state is set through rng().
  void set_options(const TrainerOptions& options) {
    check_options(options);
    options_ = options;
  }
  Rng& rng() { return rng_; }
  const Rng& rng() const { return rng_; }
  Index iteration() const { return iteration_; }
  void set_iteration(Index iteration) {
    if (iteration < 0)
      throw OptionError(gantry::detail::message("gantry::train::Trainer::set_iteration: iteration must be >= 0, given ",
                                                iteration));
    iteration_ = iteration;
  }
  Index target_iterations() const { return target_; }

  /// Samples from the generator: (data dimension x n).
  Matrix<Scalar> generate(Index n) {
    if (n < 1)
      throw OptionError(gantry::detail::message("gantry::train::Trainer::generate: n must be >= 1, given ", n));
    Matrix<Scalar> z(generator_.input_size(), n);
    noise_.sample(z, rng_);
    return generator_(z);
  }

 private:
  Values<Scalar> critic_step(Index k, Index n_critic) {
    draw_batch(batch_);
    const Values<Scalar> values = evaluator_.critic_gradient(policy_, generator_, critic_, batch_, critic_gradient_);
    const StepPhase phase{StepPhase::critic, k, n_critic};
    if (options_.divergence_guard) {
      check_critic_values(values, phase);
      check_vector(critic_gradient_, critic_, DivergedQuantity::critic_gradient, phase);
    }
    critic_optimizer_.step(critic_.parameters(), critic_gradient_);
    if (options_.divergence_guard)
      check_vector(critic_.parameters(), critic_, DivergedQuantity::critic_parameters, phase);
    project_critic();
    return values;
  }

  Scalar generator_step() {
    draw_batch(batch_);
    const Values<Scalar> values =
        evaluator_.generator_gradient(policy_, generator_, critic_, batch_, generator_gradient_);
    const StepPhase phase{StepPhase::generator};
    if (options_.divergence_guard) {
      check_value(values.generator_loss, DivergedQuantity::generator_loss, phase);
      check_value(values.consensus, DivergedQuantity::consensus, phase);
      check_vector(generator_gradient_, generator_, DivergedQuantity::generator_gradient, phase);
    }
    generator_optimizer_.step(generator_.parameters(), generator_gradient_);
    if (options_.divergence_guard)
      check_vector(generator_.parameters(), generator_, DivergedQuantity::generator_parameters, phase);
    return values.generator_loss;
  }

  // The guard's checks; `iteration_ + 1` is the iteration under way.
  using Guard = DivergenceGuard<Scalar, CriticOptimizer, GeneratorOptimizer>;
  void check_value(Scalar value, DivergedQuantity quantity, const StepPhase& phase) const {
    Guard::check_value(value, quantity, iteration_ + 1, phase);
  }
  void check_vector(const Vector<Scalar>& flat, const Mlp& network, DivergedQuantity quantity,
                    const StepPhase& phase) const {
    Guard::check_vector(flat, network, quantity, iteration_ + 1, phase);
  }
  void check_critic_values(const Values<Scalar>& values, const StepPhase& phase) const {
    check_value(values.critic_loss, DivergedQuantity::critic_loss, phase);
    check_value(values.penalty, DivergedQuantity::penalty, phase);
    check_value(values.consensus, DivergedQuantity::consensus, phase);
  }

  static void check_options(const TrainerOptions& options) {
    options.validate();
    if (options.divergence_guard && !Guard::supported)
      throw OptionError(
          "gantry::train::TrainerOptions.divergence_guard needs optimizers with `State`, `state()` and "
          "`set_state(State)` (to roll them back), and an optimizer of this trainer has none");
  }

  /// The schedules' values for the iteration after `iteration_` done ones (TrainerOptions, regularizer hooks).
  void apply_schedules() {
    if (options_.critic_learning_rate)
      critic_optimizer_.set_learning_rate(options_.critic_learning_rate->at(iteration_));
    if (options_.generator_learning_rate)
      generator_optimizer_.set_learning_rate(options_.generator_learning_rate->at(iteration_));
    std::apply(
        [&](auto&... r) {
          (([&] {
             if constexpr (loss::has_iteration_hook_v<std::decay_t<decltype(r)>>) r.at_iteration(iteration_);
           }()),
           ...);
        },
        policy_.regularizers);
  }

  void project_critic() { policy_.project_critic(critic_); }

  Policy policy_;
  Mlp generator_;
  Mlp critic_;
  DataSampler data_;
  NoiseSampler noise_;
  CriticOptimizer critic_optimizer_;
  GeneratorOptimizer generator_optimizer_;
  TrainerOptions options_;
  Rng rng_;
  Index iteration_ = 0;
  Index target_ = 0;
  Evaluator<Policy, Scalar> evaluator_;
  Batch<Scalar> batch_;
  Matrix<Scalar> noise_scratch_;
  Vector<Scalar> critic_gradient_, generator_gradient_;
  Guard guard_;
};

/// Deduces every template argument: `auto trainer = make_trainer(WganGp{}, generator, critic, ...);`
template <class Policy, class Scalar, class DataSampler, class NoiseSampler, class CriticOptimizer,
          class GeneratorOptimizer>
auto make_trainer(Policy policy, nn::Mlp<Scalar> generator, nn::Mlp<Scalar> critic, DataSampler data, NoiseSampler noise,
                  CriticOptimizer critic_optimizer, GeneratorOptimizer generator_optimizer, TrainerOptions options = {}) {
  return Trainer<Policy, Scalar, DataSampler, NoiseSampler, CriticOptimizer, GeneratorOptimizer>(
      std::move(policy), std::move(generator), std::move(critic), std::move(data), std::move(noise),
      std::move(critic_optimizer), std::move(generator_optimizer), options);
}

}  // namespace gantry::train
