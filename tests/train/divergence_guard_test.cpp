// SPDX-License-Identifier: MIT
// The divergence guard: a non-finite loss, gradient or parameter anywhere in an iteration stops training with
// an error naming the iteration, the step and the quantity, and the trainer is rolled back exactly (networks,
// optimizer states, Rng, iteration) to its state after the last good iteration; saving a copy takes no heap
// allocation in steady state.

// First: it makes any Eigen heap allocation inside a NoMallocScope throw, in Release builds too.
#include "support/no_malloc.hpp"

#include <gantry/gantry.hpp>
#include <gantry/train/checkpoint.hpp>
#include <gantry/train/divergence_guard.hpp>

#include <cstdint>
#include <limits>
#include <string>

#include "catch.hpp"
#include "support/namespaces.hpp"
#include "support/messages.hpp"

using gantry::Index;
using gantry::Matrix;
using gantry::Rng;
using gantry::test::contains;
using gantry::test::message_of;

namespace {

/// What the trapped objective poisons, and after how many calls of the poisoned member it starts.
struct Trap {
  enum What { none, critic_loss, critic_gradient, critic_overflow, generator_loss, generator_gradient } what = none;
  int skip = 0;  ///< calls of the trapped member let through first (a critic step calls critic_real B times)

  bool fires() { return skip-- <= 0; }
};

/// The Wasserstein objective with a trap: a NaN loss value (derivatives finite), a NaN derivative (the gradient
/// becomes NaN, the loss stays finite), or a derivative so large that the SGD step overflows the parameters.
struct TrappedWasserstein {
  Trap* trap = nullptr;

  std::string name() const { return "trapped_wasserstein"; }
  template <class S>
  loss::Term<S> critic_real(S a) const {
    loss::Term<S> t{-a, S(-1), S(0)};
    const bool critic_trap = trap->what == Trap::critic_loss || trap->what == Trap::critic_gradient ||
                             trap->what == Trap::critic_overflow;
    if (critic_trap && trap->fires()) {
      if (trap->what == Trap::critic_loss) t.value = std::numeric_limits<S>::quiet_NaN();
      if (trap->what == Trap::critic_gradient) t.first = std::numeric_limits<S>::quiet_NaN();
      if (trap->what == Trap::critic_overflow) t.first = -std::numeric_limits<S>::max() / S(1e6);
    }
    return t;
  }
  template <class S>
  loss::Term<S> critic_fake(S a) const {
    return {a, S(1), S(0)};
  }
  template <class S>
  loss::Term<S> generator_fake(S a) const {
    loss::Term<S> t{-a, S(-1), S(0)};
    const bool generator_trap = trap->what == Trap::generator_loss || trap->what == Trap::generator_gradient;
    if (generator_trap && trap->fires()) {
      if (trap->what == Trap::generator_loss) t.value = std::numeric_limits<S>::infinity();
      if (trap->what == Trap::generator_gradient) t.first = std::numeric_limits<S>::quiet_NaN();
    }
    return t;
  }
  static constexpr bool estimates_wasserstein = true;
};

/// Draws from the eight Gaussians, with a NaN in the batch drawn when `countdown` reaches 0.
template <class S>
struct PoisonedSampler {
  using Scalar = S;
  data::EightGaussians<Scalar> inner;
  int* countdown;
  Index dimension() const { return inner.dimension(); }
  void sample(Eigen::Ref<Matrix<Scalar>> out, Rng& rng) {
    inner.sample(out, rng);
    if ((*countdown)-- == 0) out(1, 2) = std::numeric_limits<Scalar>::quiet_NaN();
  }
};

template <class Scalar, class Policy, class DataSampler = data::EightGaussians<Scalar>>
auto make_guarded(Policy policy, double learning_rate, bool guard, DataSampler sampler = DataSampler()) {
  Rng rng(3);
  nn::Mlp<Scalar> generator({2, 8, 2}, nn::Activation::relu()), critic({2, 8, 8, 1}, nn::Activation::relu());
  generator.initialize(nn::InitScheme::torch_default, rng);
  critic.initialize(nn::InitScheme::torch_default, rng);
  optim::SgdOptions sgd;
  sgd.learning_rate = learning_rate;
  sgd.momentum = 0.5;
  train::TrainerOptions options;
  options.batch_size = 16;
  options.n_critic = 2;
  options.seed = 8;
  options.divergence_guard = guard;
  return train::make_trainer(std::move(policy), generator, critic, std::move(sampler), data::GaussianNoise<Scalar>(2),
                             optim::Sgd<Scalar>(sgd), optim::Sgd<Scalar>(sgd), options);
}

template <class Trainer>
bool same_state(const Trainer& a, const Trainer& b) {
  const auto& ra = a.rng().state();
  const auto& rb = b.rng().state();
  const auto& ca = a.critic_optimizer().state();
  const auto& cb = b.critic_optimizer().state();
  const auto& ga = a.generator_optimizer().state();
  const auto& gb = b.generator_optimizer().state();
  return a.generator().parameters() == b.generator().parameters() &&
         a.critic().parameters() == b.critic().parameters() && ca.step_count == cb.step_count &&
         ca.momentum_buffer == cb.momentum_buffer && ga.step_count == gb.step_count &&
         ga.momentum_buffer == gb.momentum_buffer && ra.words == rb.words &&
         ra.has_spare_normal == rb.has_spare_normal && ra.spare_normal == rb.spare_normal &&
         a.iteration() == b.iteration();
}

}  // namespace

TEMPLATE_TEST_CASE("the guard names the iteration, step and quantity, and rolls the whole iteration back",
                   "[train][divergence]", float, double) {
  using Scalar = TestType;
  Trap trap;
  using Policy = gantry::Policy<TrappedWasserstein>;
  auto trainer = make_guarded<Scalar>(Policy{TrappedWasserstein{&trap}}, 1e-3, true);
  trainer.fit(3);
  const auto before = trainer;  // shares the trap, which is off

  struct Case {
    Trap::What what;
    int skip;
    std::string where;
    std::string quantity;
    double critic_learning_rate = 1e-3;
  };
  const Index batch = trainer.options().batch_size;
  const Case cases[] = {
      {Trap::critic_loss, 0, "critic step 1 of 2", "the critic loss is nan"},
      // The second critic step: the first one's update must be undone as well.
      {Trap::critic_loss, static_cast<int>(batch), "critic step 2 of 2", "the critic loss is nan"},
      {Trap::critic_gradient, 0, "critic step 1 of 2", "non-finite value nan in the critic gradient at entry 0 (layer 0 weight (0, 0))"},
      // A finite gradient times a large learning rate: only the parameters overflow.
      {Trap::critic_overflow, 0, "critic step 1 of 2", "in the critic parameters at entry", 1e10},
      // Both critic steps went through; the generator step fails.
      {Trap::generator_loss, 0, "generator step", "the generator loss is inf"},
      {Trap::generator_gradient, 0, "generator step", "non-finite value nan in the generator gradient at entry 0"},
  };
  for (const Case& c : cases) {
    INFO(c.where << ": " << c.quantity);
    trap.what = c.what;
    trap.skip = c.skip;
    trainer.critic_optimizer().set_learning_rate(c.critic_learning_rate);
    const std::string message = message_of<gantry::DivergenceError>([&] { trainer.step(); });
    trap.what = Trap::none;
    trainer.critic_optimizer().set_learning_rate(1e-3);
    CHECK_THAT(message, contains("gantry::train::Trainer::step: training diverged at iteration 4, " + c.where + ": ") &&
                            contains(c.quantity) &&
                            contains("the networks, optimizers and random generator are back at their state after "
                                     "iteration 3"));
    CHECK(same_state(trainer, before));
    CHECK(trainer.critic().parameters().allFinite());
  }

  // The rollback is complete (the Rng too): the next iterations are those of the trainer that never failed.
  auto twin = before;
  trainer.fit(2);
  twin.fit(2);
  CHECK(same_state(trainer, twin));
}

TEST_CASE("without the guard the same poison passes silently: the guard is what catches it", "[train][divergence]") {
  Trap trap;
  auto trainer = make_guarded<double>(gantry::Policy<TrappedWasserstein>{TrappedWasserstein{&trap}}, 1e-3, false);
  trap.what = Trap::critic_loss;
  trap.skip = 16;
  const auto stats = trainer.step();
  CHECK(std::isnan(stats.critic_loss));
  CHECK(trainer.iteration() == 1);
}

namespace {
/// A learning-rate schedule gone wrong: both rates grow a million-fold per iteration.
struct ExplodingRate {
  double rate = 1e-2;
  template <class Trainer, class Stats>
  void on_step_end(Trainer& trainer, const Stats&) {
    rate *= 1e6;
    trainer.critic_optimizer().set_learning_rate(rate);
    trainer.generator_optimizer().set_learning_rate(rate);
  }
};
}  // namespace

TEST_CASE("a run that truly diverges stops at its last finite state, which can be saved", "[train][divergence]") {
  auto guarded = make_guarded<double>(gantry::NonSaturating{}, 1e-2, true);
  ExplodingRate schedule;
  const std::string message = message_of<gantry::DivergenceError>([&] { guarded.fit(100, schedule); });
  const Index last_good = guarded.iteration();
  INFO(message);
  REQUIRE(last_good >= 2);
  REQUIRE(last_good < 100);
  CHECK_THAT(message, contains("training diverged at iteration " + std::to_string(last_good + 1) + ", "));
  CHECK(guarded.generator().parameters().allFinite());
  CHECK(guarded.critic().parameters().allFinite());

  // The same run without the guard, stopped by hand one iteration earlier, is where the guard left off.
  auto unguarded = make_guarded<double>(gantry::NonSaturating{}, 1e-2, false);
  ExplodingRate same_schedule;
  unguarded.fit(last_good, same_schedule);
  CHECK(same_state(guarded, unguarded));

  // What is left behind is finite, so it can be checkpointed (a NaN state never reaches the disk).
  const std::string bytes = train::checkpoint_bytes(guarded);
  CHECK(bytes.size() > 8);
}

TEST_CASE("non-finite data from a sampler is an error naming it, and the guard rolls the iteration back",
          "[train][divergence][data]") {
  int countdown = -1;
  auto trainer = make_guarded<double>(gantry::WganGp{}, 1e-3, true,
                                      PoisonedSampler<double>{data::EightGaussians<double>(), &countdown});
  trainer.fit(2);
  const auto before = trainer;
  countdown = 1;  // the second batch of the next iteration: after one critic update
  CHECK_THAT(message_of<gantry::DataError>([&] { trainer.step(); }),
             contains("gantry::train::Trainer::draw_batch: a batch from the data sampler has a non-finite value nan "
                      "at row 1, column 2"));
  CHECK(same_state(trainer, before));
}

namespace {
/// An optimizer with no State: fine for training, but the guard cannot roll it back.
struct StatelessSgd {
  using Scalar = double;
  void reset(Index) {}
  void step(Eigen::Ref<gantry::Vector<double>> parameters, const Eigen::Ref<const gantry::Vector<double>>& gradient) {
    parameters -= 1e-3 * gradient;
  }
  double learning_rate() const { return 1e-3; }
  void set_learning_rate(double) {}
};
}  // namespace

TEST_CASE("the guard refuses optimizers it cannot roll back", "[train][divergence][validation]") {
  nn::Mlp<double> generator({2, 4, 2}, nn::Activation::relu()), critic({2, 4, 1}, nn::Activation::relu());
  train::TrainerOptions options;
  options.divergence_guard = true;
  CHECK_THAT(message_of<gantry::OptionError>([&] {
               train::make_trainer(gantry::NonSaturating{}, generator, critic, data::EightGaussians<double>(),
                                   data::GaussianNoise<double>(2), StatelessSgd{}, StatelessSgd{}, options);
             }),
             contains("gantry::train::TrainerOptions.divergence_guard needs optimizers with `State`, `state()` and "
                      "`set_state(State)`"));
  options.divergence_guard = false;
  auto trainer = train::make_trainer(gantry::NonSaturating{}, generator, critic, data::EightGaussians<double>(),
                                     data::GaussianNoise<double>(2), StatelessSgd{}, StatelessSgd{}, options);
  options.divergence_guard = true;
  CHECK_THROWS_AS(trainer.set_options(options), gantry::OptionError);
  CHECK_FALSE(trainer.options().divergence_guard);
}

TEST_CASE("saving the guard's copy takes no heap allocation once sized", "[train][divergence][allocation]") {
  REQUIRE(gantry::test::allocation_guard_is_live());
  auto trainer = make_guarded<double>(gantry::WganGp{}, 1e-3, true);
  trainer.fit(2);  // sizes the optimizer states
  train::DivergenceGuard<double, optim::Sgd<double>, optim::Sgd<double>> guard;
  guard.save(trainer.generator(), trainer.critic(), trainer.critic_optimizer(), trainer.generator_optimizer(),
             trainer.rng());
  trainer.fit(1);
  {
    gantry::test::NoMallocScope no_malloc;
    // The whole guarded step (its copies and checks add no allocation to it), then a copy on its own.
    CHECK_NOTHROW(trainer.step());
    CHECK_NOTHROW(guard.save(trainer.generator(), trainer.critic(), trainer.critic_optimizer(),
                             trainer.generator_optimizer(), trainer.rng()));
  }

  // And the copy is what restore puts back.
  const auto saved = trainer;
  trainer.fit(1);
  REQUIRE_FALSE(same_state(trainer, saved));
  guard.restore(trainer.generator(), trainer.critic(), trainer.critic_optimizer(), trainer.generator_optimizer(),
                trainer.rng());
  trainer.set_iteration(saved.iteration());
  CHECK(same_state(trainer, saved));
}
