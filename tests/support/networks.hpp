// SPDX-License-Identifier: MIT
#pragma once
/// Network shapes and activations every derivative test runs over, chosen to catch off-by-one mistakes.

#include <cmath>
#include <string>
#include <vector>

#include <gantry/core/rng.hpp>
#include <gantry/nn/mlp.hpp>

namespace gantry::test {

struct NetworkCase {
  std::string name;
  std::vector<Index> sizes;
  bool bias;
  Index batch;
};

/// 1-wide hidden layer with batch 1; three hidden layers; no hidden layer; input size != output size; no bias.
inline std::vector<NetworkCase> network_cases() {
  return {
      {"3-1-2 batch 1", {3, 1, 2}, true, 1},
      {"2-5-4-3-1 batch 4", {2, 5, 4, 3, 1}, true, 4},
      {"4-3 (no hidden) batch 3", {4, 3}, true, 3},
      {"1-6-6-1 batch 5", {1, 6, 6, 1}, true, 5},
      {"3-4-2 no bias batch 2", {3, 4, 2}, false, 2},
  };
}

/// Scalar-output shapes for penalties (a critic has one output).
inline std::vector<NetworkCase> critic_cases() {
  return {
      {"2-1-1 batch 1", {2, 1, 1}, true, 1},
      {"2-5-4-3-1 batch 4", {2, 5, 4, 3, 1}, true, 4},
      {"3-1 (no hidden) batch 3", {3, 1}, true, 3},
      {"1-6-6-1 batch 5", {1, 6, 6, 1}, true, 5},
      {"3-4-1 no bias batch 2", {3, 4, 1}, false, 2},
  };
}

inline std::vector<nn::Activation> all_activations() {
  return {nn::Activation::identity(), nn::Activation::relu(),    nn::Activation::leaky_relu(0.2),
          nn::Activation::tanh(),     nn::Activation::sigmoid(), nn::Activation::softplus(),
          nn::Activation::elu(0.7)};
}

/// A network with parameters drawn N(0, 0.8^2) so that pre-activations spread over both sides of 0.
template <class Scalar>
nn::Mlp<Scalar> random_network(const NetworkCase& c, nn::Activation activation, Rng& rng) {
  nn::Mlp<Scalar> net(c.sizes, nn::MlpOptions{activation, c.bias});
  rng.fill_normal(net.parameters(), 0.0, 0.8);
  return net;
}

template <class Scalar>
Matrix<Scalar> random_matrix(Index rows, Index cols, Rng& rng) {
  Matrix<Scalar> m(rows, cols);
  rng.fill_normal(m);
  return m;
}

template <class Scalar>
Vector<Scalar> random_vector(Index size, Rng& rng) {
  Vector<Scalar> v(size);
  rng.fill_normal(v);
  return v;
}

/// The network evaluated directly from its definition, layer by layer (no tape, no shares): a reference for the
/// passes, and what min_abs_hidden_preactivation reads. `hidden_inputs`, when given, receives every hidden
/// layer's activation input (a, or LN(a) on a normalized layer).
inline Matrix<double> reference_forward(const nn::Mlp<double>& net, const Matrix<double>& x,
                                        std::vector<Matrix<double>>* hidden_inputs = nullptr) {
  Matrix<double> h = x;
  for (Index l = 0; l < net.layer_count(); ++l) {
    Matrix<double> a = net.weight(l) * h;
    if (net.options().bias) a.colwise() += net.bias(l);
    if (l + 1 == net.layer_count()) return a;
    if (net.normalizes(l)) {
      const nn::LayerNorm& norm = net.layer_norm(l);
      for (Index j = 0; j < a.cols(); ++j) {
        const double mean = a.col(j).mean();
        const double variance = (a.col(j).array() - mean).square().mean();
        a.col(j) = ((a.col(j).array() - mean) / std::sqrt(variance + norm.epsilon)).matrix();
        if (norm.has_gain_and_shift) a.col(j) = net.gain(l).cwiseProduct(a.col(j)) + net.shift(l);
      }
    }
    if (hidden_inputs) hidden_inputs->push_back(a);
    h = Matrix<double>::Zero(a.rows(), a.cols());
    net.hidden_activation().value(a, h);
  }
  return h;
}

/// The smallest |a| over every hidden activation input of `net` on x. Finite differences of a piecewise-linear
/// network are only valid when no activation input lies within the stencil's reach of a kink at 0.
inline double min_abs_hidden_preactivation(const nn::Mlp<double>& net, const Matrix<double>& x) {
  std::vector<Matrix<double>> inputs;
  reference_forward(net, x, &inputs);
  double smallest = INFINITY;
  for (const Matrix<double>& a : inputs) smallest = std::min(smallest, a.cwiseAbs().minCoeff());
  return smallest;
}

}  // namespace gantry::test
