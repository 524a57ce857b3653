// SPDX-License-Identifier: MIT
// Layer normalization inside nn::Mlp: its four passes, the gradient penalty and Hessian-vector products through it,
// against central finite differences of the first-order code, on shapes that catch mistakes (width 1 and 2, an
// input size other than the output's, batch 1, some layers only, with and without gain and shift).

#include <gantry/nn/gradient_penalty.hpp>
#include <gantry/nn/hessian_vector.hpp>
#include <gantry/nn/mlp.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

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
constexpr double step = 1e-4;

struct NormCase {
  std::string name;
  std::vector<Index> sizes;
  bool bias;
  Index batch;
  nn::LayerNormOptions norm;
};

// Two features normalize to +-sqrt(var / (var + epsilon)), nearly constant at the default epsilon: the width-2 cases
// take a larger one, so that their derivatives are not all near 0 (where only round-off would be compared).
nn::LayerNormOptions every_hidden(bool gain_and_shift = true, double epsilon = 1e-5) {
  nn::LayerNormOptions o;
  o.every_hidden_layer = true;
  o.gain_and_shift = gain_and_shift;
  o.epsilon = epsilon;
  return o;
}

nn::LayerNormOptions only(std::vector<Index> layers, bool gain_and_shift = true) {
  nn::LayerNormOptions o;
  o.layers = std::move(layers);
  o.gain_and_shift = gain_and_shift;
  return o;
}

std::vector<NormCase> norm_cases() {
  return {
      {"2-5-4-3-1 every hidden layer, batch 4", {2, 5, 4, 3, 1}, true, 4, every_hidden()},
      {"3-1-2 width-1 hidden layer, batch 1", {3, 1, 2}, true, 1, every_hidden()},
      {"3-2-2 width 2, epsilon 0.3, batch 3", {3, 2, 2}, true, 3, every_hidden(true, 0.3)},
      {"2-6-6-1 layer 1 only, batch 5", {2, 6, 6, 1}, true, 5, only({1})},
      {"4-5-3 no gain or shift, no bias, batch 2", {4, 5, 3}, false, 2, every_hidden(false)},
      {"1-6-6-1 layer 0 only, no gain or shift, batch 3", {1, 6, 6, 1}, true, 3, only({0}, false)},
  };
}

/// Critic shapes (one output) for the penalty.
std::vector<NormCase> critic_norm_cases() {
  return {
      {"2-5-4-3-1 every hidden layer, batch 4", {2, 5, 4, 3, 1}, true, 4, every_hidden()},
      {"2-1-1 width-1 hidden layer, batch 1", {2, 1, 1}, true, 1, every_hidden()},
      {"2-2-1 width 2, epsilon 0.3, batch 3", {2, 2, 1}, true, 3, every_hidden(true, 0.3)},
      {"2-6-6-1 layer 1 only, batch 5", {2, 6, 6, 1}, true, 5, only({1})},
      {"3-5-1 no gain or shift, no bias, batch 2", {3, 5, 1}, false, 2, every_hidden(false)},
  };
}

std::string label(const NormCase& c, const nn::Activation& a) { return c.name + ", " + a.name(); }

/// A layer-normalized network with every parameter (gains and shifts too) drawn N(0, 0.8^2), and a batch on which
/// no activation input of a piecewise-linear network lies within reach of the stencil of a kink.
struct Problem {
  nn::Mlp<double> net;
  Matrix<double> x;
};

Problem random_problem(const NormCase& c, const nn::Activation& activation, Rng& rng) {
  nn::Mlp<double> net(c.sizes, nn::MlpOptions(activation, c.bias, c.norm));
  for (int attempt = 0;; ++attempt) {
    rng.fill_normal(net.parameters(), 0.0, 0.8);
    Matrix<double> x = random_matrix<double>(c.sizes.front(), c.batch, rng);
    if (!activation.piecewise_linear() || min_abs_hidden_preactivation(net, x) > 1e-2) return {net, x};
    REQUIRE(attempt < 200);
  }
}

}  // namespace

TEST_CASE("layer normalization: forward equals a direct evaluation, and a single feature normalizes to the shift",
          "[nn][layer_norm]") {
  Rng rng(40);
  for (const auto& c : norm_cases()) {
    for (const auto& activation : all_activations()) {
      const Problem p = random_problem(c, activation, rng);
      const Matrix<double> got = p.net(p.x);
      const Matrix<double> expected = reference_forward(p.net, p.x);
      INFO(label(c, activation));
      REQUIRE(got.allFinite());
      CHECK((got - expected).cwiseAbs().maxCoeff() <= 1e-12 * std::max(1.0, expected.cwiseAbs().maxCoeff()));
    }
  }
  // Width 1: a - mean(a) = 0, so the layer outputs its shift whatever the input, and nothing is NaN.
  nn::Mlp<double> net({3, 1, 1}, nn::MlpOptions(nn::Activation::identity(), true, every_hidden()));
  rng.fill_normal(net.parameters());
  const Matrix<double> x = random_matrix<double>(3, 5, rng);
  const Matrix<double> out = net(x);
  REQUIRE(out.allFinite());
  const double constant = net.weight(1)(0, 0) * net.shift(0)(0) + net.bias(1)(0);
  CHECK((out.array() - constant).abs().maxCoeff() < 1e-14);
  CHECK(nn::input_gradient(net, x).cwiseAbs().maxCoeff() == 0.0);
}

TEST_CASE("layer normalization: backward matches finite differences", "[nn][layer_norm][gradient]") {
  WorstError worst_parameters("layer norm backward, parameter gradient");
  WorstError worst_inputs("layer norm backward, input gradient");
  Rng rng(41);
  for (const auto& c : norm_cases()) {
    for (const auto& activation : all_activations()) {
      const Problem p = random_problem(c, activation, rng);
      const Matrix<double> adjoint = random_matrix<double>(c.sizes.back(), c.batch, rng);
      nn::Tape<double> tape;
      Vector<double> gradient(p.net.parameter_count());
      p.net.backward(p.x, adjoint, tape, &gradient, false, true);
      const Matrix<double> x_adjoint = tape.input_adjoint();

      auto of_theta = [&](const Vector<double>& t) {
        nn::Mlp<double> probe = p.net;
        probe.parameters() = t;
        return inner(adjoint, probe(p.x));
      };
      const GradientCheck pc = check_gradient(of_theta, p.net.parameters(), gradient, step);
      worst_parameters.add(pc, label(c, activation));
      auto of_x = [&](const Vector<double>& v) {
        return inner(adjoint, p.net(Eigen::Map<const Matrix<double>>(v.data(), p.x.rows(), p.x.cols())));
      };
      const GradientCheck xc = check_gradient(of_x, flat(p.x), flat(x_adjoint), step);
      worst_inputs.add(xc, label(c, activation));
      INFO(label(c, activation) << ": parameters " << pc << "; inputs " << xc);
      CHECK(pc.worst_relative_error < tolerance);
      CHECK(xc.worst_relative_error < tolerance);
    }
  }
}

TEST_CASE("layer normalization: tangent forward matches finite differences", "[nn][layer_norm][gradient]") {
  WorstError worst("layer norm tangent forward (input and parameter tangents)");
  Rng rng(42);
  for (const auto& c : norm_cases()) {
    for (const auto& activation : all_activations()) {
      const Problem p = random_problem(c, activation, rng);
      const Matrix<double> dx = random_matrix<double>(c.sizes.front(), c.batch, rng);
      const Vector<double> dtheta = random_vector<double>(p.net.parameter_count(), rng);
      nn::Tape<double> tape;
      p.net.forward(p.x, tape, c.batch);
      p.net.tangent_forward_both(tape, dx, dtheta);
      const Matrix<double> analytic = tape.output_tangent();

      auto along = [&](const Vector<double>& s) {
        nn::Mlp<double> probe = p.net;
        probe.parameters() = p.net.parameters() + s(0) * dtheta;
        return flat(probe(p.x + s(0) * dx));
      };
      const GradientCheck check = compare_gradients(
          flat(analytic), numeric_directional(along, Vector<double>::Zero(1), Vector<double>::Ones(1), step));
      worst.add(check, label(c, activation));
      INFO(label(c, activation) << ": " << check);
      CHECK(check.worst_relative_error < tolerance);

      // The input-only and parameter-only tangents add up to the joint one (the pass is linear in them).
      p.net.tangent_forward_input(tape, dx);
      const Matrix<double> input_part = tape.output_tangent();
      p.net.tangent_forward_parameters(tape, dtheta);
      CHECK((input_part + tape.output_tangent() - analytic).cwiseAbs().maxCoeff() < 1e-12);
    }
  }
}

TEST_CASE("layer normalization: reverse of the tangent pass matches finite differences of the first-order code",
          "[nn][layer_norm][gradient]") {
  WorstError worst_parameters("layer norm reverse tangent, parameter gradient");
  WorstError worst_inputs("layer norm reverse tangent, input and input-tangent adjoints");
  Rng rng(43);
  for (const auto& c : norm_cases()) {
    for (const auto& activation : all_activations()) {
      const Problem p = random_problem(c, activation, rng);
      const Index tangent_cols = c.batch > 1 ? c.batch - 1 : 1;  // T < P where the batch allows
      const Matrix<double> dx = random_matrix<double>(c.sizes.front(), tangent_cols, rng);
      const Vector<double> dtheta = random_vector<double>(p.net.parameter_count(), rng);
      const Matrix<double> primal_adjoint = random_matrix<double>(c.sizes.back(), c.batch, rng);
      const Matrix<double> tangent_adjoint = random_matrix<double>(c.sizes.back(), tangent_cols, rng);

      // F(theta, x, dx) = <adj(a), a> + <adj(da), da>, da from the tangent pass (checked above).
      auto objective = [&](const nn::Mlp<double>& probe, const Matrix<double>& px, const Matrix<double>& pdx) {
        nn::Tape<double> tape;
        probe.forward(px, tape, tangent_cols);
        probe.tangent_forward_both(tape, pdx, dtheta);
        return inner(primal_adjoint, tape.output()) + inner(tangent_adjoint, tape.output_tangent());
      };
      nn::Tape<double> tape;
      p.net.forward(p.x, tape, tangent_cols);
      p.net.tangent_forward_both(tape, dx, dtheta);
      tape.output_adjoint() = primal_adjoint;
      tape.output_tangent_adjoint() = tangent_adjoint;
      Vector<double> gradient(p.net.parameter_count());
      p.net.reverse_tangent(tape, &gradient, false, true);

      auto of_theta = [&](const Vector<double>& t) {
        nn::Mlp<double> probe = p.net;
        probe.parameters() = t;
        return objective(probe, p.x, dx);
      };
      const GradientCheck pc = check_gradient(of_theta, p.net.parameters(), gradient, step);
      worst_parameters.add(pc, label(c, activation));

      Vector<double> inputs(p.x.size() + dx.size()), analytic(p.x.size() + dx.size());
      inputs << flat(p.x), flat(dx);
      analytic << flat(tape.input_adjoint()), flat(tape.input_tangent_adjoint());
      auto of_inputs = [&](const Vector<double>& v) {
        return objective(p.net, Eigen::Map<const Matrix<double>>(v.data(), p.x.rows(), p.x.cols()),
                         Eigen::Map<const Matrix<double>>(v.data() + p.x.size(), dx.rows(), dx.cols()));
      };
      const GradientCheck ic = check_gradient(of_inputs, inputs, analytic, step);
      worst_inputs.add(ic, label(c, activation));
      INFO(label(c, activation) << ": parameters " << pc << "; inputs " << ic);
      CHECK(pc.worst_relative_error < tolerance);
      CHECK(ic.worst_relative_error < tolerance);
    }
  }
}

TEST_CASE("layer normalization: penalty gradients match finite differences of the first-order code",
          "[nn][layer_norm][penalty][gradient]") {
  WorstError worst("layer norm gradient penalty, parameter gradient");
  Rng rng(44);
  // WGAN-GP's, a one-sided one and R1's (target 0): the penalty pass reuses the backward's adjoints and skips the
  // interpolates' zero primal adjoints only where that stays exact.
  const std::vector<nn::GradientPenaltyOptions> kinds = {{10.0, 1.0, false}, {3.0, 1.0, true}, {0.5, 0.0, false}};
  for (const auto& c : critic_norm_cases()) {
    for (const auto& activation : all_activations()) {
      for (const auto& options : kinds) {
        const Problem p = random_problem(c, activation, rng);
        nn::Tape<double> tape;
        Vector<double> gradient(p.net.parameter_count());
        const double value = nn::gradient_penalty(p.net, p.x, options, tape, &gradient);

        auto penalty_of = [&](const Vector<double>& t) {
          nn::Mlp<double> probe = p.net;
          probe.parameters() = t;
          return penalty_by_first_order(probe, p.x, options);
        };
        CHECK(std::abs(value - penalty_of(p.net.parameters())) < 1e-12 * std::max(1.0, value));
        const GradientCheck check = check_gradient(penalty_of, p.net.parameters(), gradient, step);
        worst.add(check, label(c, activation));
        INFO(label(c, activation) << ", target " << options.target << ": " << check);
        CHECK(check.worst_relative_error < tolerance);
      }
    }
  }
}

TEST_CASE("layer normalization: Hessian-vector products match finite differences of gradients",
          "[nn][layer_norm][hvp][gradient]") {
  WorstError worst("layer norm Hessian-vector product (alone and through generator -> critic)");
  Rng rng(45);
  const SmoothOutputLoss loss;
  for (const auto& c : norm_cases()) {
    for (const auto& activation : all_activations()) {
      const Problem p = random_problem(c, activation, rng);
      const Vector<double> v = random_vector<double>(p.net.parameter_count(), rng);
      nn::Tape<double> tape;
      Vector<double> hv;
      nn::hessian_vector_product(p.net, p.x, loss, v, tape, hv);
      auto gradient_at = [&](const Vector<double>& theta) {
        nn::Mlp<double> probe = p.net;
        probe.parameters() = theta;
        return gradient_of(probe, p.x, loss);
      };
      const GradientCheck check = compare_gradients(hv, numeric_directional(gradient_at, p.net.parameters(), v, step));
      worst.add(check, label(c, activation));
      INFO(label(c, activation) << ": " << check);
      CHECK(check.worst_relative_error < tolerance);
    }
  }
  // Through generator -> critic, both normalized (consensus's product).
  for (const auto& activation : all_activations()) {
    const NormCase gc{"generator 2-6-5-3", {2, 6, 5, 3}, true, 4, every_hidden()};
    const NormCase dc{"critic 3-4-4-1", {3, 4, 4, 1}, true, 4, only({1})};
    Problem g = random_problem(gc, activation, rng);
    Problem d = random_problem(dc, activation, rng);
    for (int attempt = 0; activation.piecewise_linear() && min_abs_hidden_preactivation(d.net, g.net(g.x)) <= 1e-2;
         ++attempt) {  // the critic's kinks, on the samples it sees
      rng.fill_normal(d.net.parameters(), 0.0, 0.8);
      REQUIRE(attempt < 200);
    }
    const Vector<double> v_g = random_vector<double>(g.net.parameter_count(), rng);
    const Vector<double> v_d = random_vector<double>(d.net.parameter_count(), rng);
    nn::ChainTapes<double> tapes;
    Vector<double> hv_g, hv_d;
    nn::chain_hessian_vector_product(g.net, d.net, g.x, loss, v_g, v_d, tapes, hv_g, hv_d);
    Vector<double> analytic(hv_g.size() + hv_d.size()), w(analytic.size()), v(analytic.size());
    analytic << hv_g, hv_d;
    w << g.net.parameters(), d.net.parameters();
    v << v_g, v_d;
    auto joint_gradient = [&](const Vector<double>& theta) { return chain_gradient_of(g.net, d.net, g.x, loss, theta); };
    const GradientCheck check = compare_gradients(analytic, numeric_directional(joint_gradient, w, v, step));
    worst.add(check, "chain, " + activation.name());
    INFO("chain, " << activation.name() << ": " << check);
    CHECK(check.worst_relative_error < tolerance);
  }
}

TEMPLATE_TEST_CASE("layer normalization: float passes agree with double", "[nn][layer_norm][float]", float, double) {
  Rng rng(46);
  const double bound = std::is_same_v<TestType, float> ? 1e-4 : 1e-12;
  for (const auto& activation : all_activations()) {
    nn::Mlp<double> reference({2, 16, 16, 16, 1}, nn::MlpOptions(activation, true, every_hidden()));
    reference.initialize(nn::InitScheme::torch_default, rng);
    reference.parameters() += 0.1 * random_vector<double>(reference.parameter_count(), rng);  // gains other than 1
    nn::Mlp<TestType> net({2, 16, 16, 16, 1}, nn::MlpOptions(activation, true, every_hidden()));
    net.parameters() = reference.parameters().template cast<TestType>();
    const Matrix<double> x = random_matrix<double>(2, 8, rng);
    const Matrix<double> dx = random_matrix<double>(2, 8, rng);
    const Vector<double> dtheta = random_vector<double>(reference.parameter_count(), rng);

    auto run = [&](const auto& network, const auto& px, const auto& pdx, const auto& pdtheta) {
      using S = typename std::decay_t<decltype(network)>::scalar_type;
      nn::Tape<S> tape;
      network.forward(px, tape, px.cols());
      network.tangent_forward_both(tape, pdx, pdtheta);
      tape.output_adjoint().setOnes();
      tape.output_tangent_adjoint().setConstant(S(0.5));
      Vector<S> gradient(network.parameter_count());
      network.reverse_tangent(tape, &gradient, false, true);
      return std::make_pair(Matrix<double>(tape.output().template cast<double>()),
                            Vector<double>(gradient.template cast<double>()));
    };
    const auto expected = run(reference, x, dx, dtheta);
    const auto got = run(net, Matrix<TestType>(x.cast<TestType>()), Matrix<TestType>(dx.cast<TestType>()),
                         Vector<TestType>(dtheta.cast<TestType>()));
    INFO(activation.name());
    CHECK((got.first - expected.first).cwiseAbs().maxCoeff() <= bound * std::max(1.0, expected.first.cwiseAbs().maxCoeff()));
    CHECK((got.second - expected.second).cwiseAbs().maxCoeff() <=
          bound * 10 * std::max(1.0, expected.second.cwiseAbs().maxCoeff()));
  }
}

TEST_CASE("layer normalization: parameters sit after each layer's bias, start at gain 1 and shift 0", "[nn][layer_norm]") {
  nn::Mlp<double> net({3, 4, 5, 2}, nn::MlpOptions(nn::Activation::relu(), true, only({1})));
  // 3*4 + 4, then 4*5 + 5 and layer 1's gain and shift (5 + 5), then 5*2 + 2.
  REQUIRE(net.parameter_count() == 16 + 25 + 10 + 12);
  CHECK(net.layer_norm(1).gain_offset == 16 + 25);
  CHECK(net.layer_norm(1).shift_offset == 16 + 25 + 5);
  CHECK(net.layer(2).weight_offset == 16 + 25 + 10);
  CHECK_FALSE(net.normalizes(0));
  CHECK(net.normalizes(1));
  CHECK_FALSE(net.piecewise_linear());
  Rng rng(47);
  net.initialize(nn::InitScheme::he_uniform, rng);
  CHECK(net.gain(1).isOnes());
  CHECK(net.shift(1).isZero());
  net.gain(1)(2) = 7.0;
  CHECK(net.parameters()(16 + 25 + 2) == 7.0);
  REQUIRE_THROWS_WITH(net.gain(0), contains("layer 0 has no layer normalization"));
  nn::Mlp<double> plain({3, 4, 2}, nn::MlpOptions(nn::Activation::relu(), true, every_hidden(false)));
  REQUIRE_THROWS_WITH(plain.shift(0), contains("layer 0 is normalized without gain and shift"));
  CHECK(plain.parameter_count() == 16 + 10);
}

TEST_CASE("layer normalization options are validated with messages naming the field", "[nn][layer_norm]") {
  const nn::Activation relu = nn::Activation::relu();
  nn::LayerNormOptions o = every_hidden();
  o.epsilon = 0;
  REQUIRE_THROWS_WITH(nn::Mlp<double>({2, 4, 1}, nn::MlpOptions(relu, true, o)), contains("epsilon"));
  o.epsilon = std::nan("");
  REQUIRE_THROWS_WITH(nn::Mlp<double>({2, 4, 1}, nn::MlpOptions(relu, true, o)), contains("epsilon"));
  REQUIRE_THROWS_WITH(nn::Mlp<double>({2, 4, 1}, nn::MlpOptions(relu, true, only({1}))),
                      contains("layers[0] = 1 is not a hidden layer"));
  REQUIRE_THROWS_WITH(nn::Mlp<double>({2, 4, 1}, nn::MlpOptions(relu, true, only({-1}))),
                      contains("layers[0] = -1 is not a hidden layer"));
  REQUIRE_THROWS_WITH(nn::Mlp<double>({2, 4, 4, 1}, nn::MlpOptions(relu, true, only({0, 0}))),
                      contains("layer 0 is listed twice"));
  nn::LayerNormOptions both = only({0});
  both.every_hidden_layer = true;
  REQUIRE_THROWS_WITH(nn::Mlp<double>({2, 4, 1}, nn::MlpOptions(relu, true, both)), contains("not both"));
  // A network without hidden layers has nothing to normalize: every_hidden_layer is then a no-op.
  CHECK(nn::Mlp<double>({2, 1}, nn::MlpOptions(relu, true, every_hidden())).parameter_count() == 3);
  // A tape of a network with other normalized layers is refused, not misread.
  nn::Mlp<double> a({2, 4, 4, 1}, nn::MlpOptions(relu, true, only({0})));
  nn::Mlp<double> b({2, 4, 4, 1}, nn::MlpOptions(relu, true, only({1})));
  nn::Tape<double> tape;
  a.forward(Matrix<double>::Ones(2, 3), tape);
  tape.output_adjoint().setOnes();
  REQUIRE_THROWS_WITH(b.backward(tape, 0, 3, nullptr, false, true), contains("does not hold a forward pass"));
}
