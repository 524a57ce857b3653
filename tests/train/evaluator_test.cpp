// SPDX-License-Identifier: MIT
// Every preset and mixed compositions: losses and total gradients of both players against central finite
// differences of the total losses, which this file computes independently from first-order passes only.

#include <gantry/gantry.hpp>

#include <limits>
#include <string>

#include "catch.hpp"
#include "support/gradient_check.hpp"
#include "support/networks.hpp"

using gantry::Index;
using gantry::Matrix;
using gantry::Rng;
using gantry::Vector;
using namespace gantry::test;
namespace nn = gantry::nn;
namespace loss = gantry::loss;
namespace train = gantry::train;

namespace {

constexpr double tolerance = 1e-6;

struct Totals {
  double critic = 0;     // L_D + penalties + gamma R
  double generator = 0;  // L_G + gamma R
};

/// The objective gradients v = (grad_D L_D, grad_G L_G) from plain backward passes.
template <class Policy>
std::pair<Vector<double>, Vector<double>> objective_gradients(const Policy& policy, const nn::Mlp<double>& g,
                                                              const nn::Mlp<double>& d, const train::Batch<double>& b) {
  const Index n = b.real.cols();
  Matrix<double> fake = g(b.z);
  if (b.fake_noise.size()) fake += b.fake_noise;
  nn::Tape<double> real_tape, fake_tape, gen_tape;
  Vector<double> v_d(d.parameter_count()), v_g(g.parameter_count()), tmp(d.parameter_count());
  d.forward(b.real, real_tape);
  d.forward(fake, fake_tape);
  for (Index i = 0; i < n; ++i) {
    real_tape.output_adjoint()(0, i) = policy.objective.critic_real(real_tape.output()(0, i)).first / n;
    fake_tape.output_adjoint()(0, i) = policy.objective.critic_fake(fake_tape.output()(0, i)).first / n;
  }
  d.backward(real_tape, 0, n, &v_d, false, false);
  d.backward(fake_tape, 0, n, &v_d, true, false);
  // Generator: d L_G / d theta through the critic's input adjoint.
  g.forward(b.z, gen_tape);
  d.forward(fake, fake_tape);
  for (Index i = 0; i < n; ++i)
    fake_tape.output_adjoint()(0, i) = policy.objective.generator_fake(fake_tape.output()(0, i)).first / n;
  d.backward(fake_tape, 0, n, nullptr, false, true);
  gen_tape.output_adjoint() = fake_tape.input_adjoint();
  g.backward(gen_tape, 0, n, &v_g, false, false);
  return {v_d, v_g};
}

template <class Policy>
Totals total_losses(const Policy& policy, const nn::Mlp<double>& g, const nn::Mlp<double>& d,
                    const train::Batch<double>& b) {
  const Index n = b.real.cols();
  Matrix<double> fake = g(b.z);
  if (b.fake_noise.size()) fake += b.fake_noise;
  const Matrix<double> real_logits = d(b.real), fake_logits = d(fake);
  double l_d = 0, l_g = 0;
  for (Index i = 0; i < n; ++i) {
    l_d += policy.objective.critic_real(real_logits(0, i)).value + policy.objective.critic_fake(fake_logits(0, i)).value;
    l_g += policy.objective.generator_fake(fake_logits(0, i)).value;
  }
  Totals t{l_d / n, l_g / n};
  policy.for_each_regularizer([&](const auto& r) {
    using R = std::decay_t<decltype(r)>;
    if constexpr (loss::is_penalty_v<R>) {
      auto penalty_at = [&](const Matrix<double>& x) {
        const Matrix<double> grad = nn::input_gradient(d, x);
        Matrix<double> seed(grad.rows(), grad.cols());
        return r.template penalty<double>(grad, seed);
      };
      const Matrix<double> interpolates = fake + (b.real - fake) * b.eps.transpose().asDiagonal();
      switch (r.points()) {
        case loss::PenaltyPoints::interpolates: t.critic += penalty_at(interpolates); break;
        case loss::PenaltyPoints::real: t.critic += penalty_at(b.real); break;
        case loss::PenaltyPoints::fake: t.critic += penalty_at(fake); break;
        case loss::PenaltyPoints::real_and_fake: t.critic += penalty_at(b.real) + penalty_at(fake); break;
      }
    }
    if constexpr (loss::is_consensus_v<R>) {
      const auto [v_d, v_g] = objective_gradients(policy, g, d, b);
      const double consensus = r.consensus_weight() * 0.5 * (v_d.squaredNorm() + v_g.squaredNorm());
      t.critic += consensus;
      t.generator += consensus;
    }
  });
  return t;
}

template <class Policy>
void check_policy(const std::string& label, const Policy& policy, nn::Activation activation, WorstError& worst_critic,
                  WorstError& worst_generator, std::uint64_t seed, const nn::LayerNormOptions& critic_norm) {
  Rng rng(seed);
  nn::Mlp<double> generator({2, 5, 5, 2}, activation), critic({2, 6, 6, 1}, nn::MlpOptions(activation, true, critic_norm));
  train::Batch<double> batch;
  // Redraw until no pre-activation sits within 1e-3 of a kink, where finite differences would straddle it.
  for (int attempt = 0;; ++attempt) {
    rng.fill_normal(generator.parameters(), 0.0, 0.6);
    rng.fill_normal(critic.parameters(), 0.0, 0.6);
    batch.real = random_matrix<double>(2, 4, rng);
    batch.z = random_matrix<double>(2, 4, rng);
    batch.eps.resize(4);
    rng.fill_uniform(batch.eps);
    if constexpr (Policy::has_noise) batch.fake_noise = 0.1 * random_matrix<double>(2, 4, rng);
    Matrix<double> fake = generator(batch.z);
    if (batch.fake_noise.size()) fake += batch.fake_noise;
    const Matrix<double> interpolates = fake + (batch.real - fake) * batch.eps.transpose().asDiagonal();
    const double margin = std::min({min_abs_hidden_preactivation(generator, batch.z),
                                    min_abs_hidden_preactivation(critic, batch.real),
                                    min_abs_hidden_preactivation(critic, fake),
                                    min_abs_hidden_preactivation(critic, interpolates)});
    if (!activation.piecewise_linear() || margin > 1e-3) break;
    REQUIRE(attempt < 100);
  }

  train::Evaluator<Policy, double> evaluator;
  Vector<double> critic_gradient, generator_gradient;
  const train::Values<double> values =
      evaluator.both_gradients(policy, generator, critic, batch, critic_gradient, generator_gradient);
  const Totals totals = total_losses(policy, generator, critic, batch);
  INFO(label << " with " << activation.name());
  CHECK(std::abs(values.critic_loss + values.penalty + values.consensus - totals.critic) < 1e-10 * std::max(1.0, std::abs(totals.critic)));
  CHECK(std::abs(values.generator_loss + values.consensus - totals.generator) < 1e-10 * std::max(1.0, std::abs(totals.generator)));

  auto critic_total = [&](const Vector<double>& phi) {
    nn::Mlp<double> d = critic;
    d.parameters() = phi;
    return total_losses(policy, generator, d, batch).critic;
  };
  auto generator_total = [&](const Vector<double>& theta) {
    nn::Mlp<double> g = generator;
    g.parameters() = theta;
    return total_losses(policy, g, critic, batch).generator;
  };
  const GradientCheck cc = check_gradient(critic_total, critic.parameters(), critic_gradient);
  const GradientCheck gc = check_gradient(generator_total, generator.parameters(), generator_gradient);
  worst_critic.add(cc, label + ", " + activation.name());
  worst_generator.add(gc, label + ", " + activation.name());
  INFO("critic " << cc << "; generator " << gc);
  CHECK(cc.worst_relative_error < tolerance);
  CHECK(gc.worst_relative_error < tolerance);

  // The split entry points the trainer uses agree with the joint one.
  Vector<double> critic_only, generator_only;
  evaluator.critic_gradient(policy, generator, critic, batch, critic_only);
  evaluator.generator_gradient(policy, generator, critic, batch, generator_only);
  CHECK((critic_only - critic_gradient).cwiseAbs().maxCoeff() <= 1e-12 * std::max(1.0, critic_gradient.cwiseAbs().maxCoeff()));
  CHECK((generator_only - generator_gradient).cwiseAbs().maxCoeff() <= 1e-12 * std::max(1.0, generator_gradient.cwiseAbs().maxCoeff()));
}

/// `critic_norm`: the critic's layer normalization (none by default).
template <class Policy>
void check_policy_all_activations(const std::string& label, const Policy& policy,
                                  const nn::LayerNormOptions& critic_norm = {}) {
  const std::string what = label + (critic_norm.enabled() ? ", layer-normalized critic" : "");
  WorstError worst_critic(what + ": critic total gradient");
  WorstError worst_generator(what + ": generator total gradient");
  std::uint64_t seed = 100;
  for (const auto& activation : {nn::Activation::tanh(), nn::Activation::softplus(), nn::Activation::relu(),
                                 nn::Activation::leaky_relu(0.2), nn::Activation::elu(1.0)})
    check_policy(what, policy, activation, worst_critic, worst_generator, ++seed, critic_norm);
}

}  // namespace

TEST_CASE("preset Vanilla: gradients match finite differences", "[policy][gradient]") {
  check_policy_all_activations("Vanilla", gantry::Vanilla{});
}
TEST_CASE("preset NonSaturating: gradients match finite differences", "[policy][gradient]") {
  check_policy_all_activations("NonSaturating", gantry::NonSaturating{});
}
TEST_CASE("preset WganClip: gradients match finite differences", "[policy][gradient]") {
  check_policy_all_activations("WganClip", gantry::WganClip{});
}
TEST_CASE("preset WganGp: gradients match finite differences", "[policy][gradient]") {
  check_policy_all_activations("WganGp", gantry::WganGp{});
  check_policy_all_activations("WganGp one-sided", gantry::WganGp{loss::Wasserstein{}, loss::GradientPenalty{5.0, true}});
}
TEST_CASE("WganGp with a center other than 1: gradients match finite differences", "[policy][gradient]") {
  // (|g| - k)^2 with k = 2.5 and k = 0.3, two- and one-sided: the seed's 1 - k/|g| and its derivative are exact.
  for (const double center : {2.5, 0.3}) {
    check_policy_all_activations("WganGp center " + std::to_string(center),
                                 gantry::WganGp{loss::Wasserstein{}, loss::GradientPenalty{5.0, false,
                                                                                           loss::PenaltyPoints::interpolates,
                                                                                           center}});
    check_policy_all_activations("WganGp one-sided center " + std::to_string(center),
                                 gantry::WganGp{loss::Wasserstein{}, loss::GradientPenalty{5.0, true,
                                                                                           loss::PenaltyPoints::interpolates,
                                                                                           center}});
  }
}
TEST_CASE("a gradient penalty with center 0 is the zero-centred penalty with gamma = 2 lambda", "[policy]") {
  Rng rng(77);
  nn::Mlp<double> critic({2, 6, 6, 1}, nn::Activation::tanh());
  rng.fill_normal(critic.parameters(), 0.0, 0.6);
  const Matrix<double> x = random_matrix<double>(2, 5, rng);
  const Matrix<double> g = nn::input_gradient(critic, x);
  for (const bool one_sided : {false, true}) {
    Matrix<double> seed_center(2, 5), seed_zero(2, 5);
    const double value_center =
        loss::GradientPenalty{3.0, one_sided, loss::PenaltyPoints::real, 0.0}.penalty<double>(g, seed_center);
    const double value_zero = loss::ZeroCenteredPenalty{6.0}.penalty<double>(g, seed_zero);
    CHECK(std::abs(value_center - value_zero) <= 1e-15 * value_zero);
    CHECK((seed_center - seed_zero).cwiseAbs().maxCoeff() <= 1e-15 * seed_zero.cwiseAbs().maxCoeff());
  }
  CHECK_THROWS_WITH((loss::GradientPenalty{1.0, false, loss::PenaltyPoints::interpolates, -1.0}.validate()),
                    contains("gantry::loss::GradientPenalty.center must be finite and >= 0, given -1"));
  CHECK_THROWS_AS((loss::GradientPenalty{1.0, false, loss::PenaltyPoints::interpolates,
                                         std::numeric_limits<double>::infinity()}
                       .validate()),
                  gantry::OptionError);
}
TEST_CASE("preset ZeroCenteredGp (R1, R2, both, interpolates): gradients match finite differences", "[policy][gradient]") {
  check_policy_all_activations("ZeroCenteredGp R1", gantry::ZeroCenteredGp{});
  for (auto at : {loss::PenaltyPoints::fake, loss::PenaltyPoints::real_and_fake, loss::PenaltyPoints::interpolates})
    check_policy_all_activations(std::string("ZeroCenteredGp ") + loss::penalty_points_name(at),
                                 gantry::ZeroCenteredGp{loss::NonSaturating{}, loss::ZeroCenteredPenalty{3.0, at}});
}
TEST_CASE("preset Consensus: gradients match finite differences of the total loss with R", "[policy][gradient]") {
  check_policy_all_activations("Consensus", gantry::Consensus{loss::NonSaturating{}, loss::Consensus{0.7}});
}
TEST_CASE("mixed compositions: gradients match finite differences", "[policy][gradient]") {
  check_policy_all_activations("Wasserstein + consensus",
                               gantry::Policy<loss::Wasserstein, loss::Consensus>{loss::Wasserstein{}, loss::Consensus{0.5}});
  check_policy_all_activations(
      "Minimax + R1 + consensus",
      gantry::Policy<loss::Minimax, loss::ZeroCenteredPenalty, loss::Consensus>{{}, loss::ZeroCenteredPenalty{2.0}, loss::Consensus{0.3}});
  check_policy_all_activations(
      "NonSaturating + R1 + instance noise",
      gantry::Policy<loss::NonSaturating, loss::ZeroCenteredPenalty, loss::InstanceNoise>{{}, {1.0}, {0.1}});
  check_policy_all_activations(
      "Wasserstein + GP + R2",
      gantry::Policy<loss::Wasserstein, loss::GradientPenalty, loss::ZeroCenteredPenalty>{
          {}, {10.0}, loss::ZeroCenteredPenalty{1.0, loss::PenaltyPoints::fake}});
}

TEST_CASE("every preset with a layer-normalized critic: gradients match finite differences",
          "[policy][gradient][layer_norm]") {
  nn::LayerNormOptions every;
  every.every_hidden_layer = true;
  nn::LayerNormOptions second_only;  // and without gain and shift
  second_only.layers = {1};
  second_only.gain_and_shift = false;
  for (const nn::LayerNormOptions& norm : {every, second_only}) {
    check_policy_all_activations("Vanilla", gantry::Vanilla{}, norm);
    check_policy_all_activations("NonSaturating", gantry::NonSaturating{}, norm);
    check_policy_all_activations("WganClip", gantry::WganClip{}, norm);
    check_policy_all_activations("WganGp", gantry::WganGp{}, norm);
    check_policy_all_activations("ZeroCenteredGp R1", gantry::ZeroCenteredGp{}, norm);
    check_policy_all_activations("Consensus", gantry::Consensus{loss::NonSaturating{}, loss::Consensus{0.7}}, norm);
    check_policy_all_activations(
        "Minimax + R1 + consensus",
        gantry::Policy<loss::Minimax, loss::ZeroCenteredPenalty, loss::Consensus>{{}, loss::ZeroCenteredPenalty{2.0}, loss::Consensus{0.3}},
        norm);
  }
}
