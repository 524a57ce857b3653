// SPDX-License-Identifier: MIT
#pragma once
/// References built from first-order passes only, which the second-order passes are checked against: the penalty's
/// value from input gradients, gradients of a smooth output loss alone and through generator -> critic.

#include <algorithm>

#include <gantry/nn/activation.hpp>
#include <gantry/nn/gradient_penalty.hpp>
#include <gantry/nn/mlp.hpp>

namespace gantry::test {

inline double inner(const Matrix<double>& a, const Matrix<double>& b) { return (a.array() * b.array()).sum(); }

inline Vector<double> flat(const Matrix<double>& m) { return Eigen::Map<const Vector<double>>(m.data(), m.size()); }

/// The penalty's value from first-order code only: input gradients by the backward pass, then the formula.
inline double penalty_by_first_order(const nn::Mlp<double>& critic, const Matrix<double>& x,
                                     const nn::GradientPenaltyOptions& options) {
  const Matrix<double> g = nn::input_gradient(critic, x);
  double total = 0;
  for (Index i = 0; i < g.cols(); ++i) {
    double excess = g.col(i).norm() - options.target;
    if (options.one_sided) excess = std::max(excess, 0.0);
    total += excess * excess;
  }
  return options.coefficient * total / double(g.cols());
}

/// L(a) = sum softplus(a) + c/2 sum a^2 + (sum a)^2 / 2: smooth, with a non-diagonal Hessian (the last term).
struct SmoothOutputLoss {
  double c = 0.3;
  double value(const Eigen::Ref<const Matrix<double>>& a) const {
    double total = 0;
    for (Index j = 0; j < a.cols(); ++j)
      for (Index i = 0; i < a.rows(); ++i) total += gantry::detail::stable_softplus(a(i, j)) + 0.5 * c * a(i, j) * a(i, j);
    return total + 0.5 * a.sum() * a.sum();
  }
  void gradient(const Eigen::Ref<const Matrix<double>>& a, Eigen::Ref<Matrix<double>> out) const {
    const double sum = a.sum();
    for (Index j = 0; j < a.cols(); ++j)
      for (Index i = 0; i < a.rows(); ++i) out(i, j) = gantry::detail::stable_sigmoid(a(i, j)) + c * a(i, j) + sum;
  }
  void hessian_vector(const Eigen::Ref<const Matrix<double>>& a, const Eigen::Ref<const Matrix<double>>& da,
                      Eigen::Ref<Matrix<double>> out) const {
    const double sum = da.sum();
    for (Index j = 0; j < a.cols(); ++j)
      for (Index i = 0; i < a.rows(); ++i) {
        const double s = gantry::detail::stable_sigmoid(a(i, j));
        out(i, j) = (s * (1 - s) + c) * da(i, j) + sum;
      }
  }
};

/// grad_theta L(net(x)) by the first-order backward pass.
inline Vector<double> gradient_of(const nn::Mlp<double>& net, const Matrix<double>& x, const SmoothOutputLoss& loss) {
  nn::Tape<double> tape;
  net.forward(x, tape);
  Matrix<double> adjoint(net.output_size(), x.cols());
  loss.gradient(tape.output(), adjoint);
  tape.output_adjoint() = adjoint;
  Vector<double> g(net.parameter_count());
  net.backward(tape, 0, x.cols(), &g, false, false);
  return g;
}

/// (grad_G L, grad_D L) of L(D(G(z))) at the joint parameters w = (theta_G, theta_D), by backward passes only.
inline Vector<double> chain_gradient_of(const nn::Mlp<double>& generator, const nn::Mlp<double>& critic,
                                        const Matrix<double>& z, const SmoothOutputLoss& loss, const Vector<double>& w) {
  nn::Mlp<double> g = generator, d = critic;
  g.parameters() = w.head(g.parameter_count());
  d.parameters() = w.tail(d.parameter_count());
  nn::Tape<double> tg, td;
  g.forward(z, tg);
  d.forward(tg.output(), td);
  Matrix<double> adjoint(d.output_size(), z.cols());
  loss.gradient(td.output(), adjoint);
  td.output_adjoint() = adjoint;
  Vector<double> grad_d(d.parameter_count()), grad_g(g.parameter_count());
  d.backward(td, 0, z.cols(), &grad_d, false, true);
  tg.output_adjoint() = td.input_adjoint();
  g.backward(tg, 0, z.cols(), &grad_g, false, false);
  Vector<double> out(w.size());
  out << grad_g, grad_d;
  return out;
}

}  // namespace gantry::test
