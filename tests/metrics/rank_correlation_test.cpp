// SPDX-License-Identifier: MIT
// Spearman's rho: +-1 for monotone pairs whatever their scale, a textbook value worked out by hand with and
// without ties, independence of the order of the pairs, and errors naming the bad input.

#include <gantry/metrics/rank_correlation.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "catch.hpp"

using gantry::metrics::average_ranks;
using gantry::metrics::spearman_correlation;

TEST_CASE("rank correlation is +-1 for any monotone relation", "[metrics][rank]") {
  std::vector<double> x, rising, falling;
  for (int k = 0; k < 20; ++k) {
    x.push_back(0.1 * k);
    rising.push_back(std::exp(3.0 * k));  // far from linear: Pearson would be well below 1
    falling.push_back(-std::pow(k, 3));
  }
  CHECK(spearman_correlation(x, rising) == Approx(1.0).epsilon(1e-15));
  CHECK(spearman_correlation(x, falling) == Approx(-1.0).epsilon(1e-15));
}

TEST_CASE("rank correlation matches values worked out by hand", "[metrics][rank]") {
  // Ranks x: 1 2 3 4 5, y: 2 1 4 3 5; sum d^2 = 4, rho = 1 - 6 * 4 / (5 * 24) = 0.8.
  CHECK(spearman_correlation({1, 2, 3, 4, 5}, {20, 10, 40, 30, 50}) == Approx(0.8).epsilon(1e-15));
  // Ties share their mean rank: y = 1 1 2 -> ranks 1.5 1.5 3.
  CHECK(average_ranks({7, 7, 9}) == std::vector<double>{1.5, 1.5, 3.0});
  CHECK(average_ranks({3, 1, 2, 1}) == std::vector<double>{4.0, 1.5, 3.0, 1.5});
  // x ranks 1 2 3, y ranks 1.5 1.5 3: centred (-1, 0, 1) and (-0.5, -0.5, 1): 1.5 / sqrt(2 * 1.5) = sqrt(3)/2.
  CHECK(spearman_correlation({1, 2, 3}, {5, 5, 8}) == Approx(std::sqrt(3.0) / 2).epsilon(1e-15));
}

TEST_CASE("rank correlation does not depend on the order of the pairs", "[metrics][rank]") {
  const std::vector<double> x{0.3, -1.0, 2.5, 0.0, 7.0, 1.1}, y{1.0, 0.2, -3.0, 4.0, 0.5, 0.7};
  std::vector<double> xs, ys;
  for (const int k : {4, 2, 0, 5, 1, 3}) {
    xs.push_back(x[static_cast<std::size_t>(k)]);
    ys.push_back(y[static_cast<std::size_t>(k)]);
  }
  CHECK(spearman_correlation(xs, ys) == Approx(spearman_correlation(x, y)).epsilon(1e-15));
  CHECK(spearman_correlation(x, y) == Approx(spearman_correlation(y, x)).epsilon(1e-15));
}

TEST_CASE("rank correlation refuses what has none", "[metrics][rank]") {
  const auto message = [](const std::vector<double>& x, const std::vector<double>& y) -> std::string {
    try {
      (void)spearman_correlation(x, y);
    } catch (const gantry::Error& e) {
      return e.what();
    }
    return "";
  };
  CHECK(message({1, 2}, {1, 2, 3}).find("x has 2 values and y 3") != std::string::npos);
  CHECK(message({1}, {1}).find("at least 2 pairs") != std::string::npos);
  CHECK(message({1, 2, 3}, {4, 4, 4}).find("y is constant") != std::string::npos);
  CHECK(message({1, NAN, 3}, {1, 2, 3}).find("pair 1 is not finite") != std::string::npos);
  CHECK_THROWS_AS(spearman_correlation({1, 2}, {1, 2, 3}), gantry::ShapeError);
  CHECK_THROWS_AS(spearman_correlation({1, 2, 3}, {4, 4, 4}), gantry::DataError);
}
