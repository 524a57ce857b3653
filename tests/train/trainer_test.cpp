// SPDX-License-Identifier: MIT
// The trainer: one step equals the optimizer update applied by hand to the evaluation API's gradients,
// clipping holds after a critic step, the schedules, determinism, callbacks and validation.

#include <gantry/gantry.hpp>

#include <limits>

#include "catch.hpp"
#include "support/namespaces.hpp"
#include "support/networks.hpp"

using gantry::Index;
using gantry::Matrix;
using gantry::Rng;
using gantry::Vector;
using gantry::test::contains;

namespace {

template <class Policy>
auto small_trainer(Policy policy, train::TrainerOptions options, std::uint64_t seed = 7) {
  Rng rng(seed);
  nn::Mlp<double> generator({2, 8, 8, 2}, nn::Activation::relu()), critic({2, 8, 8, 1}, nn::Activation::relu());
  generator.initialize(nn::InitScheme::torch_default, rng);
  critic.initialize(nn::InitScheme::torch_default, rng);
  optim::AdamOptions adam;
  adam.learning_rate = 1e-3;
  adam.beta1 = 0.5;
  adam.beta2 = 0.9;
  return train::make_trainer(std::move(policy), generator, critic, data::EightGaussians<double>(),
                             data::GaussianNoise<double>(2), optim::Adam<double>(adam), optim::Adam<double>(adam),
                             options);
}

template <class Trainer>
Vector<double> all_parameters(const Trainer& t) {
  Vector<double> v(t.generator().parameter_count() + t.critic().parameter_count());
  v << t.generator().parameters(), t.critic().parameters();
  return v;
}

}  // namespace

TEST_CASE("a simultaneous step equals the optimizer update applied to the evaluation API's gradients", "[train]") {
  train::TrainerOptions options;
  options.batch_size = 16;
  options.n_critic = 1;
  options.schedule = train::Schedule::simultaneous;
  auto trainer = small_trainer(gantry::WganGp{}, options);
  auto twin = small_trainer(gantry::WganGp{}, options);

  // The twin draws the same batch (same seed), evaluates it, and applies Adam by hand.
  train::Batch<double> batch;
  twin.draw_batch(batch);
  const train::Evaluation<double> evaluation = twin.evaluate(batch);
  optim::AdamOptions adam;
  adam.learning_rate = 1e-3;
  adam.beta1 = 0.5;
  adam.beta2 = 0.9;
  optim::Adam<double> critic_adam(adam), generator_adam(adam);
  Vector<double> critic_expected = twin.critic().parameters(), generator_expected = twin.generator().parameters();
  critic_adam.step(critic_expected, evaluation.critic_gradient);
  generator_adam.step(generator_expected, evaluation.generator_gradient);

  const train::StepStats<double> stats = trainer.step();
  CHECK(trainer.critic().parameters() == critic_expected);
  CHECK(trainer.generator().parameters() == generator_expected);
  CHECK(stats.critic_loss == evaluation.critic_loss);
  CHECK(stats.penalty == evaluation.penalty);
  CHECK(stats.iteration == 1);
  CHECK(std::isfinite(stats.mean_gradient_norm));
}

TEST_CASE("an alternating step applies the critic then the generator update, each on its own batch", "[train]") {
  train::TrainerOptions options;
  options.batch_size = 8;
  options.n_critic = 2;
  auto trainer = small_trainer(gantry::NonSaturating{}, options);
  auto twin = small_trainer(gantry::NonSaturating{}, options);
  optim::AdamOptions adam;
  adam.learning_rate = 1e-3;
  adam.beta1 = 0.5;
  adam.beta2 = 0.9;
  optim::Adam<double> critic_adam(adam), generator_adam(adam);
  train::Evaluator<gantry::NonSaturating, double> evaluator;
  train::Batch<double> batch;
  Vector<double> gradient;
  for (int k = 0; k < 2; ++k) {
    twin.draw_batch(batch);
    evaluator.critic_gradient(twin.policy(), twin.generator(), twin.critic(), batch, gradient);
    critic_adam.step(twin.critic().parameters(), gradient);
  }
  twin.draw_batch(batch);
  evaluator.generator_gradient(twin.policy(), twin.generator(), twin.critic(), batch, gradient);
  generator_adam.step(twin.generator().parameters(), gradient);

  trainer.step();
  CHECK(trainer.critic().parameters() == twin.critic().parameters());
  CHECK(trainer.generator().parameters() == twin.generator().parameters());
}

TEST_CASE("weight clipping holds after every critic step", "[train][clip]") {
  train::TrainerOptions options;
  options.batch_size = 16;
  gantry::WganClip policy{loss::Wasserstein{}, loss::WeightClipping{0.05}};
  auto trainer = small_trainer(policy, options);
  REQUIRE(trainer.critic().parameters().cwiseAbs().maxCoeff() > 0.05);  // the projection has work to do
  for (int i = 0; i < 3; ++i) {
    trainer.step();
    CHECK(trainer.critic().parameters().cwiseAbs().maxCoeff() <= 0.05);
  }
  CHECK(trainer.generator().parameters().cwiseAbs().maxCoeff() > 0.05);  // only the critic is clipped
}

TEST_CASE("weight clipping projects a layer-normalized critic's gains and shifts too", "[train][clip][layer_norm]") {
  // The WGAN reference code clamps every critic parameter, normalization parameters included (a gain of 1 becomes c).
  Rng rng(7);
  nn::MlpOptions normalized(nn::Activation::relu(), true);
  normalized.layer_norm.every_hidden_layer = true;
  nn::Mlp<double> generator({2, 8, 2}, nn::Activation::relu()), critic({2, 8, 8, 1}, normalized);
  generator.initialize(nn::InitScheme::torch_default, rng);
  critic.initialize(nn::InitScheme::torch_default, rng);
  train::TrainerOptions options;
  options.batch_size = 16;
  auto trainer = train::make_trainer(gantry::WganClip{loss::Wasserstein{}, loss::WeightClipping{0.05}}, generator,
                                     critic, data::EightGaussians<double>(), data::GaussianNoise<double>(2),
                                     optim::Rmsprop<double>(), optim::Rmsprop<double>(), options);
  REQUIRE(trainer.critic().gain(0).isOnes());
  trainer.step();
  CHECK(trainer.critic().parameters().cwiseAbs().maxCoeff() <= 0.05);
  CHECK(trainer.critic().gain(0).maxCoeff() <= 0.05);
  CHECK(trainer.critic().gain(1).maxCoeff() <= 0.05);
}

TEST_CASE("the same seed gives bit-identical parameters, another seed does not", "[train][determinism]") {
  train::TrainerOptions options;
  options.batch_size = 16;
  options.n_critic = 2;
  options.seed = 5;
  auto a = small_trainer(gantry::WganGp{}, options);
  auto b = small_trainer(gantry::WganGp{}, options);
  options.seed = 6;
  auto c = small_trainer(gantry::WganGp{}, options);
  a.fit(5);
  b.fit(5);
  c.fit(5);
  CHECK(all_parameters(a) == all_parameters(b));
  CHECK(all_parameters(a) != all_parameters(c));
}

TEST_CASE("every preset and schedule trains without producing non-finite values", "[train]") {
  train::TrainerOptions options;
  options.batch_size = 16;
  options.n_critic = 1;
  for (auto schedule : {train::Schedule::alternating, train::Schedule::simultaneous}) {
    options.schedule = schedule;
    auto check = [&](auto policy) {
      auto trainer = small_trainer(policy, options);
      const auto stats = trainer.fit(3);
      INFO(policy.name() << ", " << train::schedule_name(schedule));
      CHECK(all_parameters(trainer).allFinite());
      CHECK(std::isfinite(stats.critic_loss));
      CHECK(std::isfinite(stats.generator_loss));
      CHECK(stats.iteration == 3);
    };
    check(gantry::Vanilla{});
    check(gantry::NonSaturating{});
    check(gantry::WganClip{});
    check(gantry::WganGp{});
    check(gantry::ZeroCenteredGp{});
    check(gantry::Consensus{});
    check(gantry::Policy<loss::NonSaturating, loss::ZeroCenteredPenalty, loss::InstanceNoise>{});
  }
}

TEST_CASE("generator-first runs the generator step before the critic steps", "[train]") {
  train::TrainerOptions options;
  options.batch_size = 8;
  options.n_critic = 1;
  options.generator_first = true;
  auto trainer = small_trainer(gantry::NonSaturating{}, options);
  auto twin = small_trainer(gantry::NonSaturating{}, options);
  optim::AdamOptions adam;
  adam.learning_rate = 1e-3;
  adam.beta1 = 0.5;
  adam.beta2 = 0.9;
  optim::Adam<double> critic_adam(adam), generator_adam(adam);
  train::Evaluator<gantry::NonSaturating, double> evaluator;
  train::Batch<double> batch;
  Vector<double> gradient;
  twin.draw_batch(batch);
  evaluator.generator_gradient(twin.policy(), twin.generator(), twin.critic(), batch, gradient);
  generator_adam.step(twin.generator().parameters(), gradient);
  twin.draw_batch(batch);
  evaluator.critic_gradient(twin.policy(), twin.generator(), twin.critic(), batch, gradient);
  critic_adam.step(twin.critic().parameters(), gradient);
  trainer.step();
  CHECK(all_parameters(trainer) == all_parameters(twin));
}

namespace {
struct StopAfter {
  Index limit;
  Index seen = 0;
  bool began = false, ended = false;
  template <class T>
  void on_train_begin(T&) {
    began = true;
  }
  template <class T, class S>
  bool on_step_end(T&, const S& stats) {
    ++seen;
    return stats.iteration >= limit;
  }
  template <class T>
  void on_train_end(T&) {
    ended = true;
  }
};
struct CountOnly {
  int count = 0;
  template <class T, class S>
  void on_step_end(T&, const S&) {
    ++count;
  }
};
}  // namespace

TEST_CASE("callbacks see every event and may stop training", "[train][callbacks]") {
  train::TrainerOptions options;
  options.batch_size = 8;
  options.n_critic = 1;
  auto trainer = small_trainer(gantry::NonSaturating{}, options);
  StopAfter stop{3};
  CountOnly count;
  const auto stats = trainer.fit(10, stop, count);
  CHECK(stop.began);
  CHECK(stop.ended);
  CHECK(stop.seen == 3);
  CHECK(count.count == 3);
  CHECK(stats.iteration == 3);
  CHECK(trainer.iteration() == 3);
}

TEST_CASE("trainer options and shapes are validated with messages naming the field", "[train][validation]") {
  train::TrainerOptions options;
  options.n_critic = 0;
  REQUIRE_THROWS_WITH(options.validate(), contains("TrainerOptions.n_critic must be >= 1, given 0"));
  options.n_critic = 5;
  options.schedule = train::Schedule::simultaneous;
  REQUIRE_THROWS_WITH(options.validate(), contains("n_critic must be 1 with the simultaneous schedule (both players step once at the same point), given 5"));
  options = {};
  options.batch_size = 0;
  REQUIRE_THROWS_WITH(options.validate(), contains("batch_size must be in [1, 536870912], given 0"));

  nn::Mlp<double> generator({2, 4, 3}, nn::Activation::relu()), critic({2, 4, 1}, nn::Activation::relu());
  REQUIRE_THROWS_WITH(train::make_trainer(gantry::WganGp{}, generator, critic, data::EightGaussians<double>(),
                                          data::GaussianNoise<double>(2), optim::Sgd<double>(), optim::Sgd<double>()),
                      contains("generator output size 3 differs from critic input size 2"));
  nn::Mlp<double> g2({3, 4, 2}, nn::Activation::relu());
  REQUIRE_THROWS_WITH(train::make_trainer(gantry::WganGp{}, g2, critic, data::EightGaussians<double>(),
                                          data::GaussianNoise<double>(2), optim::Sgd<double>(), optim::Sgd<double>()),
                      contains("noise sampler dimension 2 differs from generator input size 3"));
  REQUIRE_THROWS_WITH(train::make_trainer(gantry::WganGp{loss::Wasserstein{}, loss::GradientPenalty{-1.0}}, g2, critic,
                                          data::EightGaussians<double>(), data::GaussianNoise<double>(3),
                                          optim::Sgd<double>(), optim::Sgd<double>()),
                      contains("GradientPenalty.lambda must be finite and >= 0, given -1"));
}

TEST_CASE("an iteration counter near INT64_MAX is refused before it overflows, and nothing changes",
          "[train][validation]") {
  constexpr Index max = std::numeric_limits<Index>::max();
  train::TrainerOptions options;
  options.batch_size = 4;
  options.n_critic = 1;
  auto trainer = small_trainer(gantry::WganGp{}, options);
  const Vector<double> before = all_parameters(trainer);

  trainer.set_iteration(max - 1);
  REQUIRE_THROWS_AS(trainer.fit(2), gantry::OptionError);
  REQUIRE_THROWS_WITH(trainer.fit(2), contains("gantry::train::Trainer::fit: the iteration counter after fit") &&
                                          contains("9223372036854775806 + 2 overflows a 64-bit index"));
  CHECK(trainer.iteration() == max - 1);
  CHECK(all_parameters(trainer) == before);

  trainer.fit(1);  // the last iteration a 64-bit counter can number
  CHECK(trainer.iteration() == max);
  const Vector<double> at_max = all_parameters(trainer);
  REQUIRE_THROWS_WITH(trainer.step(), contains("gantry::train::Trainer::step: iteration 9223372036854775807 is the "
                                               "largest 64-bit count"));
  REQUIRE_THROWS_AS(trainer.fit(1), gantry::OptionError);
  CHECK(trainer.iteration() == max);
  CHECK(all_parameters(trainer) == at_max);
}

TEST_CASE("a batch size beyond what BLAS's 32-bit dimensions hold is refused", "[train][validation]") {
  train::TrainerOptions options;
  options.batch_size = std::numeric_limits<Index>::max();
  REQUIRE_THROWS_WITH(options.validate(), contains("TrainerOptions.batch_size must be in [1, 536870912], given "
                                                   "9223372036854775807"));
  options.batch_size = 536870912;
  REQUIRE_NOTHROW(options.validate());
}
