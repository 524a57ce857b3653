// SPDX-License-Identifier: MIT
#pragma once
/// The sampler interface (data and latent noise), its compile-time check, and the two standard noise samplers.

#include <Eigen/Core>
#include <type_traits>
#include <utility>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/rng.hpp"
#include "gantry/core/types.hpp"

namespace gantry::data {

// A sampler is anything with these two members; the trainer draws real data and latent noise through it.
//
//   template <class ScalarT>
//   class MySampler {
//    public:
//     using Scalar = ScalarT;  // optional: lets check_sampler<MySampler>() and the metrics know the scalar
//
//     /// Rows of one sample (the sample is a column).
//     Index dimension() const;
//
//     /// Fills every column of `out` (dimension() x batch) with an independent sample, in place.
//     /// Called every training step: it must not allocate, and must draw its randomness from `rng`
//     /// only, so that a seed (and a checkpointed Rng::State) reproduces a run.
//     void sample(Eigen::Ref<Matrix<Scalar>> out, gantry::Rng& rng);
//   };
//
// `out` is a Ref so that the trainer can hand over a block of a larger batch (e.g. the real half of a
// concatenated critic input) without a copy. Check a type with `check_sampler<MySampler>()`.

namespace detail {

template <class T, class = void>
struct has_dimension : std::false_type {};
template <class T>
struct has_dimension<T, std::void_t<decltype(std::declval<const T&>().dimension())>>
    : std::is_convertible<decltype(std::declval<const T&>().dimension()), Index> {};

template <class T, class Scalar, class = void>
struct has_sample : std::false_type {};
template <class T, class Scalar>
struct has_sample<
    T, Scalar,
    std::void_t<decltype(std::declval<T&>().sample(std::declval<Eigen::Ref<Matrix<Scalar>>&>(), std::declval<Rng&>()))>>
    : std::true_type {};

// A sampler need not declare its Scalar: then it is whichever of double and float its sample() accepts.
template <class T, class = void>
struct sampler_scalar {
  using type = std::conditional_t<!has_sample<T, double>::value && has_sample<T, float>::value, float, double>;
};
template <class T>
struct sampler_scalar<T, std::void_t<typename T::Scalar>> {
  using type = typename T::Scalar;
};

}  // namespace detail

/// The scalar a sampler produces: its `Scalar` member type if it has one, else deduced from sample().
template <class T>
using sampler_scalar_t = typename detail::sampler_scalar<T>::type;

/// True when T has `Index dimension() const` and `sample(Eigen::Ref<Matrix<Scalar>>, Rng&)`.
template <class T, class Scalar = sampler_scalar_t<T>>
inline constexpr bool is_sampler_v = (detail::has_dimension<T>::value && detail::has_sample<T, Scalar>::value);

/// Fails to compile, naming the missing member, when T is not a sampler of Scalar; call it where a
/// sampler type enters (the trainer, the metrics) so the error points at the interface, not at a use deep inside.
template <class T, class Scalar = sampler_scalar_t<T>>
constexpr bool check_sampler() {
  static_assert(detail::has_dimension<T>::value,
                "gantry sampler: missing member `Index dimension() const` "
                "(see the skeleton in gantry/data/sampler.hpp)");
  static_assert(detail::has_sample<T, Scalar>::value,
                "gantry sampler: missing member `void sample(Eigen::Ref<gantry::Matrix<Scalar>> out, gantry::Rng& rng)`"
                " for this Scalar (see the skeleton in gantry/data/sampler.hpp)");
  return true;
}

/// Latent noise z ~ N(0, I): the usual GAN prior (Goodfellow et al. 2014; Gulrajani et al. 2017 use it too).
template <class ScalarT>
class GaussianNoise {
 public:
  using Scalar = ScalarT;

  explicit GaussianNoise(Index dimension) : dimension_(dimension) {
    gantry::detail::require(dimension >= 1, "gantry::data::GaussianNoise", "dimension", dimension, ">= 1");
  }

  Index dimension() const { return dimension_; }

  void sample(Eigen::Ref<Matrix<Scalar>> out, Rng& rng) const {
    gantry::detail::check_shape("gantry::data::GaussianNoise::sample", "out", out, dimension_, -1);
    rng.fill_normal(out);
  }

 private:
  Index dimension_;
};

/// Latent noise z ~ U[low, high)^dimension, e.g. the [-1, 1] prior of DCGAN (Radford et al. 2016).
template <class ScalarT>
class UniformNoise {
 public:
  using Scalar = ScalarT;

  UniformNoise(Index dimension, double low = -1.0, double high = 1.0) : dimension_(dimension), low_(low), high_(high) {
    gantry::detail::require(dimension >= 1, "gantry::data::UniformNoise", "dimension", dimension, ">= 1");
    gantry::detail::require(gantry::detail::finite(low), "gantry::data::UniformNoise", "low", low, "finite");
    gantry::detail::require(gantry::detail::finite(high) && high > low, "gantry::data::UniformNoise", "high", high,
                            gantry::detail::message("finite and > low (", low, ")"));
  }

  Index dimension() const { return dimension_; }
  double low() const { return low_; }
  double high() const { return high_; }

  void sample(Eigen::Ref<Matrix<Scalar>> out, Rng& rng) const {
    gantry::detail::check_shape("gantry::data::UniformNoise::sample", "out", out, dimension_, -1);
    rng.fill_uniform(out, low_, high_);
  }

 private:
  Index dimension_;
  double low_;
  double high_;
};

}  // namespace gantry::data
