// SPDX-License-Identifier: MIT
// After a warm-up step, a training step allocates nothing on the heap: the trainer, the evaluator, the tapes and
// the optimizers reuse their buffers. Checked with Eigen's EIGEN_RUNTIME_NO_MALLOC hook for the policies with
// second-order terms (WGAN-GP, R1, consensus, and WGAN-GP with consensus), under both schedules.

// Eigen's malloc guard reports through eigen_assert, which NDEBUG (Release builds) would compile away: count
// the guard's reports here instead, so that the test checks something in every build type.
#include <cstring>
namespace gantry_test {
inline int forbidden_allocations = 0;
}  // namespace gantry_test
#define EIGEN_RUNTIME_NO_MALLOC
#define eigen_assert(condition)                                                                     \
  do {                                                                                              \
    if (!(condition)) {                                                                             \
      if (std::strstr(#condition, "heap allocation is forbidden")) ++gantry_test::forbidden_allocations; \
    }                                                                                               \
  } while (false)

#include <gantry/gantry.hpp>

#include "catch.hpp"
#include "support/threads.hpp"

namespace nn = gantry::nn;
namespace optim = gantry::optim;
namespace train = gantry::train;
namespace data = gantry::data;

namespace {

/// Counts the heap allocations Eigen attempts while alive.
struct NoMallocScope {
  int before = gantry_test::forbidden_allocations;
  NoMallocScope() { Eigen::internal::set_is_malloc_allowed(false); }
  ~NoMallocScope() { Eigen::internal::set_is_malloc_allowed(true); }
  int count() const { return gantry_test::forbidden_allocations - before; }
};

// Small enough that Eigen's GEMM keeps its packing blocks on the stack (EIGEN_STACK_ALLOCATION_LIMIT, 128 KiB):
// above that Eigen itself takes them from the heap, which is Eigen's choice, not a buffer gantry could own.
// Built twice: as is (one thread), and with GANTRY_TEST_SPLIT_STEPS (OpenMP, and OpenBLAS when found, as the
// examples are built), where every step splits its batch over two threads; Eigen's guard is process-wide, so the
// helper thread's shares are checked too.
#ifdef GANTRY_TEST_SPLIT_STEPS
constexpr gantry::Index width = 64, batch_size = 128;
constexpr int threads = 2;
#else
constexpr gantry::Index width = 24, batch_size = 48;
constexpr int threads = 1;
#endif

/// `layer_norm`: both networks normalize every hidden layer.
template <class Scalar, class Policy>
auto small_trainer(Policy policy, train::Schedule schedule, bool layer_norm) {
  gantry::Rng rng(5);
  nn::LayerNormOptions norm;
  norm.every_hidden_layer = layer_norm;
  nn::Mlp<Scalar> generator({2, width, width, 2}, nn::MlpOptions(nn::Activation::relu(), true, norm));
  nn::Mlp<Scalar> critic({2, width, width, 1}, nn::MlpOptions(nn::Activation::relu(), true, norm));
  generator.initialize(nn::InitScheme::torch_default, rng);
  critic.initialize(nn::InitScheme::torch_default, rng);
  train::TrainerOptions options;
  options.batch_size = batch_size;
  options.schedule = schedule;
  options.n_critic = schedule == train::Schedule::alternating ? 2 : 1;
  optim::AdamOptions adam;
  adam.learning_rate = 1e-4;
  return train::make_trainer(std::move(policy), generator, critic, data::EightGaussians<Scalar>(),
                             data::GaussianNoise<Scalar>(2), optim::Adam<Scalar>(adam), optim::Adam<Scalar>(adam),
                             options);
}

template <class Scalar, class Policy>
void check_steady_steps(Policy policy, train::Schedule schedule, bool layer_norm = false) {
  auto trainer = small_trainer<Scalar>(std::move(policy), schedule, layer_norm);
  const gantry::test::ThreadCountScope restore;
  const gantry::test::SplitOptionsScope two_pieces_per_thread(2);  // every piece's buffers, not only one a thread
  if constexpr (threads > 1) {
    gantry::set_thread_count(threads);
    // D's forward alone splits at this size, so every step does, into several shares per thread (each with its
    // own buffers, all of them checked here).
    REQUIRE(gantry::detail::batch_shares(batch_size, trainer.critic().multiply_adds_per_sample()) >= threads);
    REQUIRE(gantry::detail::batch_shares(batch_size, 10 * trainer.critic().multiply_adds_per_sample()) > threads);
  }
  trainer.step();  // sizes every buffer and the optimizers' moments, starts the helper threads
  const gantry::Vector<Scalar> before = trainer.critic().parameters();
  int allocations = 0;
  {
    NoMallocScope no_malloc;
    for (int i = 0; i < 3; ++i) trainer.step();
    allocations = no_malloc.count();
  }
  CHECK(allocations == 0);
  // The steps did train: the critic moved and stayed finite.
  CHECK(trainer.critic().parameters().allFinite());
  CHECK((trainer.critic().parameters() - before).norm() > 0);
}

}  // namespace

TEMPLATE_TEST_CASE("a steady-state training step performs no heap allocation", "[train][allocation]", float, double) {
  for (const auto schedule : {train::Schedule::alternating, train::Schedule::simultaneous}) {
    SECTION(std::string("WganGp, ") + train::schedule_name(schedule)) {
      check_steady_steps<TestType>(gantry::WganGp{}, schedule);
    }
    SECTION(std::string("ZeroCenteredGp, ") + train::schedule_name(schedule)) {
      check_steady_steps<TestType>(gantry::ZeroCenteredGp{}, schedule);
    }
    SECTION(std::string("Consensus, ") + train::schedule_name(schedule)) {
      check_steady_steps<TestType>(gantry::Consensus{}, schedule);
    }
    SECTION(std::string("WGAN-GP + consensus, ") + train::schedule_name(schedule)) {
      // Consensus's critic batch [real | fake] and the penalty's [interpolates | real | fake] differ in width.
      check_steady_steps<TestType>(gantry::Policy<gantry::loss::Wasserstein, gantry::loss::GradientPenalty,
                                                  gantry::loss::Consensus>{},
                                   schedule);
    }
    SECTION(std::string("layer-normalized WganGp, ") + train::schedule_name(schedule)) {
      check_steady_steps<TestType>(gantry::WganGp{}, schedule, true);
    }
    SECTION(std::string("layer-normalized Consensus, ") + train::schedule_name(schedule)) {
      check_steady_steps<TestType>(gantry::Consensus{}, schedule, true);
    }
  }
}

TEST_CASE("the no-allocation guard counts an allocation in this test binary", "[train][allocation]") {
  // Guards against the test above passing because the hook silently did nothing (e.g. under NDEBUG).
  int allocations = 0;
  {
    NoMallocScope no_malloc;
    gantry::Matrix<double> fresh(16, 16);
    fresh.setZero();
    allocations = no_malloc.count();
  }
  REQUIRE(allocations >= 1);
}
