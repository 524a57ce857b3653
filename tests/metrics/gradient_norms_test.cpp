// SPDX-License-Identifier: MIT
// Gradient-norm statistics on columns whose norms are known exactly.

#include "gantry/metrics/gradient_norms.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "catch.hpp"

using gantry::Matrix;

TEMPLATE_TEST_CASE("gradient_norm_stats on columns of known norms", "[metrics][gradient_norms]", float, double) {
  // Norms 5, 0, 1, 2 (3-4-5 triangle, zero, a unit vector, an axis vector): mean 2, population variance
  // (9 + 4 + 1 + 0) / 4 = 3.5; only 5 and 2 are strictly above 1.
  Matrix<TestType> gradients(2, 4);
  gradients << TestType(3), TestType(0), TestType(1), TestType(0),  //
      TestType(4), TestType(0), TestType(0), TestType(-2);
  const gantry::metrics::GradientNormStats stats = gantry::metrics::gradient_norm_stats(gradients);
  CHECK(stats.count == 4);
  CHECK(std::abs(stats.mean - 2.0) < 1e-12);
  CHECK(std::abs(stats.stddev - std::sqrt(3.5)) < 1e-12);
  CHECK(stats.min == 0.0);
  CHECK(std::abs(stats.max - 5.0) < 1e-12);
  CHECK(stats.fraction_above_one == 0.5);
}

TEST_CASE("gradient_norm_stats: norms all exactly 1 have zero spread and none above 1", "[metrics][gradient_norms]") {
  Matrix<double> gradients = Matrix<double>::Zero(3, 6);
  for (gantry::Index j = 0; j < 6; ++j) gradients(j % 3, j) = j % 2 == 0 ? 1.0 : -1.0;
  const auto stats = gantry::metrics::gradient_norm_stats(gradients);
  CHECK(stats.mean == 1.0);
  CHECK(stats.stddev == 0.0);
  CHECK(stats.fraction_above_one == 0.0);

  gradients(0, 0) = std::nextafter(1.0, 2.0);  // the smallest step above 1 counts
  CHECK(std::abs(gantry::metrics::gradient_norm_stats(gradients).fraction_above_one - 1.0 / 6.0) < 1e-15);
}

TEST_CASE("gradient_norm_stats stays finite for huge entries and uses a sub-block", "[metrics][gradient_norms]") {
  Matrix<double> gradients(2, 2);
  gradients << 3e200, 1.0,  //
      4e200, 0.0;
  const auto stats = gantry::metrics::gradient_norm_stats(gradients);
  CHECK(std::abs(stats.max / 5e200 - 1.0) < 1e-12);
  CHECK(std::isfinite(stats.stddev));
  const auto right = gantry::metrics::gradient_norm_stats(gradients.rightCols(1));
  CHECK(right.count == 1);
  CHECK(right.mean == 1.0);
}

TEST_CASE("gradient_norm_stats rejects an empty batch and non-finite gradients", "[metrics][gradient_norms]") {
  CHECK_THROWS_AS(gantry::metrics::gradient_norm_stats(Matrix<double>(2, 0)), gantry::ShapeError);
  Matrix<float> gradients = Matrix<float>::Ones(2, 3);
  gradients(1, 2) = std::numeric_limits<float>::quiet_NaN();
  try {
    gantry::metrics::gradient_norm_stats(gradients);
    FAIL("no DataError");
  } catch (const gantry::DataError& error) {
    const std::string message = error.what();
    CHECK(message.find("gantry::metrics::gradient_norm_stats: gradients has a non-finite value") != std::string::npos);
    CHECK(message.find("row 1, column 2") != std::string::npos);
  }
}
