// SPDX-License-Identifier: MIT
// Input gradients and gradient penalties: the exact second-order gradient against finite differences of the
// first-order code, so that the two implementations check each other.

#include <gantry/nn/gradient_penalty.hpp>

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

std::vector<std::pair<std::string, nn::GradientPenaltyOptions>> penalty_kinds() {
  return {{"WGAN-GP lambda 10", {10.0, 1.0, false}},
          {"one-sided lambda 3", {3.0, 1.0, true}},
          {"R1 gamma/2 = 0.5", {0.5, 0.0, false}}};
}

}  // namespace

TEST_CASE("input_gradient matches finite differences of the critic", "[nn][penalty][gradient]") {
  WorstError worst("input gradient");
  Rng rng(21);
  for (const auto& c : critic_cases()) {
    for (const auto& activation : all_activations()) {
      nn::Mlp<double> critic = random_network<double>(c, activation, rng);
      const Matrix<double> x = random_matrix<double>(c.sizes.front(), c.batch, rng);
      const Matrix<double> g = nn::input_gradient(critic, x);
      const Vector<double> flat = Eigen::Map<const Vector<double>>(x.data(), x.size());
      auto sum_of_outputs = [&](const Vector<double>& v) {
        return critic(Eigen::Map<const Matrix<double>>(v.data(), x.rows(), x.cols())).sum();
      };
      const GradientCheck check = check_gradient(sum_of_outputs, flat, Eigen::Map<const Vector<double>>(g.data(), g.size()));
      worst.add(check, c.name + ", " + activation.name());
      INFO(c.name << ", " << activation.name() << ": " << check);
      CHECK(check.worst_relative_error < tolerance);
    }
  }
}

TEST_CASE("penalty gradients w.r.t. parameters match finite differences of the first-order code",
          "[nn][penalty][gradient]") {
  for (const auto& kind_and_options : penalty_kinds()) {
    const std::string& kind = kind_and_options.first;
    const nn::GradientPenaltyOptions options = kind_and_options.second;  // a named local: lambdas capture it (C++17)
    WorstError worst("penalty parameter gradient, " + kind);
    Rng rng(22);
    for (const auto& c : critic_cases()) {
      for (const auto& activation : all_activations()) {
        nn::Mlp<double> critic = random_network<double>(c, activation, rng);
        const Matrix<double> x = random_matrix<double>(c.sizes.front(), c.batch, rng);
        nn::Tape<double> tape;
        Vector<double> gradient(critic.parameter_count());
        const double value = nn::gradient_penalty(critic, x, options, tape, &gradient);
        CHECK(std::abs(value - penalty_by_first_order(critic, x, options)) <= 1e-12 * std::max(1.0, std::abs(value)));

        auto of_theta = [&](const Vector<double>& t) {
          nn::Mlp<double> probe = critic;
          probe.parameters() = t;
          return penalty_by_first_order(probe, x, options);
        };
        const GradientCheck check = check_gradient(of_theta, critic.parameters(), gradient);
        worst.add(check, c.name + ", " + activation.name());
        INFO(kind << ", " << c.name << ", " << activation.name() << ": " << check);
        CHECK(check.worst_relative_error < tolerance);
      }
    }
  }
}

TEST_CASE("penalty gradient accumulates onto an existing gradient", "[nn][penalty]") {
  Rng rng(23);
  nn::Mlp<double> critic({2, 8, 8, 1}, nn::Activation::tanh());
  rng.fill_normal(critic.parameters(), 0.0, 0.5);
  const Matrix<double> x = random_matrix<double>(2, 5, rng);
  nn::Tape<double> tape;
  Vector<double> alone(critic.parameter_count());
  nn::gradient_penalty(critic, x, {}, tape, &alone);
  Vector<double> base = random_vector<double>(critic.parameter_count(), rng);
  Vector<double> accumulated = base;
  nn::gradient_penalty(critic, x, {}, tape, &accumulated, true);
  REQUIRE((accumulated - base - alone).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("edge cases: duplicate samples, zero weights, a batch of one", "[nn][penalty]") {
  Rng rng(24);
  nn::Mlp<double> critic({2, 6, 6, 1}, nn::Activation::softplus());
  rng.fill_normal(critic.parameters(), 0.0, 0.7);

  SECTION("duplicate samples give identical input gradients and a checked penalty gradient") {
    Matrix<double> x = random_matrix<double>(2, 4, rng);
    x.col(2) = x.col(0);
    x.col(3) = x.col(0);
    const Matrix<double> g = nn::input_gradient(critic, x);
    CHECK(g.col(2) == g.col(0));
    CHECK(g.col(3) == g.col(0));
    nn::Tape<double> tape;
    Vector<double> gradient(critic.parameter_count());
    const nn::GradientPenaltyOptions options{10.0, 1.0, false};
    nn::gradient_penalty(critic, x, options, tape, &gradient);
    auto of_theta = [&](const Vector<double>& t) {
      nn::Mlp<double> probe = critic;
      probe.parameters() = t;
      return penalty_by_first_order(probe, x, options);
    };
    const GradientCheck check = check_gradient(of_theta, critic.parameters(), gradient);
    INFO(check);
    CHECK(check.worst_relative_error < tolerance);
  }

  SECTION("a zero weight layer gives an input gradient of exactly 0 and a finite penalty gradient") {
    critic.weight(1).setZero();
    const Matrix<double> x = random_matrix<double>(2, 3, rng);
    const Matrix<double> g = nn::input_gradient(critic, x);
    CHECK(g.cwiseAbs().maxCoeff() == 0.0);
    nn::Tape<double> tape;
    Vector<double> gradient(critic.parameter_count());
    for (const auto& [kind, options] : penalty_kinds()) {
      const double value = nn::gradient_penalty(critic, x, options, tape, &gradient);
      INFO(kind);
      CHECK(std::isfinite(value));
      CHECK(gradient.allFinite());
      // |g| = 0: only the two-sided penalty with target 1 is non-zero, (0 - 1)^2 = 1.
      CHECK(value == (options.target == 1.0 && !options.one_sided ? options.coefficient : 0.0));
    }
    // At g = 0 the zero-centred penalty |g|^2 is smooth: its gradient is exactly 0, as finite differences agree.
    nn::gradient_penalty(critic, x, {0.5, 0.0, false}, tape, &gradient);
    CHECK(gradient.cwiseAbs().maxCoeff() == 0.0);
  }

  SECTION("a batch of one") {
    const Matrix<double> x = random_matrix<double>(2, 1, rng);
    nn::Tape<double> tape;
    Vector<double> gradient(critic.parameter_count());
    const nn::GradientPenaltyOptions options{10.0, 1.0, false};
    nn::gradient_penalty(critic, x, options, tape, &gradient);
    auto of_theta = [&](const Vector<double>& t) {
      nn::Mlp<double> probe = critic;
      probe.parameters() = t;
      return penalty_by_first_order(probe, x, options);
    };
    const GradientCheck check = check_gradient(of_theta, critic.parameters(), gradient);
    INFO(check);
    CHECK(check.worst_relative_error < tolerance);
  }
}

TEMPLATE_TEST_CASE("float penalty agrees with double to float precision", "[nn][penalty][float]", float, double) {
  Rng rng(25);
  for (const auto& activation : all_activations()) {
    nn::Mlp<double> reference({2, 16, 16, 16, 1}, nn::MlpOptions{activation, true});
    reference.initialize(nn::InitScheme::glorot_normal, rng);
    reference.bias(0).setConstant(0.1);
    nn::Mlp<TestType> critic({2, 16, 16, 16, 1}, nn::MlpOptions{activation, true});
    critic.parameters() = reference.parameters().template cast<TestType>();
    const Matrix<double> x = random_matrix<double>(2, 8, rng);
    nn::Tape<double> tape_d;
    nn::Tape<TestType> tape_t;
    Vector<double> grad_d(reference.parameter_count());
    Vector<TestType> grad_t(critic.parameter_count());
    const double value_d = nn::gradient_penalty(reference, x, {}, tape_d, &grad_d);
    const double value_t = nn::gradient_penalty(critic, Matrix<TestType>(x.cast<TestType>()), {}, tape_t, &grad_t);
    const double eps = std::is_same<TestType, float>::value ? 2e-4 : 1e-12;
    const double grad_err = (grad_t.template cast<double>() - grad_d).cwiseAbs().maxCoeff() /
                            std::max(1.0, grad_d.cwiseAbs().maxCoeff());
    INFO(activation.name() << ": value " << value_t << " vs " << value_d << ", gradient error " << grad_err);
    CHECK(std::abs(value_t - value_d) <= eps * std::max(1.0, std::abs(value_d)));
    CHECK(grad_err < eps);
  }
}

TEST_CASE("penalty options and critic shape are validated", "[nn][penalty]") {
  nn::Mlp<double> two_outputs({2, 3, 2}, nn::Activation::relu());
  nn::Tape<double> tape;
  REQUIRE_THROWS_WITH(nn::input_gradient(two_outputs, Matrix<double>::Zero(2, 3)),
                      contains("must have 1 output, it has 2"));
  nn::Mlp<double> critic({2, 3, 1}, nn::Activation::relu());
  REQUIRE_THROWS_WITH(nn::gradient_penalty(critic, Matrix<double>::Zero(2, 3), {-1.0, 1.0, false}, tape, nullptr),
                      contains("coefficient must be finite and >= 0, given -1"));
  Vector<double> wrong(3);
  REQUIRE_THROWS_WITH(nn::gradient_penalty(critic, Matrix<double>::Zero(2, 3), {}, tape, &wrong),
                      contains("gradient expects shape 13x1, given 3x1"));
}
