// SPDX-License-Identifier: MIT
#pragma once
/// Catching divergence: a non-finite loss, gradient or parameter stops training and rolls it back to the last finite state.

#include <cmath>
#include <string>
#include <type_traits>
#include <utility>

#include <Eigen/Core>

#include "gantry/core/error.hpp"
#include "gantry/core/rng.hpp"
#include "gantry/core/types.hpp"
#include "gantry/nn/mlp.hpp"

namespace gantry::train {

/// The number that was found non-finite.
enum class DivergedQuantity {
  critic_loss,
  generator_loss,
  penalty,
  consensus,
  critic_gradient,
  generator_gradient,
  critic_parameters,
  generator_parameters,
};

inline const char* diverged_quantity_name(DivergedQuantity quantity) {
  switch (quantity) {
    case DivergedQuantity::critic_loss: return "critic loss";
    case DivergedQuantity::generator_loss: return "generator loss";
    case DivergedQuantity::penalty: return "gradient penalty";
    case DivergedQuantity::consensus: return "consensus term";
    case DivergedQuantity::critic_gradient: return "critic gradient";
    case DivergedQuantity::generator_gradient: return "generator gradient";
    case DivergedQuantity::critic_parameters: return "critic parameters";
    case DivergedQuantity::generator_parameters: return "generator parameters";
  }
  return "?";
}

/// Where inside a generator iteration a check ran: "critic step 2 of 5", "generator step", "simultaneous step".
struct StepPhase {
  enum Kind { critic, generator, simultaneous } kind = critic;
  Index index = 0;  ///< 0-based critic step (critic phase only)
  Index count = 1;  ///< critic steps per iteration (critic phase only)

  std::string describe() const {
    switch (kind) {
      case critic: return gantry::detail::message("critic step ", index + 1, " of ", count);
      case generator: return "generator step";
      case simultaneous: return "simultaneous step";
    }
    return "?";
  }
};

namespace detail {
template <class T, class = void>
struct has_optimizer_state : std::false_type {};
template <class T>
struct has_optimizer_state<T, std::void_t<typename T::State, decltype(std::declval<const T&>().state()),
                                          decltype(std::declval<T&>().set_state(std::declval<typename T::State>()))>>
    : std::true_type {};

struct NoOptimizerState {};
template <class T, bool = has_optimizer_state<T>::value>
struct optimizer_state {
  using type = NoOptimizerState;
};
template <class T>
struct optimizer_state<T, true> {
  using type = typename T::State;
};
}  // namespace detail

/// True when an optimizer exposes `State`, `state()` and `set_state(State)`, which rolling it back needs.
template <class Optimizer>
inline constexpr bool has_optimizer_state_v = detail::has_optimizer_state<Optimizer>::value;

/// What the trainer uses when TrainerOptions::divergence_guard is on. Before each generator iteration it copies
/// everything the iteration changes (both networks' parameters, both optimizers' states, the trainer's Rng);
/// the trainer checks every loss and gradient before an optimizer step and the parameters right after it
/// (before any projection: clipping a NaN to [-c, c] would hide it), and on failure puts the copy back.
/// A diverged run therefore stops at the state after its last good iteration, consistent as a whole: it can
/// be saved, inspected, or resumed with a lower learning rate.
///
/// The copies are sized on first use and reused: in steady state `save` performs no heap allocation
/// (restoring may allocate; it happens once, on the way out).
template <class Scalar, class CriticOptimizer, class GeneratorOptimizer>
class DivergenceGuard {
 public:
  static constexpr bool supported =
      has_optimizer_state_v<CriticOptimizer> && has_optimizer_state_v<GeneratorOptimizer>;

  void save(const nn::Mlp<Scalar>& generator, const nn::Mlp<Scalar>& critic, const CriticOptimizer& critic_optimizer,
            const GeneratorOptimizer& generator_optimizer, const Rng& rng) {
    if constexpr (supported) {
      generator_parameters_ = generator.parameters();
      critic_parameters_ = critic.parameters();
      critic_state_ = critic_optimizer.state();
      generator_state_ = generator_optimizer.state();
      rng_state_ = rng.state();
      saved_ = true;
    }
  }

  /// Puts back what `save` copied; a no-op before the first save.
  void restore(nn::Mlp<Scalar>& generator, nn::Mlp<Scalar>& critic, CriticOptimizer& critic_optimizer,
               GeneratorOptimizer& generator_optimizer, Rng& rng) const {
    if constexpr (supported) {
      if (!saved_) return;
      generator.parameters() = generator_parameters_;
      critic.parameters() = critic_parameters_;
      critic_optimizer.set_state(critic_state_);
      generator_optimizer.set_state(generator_state_);
      rng.set_state(rng_state_);
    }
  }

  /// Throws DivergenceError unless `value` is finite.
  static void check_value(Scalar value, DivergedQuantity quantity, Index iteration, const StepPhase& phase) {
    if (!std::isfinite(static_cast<double>(value)))
      fail(iteration, phase, gantry::detail::message("the ", diverged_quantity_name(quantity), " is ", value));
  }

  /// Throws DivergenceError naming the first non-finite entry of `flat` and the layer of `network` it belongs to.
  static void check_vector(const Vector<Scalar>& flat, const nn::Mlp<Scalar>& network, DivergedQuantity quantity,
                           Index iteration, const StepPhase& phase) {
    if (flat.allFinite()) return;  // the common case: one vectorised pass, nothing else
    for (Index i = 0; i < flat.size(); ++i) {
      if (std::isfinite(static_cast<double>(flat[i]))) continue;
      fail(iteration, phase,
           gantry::detail::message("non-finite value ", flat[i], " in the ", diverged_quantity_name(quantity),
                                   " at entry ", i, " (", locate(network, i), ")"));
    }
  }

 private:
  [[noreturn]] static void fail(Index iteration, const StepPhase& phase, const std::string& what) {
    throw DivergenceError(gantry::detail::message(
        "gantry::train::Trainer::step: training diverged at iteration ", iteration, ", ", phase.describe(), ": ", what,
        "; the networks, optimizers and random generator are back at their state after iteration ", iteration - 1));
  }

  // "layer 1 weight (3, 0)" for a flat index into a network's parameter layout (see nn/dense.hpp).
  static std::string locate(const nn::Mlp<Scalar>& network, Index flat_index) {
    for (Index l = 0; l < network.layer_count(); ++l) {
      const nn::DenseLayer& layer = network.layer(l);
      const Index in_weight = flat_index - layer.weight_offset;
      if (in_weight >= 0 && in_weight < layer.inputs * layer.outputs)
        return gantry::detail::message("layer ", l, " weight (", in_weight % layer.outputs, ", ",
                                       in_weight / layer.outputs, ")");
      const Index in_bias = flat_index - layer.bias_offset;
      if (layer.has_bias && in_bias >= 0 && in_bias < layer.outputs)
        return gantry::detail::message("layer ", l, " bias (", in_bias, ")");
    }
    return "outside the network's layout";
  }

  Vector<Scalar> generator_parameters_, critic_parameters_;
  typename detail::optimizer_state<CriticOptimizer>::type critic_state_{};
  typename detail::optimizer_state<GeneratorOptimizer>::type generator_state_{};
  Rng::State rng_state_{};
  bool saved_ = false;
};

}  // namespace gantry::train
