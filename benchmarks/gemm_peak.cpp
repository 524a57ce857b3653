// SPDX-License-Identifier: MIT
// The machine's float GEMM peak: a large square product through Eigen's own kernels and, when linked, through
// OpenBLAS's cblas_sgemm. benchmarks/compare.py takes the best of the two as the peak that gantry's GFLOP/s are a
// fraction of.

// Eigen's own kernels even when gantry's executables hand their products to OpenBLAS (GANTRY_USE_BLAS).
#undef EIGEN_USE_BLAS

#include <benchmark/benchmark.h>

#include <Eigen/Core>

#ifdef GANTRY_HAVE_CBLAS
#include <cblas.h>
#endif

namespace {

using MatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;

void report(benchmark::State& state, double n) {
  state.counters["GFLOP/s"] = benchmark::Counter(2 * n * n * n * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void eigen_gemm(benchmark::State& state) {
  const Eigen::Index n = state.range(0);
  const MatrixF a = MatrixF::Random(n, n), b = MatrixF::Random(n, n);
  MatrixF c(n, n);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
  }
  report(state, static_cast<double>(n));
}
BENCHMARK(eigen_gemm)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();

#ifdef GANTRY_HAVE_CBLAS
void openblas_gemm(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const MatrixF a = MatrixF::Random(n, n), b = MatrixF::Random(n, n);
  MatrixF c(n, n);
  for (auto _ : state) {
    cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  report(state, static_cast<double>(n));
}
BENCHMARK(openblas_gemm)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();
#endif

}  // namespace

BENCHMARK_MAIN();
