// SPDX-License-Identifier: MIT
// The cost of the game's Jacobian products against a training step's gradients, and of a 20-eigenvalue Arnoldi
// (Spectra) on them, in double and on float products, on the reference toy networks (bench_setup.hpp: 3 hidden ReLU
// layers, batch 256).

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>

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

/// The same Arnoldi on float products (SinglePrecisionOperator, tolerance 1e-6); the counter distance_to_double is
/// the worst distance from one of its eigenvalues to the nearest of a double run's (tolerance 1e-10, run once
/// outside the timing), relative to the largest modulus.
template <class Policy>
void arnoldi_single(benchmark::State& state) {
  const Game<Policy> game(state.range(0));
  const auto in_float = [](const gantry::nn::Mlp<double>& net) {
    gantry::nn::Mlp<float> out(net.sizes(), net.options());
    out.parameters() = net.parameters().cast<float>();
    return out;
  };
  train::Batch<float> batch;
  batch.real = game.batch.real.template cast<float>();
  batch.z = game.batch.z.template cast<float>();
  batch.eps = game.batch.eps.template cast<float>();
  metrics::GameJacobian<Policy, float> jacobian(Policy{}, in_float(game.generator), in_float(game.critic), batch);
  metrics::SinglePrecisionOperator op(jacobian);
  metrics::LeadingEigenvaluesOptions options;
  options.count = state.range(1);
  options.tolerance = 1e-6;
  metrics::LeadingEigenvalues result;
  for (auto _ : state) {
    result = metrics::leading_eigenvalues(op, options);
    benchmark::DoNotOptimize(result.eigenvalues.data());
  }
  metrics::GameJacobian<Policy, double> exact(Policy{}, game.generator, game.critic, game.batch);
  metrics::LeadingEigenvaluesOptions exact_options;
  exact_options.count = options.count;
  const metrics::LeadingEigenvalues reference = metrics::leading_eigenvalues(exact, exact_options);
  double worst = 0, largest = 0;
  for (const auto& e : reference.eigenvalues) largest = std::max(largest, std::abs(e));
  for (const auto& e : result.eigenvalues) {
    double nearest = INFINITY;
    for (const auto& f : reference.eigenvalues) nearest = std::min(nearest, std::abs(e - f));
    worst = std::max(worst, nearest);
  }
  state.counters["products"] = static_cast<double>(result.products);
  state.counters["converged"] = result.converged && reference.converged ? 1 : 0;
  state.counters["distance_to_double"] = largest > 0 ? worst / largest : worst;
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
BENCHMARK(arnoldi_single<gantry::NonSaturating>)
    ->Name("arnoldi_float/NonSaturating")
    ->Args({64, 20})
    ->Args({512, 20})
    ->Iterations(1)
    ->Unit(benchmark::kSecond);
BENCHMARK_MAIN();
