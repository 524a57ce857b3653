// SPDX-License-Identifier: MIT
// A step whose batch is split into shares over two threads against the same step on one: every preset, penalties
// at every kind of point, consensus with and without a penalty, instance noise, and a penalty that couples the
// samples of the batch (which must see the whole batch, not a share); and an exception thrown inside a share.
// Built with OpenMP only (CMake), like nn/threaded_passes_test.cpp: without it a step never splits.

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include <gantry/gantry.hpp>

#include "catch.hpp"
#include "support/networks.hpp"
#include "support/threads.hpp"

using gantry::Index;
using gantry::Matrix;
using gantry::Rng;
using gantry::Vector;
using namespace gantry::test;
namespace nn = gantry::nn;
namespace loss = gantry::loss;
namespace train = gantry::train;

namespace {

// 301 samples: unequal shares, wide enough for detail::batch_shares to split (checked below).
constexpr Index batch_size = 301;

/// lambda |mean_i g_i|^2 at the real samples: every sample's seed depends on the whole batch.
struct MeanGradientPenalty {
  double lambda = 3.0;
  std::string name() const { return "mean_gradient"; }
  loss::PenaltyPoints points() const { return loss::PenaltyPoints::real; }
  template <class S>
  S penalty(const Eigen::Ref<const Matrix<S>>& g, Eigen::Ref<Matrix<S>> seed) const {
    const gantry::Vector<S> mean = g.rowwise().mean();
    seed = (S(2 * lambda) / S(g.cols())) * mean.replicate(1, g.cols());
    return S(lambda) * mean.squaredNorm();
  }
};

/// What ProbedWasserstein reports and obeys: whether a thread other than `home` ran its terms (and how many), whether
/// to fail, and how long each term takes on `home` and on the other threads (a thread the OS runs less often).
struct Probe {
  std::thread::id home = std::this_thread::get_id();
  std::atomic<bool> armed{false};
  std::atomic<bool> helper_ran{false};
  std::atomic<int> helper_terms{0};
  std::chrono::microseconds home_delay{0}, helper_delay{0};
};

/// The Wasserstein objective, watched: user code that runs inside the shares of a step, on whichever thread.
struct ProbedWasserstein : loss::Wasserstein {
  Probe* probe = nullptr;
  template <class S>
  loss::Term<S> critic_real(S a) const {
    visit();
    return loss::Wasserstein::critic_real(a);
  }
  template <class S>
  loss::Term<S> critic_fake(S a) const {
    visit();
    return loss::Wasserstein::critic_fake(a);
  }
  template <class S>
  loss::Term<S> generator_fake(S a) const {
    visit();
    return loss::Wasserstein::generator_fake(a);
  }
  void visit() const {
    const bool home = std::this_thread::get_id() == probe->home;
    if (!home) {
      probe->helper_ran = true;
      ++probe->helper_terms;
    }
    const std::chrono::microseconds delay = home ? probe->home_delay : probe->helper_delay;
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    if (probe->armed) throw gantry::DataError("ProbedWasserstein: armed to fail");
  }
};

struct Outcome {
  train::Values<double> both, critic, generator;
  Vector<double> both_critic, both_generator, critic_gradient, generator_gradient;
};

template <class Policy>
Outcome evaluate(const Policy& policy, const nn::Mlp<double>& generator, const nn::Mlp<double>& critic,
                 const train::Batch<double>& batch, int threads) {
  const ThreadCountScope restore;
  gantry::set_thread_count(threads);
  train::Evaluator<Policy, double> evaluator;
  Outcome o;
  // Twice each: the second call runs on buffers the first sized, as a training loop does.
  for (int repeat = 0; repeat < 2; ++repeat) {
    o.both = evaluator.both_gradients(policy, generator, critic, batch, o.both_critic, o.both_generator);
    o.critic = evaluator.critic_gradient(policy, generator, critic, batch, o.critic_gradient);
    o.generator = evaluator.generator_gradient(policy, generator, critic, batch, o.generator_gradient);
  }
  return o;
}

bool same_value(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::abs(a - b) <= 1e-12 * std::max(1.0, std::abs(b));
}

void check_values(const train::Values<double>& split, const train::Values<double>& single) {
  CHECK(same_value(split.critic_loss, single.critic_loss));
  CHECK(same_value(split.generator_loss, single.generator_loss));
  CHECK(same_value(split.penalty, single.penalty));
  CHECK(same_value(split.consensus, single.consensus));
  CHECK(same_value(split.wasserstein_estimate, single.wasserstein_estimate));
  CHECK(same_value(split.mean_gradient_norm, single.mean_gradient_norm));
  CHECK(same_value(split.max_gradient_norm, single.max_gradient_norm));
}

nn::LayerNormOptions every_hidden_layer(bool on) {
  nn::LayerNormOptions norm;
  norm.every_hidden_layer = on;
  return norm;
}

/// Two small networks with random parameters and a batch of batch_size samples (eps, and fake noise if asked).
struct Problem {
  nn::Mlp<double> generator, critic;
  train::Batch<double> batch;

  /// `layer_norm`: every hidden layer of both networks normalized.
  Problem(const nn::Activation& activation, std::uint64_t seed, bool fake_noise, bool layer_norm = false)
      : generator({2, 24, 20, 2}, nn::MlpOptions(activation, true, every_hidden_layer(layer_norm))),
        critic({2, 48, 40, 32, 1}, nn::MlpOptions(activation, true, every_hidden_layer(layer_norm))) {
    Rng rng(seed);
    rng.fill_normal(generator.parameters(), 0.0, 0.4);
    rng.fill_normal(critic.parameters(), 0.0, 0.3);
    batch.real = random_matrix<double>(2, batch_size, rng);
    batch.z = random_matrix<double>(2, batch_size, rng);
    batch.eps.resize(batch_size);
    rng.fill_uniform(batch.eps);
    if (fake_noise) batch.fake_noise = 0.1 * random_matrix<double>(2, batch_size, rng);
  }
};

template <class Policy>
void check_policy(const std::string& label, const Policy& policy, const nn::Activation& activation,
                  std::uint64_t seed, bool layer_norm) {
  INFO(label << " with " << activation.name() << ", seed " << seed << (layer_norm ? ", layer-normalized" : ""));
  const Problem problem(activation, seed, Policy::has_noise, layer_norm);
  const auto& [generator, critic, batch] = problem;

  const ThreadCountScope restore;
  gantry::set_thread_count(2);
  // The smallest pass of a step (D's forward alone) already splits, so every step does.
  REQUIRE(gantry::detail::batch_shares(batch_size, critic.multiply_adds_per_sample()) >= 2);
  const Outcome single = evaluate(policy, generator, critic, batch, 1);
  const Outcome split = evaluate(policy, generator, critic, batch, 2);
  check_values(split.both, single.both);
  check_values(split.critic, single.critic);
  check_values(split.generator, single.generator);
  CHECK(relative_difference(split.both_critic, single.both_critic) < 1e-12);
  CHECK(relative_difference(split.both_generator, single.both_generator) < 1e-12);
  CHECK(relative_difference(split.critic_gradient, single.critic_gradient) < 1e-12);
  CHECK(relative_difference(split.generator_gradient, single.generator_gradient) < 1e-12);
  // Not vacuous: the gradients are not zero.
  CHECK(single.both_critic.norm() > 1e-6);
  CHECK(single.both_generator.norm() > 1e-6);
}

template <class Policy>
void check_all(const std::string& label, const Policy& policy, bool layer_norm = false) {
  for (const nn::Activation& activation : {nn::Activation::relu(), nn::Activation::leaky_relu(0.2),
                                           nn::Activation::tanh(), nn::Activation::softplus()})
    for (std::uint64_t seed : {3u, 17u}) check_policy(label, policy, activation, seed, layer_norm);
}

}  // namespace

TEST_CASE("a step split over two threads equals the step on one: every preset", "[threads][policy]") {
  check_all("Vanilla", gantry::Vanilla{});
  check_all("NonSaturating", gantry::NonSaturating{});
  check_all("WganClip", gantry::WganClip{});
  check_all("WganGp", gantry::WganGp{});
  check_all("ZeroCenteredGp", gantry::ZeroCenteredGp{});
  check_all("Consensus", gantry::Consensus{});
}

TEST_CASE("a step split over two threads equals the step on one: every preset, layer-normalized networks",
          "[threads][policy][layer_norm]") {
  check_all("Vanilla", gantry::Vanilla{}, true);
  check_all("WganClip", gantry::WganClip{}, true);
  check_all("WganGp", gantry::WganGp{}, true);
  check_all("ZeroCenteredGp", gantry::ZeroCenteredGp{}, true);
  check_all("Consensus", gantry::Consensus{}, true);
}

TEST_CASE("a step split over two threads equals the step on one: penalties at every kind of point",
          "[threads][policy]") {
  using ZeroCentered = gantry::Policy<loss::NonSaturating, loss::ZeroCenteredPenalty>;
  check_all("R2", ZeroCentered{{}, loss::ZeroCenteredPenalty{4.0, loss::PenaltyPoints::fake}});
  check_all("R1 + R2", ZeroCentered{{}, loss::ZeroCenteredPenalty{4.0, loss::PenaltyPoints::real_and_fake}});
  check_all("WGAN-GP + R1", gantry::Policy<loss::Wasserstein, loss::GradientPenalty, loss::ZeroCenteredPenalty>{
                                {}, loss::GradientPenalty{}, loss::ZeroCenteredPenalty{2.0}});
  check_all("one-sided GP at fake samples",
            gantry::Policy<loss::Wasserstein, loss::GradientPenalty>{
                {}, loss::GradientPenalty{5.0, true, loss::PenaltyPoints::fake}});
}

TEST_CASE("a step split over two threads equals the step on one: consensus with a penalty, instance noise",
          "[threads][policy]") {
  check_all("Minimax + R1 + consensus",
            gantry::Policy<loss::Minimax, loss::ZeroCenteredPenalty, loss::Consensus>{
                {}, loss::ZeroCenteredPenalty{2.0}, loss::Consensus{0.3}});
  check_all("NonSaturating + R1 + instance noise",
            gantry::Policy<loss::NonSaturating, loss::ZeroCenteredPenalty, loss::InstanceNoise>{{}, {1.0}, {0.1}});
}

TEST_CASE("a penalty that couples the samples sees the whole batch when the step is split", "[threads][policy]") {
  check_all("mean-gradient penalty", gantry::Policy<loss::Wasserstein, MeanGradientPenalty>{});
}

TEST_CASE("an exception inside a share reaches the caller, and the threads keep working after it", "[threads]") {
  const Problem problem(nn::Activation::relu(), 29, false);
  const auto& [generator, critic, batch] = problem;

  const ThreadCountScope restore;
  const gantry::test::HelpersAlwaysJoinScope helpers_always_join;
  gantry::set_thread_count(2);
  REQUIRE(gantry::detail::batch_shares(batch_size, critic.multiply_adds_per_sample()) >= 2);
  Probe probe;
  gantry::Policy<ProbedWasserstein, loss::GradientPenalty> policy;
  policy.objective.probe = &probe;
  train::Evaluator<decltype(policy), double> evaluator;
  Vector<double> critic_gradient, generator_gradient;

  // Armed, the objective throws in every share: on the calling thread and (when it takes a share) on the helper,
  // where an escaping exception would end the process. Each step must hand one DataError to the caller.
  probe.armed = true;
  for (int attempt = 0; attempt < 20; ++attempt) {
    CHECK_THROWS_AS(evaluator.critic_gradient(policy, generator, critic, batch, critic_gradient), gantry::DataError);
    CHECK_THROWS_AS(evaluator.generator_gradient(policy, generator, critic, batch, generator_gradient),
                    gantry::DataError);
  }

  // Disarmed: the same evaluator works, its steps still split over both threads (a pool left taken by a failed
  // step would run every later step on the calling thread alone), and the results equal one thread's.
  probe.armed = false;
  probe.helper_ran = false;
  for (int attempt = 0; attempt < 200 && !probe.helper_ran; ++attempt)
    evaluator.critic_gradient(policy, generator, critic, batch, critic_gradient);
  CHECK(probe.helper_ran);
  evaluator.generator_gradient(policy, generator, critic, batch, generator_gradient);

  gantry::set_thread_count(1);
  train::Evaluator<decltype(policy), double> single;
  Vector<double> single_critic, single_generator;
  single.critic_gradient(policy, generator, critic, batch, single_critic);
  single.generator_gradient(policy, generator, critic, batch, single_generator);
  CHECK(relative_difference(critic_gradient, single_critic) < 1e-12);
  CHECK(relative_difference(generator_gradient, single_generator) < 1e-12);
}

TEST_CASE("a split step gives the same bits whichever thread ran which share", "[threads][policy]") {
  // The shares are claimed one at a time, so a slow thread runs fewer of them; each writes its own partial gradient
  // and they are added in share order, so the result must not move by a bit when the schedule changes.
  const Problem problem(nn::Activation::relu(), 31, false);
  const auto& [generator, critic, batch] = problem;
  const ThreadCountScope restore;
  const gantry::test::SplitOptionsScope four_pieces_per_thread(4, false);  // and the helper always joins
  gantry::set_thread_count(2);
  REQUIRE(gantry::detail::batch_shares(batch_size, 10 * critic.multiply_adds_per_sample()) > 2);  // several a thread
  Probe probe;
  gantry::Policy<ProbedWasserstein, loss::GradientPenalty> policy;
  policy.objective.probe = &probe;
  train::Evaluator<decltype(policy), double> evaluator;

  struct Run {
    Vector<double> critic_gradient, generator_gradient;
    int helper_terms = 0;
  };
  const auto run = [&](std::chrono::microseconds home_delay, std::chrono::microseconds helper_delay) {
    probe.home_delay = home_delay;
    probe.helper_delay = helper_delay;
    probe.helper_terms = 0;
    Run r;
    evaluator.critic_gradient(policy, generator, critic, batch, r.critic_gradient);
    evaluator.generator_gradient(policy, generator, critic, batch, r.generator_gradient);
    r.helper_terms = probe.helper_terms;
    return r;
  };
  const auto same_bits = [](const Vector<double>& a, const Vector<double>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), sizeof(double) * static_cast<std::size_t>(a.size())) == 0;
  };
  const Run plain = run(std::chrono::microseconds(0), std::chrono::microseconds(0));
  const Run slow_helper = run(std::chrono::microseconds(0), std::chrono::microseconds(300));
  const Run slow_caller = run(std::chrono::microseconds(300), std::chrono::microseconds(0));
  INFO("objective terms on the helper: slow helper " << slow_helper.helper_terms << ", slow caller "
                                                     << slow_caller.helper_terms);
  CHECK(slow_helper.helper_terms < slow_caller.helper_terms);  // the schedules did differ
  CHECK(same_bits(slow_helper.critic_gradient, plain.critic_gradient));
  CHECK(same_bits(slow_caller.critic_gradient, plain.critic_gradient));
  CHECK(same_bits(slow_helper.generator_gradient, plain.generator_gradient));
  CHECK(same_bits(slow_caller.generator_gradient, plain.generator_gradient));
}
