// SPDX-License-Identifier: MIT
#pragma once
/// Elementwise activations with their value, first and second derivative, applied to whole blocks.

#include <cmath>
#include <string>

#include <Eigen/Core>

#include "gantry/core/check.hpp"
#include "gantry/core/types.hpp"

namespace gantry::detail {

// Stable forms: softplus(a) = max(a, 0) + log1p(exp(-|a|)); sigmoid via exp(-|a|) so nothing overflows.
// Scalar functions are called unqualified after `using std::f`, so that a scalar type of its own (core/dual.hpp)
// brings its overloads by argument-dependent lookup.
template <class S>
S stable_sigmoid(S a) {
  using std::abs;
  using std::exp;
  const S e = exp(-abs(a));
  return a >= S(0) ? S(1) / (S(1) + e) : e / (S(1) + e);
}
template <class S>
S stable_softplus(S a) {
  using std::abs;
  using std::exp;
  using std::log1p;
  return std::max(a, S(0)) + log1p(exp(-abs(a)));
}

}  // namespace gantry::detail

namespace gantry::nn {

enum class ActivationKind { identity, relu, leaky_relu, tanh, sigmoid, softplus, elu };

/// An activation chosen at run time (so widths and depths can come from a command line); the switch runs
/// once per block, never per element. `parameter` is leaky_relu's negative slope or elu's alpha.
struct Activation {
  ActivationKind kind = ActivationKind::relu;
  double parameter = 0.0;

  static Activation identity() { return {ActivationKind::identity, 0.0}; }
  static Activation relu() { return {ActivationKind::relu, 0.0}; }
  static Activation leaky_relu(double slope = 0.2) {
    detail::require(detail::finite(slope), "gantry::nn::Activation::leaky_relu", "slope", slope, "finite");
    return {ActivationKind::leaky_relu, slope};
  }
  static Activation tanh() { return {ActivationKind::tanh, 0.0}; }
  static Activation sigmoid() { return {ActivationKind::sigmoid, 0.0}; }
  static Activation softplus() { return {ActivationKind::softplus, 0.0}; }
  static Activation elu(double alpha = 1.0) {
    detail::require(detail::finite(alpha) && alpha > 0, "gantry::nn::Activation::elu", "alpha", alpha, "finite and > 0");
    return {ActivationKind::elu, alpha};
  }

  /// Parses "relu", "leaky_relu", "leaky_relu:0.1", "elu:0.5", ... (for command lines).
  static Activation from_name(const std::string& text);

  std::string name() const;

  /// True when s'' = 0 almost everywhere: second-order passes then skip the s'' terms entirely.
  bool piecewise_linear() const {
    return kind == ActivationKind::identity || kind == ActivationKind::relu || kind == ActivationKind::leaky_relu;
  }

  /// out = s(a)
  template <class In, class Out>
  void value(const Eigen::MatrixBase<In>& a, Eigen::MatrixBase<Out> const& out) const;

  /// inout = s'(a) * inout  (the backward and tangent passes scale an adjoint or tangent in place)
  template <class In, class Out>
  void scale_by_derivative(const Eigen::MatrixBase<In>& a, Eigen::MatrixBase<Out> const& inout) const;

  /// out += s''(a) * tangent * adjoint  (the extra term of the reverse of the tangent pass)
  template <class In, class Tangent, class Adjoint, class Out>
  void add_second_derivative_term(const Eigen::MatrixBase<In>& a, const Eigen::MatrixBase<Tangent>& tangent,
                                  const Eigen::MatrixBase<Adjoint>& adjoint, Eigen::MatrixBase<Out> const& out) const;

  /// Scalar forms, for tests and for anyone who needs one value.
  double value(double a) const;
  double derivative(double a) const;
  double second_derivative(double a) const;
};


inline double Activation::value(double a) const {
  switch (kind) {
    case ActivationKind::identity: return a;
    case ActivationKind::relu: return a > 0 ? a : 0.0;
    case ActivationKind::leaky_relu: return a > 0 ? a : parameter * a;
    case ActivationKind::tanh: return std::tanh(a);
    case ActivationKind::sigmoid: return detail::stable_sigmoid(a);
    case ActivationKind::softplus: return detail::stable_softplus(a);
    case ActivationKind::elu: return a > 0 ? a : parameter * std::expm1(a);
  }
  return a;
}

inline double Activation::derivative(double a) const {
  switch (kind) {
    case ActivationKind::identity: return 1.0;
    case ActivationKind::relu: return a > 0 ? 1.0 : 0.0;
    case ActivationKind::leaky_relu: return a > 0 ? 1.0 : parameter;
    case ActivationKind::tanh: {
      const double t = std::tanh(a);
      return 1.0 - t * t;
    }
    case ActivationKind::sigmoid: return detail::stable_sigmoid(a) * detail::stable_sigmoid(-a);
    case ActivationKind::softplus: return detail::stable_sigmoid(a);
    case ActivationKind::elu: return a > 0 ? 1.0 : parameter * std::exp(a);
  }
  return 1.0;
}

inline double Activation::second_derivative(double a) const {
  switch (kind) {
    case ActivationKind::identity:
    case ActivationKind::relu:
    case ActivationKind::leaky_relu: return 0.0;
    case ActivationKind::tanh: {
      const double t = std::tanh(a);
      return -2.0 * t * (1.0 - t * t);
    }
    case ActivationKind::sigmoid: {
      const double s = detail::stable_sigmoid(a);
      return s * (1.0 - s) * (1.0 - 2.0 * s);
    }
    case ActivationKind::softplus: return detail::stable_sigmoid(a) * detail::stable_sigmoid(-a);
    case ActivationKind::elu: return a > 0 ? 0.0 : parameter * std::exp(a);
  }
  return 0.0;
}

template <class In, class Out>
void Activation::value(const Eigen::MatrixBase<In>& a, Eigen::MatrixBase<Out> const& out_) const {
  using S = typename In::Scalar;
  auto& out = const_cast<Eigen::MatrixBase<Out>&>(out_);
  const S p = static_cast<S>(parameter);
  switch (kind) {
    case ActivationKind::identity: out = a; break;
    case ActivationKind::relu: out = a.array().max(S(0)).matrix(); break;
    case ActivationKind::leaky_relu: out = (a.array() > S(0)).select(a.array(), p * a.array()).matrix(); break;
    case ActivationKind::tanh: out = a.array().tanh().matrix(); break;
    case ActivationKind::sigmoid: out = a.unaryExpr([](S x) { return detail::stable_sigmoid(x); }); break;
    case ActivationKind::softplus: out = a.unaryExpr([](S x) { return detail::stable_softplus(x); }); break;
    case ActivationKind::elu:
      out = a.unaryExpr([p](S x) {
        using std::expm1;
        return x > S(0) ? x : p * expm1(x);
      });
      break;
  }
}

template <class In, class Out>
void Activation::scale_by_derivative(const Eigen::MatrixBase<In>& a, Eigen::MatrixBase<Out> const& inout_) const {
  using S = typename In::Scalar;
  auto& inout = const_cast<Eigen::MatrixBase<Out>&>(inout_);
  const S p = static_cast<S>(parameter);
  switch (kind) {
    case ActivationKind::identity: break;
    case ActivationKind::relu: inout = (a.array() > S(0)).select(inout.array(), S(0)).matrix(); break;
    case ActivationKind::leaky_relu: inout = (a.array() > S(0)).select(inout.array(), p * inout.array()).matrix(); break;
    case ActivationKind::tanh: inout.array() *= S(1) - a.array().tanh().square(); break;
    case ActivationKind::sigmoid:
      inout.array() *= a.unaryExpr([](S x) { return detail::stable_sigmoid(x) * detail::stable_sigmoid(-x); }).array();
      break;
    case ActivationKind::softplus:
      inout.array() *= a.unaryExpr([](S x) { return detail::stable_sigmoid(x); }).array();
      break;
    case ActivationKind::elu:
      inout.array() *= a.unaryExpr([p](S x) {
                         using std::exp;
                         return x > S(0) ? S(1) : p * exp(x);
                       }).array();
      break;
  }
}

template <class In, class Tangent, class Adjoint, class Out>
void Activation::add_second_derivative_term(const Eigen::MatrixBase<In>& a, const Eigen::MatrixBase<Tangent>& tangent,
                                            const Eigen::MatrixBase<Adjoint>& adjoint,
                                            Eigen::MatrixBase<Out> const& out_) const {
  using S = typename In::Scalar;
  auto& out = const_cast<Eigen::MatrixBase<Out>&>(out_);
  const S p = static_cast<S>(parameter);
  switch (kind) {
    case ActivationKind::identity:
    case ActivationKind::relu:
    case ActivationKind::leaky_relu: break;
    case ActivationKind::tanh:
      out.array() += a.unaryExpr([](S x) {
                        using std::tanh;
                        const S t = tanh(x);
                        return S(-2) * t * (S(1) - t * t);
                      }).array() *
                     tangent.array() * adjoint.array();
      break;
    case ActivationKind::sigmoid:
      out.array() += a.unaryExpr([](S x) {
                        const S s = detail::stable_sigmoid(x);
                        return s * (S(1) - s) * (S(1) - S(2) * s);
                      }).array() *
                     tangent.array() * adjoint.array();
      break;
    case ActivationKind::softplus:
      out.array() += a.unaryExpr([](S x) { return detail::stable_sigmoid(x) * detail::stable_sigmoid(-x); }).array() *
                     tangent.array() * adjoint.array();
      break;
    case ActivationKind::elu:
      out.array() +=
          a.unaryExpr([p](S x) {
             using std::exp;
             return x > S(0) ? S(0) : p * exp(x);
           }).array() *
          tangent.array() * adjoint.array();
      break;
  }
}

inline std::string Activation::name() const {
  switch (kind) {
    case ActivationKind::identity: return "identity";
    case ActivationKind::relu: return "relu";
    case ActivationKind::leaky_relu: return detail::message("leaky_relu:", parameter);
    case ActivationKind::tanh: return "tanh";
    case ActivationKind::sigmoid: return "sigmoid";
    case ActivationKind::softplus: return "softplus";
    case ActivationKind::elu: return detail::message("elu:", parameter);
  }
  return "?";
}

inline Activation Activation::from_name(const std::string& text) {
  const auto colon = text.find(':');
  const std::string base = text.substr(0, colon);
  const bool has_parameter = colon != std::string::npos;
  double parameter = 0.0;
  if (has_parameter) {
    const std::string number = text.substr(colon + 1);
    std::size_t used = 0;
    try {
      parameter = std::stod(number, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != number.size())
      throw OptionError(detail::message("gantry::nn::Activation::from_name: parameter of '", text,
                                        "' is not a number"));
  }
  if (base == "leaky_relu") return leaky_relu(has_parameter ? parameter : 0.2);
  if (base == "elu") return elu(has_parameter ? parameter : 1.0);
  if (has_parameter)
    throw OptionError(detail::message("gantry::nn::Activation::from_name: '", base, "' takes no parameter, given '",
                                      text, "'"));
  if (base == "identity") return identity();
  if (base == "relu") return relu();
  if (base == "tanh") return tanh();
  if (base == "sigmoid") return sigmoid();
  if (base == "softplus") return softplus();
  throw OptionError(detail::message("gantry::nn::Activation::from_name: unknown activation '", text,
                                    "' (expected identity, relu, leaky_relu[:slope], tanh, sigmoid, softplus, elu[:alpha])"));
}

}  // namespace gantry::nn
