// SPDX-License-Identifier: MIT
#pragma once
/// A policy is an objective plus any regularizers; the six named presets of the GAN literature are aliases.

#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "gantry/loss/consensus.hpp"
#include "gantry/loss/gradient_penalty.hpp"
#include "gantry/loss/instance_noise.hpp"
#include "gantry/loss/objective.hpp"
#include "gantry/loss/regularizer.hpp"
#include "gantry/loss/weight_clipping.hpp"
#include "gantry/nn/mlp.hpp"

namespace gantry {

namespace detail {
template <class T, class = void>
struct has_validate : std::false_type {};
template <class T>
struct has_validate<T, std::void_t<decltype(std::declval<const T&>().validate())>> : std::true_type {};
}  // namespace detail

/// Any objective with any regularizers: `Policy<loss::NonSaturating, loss::ZeroCenteredPenalty, loss::Consensus>`.
/// The trainer never names a policy: it asks which hooks the regularizers implement (loss/regularizer.hpp).
template <class Objective, class... Regularizers>
struct Policy {
  static_assert(loss::check_objective<Objective>());
  static_assert((loss::check_regularizer<Regularizers>() && ...));

  using objective_type = Objective;

  Objective objective{};
  std::tuple<Regularizers...> regularizers{};

  Policy() = default;
  explicit Policy(Objective o, Regularizers... r) : objective(std::move(o)), regularizers(std::move(r)...) {}

  /// Validates every part that has options; throws OptionError naming the field.
  void validate() const {
    if constexpr (detail::has_validate<Objective>::value) objective.validate();
    std::apply(
        [](const auto&... r) {
          (([&] {
             if constexpr (detail::has_validate<std::decay_t<decltype(r)>>::value) r.validate();
           }()),
           ...);
        },
        regularizers);
  }

  /// "wasserstein+gradient_penalty", for logs and checkpoints.
  std::string name() const {
    std::string n = objective.name();
    std::apply([&](const auto&... r) { ((n += "+" + r.name()), ...); }, regularizers);
    return n;
  }

  /// Calls f(r) for every regularizer, in order.
  template <class F>
  void for_each_regularizer(F&& f) const {
    std::apply([&](const auto&... r) { (f(r), ...); }, regularizers);
  }

  /// Applies every projection regularizer (weight clipping) to the critic, in order: what the trainer does after
  /// each critic optimizer step, for a loop of your own. A no-op for a policy without one.
  template <class Scalar>
  void project_critic(nn::Mlp<Scalar>& critic) const {
    for_each_regularizer([&](const auto& r) {
      if constexpr (loss::is_projection_v<std::decay_t<decltype(r)>>) r.project_critic(critic);
    });
  }

  template <class R>
  R& regularizer() {
    return std::get<R>(regularizers);
  }
  template <class R>
  const R& regularizer() const {
    return std::get<R>(regularizers);
  }

  static constexpr bool has_penalty = (loss::is_penalty_v<Regularizers> || ...);
  static constexpr bool has_projection = (loss::is_projection_v<Regularizers> || ...);
  static constexpr bool has_noise = (loss::is_noise_v<Regularizers> || ...);
  static constexpr bool has_consensus = (loss::is_consensus_v<Regularizers> || ...);
};

/// The original minimax GAN (Goodfellow et al. 2014).
using Vanilla = Policy<loss::Minimax>;
/// The non-saturating GAN (same paper, section 3).
using NonSaturating = Policy<loss::NonSaturating>;
/// WGAN with weight clipping (Arjovsky et al. 2017); default clip 0.01.
using WganClip = Policy<loss::Wasserstein, loss::WeightClipping>;
/// WGAN-GP (Gulrajani et al. 2017); default lambda 10 at interpolates.
using WganGp = Policy<loss::Wasserstein, loss::GradientPenalty>;
/// Non-saturating GAN with the zero-centred R1 penalty (Mescheder et al. 2018); default gamma 10 at real data.
using ZeroCenteredGp = Policy<loss::NonSaturating, loss::ZeroCenteredPenalty>;
/// Non-saturating GAN with consensus optimization (Mescheder et al. 2017); default gamma 10.
using Consensus = Policy<loss::NonSaturating, loss::Consensus>;

}  // namespace gantry
