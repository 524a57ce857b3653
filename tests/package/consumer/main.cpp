// SPDX-License-Identifier: MIT
// A user's program: everything it needs (gantry, Eigen, fmt) must arrive through gantry::gantry.

#include <gantry/gantry.hpp>

#include <fmt/core.h>

int main() {
  constexpr gantry::Index inputs = 3, outputs = 2, batch = 5;
  gantry::nn::Mlp<double> network({inputs, 8, outputs}, gantry::nn::Activation::tanh());
  gantry::Rng rng(1);
  network.initialize(gantry::nn::InitScheme::glorot_uniform, rng);

  gantry::Matrix<double> x(inputs, batch);
  rng.fill_normal(x);
  const gantry::Matrix<double> y = network(x);

  if (y.rows() != outputs || y.cols() != batch || !y.allFinite()) {
    fmt::print(stderr, "gantry consumer: expected a finite {}x{} output, got {}x{}\n", outputs, batch, y.rows(),
               y.cols());
    return 1;
  }
  fmt::print("gantry {}.{}.{} consumer: output {}x{}, ok\n", gantry::version_major, gantry::version_minor,
             gantry::version_patch, y.rows(), y.cols());
  return 0;
}
