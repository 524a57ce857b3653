// SPDX-License-Identifier: MIT
// One generator iteration (n_critic critic steps and a generator step, or one simultaneous consensus step) of
// every preset at the reference toy settings, per width. Counters: iterations/s and GFLOP/s of matrix products
// (bench_setup.hpp derives the operation count). benchmarks/compare.py runs this side by side with PyTorch.

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

#include <gantry/core/threads.hpp>

#include "bench_setup.hpp"

namespace bench = gantry::bench;
using bench::Preset;

namespace {

/// GANTRY_PIECES_PER_THREAD (a whole number), GANTRY_ADAPTIVE_HELPERS and GANTRY_PREEMPTION_AWARE (0 or 1) set
/// SplitOptions, so that busy_compare.py and helpers_ab.py can measure the same build with other settings.
void apply_split_from_environment() {
  gantry::SplitOptions options = gantry::split_options();
  if (const char* text = std::getenv("GANTRY_PIECES_PER_THREAD")) {
    std::size_t used = 0;
    try {
      options.pieces_per_thread = std::stoi(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || text[used] != '\0')
      throw std::invalid_argument("GANTRY_PIECES_PER_THREAD must be a whole number, given '" + std::string(text) +
                                  "'");
  }
  if (const char* text = std::getenv("GANTRY_ADAPTIVE_HELPERS")) {
    const std::string value = text;
    if (value != "0" && value != "1")
      throw std::invalid_argument("GANTRY_ADAPTIVE_HELPERS must be 0 or 1, given '" + value + "'");
    options.adaptive_helpers = value == "1";
  }
  if (const char* text = std::getenv("GANTRY_PREEMPTION_AWARE")) {
    const std::string value = text;
    if (value != "0" && value != "1")
      throw std::invalid_argument("GANTRY_PREEMPTION_AWARE must be 0 or 1, given '" + value + "'");
    options.preemption_aware_helpers = value == "1";
  }
  gantry::set_split_options(options);  // validates: names the field and value
}

/// `critic_layer_norm`: the critic normalizes every hidden layer (the WganGpLayerNorm rows).
template <Preset P, bool critic_layer_norm = false>
void training_iteration(benchmark::State& state) {
  const gantry::Index width = state.range(0);
  apply_split_from_environment();
  auto trainer = bench::make_trainer<P>(width, critic_layer_norm);
  trainer.step();  // sizes every buffer
  for (auto _ : state) {
    const auto stats = trainer.step();
    benchmark::DoNotOptimize(stats.critic_loss);
  }
  const double flops = bench::iteration_flops(P, width);
  state.counters["iterations_per_second"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP_per_iteration"] = flops * 1e-9;
}

void widths(benchmark::internal::Benchmark* b) {
  for (const gantry::Index w : bench::widths) b->Arg(w);
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace

BENCHMARK(training_iteration<Preset::vanilla>)->Name("Vanilla")->Apply(widths);
BENCHMARK(training_iteration<Preset::non_saturating>)->Name("NonSaturating")->Apply(widths);
BENCHMARK(training_iteration<Preset::wgan_clip>)->Name("WganClip")->Apply(widths);
BENCHMARK(training_iteration<Preset::wgan_gp>)->Name("WganGp")->Apply(widths);
BENCHMARK(training_iteration<Preset::zero_centered_gp>)->Name("ZeroCenteredGp")->Apply(widths);
BENCHMARK(training_iteration<Preset::consensus>)->Name("Consensus")->Apply(widths);
BENCHMARK(training_iteration<Preset::wgan_gp, true>)->Name("WganGpLayerNorm")->Apply(widths);

BENCHMARK_MAIN();
