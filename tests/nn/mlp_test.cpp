// SPDX-License-Identifier: MIT
// The four passes of nn::Mlp against central finite differences, for every activation and shape.

#include <gantry/nn/mlp.hpp>

#include <utility>

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

std::string label(const NetworkCase& c, const nn::Activation& a) { return c.name + ", " + a.name(); }

Matrix<double> forward(const nn::Mlp<double>& net, const Matrix<double>& x) { return net(x); }

// The tangent output da_L along (dx, dtheta), computed by the first-order code under test elsewhere.
Matrix<double> tangent(const nn::Mlp<double>& net, const Matrix<double>& x, const Matrix<double>& dx,
                       const Vector<double>& dtheta) {
  nn::Tape<double> tape;
  net.forward(x, tape, x.cols());
  net.tangent_forward_both(tape, dx, dtheta);
  return tape.output_tangent();
}

}  // namespace

TEST_CASE("Mlp lays out parameters as views into one flat vector", "[nn][mlp]") {
  nn::Mlp<double> net({3, 4, 2}, nn::Activation::tanh());
  REQUIRE(net.parameter_count() == 3 * 4 + 4 + 4 * 2 + 2);
  REQUIRE(net.layer_count() == 2);
  net.weight(1)(1, 3) = 7.0;
  REQUIRE(net.parameters()(net.layer(1).weight_offset + 3 * 2 + 1) == 7.0);
  net.bias(0)(2) = -3.0;
  REQUIRE(net.parameters()(12 + 2) == -3.0);

  nn::Mlp<double> no_bias({3, 4, 2}, nn::MlpOptions{nn::Activation::relu(), false});
  REQUIRE(no_bias.parameter_count() == 3 * 4 + 4 * 2);
  REQUIRE(no_bias.bias(0).size() == 0);
}

TEST_CASE("Mlp rejects bad sizes, shapes and layer indices with messages that name them", "[nn][mlp]") {
  REQUIRE_THROWS_WITH(nn::Mlp<double>({3}), contains("at least the input and output"));
  REQUIRE_THROWS_WITH(nn::Mlp<double>({3, 0, 1}), contains("sizes[1] must be > 0, given 0"));
  nn::Mlp<double> net({3, 4, 2}, nn::Activation::relu());
  REQUIRE_THROWS_AS(net.set_weight(1, Matrix<double>::Zero(4, 2)), gantry::ShapeError);
  REQUIRE_THROWS_WITH(net.set_weight(1, Matrix<double>::Zero(4, 2)),
                      contains("layer 1 weight expects shape 2x4") &&
                          contains("given 4x2"));
  REQUIRE_THROWS_WITH(net.set_bias(0, Vector<double>::Zero(3)), contains("bias expects 4 entries, given 3"));
  REQUIRE_THROWS_WITH(net.weight(2), contains("layer index 2 out of range [0, 2)"));
  nn::Tape<double> tape;
  REQUIRE_THROWS_WITH(net.forward(Matrix<double>::Zero(2, 5), tape), contains("input x expects shape 3x*, given 2x5"));
  REQUIRE_THROWS_WITH(net.forward(Matrix<double>::Zero(3, 0), tape), contains("batch of 0"));
  REQUIRE_THROWS_WITH(net.forward(Matrix<double>::Zero(3, 2), tape, 3), contains("tangent_cols"));
  REQUIRE_THROWS_WITH(net.set_parameters(Vector<double>::Zero(5)), contains("parameters expects shape"));
}

TEST_CASE("Mlp refuses sizes whose parameter count overflows a 64-bit index, naming the layer", "[nn][mlp]") {
  // 4e9 x 4e9 weights: before the check, the offsets overflowed (UB) and Eigen then aborted on a negative size.
  REQUIRE_THROWS_AS(nn::Mlp<float>({2, 4000000000, 4000000000, 2}), gantry::OptionError);
  REQUIRE_THROWS_WITH(nn::Mlp<float>({2, 4000000000, 4000000000, 2}),
                      contains("gantry::nn::Mlp: layer 1 (4000000000 -> 4000000000) parameters: 4000000000 x "
                               "4000000000 overflows a 64-bit index"));
  // Each layer fits, their sum does not.
  REQUIRE_THROWS_WITH(nn::Mlp<float>({4, 3037000499, 3037000499}),
                      contains("layer 1 (3037000499 -> 3037000499) parameters: 21259003493 + 9223372030926249001 "
                               "overflows a 64-bit index"));
}

TEST_CASE("forward computes W h + b layer by layer", "[nn][mlp]") {
  Rng rng(1);
  nn::Mlp<double> net({2, 3, 1}, nn::Activation::tanh());
  rng.fill_normal(net.parameters());
  const Matrix<double> x = random_matrix<double>(2, 4, rng);
  const Matrix<double> hidden = ((net.weight(0) * x).colwise() + net.bias(0)).array().tanh().matrix();
  const Matrix<double> expected = (net.weight(1) * hidden).colwise() + net.bias(1);
  REQUIRE((net(x) - expected).cwiseAbs().maxCoeff() < 1e-14);
}

TEST_CASE("backward: parameter and input gradients match finite differences", "[nn][mlp][gradient]") {
  WorstError worst_parameters("backward, parameter gradient");
  WorstError worst_inputs("backward, input gradient");
  Rng rng(2);
  for (const auto& c : network_cases()) {
    for (const auto& activation : all_activations()) {
      nn::Mlp<double> net = random_network<double>(c, activation, rng);
      const Matrix<double> x = random_matrix<double>(c.sizes.front(), c.batch, rng);
      const Matrix<double> adjoint = random_matrix<double>(c.sizes.back(), c.batch, rng);
      nn::Tape<double> tape;
      Vector<double> gradient(net.parameter_count());
      net.backward(x, adjoint, tape, &gradient, false, true);
      const Matrix<double> x_adjoint = tape.input_adjoint();

      const Vector<double> theta = net.parameters();
      auto loss_of_theta = [&](const Vector<double>& t) {
        nn::Mlp<double> probe = net;
        probe.parameters() = t;
        return inner(adjoint, forward(probe, x));
      };
      const GradientCheck pc = check_gradient(loss_of_theta, theta, gradient, step);
      worst_parameters.add(pc, label(c, activation));
      INFO(label(c, activation) << ": parameters " << pc);
      CHECK(pc.worst_relative_error < tolerance);

      auto loss_of_x = [&](const Vector<double>& flat) {
        return inner(adjoint, forward(net, Eigen::Map<const Matrix<double>>(flat.data(), x.rows(), x.cols())));
      };
      const Vector<double> x_flat = Eigen::Map<const Vector<double>>(x.data(), x.size());
      const GradientCheck xc =
          check_gradient(loss_of_x, x_flat, Eigen::Map<const Vector<double>>(x_adjoint.data(), x_adjoint.size()), step);
      worst_inputs.add(xc, label(c, activation));
      INFO(label(c, activation) << ": inputs " << xc);
      CHECK(xc.worst_relative_error < tolerance);
    }
  }
}

TEST_CASE("backward accumulates into the gradient and works on a column range", "[nn][mlp]") {
  Rng rng(3);
  nn::Mlp<double> net({2, 5, 1}, nn::Activation::softplus());
  rng.fill_normal(net.parameters());
  const Matrix<double> x = random_matrix<double>(2, 6, rng);
  const Matrix<double> adjoint = random_matrix<double>(1, 6, rng);
  nn::Tape<double> tape;
  Vector<double> full(net.parameter_count());
  net.backward(x, adjoint, tape, &full, false, false);

  // Columns [0, 2) then [2, 6) accumulated equal all six at once.
  Vector<double> split(net.parameter_count());
  net.forward(x, tape);
  tape.output_adjoint() = adjoint;
  net.backward(tape, 0, 2, &split, false, false);
  net.backward(tape, 2, 4, &split, true, false);
  REQUIRE((split - full).cwiseAbs().maxCoeff() < 1e-13);
  REQUIRE_THROWS_WITH(net.backward(tape, 4, 3, &split, true, false), contains("inside the forward batch of 6"));
}

TEST_CASE("forward_from copies a block of another tape's forward, and later passes match a fresh forward",
          "[nn][mlp]") {
  Rng rng(33);
  nn::Mlp<double> net({2, 5, 4, 1}, nn::Activation::tanh());
  rng.fill_normal(net.parameters());
  const Matrix<double> x = random_matrix<double>(2, 7, rng);
  const Matrix<double> block = x.middleCols(3, 4);
  const Matrix<double> dx = random_matrix<double>(2, 2, rng);
  const Vector<double> dtheta = random_vector<double>(net.parameter_count(), rng);
  const Matrix<double> adjoint = random_matrix<double>(1, 4, rng);
  const Matrix<double> tangent_adjoint = random_matrix<double>(1, 2, rng);

  // The passes of a consensus generator step on a tape: tangent, reverse; returns gradient and input adjoints.
  auto second_order = [&](nn::Tape<double>& tape) {
    net.tangent_forward_both(tape, dx, dtheta);
    tape.output_adjoint() = adjoint;
    tape.output_tangent_adjoint() = tangent_adjoint;
    Vector<double> gradient(net.parameter_count());
    net.reverse_tangent(tape, &gradient, false, true);
    return std::make_pair(gradient, Matrix<double>(tape.input_adjoint()));
  };
  nn::Tape<double> source, fresh, copied;
  net.forward(x, source);
  net.forward(block, fresh, 2);
  net.forward_from(source, 3, 4, copied, 2);
  REQUIRE(copied.primal_cols() == 4);
  REQUIRE(copied.tangent_cols() == 2);
  REQUIRE((copied.output() - fresh.output()).cwiseAbs().maxCoeff() < 1e-14);
  REQUIRE((copied.input() - block).cwiseAbs().maxCoeff() == 0);
  const auto expected = second_order(fresh);
  const auto got = second_order(copied);
  REQUIRE((got.first - expected.first).cwiseAbs().maxCoeff() < 1e-13);
  REQUIRE((got.second - expected.second).cwiseAbs().maxCoeff() < 1e-13);
}

TEST_CASE("tangent forward: Jacobian-vector products match finite differences", "[nn][mlp][gradient]") {
  WorstError worst("tangent forward (input and parameter tangents)");
  Rng rng(4);
  for (const auto& c : network_cases()) {
    for (const auto& activation : all_activations()) {
      nn::Mlp<double> net = random_network<double>(c, activation, rng);
      const Matrix<double> x = random_matrix<double>(c.sizes.front(), c.batch, rng);
      const Matrix<double> dx = random_matrix<double>(c.sizes.front(), c.batch, rng);
      const Vector<double> dtheta = random_vector<double>(net.parameter_count(), rng);
      const Matrix<double> analytic = tangent(net, x, dx, dtheta);

      auto output_along = [&](const Vector<double>& s) {
        nn::Mlp<double> probe = net;
        probe.parameters() = net.parameters() + s(0) * dtheta;
        const Matrix<double> out = forward(probe, x + s(0) * dx);
        return Vector<double>(Eigen::Map<const Vector<double>>(out.data(), out.size()));
      };
      const Vector<double> numeric =
          numeric_directional(output_along, Vector<double>::Zero(1), Vector<double>::Ones(1), step);
      const GradientCheck check =
          compare_gradients(Eigen::Map<const Vector<double>>(analytic.data(), analytic.size()), numeric);
      worst.add(check, label(c, activation));
      INFO(label(c, activation) << ": " << check);
      CHECK(check.worst_relative_error < tolerance);

      // The input-only and parameter-only entry points agree with the combined one by linearity.
      nn::Tape<double> tape;
      net.forward(x, tape, x.cols());
      net.tangent_forward_input(tape, dx);
      const Matrix<double> input_part = tape.output_tangent();
      net.tangent_forward_parameters(tape, dtheta);
      const Matrix<double> parameter_part = tape.output_tangent();
      CHECK((input_part + parameter_part - analytic).cwiseAbs().maxCoeff() < 1e-12);
    }
  }
}

TEST_CASE("reverse of the tangent pass matches finite differences of the first-order code", "[nn][mlp][gradient]") {
  WorstError worst_parameters("reverse tangent, parameter gradient");
  WorstError worst_inputs("reverse tangent, input and input-tangent adjoints");
  Rng rng(5);
  for (const auto& c : network_cases()) {
    for (const auto& activation : all_activations()) {
      nn::Mlp<double> net = random_network<double>(c, activation, rng);
      const Index batch = c.batch;
      // Tangents on a strict prefix of the batch when it has more than one sample, to exercise T < P.
      const Index tangent_cols = batch > 1 ? batch - 1 : 1;
      const Matrix<double> x = random_matrix<double>(c.sizes.front(), batch, rng);
      const Matrix<double> dx = random_matrix<double>(c.sizes.front(), tangent_cols, rng);
      const Vector<double> dtheta = random_vector<double>(net.parameter_count(), rng);
      const Matrix<double> primal_adjoint = random_matrix<double>(c.sizes.back(), batch, rng);
      const Matrix<double> tangent_adjoint = random_matrix<double>(c.sizes.back(), tangent_cols, rng);

      // F(theta, x, dx) = <adj(a), a> + <adj(da), da>, da computed by the tangent pass.
      auto objective = [&](const nn::Mlp<double>& probe, const Matrix<double>& px, const Matrix<double>& pdx) {
        nn::Tape<double> tape;
        probe.forward(px, tape, tangent_cols);
        probe.tangent_forward_both(tape, pdx, dtheta);
        return inner(primal_adjoint, tape.output()) + inner(tangent_adjoint, tape.output_tangent());
      };

      nn::Tape<double> tape;
      net.forward(x, tape, tangent_cols);
      net.tangent_forward_both(tape, dx, dtheta);
      tape.output_adjoint() = primal_adjoint;
      tape.output_tangent_adjoint() = tangent_adjoint;
      Vector<double> gradient(net.parameter_count());
      net.reverse_tangent(tape, &gradient, false, true);

      auto of_theta = [&](const Vector<double>& t) {
        nn::Mlp<double> probe = net;
        probe.parameters() = t;
        return objective(probe, x, dx);
      };
      const GradientCheck pc = check_gradient(of_theta, net.parameters(), gradient, step);
      worst_parameters.add(pc, label(c, activation));
      INFO(label(c, activation) << ": parameters " << pc);
      CHECK(pc.worst_relative_error < tolerance);

      // Inputs: x and dx stacked in one vector.
      Vector<double> inputs(x.size() + dx.size());
      inputs << Eigen::Map<const Vector<double>>(x.data(), x.size()), Eigen::Map<const Vector<double>>(dx.data(), dx.size());
      Vector<double> analytic(inputs.size());
      const Matrix<double> x_adj = tape.input_adjoint();
      const Matrix<double> dx_adj = tape.input_tangent_adjoint();
      analytic << Eigen::Map<const Vector<double>>(x_adj.data(), x_adj.size()),
          Eigen::Map<const Vector<double>>(dx_adj.data(), dx_adj.size());
      auto of_inputs = [&](const Vector<double>& v) {
        const Matrix<double> px = Eigen::Map<const Matrix<double>>(v.data(), x.rows(), x.cols());
        const Matrix<double> pdx = Eigen::Map<const Matrix<double>>(v.data() + x.size(), dx.rows(), dx.cols());
        return objective(net, px, pdx);
      };
      const GradientCheck ic = check_gradient(of_inputs, inputs, analytic, step);
      worst_inputs.add(ic, label(c, activation));
      INFO(label(c, activation) << ": inputs " << ic);
      CHECK(ic.worst_relative_error < tolerance);
    }
  }
}

TEMPLATE_TEST_CASE("float passes agree with double to float precision", "[nn][mlp][float]", float, double) {
  Rng rng(6);
  for (const auto& activation : all_activations()) {
    const NetworkCase c{"2-16-16-16-1", {2, 16, 16, 16, 1}, true, 8};
    nn::Mlp<double> reference = random_network<double>(c, activation, rng);
    for (Index l = 0; l < reference.layer_count(); ++l) reference.weight(l) /= std::sqrt(double(c.sizes[l]));
    nn::Mlp<TestType> net(c.sizes, nn::MlpOptions{activation, true});
    net.parameters() = reference.parameters().cast<TestType>();
    const Matrix<double> x = random_matrix<double>(2, c.batch, rng);
    const Matrix<double> adjoint = random_matrix<double>(1, c.batch, rng);

    nn::Tape<double> tape_d;
    nn::Tape<TestType> tape_t;
    Vector<double> grad_d(reference.parameter_count());
    Vector<TestType> grad_t(net.parameter_count());
    reference.backward(x, adjoint, tape_d, &grad_d, false, true);
    net.backward(x.cast<TestType>(), adjoint.cast<TestType>(), tape_t, &grad_t, false, true);
    const double eps = std::is_same<TestType, float>::value ? 1e-4 : 1e-12;
    const double out_err = (tape_t.output().template cast<double>() - tape_d.output()).cwiseAbs().maxCoeff() /
                           std::max(1.0, tape_d.output().cwiseAbs().maxCoeff());
    const double grad_err = (grad_t.template cast<double>() - grad_d).cwiseAbs().maxCoeff() /
                            std::max(1.0, grad_d.cwiseAbs().maxCoeff());
    INFO(activation.name() << ": output error " << out_err << ", gradient error " << grad_err);
    CHECK(out_err < eps);
    CHECK(grad_err < eps);
  }
}

TEST_CASE("initializers draw from the documented distributions", "[nn][init]") {
  Rng rng(7);
  nn::Mlp<double> net({400, 300, 1}, nn::Activation::relu());
  net.initialize(nn::InitScheme::he_normal, rng);
  const auto w = net.weight(0);
  const double stddev = std::sqrt((w.array() - w.mean()).square().mean());
  CHECK(std::abs(stddev - std::sqrt(2.0 / 400)) < 0.02 * std::sqrt(2.0 / 400));
  CHECK(net.bias(0).cwiseAbs().maxCoeff() == 0.0);

  net.initialize(nn::InitScheme::torch_default, rng);
  const double bound = 1.0 / std::sqrt(400.0);
  CHECK(net.weight(0).cwiseAbs().maxCoeff() <= bound);
  CHECK(net.weight(0).cwiseAbs().maxCoeff() > 0.99 * bound);
  CHECK(net.bias(0).cwiseAbs().maxCoeff() <= bound);
  CHECK(net.bias(0).cwiseAbs().maxCoeff() > 0.9 * bound);

  net.initialize(nn::InitScheme::glorot_uniform, rng);
  const double glorot = std::sqrt(6.0 / (400 + 300));
  CHECK(net.weight(0).cwiseAbs().maxCoeff() <= glorot);
  CHECK(net.weight(0).cwiseAbs().maxCoeff() > 0.99 * glorot);

  Rng a(11), b(11);
  nn::Mlp<double> n1({3, 5, 2}, nn::Activation::relu()), n2({3, 5, 2}, nn::Activation::relu());
  n1.initialize(nn::InitScheme::he_uniform, a);
  n2.initialize(nn::InitScheme::he_uniform, b);
  CHECK(n1.parameters() == n2.parameters());
  REQUIRE_THROWS_WITH(nn::init_scheme_from_name("kaiming"), contains("unknown scheme 'kaiming'"));
}
