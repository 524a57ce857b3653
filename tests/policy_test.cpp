// SPDX-License-Identifier: MIT
// A policy's own hooks: project_critic applies its projections (weight clipping) in order, and nothing else.

#include <gantry/policy.hpp>

#include "catch.hpp"

using gantry::Rng;
namespace nn = gantry::nn;
namespace loss = gantry::loss;

namespace {

/// A projection of its own: scales every critic parameter, so that the order of two projections shows.
struct Halve {
  std::string name() const { return "halve"; }
  template <class S>
  void project_critic(nn::Mlp<S>& critic) const {
    critic.parameters() *= S(0.5);
  }
};

}  // namespace

TEST_CASE("Policy::project_critic applies the policy's projections in order", "[policy]") {
  Rng rng(8);
  nn::Mlp<double> critic({2, 5, 1}, nn::Activation::relu());
  rng.fill_normal(critic.parameters(), 0.0, 1.0);
  const gantry::Vector<double> original = critic.parameters();
  REQUIRE(original.cwiseAbs().maxCoeff() > 0.1);

  nn::Mlp<double> clipped = critic;
  gantry::WganClip{loss::Wasserstein{}, loss::WeightClipping{0.05}}.project_critic(clipped);
  CHECK(clipped.parameters() == original.cwiseMax(-0.05).cwiseMin(0.05));

  nn::Mlp<double> untouched = critic;
  gantry::WganGp{}.project_critic(untouched);
  gantry::Vanilla{}.project_critic(untouched);
  CHECK(untouched.parameters() == original);

  // Clip then halve: every |parameter| <= 0.05; halve then clip: parameters above 0.1 end at 0.05, not 0.025.
  nn::Mlp<double> clip_then_halve = critic, halve_then_clip = critic;
  gantry::Policy<loss::Wasserstein, loss::WeightClipping, Halve>{{}, loss::WeightClipping{0.05}, {}}.project_critic(
      clip_then_halve);
  gantry::Policy<loss::Wasserstein, Halve, loss::WeightClipping>{{}, {}, loss::WeightClipping{0.05}}.project_critic(
      halve_then_clip);
  CHECK(clip_then_halve.parameters() == 0.5 * original.cwiseMax(-0.05).cwiseMin(0.05));
  CHECK(halve_then_clip.parameters() == (0.5 * original).cwiseMax(-0.05).cwiseMin(0.05));

  nn::Mlp<float> float_critic({2, 3, 1}, nn::Activation::tanh());
  float_critic.parameters().setConstant(1.0f);
  gantry::WganClip{}.project_critic(float_critic);
  CHECK(float_critic.parameters().maxCoeff() == 0.01f);
}
