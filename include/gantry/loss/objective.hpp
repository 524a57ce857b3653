// SPDX-License-Identifier: MIT
#pragma once
/// GAN objectives on critic logits: minimax, non-saturating, Wasserstein, each in numerically stable form.

#include <string>
#include <type_traits>

#include "gantry/nn/activation.hpp"

namespace gantry::loss {

/// A per-sample loss term with its first and second derivative w.r.t. the critic's output a.
template <class Scalar>
struct Term {
  Scalar value;
  Scalar first;
  Scalar second;
};

/// Conventions (both players MINIMIZE; the mean runs over the batch):
///   critic loss     L_D = mean_real critic_real(D(x)) + mean_fake critic_fake(D(G(z)))
///   generator loss  L_G = mean_fake generator_fake(D(G(z)))
/// The second derivatives serve consensus optimization, whose gradient is a Hessian-vector product.
///
/// Writing your own objective: a type with these members (each a template over the scalar type).
///
///   struct MyObjective {
///     std::string name() const;
///     template <class S> loss::Term<S> critic_real(S a) const;     // cost to the critic of logit a on real data
///     template <class S> loss::Term<S> critic_fake(S a) const;     // ... on generated data
///     template <class S> loss::Term<S> generator_fake(S a) const;  // cost to the generator of logit a on its samples
///     static constexpr bool estimates_wasserstein = false;         // true if E D(real) - E D(fake) estimates W1
///   };
namespace detail {
template <class S>
Term<S> softplus_term(S a) {  // softplus(a) = log(1 + e^a), never as log(sigmoid)
  const S s = gantry::detail::stable_sigmoid(a);
  return {gantry::detail::stable_softplus(a), s, s * gantry::detail::stable_sigmoid(-a)};
}
template <class S>
Term<S> negate(Term<S> t) {
  return {-t.value, -t.first, -t.second};
}
template <class S>
Term<S> reflect(Term<S> t) {  // f(-a)
  return {t.value, -t.first, t.second};
}
}  // namespace detail

/// The original saturating game (Goodfellow et al. 2014): critic -E log sigmoid(D(x)) - E log(1 - sigmoid(D(G(z)))),
/// generator E log(1 - sigmoid(D(G(z)))) = -E softplus(D(G(z))).
struct Minimax {
  std::string name() const { return "minimax"; }
  template <class S>
  Term<S> critic_real(S a) const {
    return detail::reflect(detail::softplus_term(-a));
  }
  template <class S>
  Term<S> critic_fake(S a) const {
    return detail::softplus_term(a);
  }
  template <class S>
  Term<S> generator_fake(S a) const {
    return detail::negate(detail::softplus_term(a));
  }
  static constexpr bool estimates_wasserstein = false;
};

/// The non-saturating generator of the same paper: -E log sigmoid(D(G(z))) = E softplus(-D(G(z))).
struct NonSaturating {
  std::string name() const { return "non_saturating"; }
  template <class S>
  Term<S> critic_real(S a) const {
    return detail::reflect(detail::softplus_term(-a));
  }
  template <class S>
  Term<S> critic_fake(S a) const {
    return detail::softplus_term(a);
  }
  template <class S>
  Term<S> generator_fake(S a) const {
    return detail::reflect(detail::softplus_term(-a));
  }
  static constexpr bool estimates_wasserstein = false;
};

/// Wasserstein GAN (Arjovsky et al. 2017): critic E D(fake) - E D(real), generator -E D(fake).
struct Wasserstein {
  std::string name() const { return "wasserstein"; }
  template <class S>
  Term<S> critic_real(S a) const {
    return {-a, S(-1), S(0)};
  }
  template <class S>
  Term<S> critic_fake(S a) const {
    return {a, S(1), S(0)};
  }
  template <class S>
  Term<S> generator_fake(S a) const {
    return {-a, S(-1), S(0)};
  }
  static constexpr bool estimates_wasserstein = true;
};

namespace detail {
template <class T, class = void>
struct has_name : std::false_type {};
template <class T>
struct has_name<T, std::void_t<decltype(std::string(std::declval<const T&>().name()))>> : std::true_type {};
template <class T, class = void>
struct has_critic_real : std::false_type {};
template <class T>
struct has_critic_real<T, std::void_t<decltype(std::declval<const T&>().critic_real(0.0).second)>> : std::true_type {};
template <class T, class = void>
struct has_critic_fake : std::false_type {};
template <class T>
struct has_critic_fake<T, std::void_t<decltype(std::declval<const T&>().critic_fake(0.0).second)>> : std::true_type {};
template <class T, class = void>
struct has_generator_fake : std::false_type {};
template <class T>
struct has_generator_fake<T, std::void_t<decltype(std::declval<const T&>().generator_fake(0.0).second)>>
    : std::true_type {};
template <class T, class = void>
struct has_estimates_wasserstein : std::false_type {};
template <class T>
struct has_estimates_wasserstein<T, std::void_t<decltype(bool(T::estimates_wasserstein))>> : std::true_type {};
}  // namespace detail

/// One static_assert per required member, each naming it.
template <class Objective>
constexpr bool check_objective() {
  static_assert(detail::has_name<Objective>::value, "gantry objective: missing member `std::string name() const`");
  static_assert(detail::has_critic_real<Objective>::value,
                "gantry objective: missing member `template <class S> loss::Term<S> critic_real(S logit) const`");
  static_assert(detail::has_critic_fake<Objective>::value,
                "gantry objective: missing member `template <class S> loss::Term<S> critic_fake(S logit) const`");
  static_assert(detail::has_generator_fake<Objective>::value,
                "gantry objective: missing member `template <class S> loss::Term<S> generator_fake(S logit) const`");
  static_assert(detail::has_estimates_wasserstein<Objective>::value,
                "gantry objective: missing member `static constexpr bool estimates_wasserstein`");
  return true;
}

}  // namespace gantry::loss
