// SPDX-License-Identifier: MIT
// Passes split over two threads against the same passes on one, and a reverse pass that reuses the backward's
// adjoints against one that recomputes them. Built with OpenMP only (CMake), since without it a pass
// never splits; set_thread_count(2) would throw there, so this cannot pass by comparing one thread with itself.

#include <gantry/core/threads.hpp>
#include <gantry/nn/mlp.hpp>

#include "catch.hpp"
#include "support/networks.hpp"
#include "support/threads.hpp"

using gantry::Index;
using gantry::Matrix;
using gantry::Rng;
using gantry::Vector;
using namespace gantry::test;
namespace nn = gantry::nn;

namespace {

// Wide and long enough that detail::batch_shares splits every pass (checked below).
const std::vector<Index> sizes = {2, 48, 40, 32, 1};
constexpr Index batch = 600, tangents = 200;

struct Results {
  Matrix<double> output, input_adjoint, output_tangent, input_tangent_adjoint;
  Vector<double> gradient, penalty_like_gradient;
};

/// How the second-order part runs: as a WGAN-GP critic step (T penalized samples lead, their primal adjoints zero:
/// `skip`), as R1 (objective adjoints on every sample), or as a consensus Hessian-vector product (a parameter
/// tangent as well).
struct Mode {
  const char* name;
  bool skip;
  bool parameter_tangent;
};
const Mode modes[] = {{"R1-like", false, false}, {"WGAN-GP-like", true, false}, {"consensus-like", false, true}};

/// A network with its inputs, input tangents u, parameter tangent and output adjoints.
struct Problem {
  nn::Mlp<double> net;
  Matrix<double> x, u, objective_adjoint;
  Vector<double> dtheta;
};

/// `layer_norm`: every hidden layer normalized (its per-sample steps split the samples, not the columns).
Problem random_problem(const nn::Activation& activation, Rng& rng, bool layer_norm) {
  nn::LayerNormOptions norm;
  norm.every_hidden_layer = layer_norm;
  nn::Mlp<double> net(sizes, nn::MlpOptions(activation, true, norm));
  rng.fill_normal(net.parameters(), 0.0, 0.3);
  const Vector<double> dtheta = random_vector<double>(net.parameter_count(), rng);
  return {net, random_matrix<double>(2, batch, rng), random_matrix<double>(2, tangents, rng),
          random_matrix<double>(1, batch, rng), dtheta};
}

/// Every pass once, on one tape.
Results run_passes(const Problem& problem, Mode mode, bool reuse) {
  const nn::Mlp<double>& net = problem.net;
  const Matrix<double>& objective_adjoint = problem.objective_adjoint;
  const bool skip = mode.skip;
  Results r;
  nn::Tape<double> tape;
  net.forward(problem.x, tape, tangents);
  r.output = tape.output();
  // First-order: gradient and input adjoint of <objective_adjoint, D(x)>.
  tape.output_adjoint() = objective_adjoint;
  r.gradient.resize(net.parameter_count());
  net.backward_core(tape, 0, batch, r.gradient.data(), false, true);
  r.input_adjoint = tape.input_adjoint();
  // Second-order: one seed per tangent sample (ones for a penalty, l'(a) / B for a consensus term; here any
  // values) for both the backward over those samples and the reverse, the tangent along u (and dtheta).
  const Matrix<double> seed = objective_adjoint.rightCols(tangents);
  tape.output_adjoint().leftCols(tangents) = seed;
  net.backward_core(tape, 0, tangents, nullptr, false, true);
  tape.input_tangent() = problem.u;
  net.tangent_forward_core(tape, true, mode.parameter_tangent ? problem.dtheta.data() : nullptr);
  r.output_tangent = tape.output_tangent();
  tape.output_adjoint() = objective_adjoint;
  if (skip) tape.output_adjoint().leftCols(tangents).setZero();
  tape.output_tangent_adjoint() = seed;
  r.penalty_like_gradient.resize(net.parameter_count());
  net.reverse_tangent_core(tape, r.penalty_like_gradient.data(), false, true, skip ? tangents : 0, reuse);
  r.input_tangent_adjoint = tape.input_tangent_adjoint();
  return r;
}

void require_same(const Results& a, const Results& b, double tolerance) {
  CHECK(relative_difference(a.output, b.output) < tolerance);
  CHECK(relative_difference(a.input_adjoint, b.input_adjoint) < tolerance);
  CHECK(relative_difference(a.gradient, b.gradient) < tolerance);
  CHECK(relative_difference(a.output_tangent, b.output_tangent) < tolerance);
  CHECK(relative_difference(a.penalty_like_gradient, b.penalty_like_gradient) < tolerance);
  CHECK(relative_difference(a.input_tangent_adjoint, b.input_tangent_adjoint) < tolerance);
}

}  // namespace

TEST_CASE("passes split over two threads agree with one thread", "[nn][threads]") {
  const ThreadCountScope restore;
  Rng rng(71);
  for (const bool layer_norm : {false, true}) {
    for (const auto& activation : all_activations()) {
      const Problem problem = random_problem(activation, rng, layer_norm);
      for (const Mode mode : modes) {
        INFO(activation.name() << ", " << mode.name << (layer_norm ? ", layer norm" : ""));
        gantry::set_thread_count(1);
        REQUIRE(gantry::detail::batch_shares(batch, 3000) == 1);
        const Results one = run_passes(problem, mode, false);
        gantry::set_thread_count(2);
        REQUIRE(gantry::detail::batch_shares(tangents, 3000) >= 2);  // the smallest pass here (3,328 per column) splits too
        require_same(run_passes(problem, mode, false), one, 1e-12);
        require_same(run_passes(problem, mode, true), one, 1e-12);
      }
    }
  }
}

TEST_CASE("a reverse pass may reuse the backward's adjoints instead of recomputing them", "[nn][penalty]") {
  const ThreadCountScope restore;
  Rng rng(72);
  for (const int threads : {1, 2}) {
    gantry::set_thread_count(threads);
    for (const bool layer_norm : {false, true}) {
      for (const auto& activation : all_activations()) {
        const Problem problem = random_problem(activation, rng, layer_norm);
        for (const Mode mode : modes) {
          INFO(threads << " threads, " << activation.name() << ", " << mode.name << (layer_norm ? ", layer norm" : ""));
          const Results recomputed = run_passes(problem, mode, false);
          const Results reused = run_passes(problem, mode, true);
          require_same(reused, recomputed, 1e-12);
          // The penalty part is really there: without the tangent stream the gradient differs.
          CHECK(relative_difference(reused.penalty_like_gradient, reused.gradient) > 1e-3);
        }
      }
    }
  }
}

TEST_CASE("the products of the passes agree with finite differences of the forward (BLAS's when built with it)",
          "[nn][threads]") {
  // This file is built as the examples are (with OpenBLAS behind Eigen when found), where the tangent and
  // backward passes call GEMM themselves (Mlp::overwrite_product): W h and W^T adj checked independently here.
  const ThreadCountScope restore;
  Rng rng(73);
  for (const int threads : {1, 2}) for (const bool layer_norm : {false, true}) {
    gantry::set_thread_count(threads);
    const Problem problem = random_problem(nn::Activation::tanh(), rng, layer_norm);
    const nn::Mlp<double>& net = problem.net;
    nn::Tape<double> tape;
    net.forward(problem.x, tape, tangents);
    tape.input_tangent() = problem.u;
    net.tangent_forward_core(tape, true, nullptr);
    const Matrix<double> output_tangent = tape.output_tangent();
    // J u against central differences of the forward along u.
    const double h = 1e-6;
    const Matrix<double> x = problem.x.leftCols(tangents);
    const Matrix<double> numeric = (net(x + h * problem.u) - net(x - h * problem.u)) / (2 * h);
    INFO(threads << " threads" << (layer_norm ? ", layer norm" : ""));
    CHECK(relative_difference(output_tangent, numeric) < 1e-7);
    // J^T s against J u: <s, J u> = <J^T s, u> sample by sample.
    const Matrix<double> seed = problem.objective_adjoint.leftCols(tangents);
    tape.output_adjoint().leftCols(tangents) = seed;
    net.backward_core(tape, 0, tangents, nullptr, false, true);
    const Matrix<double> lhs = seed.cwiseProduct(output_tangent);
    const Matrix<double> rhs = tape.input_adjoint().leftCols(tangents).cwiseProduct(problem.u).colwise().sum();
    CHECK(relative_difference(lhs, rhs) < 1e-12);
  }
}
