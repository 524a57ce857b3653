// SPDX-License-Identifier: MIT
#pragma once
/// Forward-mode dual numbers a + b eps (eps^2 = 0): run any of gantry's passes on them for an exact directional
/// derivative of what that pass computes.

#include <cmath>
#include <limits>
#include <type_traits>

#include <Eigen/Core>

namespace gantry {

/// value + tangent * eps. Every pass of nn::Mlp, every objective term and penalty hook is a template over its
/// scalar, so run on Dual<S> with tangents on the inputs or parameters they return, in `tangent`, the exact
/// derivative of their result along those tangents: a nested tangent of any pass, including the reverse of the
/// tangent pass that makes a gradient penalty's gradient (metrics/game_jacobian.hpp needs exactly that).
/// Comparisons look at the value only, as a branch of a piecewise function does.
template <class S>
struct Dual {
  static_assert(std::is_floating_point_v<S>, "gantry::Dual: the scalar must be a floating-point type");
  S value = 0;
  S tangent = 0;

  constexpr Dual() = default;
  template <class T, std::enable_if_t<std::is_arithmetic_v<T>, int> = 0>
  constexpr Dual(T v) : value(static_cast<S>(v)) {}  // NOLINT: a constant, implicitly (as Eigen's Scalar(0) needs)
  constexpr Dual(S v, S t) : value(v), tangent(t) {}
  explicit constexpr operator S() const { return value; }
  template <class T, std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, S>, int> = 0>
  explicit constexpr operator T() const {
    return static_cast<T>(value);
  }

  // Hidden friends: found by argument-dependent lookup only, and a constant on either side converts implicitly.
  friend constexpr Dual operator+(const Dual& a, const Dual& b) { return {a.value + b.value, a.tangent + b.tangent}; }
  friend constexpr Dual operator-(const Dual& a, const Dual& b) { return {a.value - b.value, a.tangent - b.tangent}; }
  friend constexpr Dual operator*(const Dual& a, const Dual& b) {
    return {a.value * b.value, a.tangent * b.value + a.value * b.tangent};
  }
  friend constexpr Dual operator/(const Dual& a, const Dual& b) {
    const S q = a.value / b.value;
    return {q, (a.tangent - q * b.tangent) / b.value};
  }
  friend constexpr Dual operator-(const Dual& a) { return {-a.value, -a.tangent}; }
  friend constexpr Dual operator+(const Dual& a) { return a; }
  Dual& operator+=(const Dual& b) { return *this = *this + b; }
  Dual& operator-=(const Dual& b) { return *this = *this - b; }
  Dual& operator*=(const Dual& b) { return *this = *this * b; }
  Dual& operator/=(const Dual& b) { return *this = *this / b; }

  friend constexpr bool operator==(const Dual& a, const Dual& b) { return a.value == b.value; }
  friend constexpr bool operator!=(const Dual& a, const Dual& b) { return a.value != b.value; }
  friend constexpr bool operator<(const Dual& a, const Dual& b) { return a.value < b.value; }
  friend constexpr bool operator>(const Dual& a, const Dual& b) { return a.value > b.value; }
  friend constexpr bool operator<=(const Dual& a, const Dual& b) { return a.value <= b.value; }
  friend constexpr bool operator>=(const Dual& a, const Dual& b) { return a.value >= b.value; }

  // The functions gantry's code calls on a scalar (as `using std::exp; exp(x)`), each with its derivative.
  friend Dual exp(const Dual& a) {
    const S e = std::exp(a.value);
    return {e, e * a.tangent};
  }
  friend Dual expm1(const Dual& a) { return {std::expm1(a.value), std::exp(a.value) * a.tangent}; }
  friend Dual log(const Dual& a) { return {std::log(a.value), a.tangent / a.value}; }
  friend Dual log1p(const Dual& a) { return {std::log1p(a.value), a.tangent / (S(1) + a.value)}; }
  friend Dual tanh(const Dual& a) {
    const S t = std::tanh(a.value);
    return {t, (S(1) - t * t) * a.tangent};
  }
  friend Dual abs(const Dual& a) { return a.value < S(0) ? -a : a; }
  /// At 0 the derivative is infinite; a zero tangent there stays 0 (a norm of a zero vector that does not move).
  friend Dual sqrt(const Dual& a) {
    const S r = std::sqrt(a.value);
    return {r, a.tangent == S(0) ? S(0) : a.tangent / (S(2) * r)};
  }
  friend bool isfinite(const Dual& a) { return std::isfinite(a.value) && std::isfinite(a.tangent); }
  friend bool isnan(const Dual& a) { return std::isnan(a.value) || std::isnan(a.tangent); }
};

namespace detail {
/// The tangents of a matrix of duals, as a matrix of S.
template <class Derived>
auto tangents_of(const Eigen::MatrixBase<Derived>& m) {
  return m.unaryExpr([](const auto& d) { return d.tangent; });
}
}  // namespace detail

}  // namespace gantry

namespace Eigen {
template <class S>
struct NumTraits<gantry::Dual<S>> : GenericNumTraits<gantry::Dual<S>> {
  using Real = gantry::Dual<S>;
  using NonInteger = gantry::Dual<S>;
  using Nested = gantry::Dual<S>;
  using Literal = gantry::Dual<S>;
  enum {
    IsComplex = 0,
    IsInteger = 0,
    IsSigned = 1,
    RequireInitialization = 1,
    ReadCost = 2,
    AddCost = 2,
    MulCost = 4,
  };
  static inline Real epsilon() { return Real(NumTraits<S>::epsilon()); }
  static inline Real dummy_precision() { return Real(NumTraits<S>::dummy_precision()); }
  static inline Real highest() { return Real(NumTraits<S>::highest()); }
  static inline Real lowest() { return Real(NumTraits<S>::lowest()); }
  static inline int digits10() { return NumTraits<S>::digits10(); }
};
}  // namespace Eigen

namespace std {
/// Values<Dual> writes quiet_NaN() for what a pass did not compute.
template <class S>
class numeric_limits<gantry::Dual<S>> : public numeric_limits<S> {
 public:
  static constexpr gantry::Dual<S> quiet_NaN() noexcept { return {numeric_limits<S>::quiet_NaN(), S(0)}; }
  static constexpr gantry::Dual<S> infinity() noexcept { return {numeric_limits<S>::infinity(), S(0)}; }
  static constexpr gantry::Dual<S> epsilon() noexcept { return {numeric_limits<S>::epsilon(), S(0)}; }
  static constexpr gantry::Dual<S> max() noexcept { return {numeric_limits<S>::max(), S(0)}; }
  static constexpr gantry::Dual<S> lowest() noexcept { return {numeric_limits<S>::lowest(), S(0)}; }
};
}  // namespace std
