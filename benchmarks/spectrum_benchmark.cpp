// SPDX-License-Identifier: MIT
// The cost of the game's Jacobian products against a training step's gradients, and of a 20-eigenvalue Arnoldi
// (Spectra) on them, on the reference toy networks (bench_setup.hpp: 3 hidden ReLU layers, batch 256).

#include <benchmark/benchmark.h>

#include <gantry/metrics/game_jacobian.hpp>
#include <gantry/metrics/leading_eigenvalues.hpp>

#include "bench_setup.hpp"

namespace bench = gantry::bench;
namespace metrics = gantry::metrics;
namespace train = gantry::train;
using gantry::Index;
using gantry::Vector;

namespace {

/// The game at width w: networks of bench_setup, a batch from the 8 Gaussians, fixed.
template <class Policy>
struct Game {
  gantry::nn::Mlp<double> generator, critic;
  train::Batch<double> batch;
  explicit Game(Index width)
      : generator(bench::make_network<double>(bench::generator_sizes(width), 1)),
        critic(bench::make_network<double>(bench::critic_sizes(width), 2)) {
    gantry::Rng rng(3);
    batch.real.resize(bench::data_dimension, bench::batch_size);
    gantry::data::EightGaussians<double>().sample(batch.real, rng);
    batch.z.resize(bench::noise_dimension, bench::batch_size);
    rng.fill_normal(batch.z);
    batch.eps.resize(bench::batch_size);
    rng.fill_uniform(batch.eps);
  }
};

template <class Policy>
void both_gradients(benchmark::State& state) {
  const Game<Policy> game(state.range(0));
  train::Evaluator<Policy, double> evaluator;
  Vector<double> critic_gradient, generator_gradient;
  for (auto _ : state) {
    evaluator.both_gradients(Policy{}, game.generator, game.critic, game.batch, critic_gradient, generator_gradient);
    benchmark::DoNotOptimize(critic_gradient.data());
  }
}

template <class Policy, bool transpose>
void product(benchmark::State& state) {
  const Game<Policy> game(state.range(0));
  metrics::GameJacobian<Policy, double> jacobian(Policy{}, game.generator, game.critic, game.batch);
  gantry::Rng rng(4);
  Vector<double> w(jacobian.size()), out(jacobian.size());
  rng.fill_normal(w);
  for (auto _ : state) {
    if constexpr (transpose)
      jacobian.apply_transpose(w, out);
    else
      jacobian.apply(w, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["parameters"] = static_cast<double>(jacobian.size());
}

/// One whole Arnoldi run per iteration: its products and whether it converged are counters.
template <class Policy>
void arnoldi(benchmark::State& state) {
  const Game<Policy> game(state.range(0));
  metrics::GameJacobian<Policy, double> jacobian(Policy{}, game.generator, game.critic, game.batch);
  metrics::LeadingEigenvaluesOptions options;
  options.count = state.range(1);
  metrics::LeadingEigenvalues result;
  for (auto _ : state) {
    result = metrics::leading_eigenvalues(jacobian, options);
    benchmark::DoNotOptimize(result.eigenvalues.data());
  }
  state.counters["parameters"] = static_cast<double>(jacobian.size());
  state.counters["products"] = static_cast<double>(result.products);
  state.counters["converged"] = result.converged ? 1 : 0;
  state.counters["largest_modulus"] = result.eigenvalues.empty() ? 0.0 : std::abs(result.eigenvalues.front());
}

void widths(benchmark::internal::Benchmark* b) {
  for (const Index w : {Index(64), Index(512)}) b->Arg(w);
  b->Unit(benchmark::kMillisecond);
}

}  // namespace

BENCHMARK(both_gradients<gantry::NonSaturating>)->Name("step_gradients/NonSaturating")->Apply(widths);
BENCHMARK(product<gantry::NonSaturating, false>)->Name("J_w/NonSaturating")->Apply(widths);
BENCHMARK(product<gantry::NonSaturating, true>)->Name("JT_u/NonSaturating")->Apply(widths);
BENCHMARK(both_gradients<gantry::ZeroCenteredGp>)->Name("step_gradients/ZeroCenteredGp")->Apply(widths);
BENCHMARK(product<gantry::ZeroCenteredGp, false>)->Name("J_w/ZeroCenteredGp")->Apply(widths);
BENCHMARK(arnoldi<gantry::NonSaturating>)
    ->Name("arnoldi/NonSaturating")
    ->Args({64, 20})
    ->Args({512, 20})
    ->Iterations(1)
    ->Unit(benchmark::kSecond);
BENCHMARK_MAIN();
