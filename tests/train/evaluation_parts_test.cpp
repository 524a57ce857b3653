// SPDX-License-Identifier: MIT
// The evaluation broken into parts: for every preset and mixed compositions the parts sum to the totals the
// trainer applies (1e-12, double), and a penalty's part is the penalty's exact gradient computed on its own.

#include <gantry/gantry.hpp>

#include <algorithm>
#include <string>

#include "catch.hpp"
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

double relative_gap(const Vector<double>& sum, const Vector<double>& total) {
  return (sum - total).cwiseAbs().maxCoeff() / std::max(1.0, total.cwiseAbs().maxCoeff());
}

struct Problem {
  nn::Mlp<double> generator{{2, 7, 7, 2}, nn::Activation::tanh()};
  nn::Mlp<double> critic{{2, 8, 8, 1}, nn::Activation::tanh()};
  train::Batch<double> batch;

  explicit Problem(bool with_noise, std::uint64_t seed = 5) {
    Rng rng(seed);
    rng.fill_normal(generator.parameters(), 0.0, 0.6);
    rng.fill_normal(critic.parameters(), 0.0, 0.6);
    batch.real = random_matrix<double>(2, 6, rng);
    batch.z = random_matrix<double>(2, 6, rng);
    batch.eps.resize(6);
    rng.fill_uniform(batch.eps);
    if (with_noise) batch.fake_noise = 0.1 * random_matrix<double>(2, 6, rng);
  }
};

template <class Policy>
void check_parts_sum(const std::string& label, const Policy& policy) {
  INFO(label);
  const Problem p(Policy::has_noise);
  const train::EvaluationParts<double> parts = train::evaluate_parts(policy, p.generator, p.critic, p.batch);

  // The totals are the evaluation API's, bit for bit.
  train::Evaluator<Policy, double> evaluator;
  Vector<double> critic_total, generator_total;
  const train::Values<double> values =
      evaluator.both_gradients(policy, p.generator, p.critic, p.batch, critic_total, generator_total);
  CHECK(parts.critic_gradient == critic_total);
  CHECK(parts.generator_gradient == generator_total);
  CHECK(parts.critic_loss == values.critic_loss);
  CHECK(parts.consensus == values.consensus);

  Vector<double> critic_sum = parts.critic_objective_gradient + parts.critic_consensus_gradient;
  double penalty_sum = 0;
  for (const auto& penalty : parts.penalties) {
    REQUIRE(penalty.critic_gradient.size() == critic_total.size());
    critic_sum += penalty.critic_gradient;
    penalty_sum += penalty.value;
  }
  const Vector<double> generator_sum = parts.generator_objective_gradient + parts.generator_consensus_gradient;
  CHECK(relative_gap(critic_sum, critic_total) <= 1e-12);
  CHECK(relative_gap(generator_sum, generator_total) <= 1e-12);
  CHECK(std::abs(penalty_sum - values.penalty) <= 1e-12 * std::max(1.0, std::abs(values.penalty)));
  if constexpr (Policy::has_consensus) {
    CHECK(parts.critic_consensus_gradient.cwiseAbs().maxCoeff() > 0);
    CHECK(parts.generator_consensus_gradient.cwiseAbs().maxCoeff() > 0);
  } else {
    CHECK(parts.critic_consensus_gradient.isZero(0));
    CHECK(parts.generator_consensus_gradient.isZero(0));
  }
  // Every part is its own: the objective's is not the total when a regularizer adds a gradient.
  if constexpr (Policy::has_penalty || Policy::has_consensus)
    CHECK(relative_gap(parts.critic_objective_gradient, critic_total) > 1e-6);
}

}  // namespace

TEST_CASE("evaluation parts sum to the totals for every preset", "[train][evaluation_parts]") {
  check_parts_sum("Vanilla", gantry::Vanilla{});
  check_parts_sum("NonSaturating", gantry::NonSaturating{});
  check_parts_sum("WganClip", gantry::WganClip{});
  check_parts_sum("WganGp", gantry::WganGp{});
  check_parts_sum("ZeroCenteredGp", gantry::ZeroCenteredGp{});
  check_parts_sum("Consensus", gantry::Consensus{loss::NonSaturating{}, loss::Consensus{0.7}});
}

TEST_CASE("evaluation parts sum to the totals for mixed compositions", "[train][evaluation_parts]") {
  check_parts_sum("Wasserstein + GP center 2 + R2",
                  gantry::Policy<loss::Wasserstein, loss::GradientPenalty, loss::ZeroCenteredPenalty>{
                      {}, {10.0, false, loss::PenaltyPoints::interpolates, 2.0},
                      loss::ZeroCenteredPenalty{1.0, loss::PenaltyPoints::fake}});
  check_parts_sum("Minimax + R1 + consensus",
                  gantry::Policy<loss::Minimax, loss::ZeroCenteredPenalty, loss::Consensus>{
                      {}, loss::ZeroCenteredPenalty{2.0}, loss::Consensus{0.3}});
  check_parts_sum("NonSaturating + R1 + instance noise",
                  gantry::Policy<loss::NonSaturating, loss::ZeroCenteredPenalty, loss::InstanceNoise>{{}, {1.0}, {0.1}});
  check_parts_sum("two consensus terms", gantry::Policy<loss::Wasserstein, loss::Consensus, loss::Consensus>{
                                             {}, loss::Consensus{0.2}, loss::Consensus{0.5}});
}

TEST_CASE("a penalty's part is that penalty's gradient alone, by nn::gradient_penalty", "[train][evaluation_parts]") {
  const Problem p(false);
  const loss::GradientPenalty penalty{4.0, false, loss::PenaltyPoints::interpolates, 1.5};
  const gantry::WganGp policy{loss::Wasserstein{}, penalty};
  const train::EvaluationParts<double> parts = train::evaluate_parts(policy, p.generator, p.critic, p.batch);
  REQUIRE(parts.penalties.size() == 1);
  CHECK(parts.penalties[0].name == "gradient_penalty");

  const Matrix<double> fake = p.generator(p.batch.z);
  const Matrix<double> interpolates = fake + (p.batch.real - fake) * p.batch.eps.transpose().asDiagonal();
  nn::Tape<double> tape;
  Vector<double> expected(p.critic.parameter_count());
  const double value = nn::gradient_penalty(p.critic, interpolates, nn::GradientPenaltyOptions{4.0, 1.5, false}, tape,
                                            &expected);
  CHECK(std::abs(parts.penalties[0].value - value) <= 1e-12 * value);
  CHECK(relative_gap(parts.penalties[0].critic_gradient, expected) <= 1e-12);
}

TEST_CASE("Trainer::evaluate_parts is the trainer's evaluation broken down", "[train][evaluation_parts]") {
  Rng rng(3);
  nn::Mlp<double> generator({2, 8, 2}, nn::Activation::relu()), critic({2, 8, 1}, nn::Activation::relu());
  generator.initialize(nn::InitScheme::torch_default, rng);
  critic.initialize(nn::InitScheme::torch_default, rng);
  train::TrainerOptions options;
  options.batch_size = 8;
  auto trainer = train::make_trainer(gantry::WganGp{}, generator, critic, gantry::data::EightGaussians<double>(),
                                     gantry::data::GaussianNoise<double>(2), gantry::optim::Sgd<double>(),
                                     gantry::optim::Sgd<double>(), options);
  train::Batch<double> batch;
  trainer.draw_batch(batch);
  const train::Evaluation<double> evaluation = trainer.evaluate(batch);
  const train::EvaluationParts<double> parts = trainer.evaluate_parts(batch);
  CHECK(parts.critic_gradient == evaluation.critic_gradient);
  CHECK(parts.generator_gradient == evaluation.generator_gradient);
  CHECK(parts.penalty == evaluation.penalty);
  CHECK(relative_gap(parts.critic_objective_gradient + parts.penalties.at(0).critic_gradient,
                     evaluation.critic_gradient) <= 1e-12);
}
