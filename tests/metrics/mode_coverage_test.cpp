// SPDX-License-Identifier: MIT
// Mode coverage on hand-built sets whose answer is known, then on real samples of a toy mixture.

#include "gantry/metrics/mode_coverage.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "catch.hpp"
#include "gantry/data/toy2d.hpp"

namespace {

using gantry::Index;
using gantry::Matrix;

// The 8 unit compass points (not the toy's scaling: simple numbers make the expected answers obvious).
Matrix<double> compass_centers() {
  const double d = 1.0 / std::sqrt(2.0);
  Matrix<double> centers(2, 8);
  centers << 1, -1, 0, 0, d, -d, d, -d,  //
      0, 0, 1, -1, d, d, -d, -d;
  return centers;
}

}  // namespace

TEMPLATE_TEST_CASE("a set that misses 3 of 8 modes covers 5", "[metrics][mode_coverage]", float, double) {
  const Matrix<double> centers = compass_centers();
  const double stddev = 0.02;
  // Modes 0, 2, 3, 5 and 7 get 1, 2, 3, 4 and 5 samples, all within 2 std of their centre.
  const std::vector<Index> hits = {0, 2, 2, 3, 3, 3, 5, 5, 5, 5, 7, 7, 7, 7, 7};
  Matrix<TestType> samples(2, static_cast<Index>(hits.size()));
  for (std::size_t s = 0; s < hits.size(); ++s) {
    const double angle = 0.7 * static_cast<double>(s);  // offsets in varied directions
    samples(0, static_cast<Index>(s)) = static_cast<TestType>(centers(0, hits[s]) + 2.0 * stddev * std::cos(angle));
    samples(1, static_cast<Index>(s)) = static_cast<TestType>(centers(1, hits[s]) + 2.0 * stddev * std::sin(angle));
  }
  const gantry::metrics::ModeCoverage coverage = gantry::metrics::mode_coverage(samples, centers, stddev);
  CHECK(coverage.modes == 8);
  CHECK(coverage.modes_covered == 5);
  CHECK(coverage.high_quality_fraction == 1.0);
  const std::vector<Index> expected_counts = {1, 0, 2, 3, 0, 4, 0, 5};
  CHECK(coverage.samples_per_mode == expected_counts);
  CHECK(coverage.high_quality_per_mode == expected_counts);
}

TEST_CASE("a far outlier goes to its nearest mode but is not high quality", "[metrics][mode_coverage]") {
  const Matrix<double> centers = compass_centers();
  const double stddev = 0.02;
  Matrix<double> samples(2, 4);
  samples << 1.0, 0.0, 0.3, 1.0 + 3.5 * stddev,  //
      0.0, 1.0, 0.0, 0.0;
  // Columns: on mode 0, on mode 2, an outlier nearest to mode 0 (0.7 away), one 3.5 std off mode 0.
  const gantry::metrics::ModeCoverage coverage = gantry::metrics::mode_coverage(samples, centers, stddev);
  CHECK(coverage.modes_covered == 2);
  CHECK(coverage.high_quality_fraction == 0.5);
  CHECK(coverage.samples_per_mode[0] == 3);
  CHECK(coverage.high_quality_per_mode[0] == 1);
  CHECK(coverage.high_quality_per_mode[2] == 1);

  SECTION("a mode whose only sample is an outlier is not covered") {
    Matrix<double> only_outliers(2, 1);
    only_outliers << 0.3, 0.0;
    const auto result = gantry::metrics::mode_coverage(only_outliers, centers, stddev);
    CHECK(result.modes_covered == 0);
    CHECK(result.samples_per_mode[0] == 1);
    CHECK(result.high_quality_fraction == 0.0);
  }
  SECTION("a wider radius takes the 3.5 std sample in") {
    const auto result = gantry::metrics::mode_coverage(samples, centers, stddev, 4.0);
    CHECK(result.high_quality_per_mode[0] == 2);
    CHECK(result.high_quality_fraction == 0.75);
  }
}

TEST_CASE("the radius is inclusive: distance exactly 3 std is high quality", "[metrics][mode_coverage]") {
  Matrix<double> centers(2, 2);
  centers << 0.0, 10.0,  //
      0.0, 0.0;
  Matrix<double> samples(2, 3);
  samples << 1.5, 0.0, 10.0,  //
      0.0, -1.5000001, 1.5;   // 3 std (in), just over 3 std (out), 3 std (in), with stddev 0.5
  const auto coverage = gantry::metrics::mode_coverage(samples, centers, 0.5);
  CHECK(coverage.high_quality_per_mode == std::vector<Index>{1, 1});
  CHECK(coverage.modes_covered == 2);
  CHECK(std::abs(coverage.high_quality_fraction - 2.0 / 3.0) < 1e-15);
}

TEST_CASE("float samples against double centres give the double answer", "[metrics][mode_coverage]") {
  gantry::data::EightGaussians<double> mixture;
  gantry::Rng rng(3);
  Matrix<double> samples(2, 500);
  mixture.sample(samples, rng);
  const Matrix<float> as_float = samples.cast<float>();
  const auto exact = gantry::metrics::mode_coverage(samples, mixture.centers(), mixture.stddev());
  const auto single = gantry::metrics::mode_coverage(as_float, mixture.centers(), mixture.stddev());
  CHECK(single.samples_per_mode == exact.samples_per_mode);
  CHECK(single.modes_covered == exact.modes_covered);
  CHECK(std::abs(single.high_quality_fraction - exact.high_quality_fraction) <= 2.0 / 500.0);
}

TEMPLATE_TEST_CASE("real samples of a toy mixture cover every mode with ~98.9% high quality",
                   "[metrics][mode_coverage]", float, double) {
  // For an isotropic 2-D Gaussian P(|x - mu| <= 3 sigma) = 1 - exp(-9 / 2) = 0.98889.
  const double expected_fraction = 1.0 - std::exp(-4.5);
  gantry::Rng rng(5);
  SECTION("8 Gaussians") {
    gantry::data::EightGaussians<TestType> mixture;
    Matrix<TestType> samples(2, 4000);
    mixture.sample(samples, rng);
    const auto coverage = gantry::metrics::mode_coverage(samples, mixture.centers(), mixture.stddev());
    CHECK(coverage.modes_covered == 8);
    CHECK(std::abs(coverage.high_quality_fraction - expected_fraction) < 0.01);  // standard error ~0.0017
  }
  SECTION("25 Gaussians") {
    gantry::data::TwentyFiveGaussians<TestType> mixture;
    Matrix<TestType> samples(2, 4000);
    mixture.sample(samples, rng);
    const auto coverage = gantry::metrics::mode_coverage(samples, mixture.centers(), mixture.stddev());
    CHECK(coverage.modes_covered == 25);
    CHECK(std::abs(coverage.high_quality_fraction - expected_fraction) < 0.01);
  }
  SECTION("a collapsed generator (every sample at one centre) covers one mode") {
    gantry::data::EightGaussians<TestType> mixture;
    const gantry::Vector<TestType> centre = mixture.centers().col(3);
    gantry::data::Dirac<TestType> collapsed(centre);
    Matrix<TestType> samples(2, 100);
    collapsed.sample(samples, rng);
    const auto coverage = gantry::metrics::mode_coverage(samples, mixture.centers(), mixture.stddev());
    CHECK(coverage.modes_covered == 1);
    CHECK(coverage.high_quality_per_mode[3] == 100);
  }
}

TEST_CASE("a Dirac (stddev 0) counts only exact hits", "[metrics][mode_coverage]") {
  gantry::data::Dirac<double> dirac(2);
  Matrix<double> samples(2, 2);
  samples << 0.0, 1e-9,  //
      0.0, 0.0;
  const auto coverage = gantry::metrics::mode_coverage(samples, dirac.centers(), dirac.stddev());
  CHECK(coverage.modes_covered == 1);
  CHECK(coverage.high_quality_fraction == 0.5);
}

TEST_CASE("mode_coverage rejects bad input, naming it", "[metrics][mode_coverage]") {
  const Matrix<double> centers = compass_centers();
  Matrix<double> samples = Matrix<double>::Zero(2, 3);
  try {
    gantry::metrics::mode_coverage(Matrix<double>::Zero(3, 3), centers, 0.1);
    FAIL("no ShapeError");
  } catch (const gantry::ShapeError& error) {
    const std::string message = error.what();
    CHECK(message.find("gantry::metrics::mode_coverage: centers expects shape 3x*, given 2x8") != std::string::npos);
  }
  CHECK_THROWS_AS(gantry::metrics::mode_coverage(Matrix<double>(2, 0), centers, 0.1), gantry::ShapeError);
  CHECK_THROWS_AS(gantry::metrics::mode_coverage(samples, Matrix<double>(2, 0), 0.1), gantry::ShapeError);
  CHECK_THROWS_AS(gantry::metrics::mode_coverage(samples, centers, -0.1), gantry::OptionError);
  CHECK_THROWS_AS(gantry::metrics::mode_coverage(samples, centers, 0.1, 0.0), gantry::OptionError);
  samples(1, 2) = std::numeric_limits<double>::quiet_NaN();
  try {
    gantry::metrics::mode_coverage(samples, centers, 0.1);
    FAIL("no DataError");
  } catch (const gantry::DataError& error) {
    const std::string message = error.what();
    CHECK(message.find("samples has a non-finite value") != std::string::npos);
    CHECK(message.find("row 1, column 2") != std::string::npos);
  }
}
