// SPDX-License-Identifier: MIT
// Schedules: each kind's values against its formula worked out by hand; bad parameters named in OptionError; the
// trainer applies learning-rate, critic-step and instance-noise schedules at the iteration they name; a run resumed
// from a checkpoint continues every schedule bit-identically (and one resumed at the wrong iteration does not).

#include <gantry/gantry.hpp>
#include <gantry/train/checkpoint.hpp>
#include <gantry/train/schedule.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "catch.hpp"

using gantry::Index;
namespace loss = gantry::loss;
namespace nn = gantry::nn;
namespace optim = gantry::optim;
namespace train = gantry::train;
using train::CriticStepsSchedule;
using train::ValueSchedule;

namespace {

template <class Call>
std::string option_error(const Call& call) {
  try {
    call();
  } catch (const gantry::OptionError& e) {
    return e.what();
  }
  return "(no OptionError)";
}

/// An optimizer that records the learning rate of every step it takes and leaves the parameters alone, so a test
/// sees exactly when the trainer stepped each player and at which rate.
struct RecordingOptimizer {
  using Scalar = double;
  std::vector<double>* rates = nullptr;
  double rate = 1.0;
  void reset(Index) {}
  void step(Eigen::Ref<gantry::Vector<double>>, const Eigen::Ref<const gantry::Vector<double>>&) {
    rates->push_back(rate);
  }
  double learning_rate() const { return rate; }
  void set_learning_rate(double r) { rate = r; }
};

nn::Mlp<double> small_network(Index inputs, Index outputs, std::uint64_t seed) {
  nn::Mlp<double> net({inputs, 8, outputs}, nn::Activation::relu());
  gantry::Rng rng(seed);
  net.initialize(nn::InitScheme::he_uniform, rng);
  return net;
}

optim::Adam<double> adam() {
  optim::AdamOptions o;
  o.learning_rate = 1e-2;
  return optim::Adam<double>(o);
}

using NoisyGan = gantry::Policy<loss::NonSaturating, loss::InstanceNoise>;

/// A callback: the instance-noise sigma each iteration ran with.
struct SigmaLog {
  std::vector<double>* sigmas;
  template <class Trainer, class Stats>
  void on_step_end(Trainer& t, const Stats&) {
    sigmas->push_back(t.policy().template regularizer<loss::InstanceNoise>().sigma);
  }
};

NoisyGan annealed_noise() {
  NoisyGan policy;
  policy.regularizer<loss::InstanceNoise>().sigma_schedule = ValueSchedule::exponential(1.0, 0.8, 0.05);
  return policy;
}

/// Every schedule at once: linear and step learning rates, exponential noise, WGAN-style critic steps.
train::TrainerOptions scheduled_options() {
  train::TrainerOptions options;
  options.batch_size = 8;
  options.seed = 5;
  options.critic_steps = CriticStepsSchedule{2, 4, 3, 5};
  options.critic_learning_rate = ValueSchedule::linear(1e-2, 1e-3, 6);
  options.generator_learning_rate = ValueSchedule::step(2e-2, 0.5, 4, 1e-3);
  return options;
}

auto scheduled_trainer() {
  return train::make_trainer(annealed_noise(), small_network(2, 2, 1), small_network(2, 1, 2),
                             gantry::data::EightGaussians<double>(), gantry::data::GaussianNoise<double>(2), adam(),
                             adam(), scheduled_options());
}

}  // namespace

TEST_CASE("value schedules follow their formulas", "[train][schedule]") {
  const ValueSchedule constant = ValueSchedule::constant(0.3);
  CHECK(constant.at(0) == 0.3);
  CHECK(constant.at(1000000) == 0.3);

  const ValueSchedule linear = ValueSchedule::linear(1.0, 0.2, 4);  // steps of 0.2
  CHECK(linear.at(0) == 1.0);
  CHECK(linear.at(1) == Approx(0.8).epsilon(1e-15));
  CHECK(linear.at(2) == Approx(0.6).epsilon(1e-15));
  CHECK(linear.at(4) == 0.2);
  CHECK(linear.at(400) == 0.2);
  CHECK(ValueSchedule::linear(0.0, 3.0, 3).at(1) == Approx(1.0).epsilon(1e-15));  // a ramp up works too

  // 0.1 + 0.9 * 0.5^t: halfway to the floor after every iteration.
  const ValueSchedule exponential = ValueSchedule::exponential(1.0, 0.5, 0.1);
  CHECK(exponential.at(0) == 1.0);
  CHECK(exponential.at(1) == Approx(0.55).epsilon(1e-15));
  CHECK(exponential.at(3) == Approx(0.2125).epsilon(1e-15));
  CHECK(exponential.at(2000) == Approx(0.1).epsilon(1e-15));

  // PyTorch's StepLR: 0.1 for t in [0, 10), 0.01 for [10, 20), ... and never below the floor.
  const ValueSchedule step = ValueSchedule::step(0.1, 0.1, 10, 1e-4);
  CHECK(step.at(9) == 0.1);
  CHECK(step.at(10) == Approx(0.01).epsilon(1e-15));
  CHECK(step.at(29) == Approx(1e-3).epsilon(1e-15));
  CHECK(step.at(30) == Approx(1e-4).epsilon(1e-15));
  CHECK(step.at(40) == 1e-4);
  CHECK(step.at(100000) == 1e-4);

  CHECK(option_error([&] { (void)linear.at(-1); }).find("iteration must be >= 0, given -1") != std::string::npos);
  CHECK(linear.describe() == "linear 1 -> 0.2 over 4 iterations");
}

TEST_CASE("the WGAN reference's critic steps: 100 for 25 iterations and every 500th, else 5", "[train][schedule]") {
  const CriticStepsSchedule wgan;
  std::vector<Index> hundred;
  Index total = 0;
  for (Index t = 0; t < 1001; ++t) {
    if (wgan.at(t) == 100) hundred.push_back(t);
    else CHECK(wgan.at(t) == 5);
    total += wgan.at(t);
  }
  std::vector<Index> expected;
  for (Index t = 0; t < 25; ++t) expected.push_back(t);
  expected.push_back(500);
  expected.push_back(1000);
  CHECK(hundred == expected);
  CHECK(total == 27 * 100 + (1001 - 27) * 5);
  CHECK(CriticStepsSchedule{5, 100, 25, 0}.at(500) == 5);  // every = 0: the warm-up only
}

TEST_CASE("schedule parameters are validated, naming the owner, field and value", "[train][schedule]") {
  CHECK(option_error([] { ValueSchedule::linear(1.0, 0.0, 0).validate("S", 0, false); }).find("duration") !=
        std::string::npos);
  CHECK(option_error([] { ValueSchedule::exponential(1.0, 1.5).validate("S", 0, false); }).find("decay") !=
        std::string::npos);
  CHECK(option_error([] { ValueSchedule::step(1.0, 0.5, 0).validate("S", 0, false); }).find("every") !=
        std::string::npos);
  CHECK(option_error([] { ValueSchedule::step(1.0, -2.0, 3).validate("S", 0, false); }).find("factor") !=
        std::string::npos);
  CHECK(option_error([] { ValueSchedule::constant(NAN).validate("S", 0, false); }).find("initial") !=
        std::string::npos);

  // A learning rate must stay > 0: an exponential decay to 0 is refused, one to a floor accepted.
  train::TrainerOptions options;
  options.critic_learning_rate = ValueSchedule::exponential(1e-3, 0.99);
  std::string message = option_error([&] { options.validate(); });
  CHECK(message.find("TrainerOptions.critic_learning_rate") != std::string::npos);
  CHECK(message.find("target") != std::string::npos);
  options.critic_learning_rate = ValueSchedule::exponential(1e-3, 0.99, 1e-5);
  CHECK_NOTHROW(options.validate());

  options.generator_learning_rate = ValueSchedule::linear(1e-3, -1e-4, 10);
  CHECK(option_error([&] { options.validate(); }).find("generator_learning_rate") != std::string::npos);
  options.generator_learning_rate.reset();

  options.critic_steps = CriticStepsSchedule{0, 100, 25, 500};
  CHECK(option_error([&] { options.validate(); }).find("critic_steps") != std::string::npos);
  options.critic_steps = CriticStepsSchedule{};
  options.schedule = train::Schedule::simultaneous;
  options.n_critic = 1;
  CHECK(option_error([&] { options.validate(); }).find("simultaneous") != std::string::npos);

  // Noise may reach 0, not below; the policy's validate (which the trainer calls) checks it.
  NoisyGan policy;
  policy.regularizer<loss::InstanceNoise>().sigma_schedule = ValueSchedule::linear(1.0, -0.5, 10);
  message = option_error([&] { policy.validate(); });
  CHECK(message.find("InstanceNoise.sigma_schedule") != std::string::npos);
  CHECK(message.find("-0.5") != std::string::npos);
  policy.regularizer<loss::InstanceNoise>().sigma_schedule = ValueSchedule::linear(1.0, 0.0, 10);
  CHECK_NOTHROW(policy.validate());
}

TEST_CASE("the trainer applies each schedule at the iteration it names", "[train][schedule]") {
  std::vector<double> critic_rates, generator_rates;
  train::TrainerOptions options = scheduled_options();
  auto trainer = train::make_trainer(annealed_noise(), small_network(2, 2, 1), small_network(2, 1, 2),
                                     gantry::data::EightGaussians<double>(), gantry::data::GaussianNoise<double>(2),
                                     RecordingOptimizer{&critic_rates}, RecordingOptimizer{&generator_rates}, options);
  std::vector<double> sigmas;
  SigmaLog log{&sigmas};
  trainer.fit(12, log);

  // Critic steps 4 at t = 0, 1, 2 (warm-up), 5 and 10 (every 5th), 2 otherwise; each at the rate for its t.
  std::vector<double> expected_critic;
  for (Index t = 0; t < 12; ++t)
    for (Index k = 0; k < options.critic_steps->at(t); ++k) expected_critic.push_back(options.critic_learning_rate->at(t));
  CHECK(critic_rates.size() == 4 * 5 + 2 * 7);
  CHECK(critic_rates == expected_critic);
  REQUIRE(generator_rates.size() == 12);
  for (Index t = 0; t < 12; ++t) {
    CHECK(generator_rates[static_cast<std::size_t>(t)] == options.generator_learning_rate->at(t));
    CHECK(sigmas[static_cast<std::size_t>(t)] == 0.05 + 0.95 * std::pow(0.8, static_cast<double>(t)));
  }
  CHECK(generator_rates[3] == 2e-2);
  CHECK(generator_rates[4] == 1e-2);
}

TEST_CASE("annealed noise reaches the batches: their spread follows sigma", "[train][schedule]") {
  NoisyGan policy;
  policy.regularizer<loss::InstanceNoise>().sigma_schedule = ValueSchedule::linear(1.0, 0.0, 10);
  train::TrainerOptions options;
  options.batch_size = 4000;
  options.n_critic = 1;
  // Real data at one point, so that the batch's spread is the noise's.
  const gantry::Vector<double> origin = gantry::Vector<double>::Zero(2);
  auto trainer = train::make_trainer(policy, small_network(2, 2, 1), small_network(2, 1, 2),
                                     gantry::data::Dirac<double>(origin), gantry::data::GaussianNoise<double>(2),
                                     adam(), adam(), options);
  train::Batch<double> batch;
  for (const Index t : {0, 5, 10}) {
    trainer.set_iteration(t);
    trainer.step();  // applies the schedule for t
    trainer.draw_batch(batch);
    const double spread = std::sqrt(batch.real.squaredNorm() / static_cast<double>(batch.real.size()));
    INFO("t = " << t);
    CHECK(spread == Approx(1.0 - t / 10.0).margin(0.03));
  }
}

TEST_CASE("a resumed run continues every schedule bit-identically", "[train][schedule][checkpoint]") {
  constexpr Index total = 14, first = 6;  // the checkpoint falls inside the learning-rate ramp and the noise decay
  auto straight = scheduled_trainer();
  straight.fit(total);

  auto interrupted = scheduled_trainer();
  interrupted.fit(first);
  const std::string bytes = train::checkpoint_bytes(interrupted);

  auto resumed = scheduled_trainer();
  train::load_checkpoint_bytes(bytes, "interrupted run", resumed);
  REQUIRE(resumed.iteration() == first);
  resumed.fit(total - first);
  CHECK(resumed.generator().parameters() == straight.generator().parameters());
  CHECK(resumed.critic().parameters() == straight.critic().parameters());
  CHECK(resumed.critic_optimizer().learning_rate() == straight.critic_optimizer().learning_rate());
  CHECK(resumed.policy().regularizer<loss::InstanceNoise>().sigma ==
        straight.policy().regularizer<loss::InstanceNoise>().sigma);

  // The same state restarted at iteration 0 replays the schedules from their start: it drifts away, which is what
  // the checkpoint's iteration prevents.
  auto restarted = scheduled_trainer();
  train::load_checkpoint_bytes(bytes, "interrupted run", restarted);
  restarted.set_iteration(0);
  restarted.fit(total - first);
  CHECK(restarted.generator().parameters() != straight.generator().parameters());
}
