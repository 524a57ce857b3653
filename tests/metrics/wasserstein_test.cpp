// SPDX-License-Identifier: MIT
// The exact W1 against answers known in closed form (shifts, permutations, 1-D sorting) and against
// brute force over all permutations for small sets.

#include "gantry/metrics/wasserstein.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "catch.hpp"
#include "gantry/data/toy2d.hpp"

namespace {

using gantry::Index;
using gantry::Matrix;
using gantry::Rng;

Matrix<double> random_points(Index dimension, Index n, Rng& rng) {
  Matrix<double> points(dimension, n);
  rng.fill_normal(points);
  return points;
}

double brute_force_wasserstein1(const Matrix<double>& a, const Matrix<double>& b) {
  std::vector<Index> permutation(static_cast<std::size_t>(a.cols()));
  std::iota(permutation.begin(), permutation.end(), Index{0});
  double best = std::numeric_limits<double>::infinity();
  do {
    double total = 0.0;
    for (Index i = 0; i < a.cols(); ++i) total += (a.col(i) - b.col(permutation[static_cast<std::size_t>(i)])).norm();
    best = std::min(best, total / static_cast<double>(a.cols()));
  } while (std::next_permutation(permutation.begin(), permutation.end()));
  return best;
}

}  // namespace

TEST_CASE("W1 of a set and its copy shifted by d is |d|", "[metrics][wasserstein]") {
  // Identity matching costs |d|; no matching costs less since mean_i |a_i + d - a_pi(i)| >= |mean_i (...)| = |d|.
  Rng rng(1);
  for (const Index dimension : {1, 2, 5}) {
    const Matrix<double> a = random_points(dimension, 60, rng);
    gantry::Vector<double> shift(dimension);
    rng.fill_normal(shift, 0.0, 0.3);
    const Matrix<double> b = a.colwise() + shift;
    INFO("dimension " << dimension);
    CHECK(std::abs(gantry::metrics::wasserstein1(a, b) - shift.norm()) < 1e-12 * (1.0 + shift.norm()));
  }
}

TEST_CASE("W1 of a set and a permuted copy is 0", "[metrics][wasserstein]") {
  Rng rng(2);
  const Matrix<double> a = random_points(2, 300, rng);
  std::vector<Index> order(300);
  std::iota(order.begin(), order.end(), Index{0});
  for (std::size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
  Matrix<double> b(2, 300);
  for (Index j = 0; j < 300; ++j) b.col(j) = a.col(order[static_cast<std::size_t>(j)]);
  CHECK(gantry::metrics::wasserstein1(a, b) == 0.0);
  CHECK(gantry::metrics::wasserstein1(a, a) == 0.0);
}

TEST_CASE("W1 equals brute force over all permutations for n <= 7", "[metrics][wasserstein]") {
  Rng rng(3);
  for (Index n = 1; n <= 7; ++n)
    for (const Index dimension : {1, 2, 3})
      for (int trial = 0; trial < 4; ++trial) {
        const Matrix<double> a = random_points(dimension, n, rng);
        // Some trials on a coarse grid: ties in the costs are where assignment codes go wrong.
        const Matrix<double> b = trial % 2 == 0 ? random_points(dimension, n, rng) : Matrix<double>(a.array().round());
        INFO("n " << n << ", dimension " << dimension << ", trial " << trial);
        const double expected = brute_force_wasserstein1(a, b);
        CHECK(std::abs(gantry::metrics::wasserstein1(a, b) - expected) < 1e-12 * (1.0 + expected));
      }
}

TEST_CASE("in 1-D, W1 matches sorted order (the quantile coupling)", "[metrics][wasserstein]") {
  Rng rng(4);
  Matrix<double> a(1, 400), b(1, 400);
  rng.fill_normal(a);
  rng.fill_uniform(b, -1.0, 3.0);
  std::vector<double> sorted_a(a.data(), a.data() + a.size()), sorted_b(b.data(), b.data() + b.size());
  std::sort(sorted_a.begin(), sorted_a.end());
  std::sort(sorted_b.begin(), sorted_b.end());
  double expected = 0.0;
  for (std::size_t i = 0; i < sorted_a.size(); ++i) expected += std::abs(sorted_a[i] - sorted_b[i]);
  expected /= 400.0;
  CHECK(std::abs(gantry::metrics::wasserstein1(a, b) - expected) < 1e-12);
}

TEST_CASE("W1 is symmetric and the assignment is a permutation", "[metrics][wasserstein]") {
  Rng rng(5);
  gantry::data::EightGaussians<double> eight;
  gantry::data::SwissRoll<double> roll;
  Matrix<double> a(2, 250), b(2, 250);
  eight.sample(a, rng);
  roll.sample(b, rng);
  const double forward = gantry::metrics::wasserstein1(a, b);
  CHECK(forward > 0.1);
  CHECK(std::abs(forward - gantry::metrics::wasserstein1(b, a)) < 1e-12);

  std::vector<double> cost(250 * 250);
  for (Index i = 0; i < 250; ++i)
    for (Index j = 0; j < 250; ++j) cost[static_cast<std::size_t>(i * 250 + j)] = (a.col(i) - b.col(j)).norm();
  std::vector<Index> match = gantry::metrics::detail::min_cost_assignment(cost, 250);
  std::sort(match.begin(), match.end());
  for (Index i = 0; i < 250; ++i) REQUIRE(match[static_cast<std::size_t>(i)] == i);
}

TEST_CASE("W1 accepts float point sets and computes in double", "[metrics][wasserstein]") {
  Rng rng(6);
  const Matrix<double> a = random_points(2, 40, rng);
  const Matrix<double> b = random_points(2, 40, rng);
  const Matrix<float> a_float = a.cast<float>();
  const Matrix<float> b_float = b.cast<float>();
  const double exact = gantry::metrics::wasserstein1(a_float.cast<double>(), b_float.cast<double>());
  CHECK(gantry::metrics::wasserstein1(a_float, b_float) == exact);
  CHECK(std::abs(gantry::metrics::wasserstein1(a_float, b) - gantry::metrics::wasserstein1(a, b)) < 1e-6);
}

TEMPLATE_TEST_CASE("the real-vs-real baseline is positive and well below W1 to another distribution",
                   "[metrics][wasserstein]", float, double) {
  gantry::data::EightGaussians<TestType> eight;
  Rng rng(7);
  const double baseline = gantry::metrics::real_baseline_wasserstein1(eight, 300, rng);
  CHECK(baseline > 0.0);
  gantry::data::Ring<TestType> ring;
  Matrix<TestType> a(2, 300), b(2, 300);
  eight.sample(a, rng);
  ring.sample(b, rng);
  CHECK(baseline < 0.5 * gantry::metrics::wasserstein1(a, b));

  Rng same(7);
  CHECK(gantry::metrics::real_baseline_wasserstein1(eight, 300, same) == baseline);

  gantry::data::Dirac<TestType> dirac(3);
  CHECK(gantry::metrics::real_baseline_wasserstein1(dirac, 10, rng) == 0.0);
  CHECK_THROWS_AS(gantry::metrics::real_baseline_wasserstein1(eight, 0, rng), gantry::OptionError);
}

TEST_CASE("wasserstein1 rejects unequal shapes and non-finite values, naming them", "[metrics][wasserstein]") {
  Matrix<double> a = Matrix<double>::Zero(2, 5);
  try {
    gantry::metrics::wasserstein1(a, Matrix<double>::Zero(2, 4));
    FAIL("no ShapeError");
  } catch (const gantry::ShapeError& error) {
    const std::string message = error.what();
    CHECK(message.find("gantry::metrics::wasserstein1: b expects shape 2x5, given 2x4") != std::string::npos);
  }
  CHECK_THROWS_AS(gantry::metrics::wasserstein1(a, Matrix<double>::Zero(3, 5)), gantry::ShapeError);
  CHECK_THROWS_AS(gantry::metrics::wasserstein1(Matrix<double>(2, 0), Matrix<double>(2, 0)), gantry::ShapeError);
  Matrix<double> b = Matrix<double>::Zero(2, 5);
  b(0, 3) = std::numeric_limits<double>::infinity();
  try {
    gantry::metrics::wasserstein1(a, b);
    FAIL("no DataError");
  } catch (const gantry::DataError& error) {
    const std::string message = error.what();
    CHECK(message.find("b has a non-finite value inf at row 0, column 3") != std::string::npos);
  }
  a(1, 1) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(gantry::metrics::wasserstein1(a, Matrix<double>::Zero(2, 5)), gantry::DataError);
  Matrix<double> huge = Matrix<double>::Zero(2, 5);
  huge(0, 0) = 1e308;
  Matrix<double> opposite = Matrix<double>::Zero(2, 5);
  opposite(0, 0) = -1e308;
  CHECK_THROWS_AS(gantry::metrics::wasserstein1(huge, opposite), gantry::DataError);
}
