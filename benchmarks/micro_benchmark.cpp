// SPDX-License-Identifier: MIT
// The critic's passes one at a time (three hidden ReLU layers, batch 256, float), per width, without and with layer
// normalization on every hidden layer (the second argument, 0 or 1): forward, backward (parameter gradient), input
// gradient, gradient-penalty gradient and the consensus term's Hessian-vector product. Counters: GFLOP/s of the
// matrix products each pass performs (see bench_setup.hpp; the normalization adds no product).
//
// piece_columns: the forward and backward (parameter gradient) of the critic over a block of `columns` samples,
// on one thread with single-threaded products, as one piece of a split step runs them. Counter seconds_per_sample
// (and its min over repetitions): what cutting a step into narrower pieces (SplitOptions::pieces_per_thread) costs
// before any thread waits.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <vector>

#include <gantry/core/share_pool.hpp>
#include <gantry/nn/gradient_penalty.hpp>
#include <gantry/nn/hessian_vector.hpp>

#include "bench_setup.hpp"

namespace bench = gantry::bench;
namespace nn = gantry::nn;
using gantry::Index;
using gantry::Matrix;
using gantry::Vector;
using Scalar = float;

namespace {

/// The critic's non-saturating loss on real samples, mean softplus(-a): what consensus differentiates twice.
struct SoftplusLoss {
  Scalar value(const Eigen::Ref<const Matrix<Scalar>>& a) const {
    Scalar sum = 0;
    for (Index i = 0; i < a.cols(); ++i) sum += gantry::detail::stable_softplus(-a(0, i));
    return sum / static_cast<Scalar>(a.cols());
  }
  void gradient(const Eigen::Ref<const Matrix<Scalar>>& a, Eigen::Ref<Matrix<Scalar>> adjoint) const {
    for (Index i = 0; i < a.cols(); ++i)
      adjoint(0, i) = -gantry::detail::stable_sigmoid(-a(0, i)) / static_cast<Scalar>(a.cols());
  }
  void hessian_vector(const Eigen::Ref<const Matrix<Scalar>>& a, const Eigen::Ref<const Matrix<Scalar>>& da,
                      Eigen::Ref<Matrix<Scalar>> out) const {
    for (Index i = 0; i < a.cols(); ++i)
      out(0, i) = gantry::detail::stable_sigmoid(a(0, i)) * gantry::detail::stable_sigmoid(-a(0, i)) * da(0, i) /
                  static_cast<Scalar>(a.cols());
  }
};

struct Fixture {
  Fixture(Index width, bool layer_norm)
      : critic(bench::make_network<Scalar>(bench::critic_sizes(width), 2, layer_norm)),
        cost(bench::cost_of(bench::critic_sizes(width))),
        x(bench::data_dimension, bench::batch_size),
        gradient(critic.parameter_count()),
        direction(critic.parameter_count()) {
    gantry::Rng rng(3);
    rng.fill_normal(x);
    rng.fill_normal(direction, 0.0, 0.01);
  }
  nn::Mlp<Scalar> critic;
  bench::NetworkCost cost;
  Matrix<Scalar> x;
  Vector<Scalar> gradient, direction;
  nn::Tape<Scalar> tape;
  double n() const { return static_cast<double>(x.cols()); }
};

void report(benchmark::State& state, double flops) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void forward(benchmark::State& state) {
  Fixture f(state.range(0), state.range(1) != 0);
  for (auto _ : state) {
    f.critic.forward(f.x, f.tape);
    benchmark::DoNotOptimize(f.tape.output().data());
  }
  report(state, bench::forward_flops(f.cost, f.n()));
}

void backward(benchmark::State& state) {
  Fixture f(state.range(0), state.range(1) != 0);
  f.critic.forward(f.x, f.tape);
  f.tape.output_adjoint().setConstant(Scalar(1) / static_cast<Scalar>(f.x.cols()));
  for (auto _ : state) {
    f.critic.backward(f.tape, 0, f.x.cols(), &f.gradient, false, false);
    benchmark::DoNotOptimize(f.gradient.data());
  }
  report(state, bench::backward_flops(f.cost, f.n(), true, false));
}

void input_gradient(benchmark::State& state) {
  Fixture f(state.range(0), state.range(1) != 0);
  for (auto _ : state) {
    nn::input_gradient(f.critic, f.x, f.tape);
    benchmark::DoNotOptimize(f.tape.input_adjoint().data());
  }
  report(state, bench::forward_flops(f.cost, f.n()) + bench::backward_flops(f.cost, f.n(), false, true));
}

void penalty_gradient(benchmark::State& state) {
  Fixture f(state.range(0), state.range(1) != 0);
  const nn::GradientPenaltyOptions options;
  for (auto _ : state) {
    benchmark::DoNotOptimize(nn::gradient_penalty(f.critic, f.x, options, f.tape, &f.gradient));
  }
  // forward, grad_x D, the tangent along dP/dg, the reverse over the tangent columns only
  report(state, 2 * bench::forward_flops(f.cost, f.n()) + bench::backward_flops(f.cost, f.n(), false, true) +
                    bench::backward_flops(f.cost, f.n(), true, false));
}

void consensus_gradient(benchmark::State& state) {
  Fixture f(state.range(0), state.range(1) != 0);
  const SoftplusLoss loss;
  for (auto _ : state) {
    benchmark::DoNotOptimize(nn::hessian_vector_product(f.critic, f.x, loss, f.direction, f.tape, f.gradient));
  }
  // forward; parameter tangent (dW h and W dh); reverse over both streams plus dW^T adj(da)
  report(state, 3 * bench::forward_flops(f.cost, f.n()) - 2 * f.n() * f.cost.first +
                    bench::backward_flops(f.cost, 2 * f.n(), true, false) +
                    bench::backward_flops(f.cost, f.n(), false, false));
}

void piece_columns(benchmark::State& state) {
#ifdef _OPENMP
  // As inside a piece of a split job: the passes do not split themselves, and OpenBLAS (whose thread count is
  // process-wide) runs every product on this thread.
  const gantry::detail::SingleThreadedProducts single_threaded;
#endif
  Fixture f(state.range(0), false);
  const Index columns = state.range(1);
  if (columns < 1 || columns > f.x.cols()) {
    state.SkipWithError("piece_columns: columns must be in [1, batch_size]");
    return;
  }
  const auto x = f.x.leftCols(columns);
  f.critic.forward(x, f.tape);  // sizes the tape
  for (auto _ : state) {
    f.critic.forward(x, f.tape);
    f.tape.output_adjoint().setConstant(Scalar(1) / static_cast<Scalar>(columns));
    f.critic.backward(f.tape, 0, columns, &f.gradient, false, false);
    benchmark::DoNotOptimize(f.gradient.data());
  }
  const double n = static_cast<double>(columns);
  report(state, bench::forward_flops(f.cost, n) + bench::backward_flops(f.cost, n, true, false));
  state.counters["seconds_per_sample"] =
      benchmark::Counter(n, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void widths(benchmark::internal::Benchmark* b) {
  for (const Index w : bench::widths)
    for (const int layer_norm : {0, 1}) b->Args({w, layer_norm});
  b->ArgNames({"width", "layer_norm"});
  b->Unit(benchmark::kMicrosecond)->UseRealTime();
}

}  // namespace

BENCHMARK(forward)->Apply(widths);
BENCHMARK(backward)->Apply(widths);
BENCHMARK(input_gradient)->Apply(widths);
BENCHMARK(penalty_gradient)->Apply(widths);
BENCHMARK(consensus_gradient)->Apply(widths);
BENCHMARK(piece_columns)
    ->ArgsProduct({{64, 512}, {32, 64, 128, 256}})
    ->ArgNames({"width", "columns"})
    ->ComputeStatistics("min", [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); })
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

BENCHMARK_MAIN();
