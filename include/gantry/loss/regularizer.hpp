// SPDX-License-Identifier: MIT
#pragma once
/// What a regularizer is: any subset of four hooks the trainer calls, detected at compile time.

#include <string>
#include <type_traits>

#include "gantry/core/rng.hpp"
#include "gantry/core/settings.hpp"
#include "gantry/core/types.hpp"
#include "gantry/nn/mlp.hpp"

namespace gantry::loss {

/// Where a gradient-norm penalty evaluates grad_x D.
enum class PenaltyPoints {
  interpolates,   ///< x_hat = eps x_real + (1 - eps) x_fake, one eps ~ U[0, 1] per sample (Gulrajani et al. 2017)
  real,           ///< R1 (Mescheder et al. 2018)
  fake,           ///< R2
  real_and_fake,  ///< R1 and R2 together
};

/// The names a checkpoint records for PenaltyPoints.
inline constexpr NameTable<PenaltyPoints, 4> penalty_points_names{{{"interpolates", PenaltyPoints::interpolates},
                                                                   {"real", PenaltyPoints::real},
                                                                   {"fake", PenaltyPoints::fake},
                                                                   {"real_and_fake", PenaltyPoints::real_and_fake}}};

inline const char* penalty_points_name(PenaltyPoints p) {
  const char* name = name_in(penalty_points_names, p);
  return name != nullptr ? name : "?";
}

/// A regularizer implements `name()` and at least one of these hooks (write only those you need; the hooks
/// that take matrices are templates over the scalar type, called as `r.template penalty<Scalar>(g, seed)`):
///
///   struct MyRegularizer {
///     std::string name() const;
///
///     // 1. A penalty on the critic's input gradients g (inputs x n) at `points()`: return its value and
///     //    write dP/dg into `seed`. The trainer makes the critic's parameter gradient of it exact.
///     PenaltyPoints points() const;
///     template <class S> S penalty(const Eigen::Ref<const Matrix<S>>& g, Eigen::Ref<Matrix<S>> seed) const;
///
///     // 2. A projection of the critic after each of its optimizer steps (weight clipping).
///     template <class S> void project_critic(nn::Mlp<S>& critic) const;
///
///     // 3. Additive noise on every sample the critic sees, real and fake (instance noise): fill `noise`.
///     template <class S> void sample_noise(Eigen::Ref<Matrix<S>> noise, Rng& rng) const;
///
///     // 4. Consensus: each player adds weight * 1/2 |v|^2 to its loss, v = (grad_D L_D, grad_G L_G).
///     double consensus_weight() const;
///
///     // Optional, beside any of the four: called by the trainer at the start of every generator iteration with
///     // t = the iterations done, to set scheduled settings (a scheduled instance-noise sigma). A regularizer that
///     // depends on t through this alone resumes from a checkpoint exactly.
///     void at_iteration(Index t);
///
///     // For checkpoints (gantry/core/settings.hpp): the key a file records (default: name(), which may depend
///     // on the settings) and the settings, restored from the file or matched against it. Nothing is needed
///     // without data members; with data members and no settings(), saving or loading fails to compile.
///     static constexpr const char* type_name = "my_regularizer";
///     template <class Self, class Fields> static void settings(Self& self, Fields& fields);
///
///     // For the Dirac-GAN analysis (gantry/metrics/dirac.hpp), beside hook 1: d^2 phi / dg^2 at a scalar input
///     // gradient g, throwing where phi has a kink (optional); beside hook 3: the noise's standard deviation
///     // (required there).
///     template <class S> S penalty_curvature(S g) const;
///     double noise_stddev() const;
///   };
namespace detail {
template <class R, class = void>
struct is_penalty : std::false_type {};
template <class R>
struct is_penalty<R, std::void_t<decltype(std::declval<const R&>().points()),
                                 decltype(std::declval<const R&>().template penalty<double>(std::declval<const Matrix<double>&>(),
                                                                           std::declval<Matrix<double>&>()))>>
    : std::true_type {};
template <class R, class = void>
struct is_projection : std::false_type {};
template <class R>
struct is_projection<R, std::void_t<decltype(std::declval<const R&>().project_critic(std::declval<nn::Mlp<double>&>()))>>
    : std::true_type {};
template <class R, class = void>
struct is_noise : std::false_type {};
template <class R>
struct is_noise<R, std::void_t<decltype(std::declval<const R&>().template sample_noise<double>(std::declval<Matrix<double>&>(),
                                                                                std::declval<Rng&>()))>>
    : std::true_type {};
template <class R, class = void>
struct is_consensus : std::false_type {};
template <class R>
struct is_consensus<R, std::void_t<decltype(double(std::declval<const R&>().consensus_weight()))>> : std::true_type {};
template <class R, class = void>
struct has_iteration_hook : std::false_type {};
template <class R>
struct has_iteration_hook<R, std::void_t<decltype(std::declval<R&>().at_iteration(Index{}))>> : std::true_type {};
template <class R, class = void>
struct has_regularizer_name : std::false_type {};
template <class R>
struct has_regularizer_name<R, std::void_t<decltype(std::string(std::declval<const R&>().name()))>> : std::true_type {};
}  // namespace detail

template <class R>
inline constexpr bool is_penalty_v = detail::is_penalty<R>::value;
template <class R>
inline constexpr bool is_projection_v = detail::is_projection<R>::value;
template <class R>
inline constexpr bool is_noise_v = detail::is_noise<R>::value;
template <class R>
inline constexpr bool is_consensus_v = detail::is_consensus<R>::value;
template <class R>
inline constexpr bool has_iteration_hook_v = detail::has_iteration_hook<R>::value;

template <class R>
constexpr bool check_regularizer() {
  static_assert(detail::has_regularizer_name<R>::value, "gantry regularizer: missing member `std::string name() const`");
  static_assert(is_penalty_v<R> || is_projection_v<R> || is_noise_v<R> || is_consensus_v<R>,
                "gantry regularizer: implements none of the hooks `points()` + `penalty(g, seed)`, "
                "`project_critic(critic)`, `sample_noise(noise, rng)`, `consensus_weight()`");
  return true;
}

}  // namespace gantry::loss
