// SPDX-License-Identifier: MIT
// After the first call with a given batch size, the passes and the penalty gradient allocate nothing.

#include "support/no_malloc.hpp"  // first: before any Eigen header

#include <gantry/nn/gradient_penalty.hpp>
#include <gantry/nn/hessian_vector.hpp>

#include "catch.hpp"
#include "support/networks.hpp"

using gantry::Matrix;
using gantry::Rng;
using gantry::Vector;
namespace nn = gantry::nn;

using gantry::test::NoMallocScope;

TEMPLATE_TEST_CASE("steady-state passes perform no heap allocation", "[nn][allocation]", float, double) {
  for (const bool layer_norm : {false, true}) {
    for (const auto& activation : {nn::Activation::relu(), nn::Activation::tanh()}) {
      INFO(activation.name() << (layer_norm ? ", layer norm" : ""));
      Rng rng(41);
      nn::LayerNormOptions norm;
      norm.every_hidden_layer = layer_norm;
      nn::Mlp<TestType> critic({2, 32, 32, 32, 1}, nn::MlpOptions(activation, true, norm));
      critic.initialize(nn::InitScheme::he_uniform, rng);
      Matrix<TestType> x(2, 16);
      rng.fill_normal(x);
      nn::Tape<TestType> tape;
      Vector<TestType> gradient(critic.parameter_count());
      const nn::GradientPenaltyOptions options;

      // First calls size the tape.
      critic.forward(x, tape);
      tape.output_adjoint().setOnes();
      critic.backward(tape, 0, x.cols(), &gradient, false, true);
      nn::gradient_penalty(critic, x, options, tape, &gradient);
      critic.tangent_forward_both(tape, x, gradient);
      tape.output_tangent_adjoint().setOnes();
      critic.reverse_tangent(tape, &gradient, true, true);

      TestType penalty = 0;
      {
        NoMallocScope no_malloc;
        for (int step = 0; step < 3; ++step) {
          critic.forward(x, tape, x.cols());
          tape.output_adjoint().setOnes();
          critic.backward(tape, 0, x.cols(), &gradient, false, true);
          nn::input_gradient(critic, x, tape);
          penalty = nn::gradient_penalty(critic, x, options, tape, &gradient, true);
          critic.tangent_forward_both(tape, x, gradient);  // a consensus-like product: input and parameter tangents
          tape.output_tangent_adjoint().setOnes();
          critic.reverse_tangent(tape, &gradient, true, true);
        }
      }
      CHECK(std::isfinite(static_cast<double>(penalty)));
      CHECK(gradient.allFinite());
    }
  }
}

TEST_CASE("the no-allocation guard is live in this build", "[nn][allocation]") {
  // Guards against the test above passing because the check was compiled out (NDEBUG).
  REQUIRE(gantry::test::allocation_guard_is_live());
}
