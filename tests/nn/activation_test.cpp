// SPDX-License-Identifier: MIT
// Activations: first and second derivatives against finite differences; block forms against scalar forms.

#include <gantry/nn/activation.hpp>

#include "catch.hpp"
#include "support/gradient_check.hpp"
#include "support/networks.hpp"

using gantry::Index;
using gantry::Matrix;
using gantry::Vector;
using namespace gantry::test;
namespace nn = gantry::nn;

TEST_CASE("derivatives of every activation match finite differences", "[nn][activation][gradient]") {
  WorstError worst_first("activation first derivative");
  WorstError worst_second("activation second derivative");
  // Points away from the kinks of relu, leaky_relu and elu (at 0), where the derivative does not exist.
  const std::vector<double> points = {-7.5, -2.0, -0.7, -0.05, 0.03, 0.4, 1.3, 3.0, 9.0};
  for (const auto& activation : all_activations()) {
    Vector<double> x(points.size()), first(points.size()), second(points.size());
    for (std::size_t i = 0; i < points.size(); ++i) {
      x(Index(i)) = points[i];
      first(Index(i)) = activation.derivative(points[i]);
      second(Index(i)) = activation.second_derivative(points[i]);
    }
    auto values = [&](const Vector<double>& p) {
      return Vector<double>(p.unaryExpr([&](double a) { return activation.value(a); }));
    };
    auto derivatives = [&](const Vector<double>& p) {
      return Vector<double>(p.unaryExpr([&](double a) { return activation.derivative(a); }));
    };
    const Vector<double> ones = Vector<double>::Ones(x.size());
    // Each output depends on its own input only, so the directional derivative along 1 is the derivative.
    const GradientCheck c1 = compare_gradients(first, numeric_directional(values, x, ones, 1e-4));
    const GradientCheck c2 = compare_gradients(second, numeric_directional(derivatives, x, ones, 1e-4));
    worst_first.add(c1, activation.name());
    worst_second.add(c2, activation.name());
    INFO(activation.name() << ": first " << c1 << "; second " << c2);
    CHECK(c1.worst_relative_error < 1e-6);
    CHECK(c2.worst_relative_error < 1e-6);
  }
}

TEMPLATE_TEST_CASE("block forms agree with the scalar forms", "[nn][activation]", float, double) {
  gantry::Rng rng(51);
  Matrix<TestType> a(3, 7), t(3, 7), adj(3, 7);
  rng.fill_normal(a, 0.0, 3.0);
  rng.fill_normal(t);
  rng.fill_normal(adj);
  const double eps = std::is_same<TestType, float>::value ? 1e-6 : 1e-15;
  for (const auto& activation : all_activations()) {
    Matrix<TestType> value(3, 7), scaled = t, second = Matrix<TestType>::Zero(3, 7);
    activation.value(a, value);
    activation.scale_by_derivative(a, scaled);
    activation.add_second_derivative_term(a, t, adj, second);
    for (Index j = 0; j < a.cols(); ++j)
      for (Index i = 0; i < a.rows(); ++i) {
        const double x = a(i, j);
        INFO(activation.name() << " at " << x);
        CHECK(std::abs(value(i, j) - activation.value(x)) <= eps * std::max(1.0, std::abs(activation.value(x))));
        CHECK(std::abs(scaled(i, j) - activation.derivative(x) * t(i, j)) <= 4 * eps * std::max(1.0, std::abs(double(t(i, j)))));
        CHECK(std::abs(second(i, j) - activation.second_derivative(x) * t(i, j) * adj(i, j)) <=
              8 * eps * std::max(1.0, std::abs(double(t(i, j) * adj(i, j)))));
      }
  }
}

TEST_CASE("sigmoid and softplus stay finite and accurate at large arguments", "[nn][activation]") {
  const auto sigmoid = nn::Activation::sigmoid();
  const auto softplus = nn::Activation::softplus();
  CHECK(sigmoid.value(-800.0) >= 0.0);
  CHECK(sigmoid.value(800.0) == 1.0);
  CHECK(softplus.value(800.0) == 800.0);
  CHECK(softplus.value(-800.0) >= 0.0);
  CHECK(std::abs(softplus.value(-30.0) - std::exp(-30.0)) < 1e-25);
  CHECK(std::isfinite(sigmoid.second_derivative(-800.0)));
}

TEST_CASE("activations parse from names and reject bad ones", "[nn][activation]") {
  CHECK(nn::Activation::from_name("relu").kind == nn::ActivationKind::relu);
  CHECK(nn::Activation::from_name("leaky_relu:0.1").parameter == 0.1);
  CHECK(nn::Activation::from_name("elu").parameter == 1.0);
  CHECK(nn::Activation::from_name("tanh").piecewise_linear() == false);
  CHECK(nn::Activation::from_name("leaky_relu").piecewise_linear());
  REQUIRE_THROWS_WITH(nn::Activation::from_name("swish"), contains("unknown activation 'swish'"));
  REQUIRE_THROWS_WITH(nn::Activation::from_name("relu:2"), contains("'relu' takes no parameter"));
  REQUIRE_THROWS_WITH(nn::Activation::from_name("elu:abc"), contains("parameter of 'elu:abc' is not a number"));
  REQUIRE_THROWS_WITH(nn::Activation::elu(-1.0), contains("alpha must be finite and > 0, given -1"));
}
