// SPDX-License-Identifier: MIT
// Hessian-vector products, alone and through generator -> critic, against finite differences of gradients.

#include <gantry/nn/hessian_vector.hpp>

#include "catch.hpp"
#include "support/first_order.hpp"
#include "support/gradient_check.hpp"
#include "support/networks.hpp"

using gantry::Index;
using gantry::Matrix;
using gantry::Rng;
using gantry::Vector;
using namespace gantry::test;
namespace nn = gantry::nn;

namespace {

constexpr double tolerance = 1e-6;

}  // namespace

TEST_CASE("Hessian-vector products match finite differences of gradients", "[nn][hvp][gradient]") {
  WorstError worst("Hessian-vector product");
  Rng rng(31);
  for (const auto& c : network_cases()) {
    for (const auto& activation : all_activations()) {
      nn::Mlp<double> net = random_network<double>(c, activation, rng);
      const Matrix<double> x = random_matrix<double>(c.sizes.front(), c.batch, rng);
      const Vector<double> v = random_vector<double>(net.parameter_count(), rng);
      const SmoothOutputLoss loss;
      nn::Tape<double> tape;
      Vector<double> hv;
      const double value = nn::hessian_vector_product(net, x, loss, v, tape, hv);
      CHECK(std::abs(value - loss.value(net(x))) < 1e-12 * std::max(1.0, std::abs(value)));

      auto gradient_at = [&](const Vector<double>& theta) {
        nn::Mlp<double> probe = net;
        probe.parameters() = theta;
        return gradient_of(probe, x, loss);
      };
      const Vector<double> numeric = numeric_directional(gradient_at, net.parameters(), v);
      const GradientCheck check = compare_gradients(hv, numeric);
      worst.add(check, c.name + ", " + activation.name());
      INFO(c.name << ", " << activation.name() << ": " << check);
      CHECK(check.worst_relative_error < tolerance);
    }
  }
}

TEST_CASE("Hessian-vector products through generator -> critic match finite differences", "[nn][hvp][gradient]") {
  WorstError worst("chain Hessian-vector product (generator and critic blocks)");
  Rng rng(32);
  const std::vector<std::pair<std::vector<Index>, std::vector<Index>>> shapes = {
      {{2, 5, 3}, {3, 4, 1}}, {{1, 1, 2}, {2, 1}}, {{3, 6, 6, 2}, {2, 6, 6, 6, 1}}};
  for (const auto& [generator_sizes, critic_sizes] : shapes) {
    for (const auto& activation : all_activations()) {
      nn::Mlp<double> generator(generator_sizes, activation), critic(critic_sizes, activation);
      rng.fill_normal(generator.parameters(), 0.0, 0.8);
      rng.fill_normal(critic.parameters(), 0.0, 0.8);
      const Matrix<double> z = random_matrix<double>(generator_sizes.front(), 3, rng);
      const Vector<double> v_g = random_vector<double>(generator.parameter_count(), rng);
      const Vector<double> v_d = random_vector<double>(critic.parameter_count(), rng);
      const SmoothOutputLoss loss;
      nn::ChainTapes<double> tapes;
      Vector<double> hv_g, hv_d;
      nn::chain_hessian_vector_product(generator, critic, z, loss, v_g, v_d, tapes, hv_g, hv_d);
      Vector<double> analytic(hv_g.size() + hv_d.size());
      analytic << hv_g, hv_d;

      auto joint_gradient = [&](const Vector<double>& w) { return chain_gradient_of(generator, critic, z, loss, w); };
      Vector<double> w(analytic.size()), v(analytic.size());
      w << generator.parameters(), critic.parameters();
      v << v_g, v_d;
      const GradientCheck check = compare_gradients(analytic, numeric_directional(joint_gradient, w, v));
      worst.add(check, activation.name());
      INFO(activation.name() << ": " << check);
      CHECK(check.worst_relative_error < tolerance);
    }
  }
}

TEST_CASE("a chain with mismatched sizes is rejected", "[nn][hvp]") {
  nn::Mlp<double> generator({2, 3}, nn::Activation::relu()), critic({2, 1}, nn::Activation::relu());
  nn::ChainTapes<double> tapes;
  Vector<double> a, b;
  REQUIRE_THROWS_WITH(nn::chain_hessian_vector_product(generator, critic, Matrix<double>::Zero(2, 2), SmoothOutputLoss{},
                                                       Vector<double>::Zero(9), Vector<double>::Zero(3), tapes, a, b),
                      contains("generator's output size 3 differs from the critic's input size 2"));
}
