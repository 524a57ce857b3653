// SPDX-License-Identifier: MIT
// The toy samplers against their definitions (gan_toy.py of Gulrajani et al. 2017), the noise samplers,
// and the sampler interface check. Statistics use a few thousand samples and tolerances of several
// standard errors, with fixed seeds.

#define EIGEN_RUNTIME_NO_MALLOC
#include "gantry/data/toy2d.hpp"

#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "catch.hpp"
#include "gantry/data/sampler.hpp"

namespace {

using gantry::Index;
using gantry::Matrix;
using gantry::Rng;

// What a sample set looks like mode by mode, with each sample given to its nearest centre.
struct ModeStatistics {
  std::vector<Index> counts;
  Matrix<double> means;        // (dimension x modes)
  double pooled_stddev = 0.0;  // of all coordinates around their assigned centres
};

template <class Scalar>
ModeStatistics mode_statistics(const Matrix<Scalar>& samples, const Matrix<Scalar>& centers) {
  const Matrix<double> x = samples.template cast<double>();
  const Matrix<double> c = centers.template cast<double>();
  ModeStatistics stats;
  stats.counts.assign(static_cast<std::size_t>(c.cols()), 0);
  stats.means = Matrix<double>::Zero(c.rows(), c.cols());
  double squared_deviation = 0.0;
  for (Index j = 0; j < x.cols(); ++j) {
    Index nearest = 0;
    (c.colwise() - x.col(j)).colwise().squaredNorm().minCoeff(&nearest);
    ++stats.counts[static_cast<std::size_t>(nearest)];
    stats.means.col(nearest) += x.col(j);
    squared_deviation += (x.col(j) - c.col(nearest)).squaredNorm();
  }
  for (Index k = 0; k < c.cols(); ++k)
    if (stats.counts[static_cast<std::size_t>(k)] > 0)
      stats.means.col(k) /= static_cast<double>(stats.counts[static_cast<std::size_t>(k)]);
  stats.pooled_stddev = std::sqrt(squared_deviation / static_cast<double>(x.size()));
  return stats;
}

// Every mode hit about n / modes times, its sample mean at its centre, the spread the declared stddev.
template <class Sampler>
void check_mixture(Sampler& sampler, Index n, std::uint64_t seed) {
  using Scalar = typename Sampler::Scalar;
  Rng rng(seed);
  Matrix<Scalar> samples(sampler.dimension(), n);
  sampler.sample(samples, rng);
  const ModeStatistics stats = mode_statistics(samples, sampler.centers());
  const Index modes = sampler.centers().cols();
  const double expected_count = static_cast<double>(n) / static_cast<double>(modes);
  const double count_tolerance = 5.0 * std::sqrt(expected_count);  // binomial, 5 standard errors
  const double mean_tolerance = 5.0 * sampler.stddev() / std::sqrt(expected_count) + 1e-6;
  for (Index k = 0; k < modes; ++k) {
    INFO("mode " << k);
    CHECK(std::abs(static_cast<double>(stats.counts[static_cast<std::size_t>(k)]) - expected_count) < count_tolerance);
    CHECK((stats.means.col(k) - sampler.centers().col(k).template cast<double>()).cwiseAbs().maxCoeff() <
          mean_tolerance);
  }
  // Relative standard error of a std estimated from n * dimension values is 1 / sqrt(2 n d): 5% is > 6 of them.
  CHECK(std::abs(stats.pooled_stddev / sampler.stddev() - 1.0) < 0.05);
}

}  // namespace

TEMPLATE_TEST_CASE("EightGaussians matches gan_toy.py's 8gaussians", "[data][toy2d]", float, double) {
  gantry::data::EightGaussians<TestType> sampler;
  REQUIRE(sampler.dimension() == 2);
  REQUIRE(sampler.centers().rows() == 2);
  REQUIRE(sampler.centers().cols() == 8);
  CHECK(std::abs(sampler.stddev() - 0.02 / 1.414) < 1e-15);

  SECTION("centres at radius 2 / 1.414 on the compass points and diagonals") {
    const double radius = 2.0 / 1.414;
    for (Index k = 0; k < 8; ++k)
      CHECK(std::abs(sampler.centers().col(k).template cast<double>().norm() - radius) < 1e-6);
    CHECK(std::abs(static_cast<double>(sampler.centers()(0, 0)) - radius) < 1e-6);  // (1, 0) first
    CHECK(std::abs(static_cast<double>(sampler.centers()(1, 0))) < 1e-12);
    CHECK(std::abs(static_cast<double>(sampler.centers()(0, 4)) - radius / std::sqrt(2.0)) < 1e-6);
    CHECK(std::abs(static_cast<double>(sampler.centers()(1, 4)) - radius / std::sqrt(2.0)) < 1e-6);
    // The eight are distinct: the closest pair is 2 sin(pi / 8) * radius apart.
    for (Index k = 0; k < 8; ++k)
      for (Index l = k + 1; l < 8; ++l)
        CHECK((sampler.centers().col(k) - sampler.centers().col(l)).template cast<double>().norm() > 0.7 * radius);
  }
  SECTION("statistics of 4000 samples") { check_mixture(sampler, 4000, 11); }
  SECTION("options change the scale and the spread") {
    gantry::data::EightGaussiansOptions options;
    options.radius = 4.0;
    options.stddev = 0.1;
    options.divisor = 1.0;
    gantry::data::EightGaussians<TestType> wide(options);
    CHECK(std::abs(wide.stddev() - 0.1) < 1e-15);
    CHECK(std::abs(static_cast<double>(wide.centers()(1, 2)) - 4.0) < 1e-6);  // (0, 1) * 4
    check_mixture(wide, 4000, 12);
  }
}

TEMPLATE_TEST_CASE("TwentyFiveGaussians matches gan_toy.py's 25gaussians", "[data][toy2d]", float, double) {
  gantry::data::TwentyFiveGaussians<TestType> sampler;
  REQUIRE(sampler.centers().cols() == 25);
  CHECK(std::abs(sampler.stddev() - 0.05 / 2.828) < 1e-15);
  const Matrix<double> centers = sampler.centers().template cast<double>();
  // The grid {-4, -2, 0, 2, 4}^2 / 2.828.
  CHECK(std::abs(centers.row(0).minCoeff() + 4.0 / 2.828) < 1e-6);
  CHECK(std::abs(centers.row(1).maxCoeff() - 4.0 / 2.828) < 1e-6);
  for (Index k = 0; k < 25; ++k) {
    const double gx = centers(0, k) * 2.828 / 2.0;
    const double gy = centers(1, k) * 2.828 / 2.0;
    CHECK(std::abs(gx - std::round(gx)) < 1e-5);
    CHECK(std::abs(gy - std::round(gy)) < 1e-5);
  }
  check_mixture(sampler, 5000, 21);
}

TEMPLATE_TEST_CASE("Ring has 8 modes on the unit circle with std 0.01", "[data][toy2d]", float, double) {
  gantry::data::Ring<TestType> sampler;
  REQUIRE(sampler.centers().cols() == 8);
  CHECK(sampler.stddev() == 0.01);
  for (Index k = 0; k < 8; ++k) {
    const double angle = 2.0 * 3.141592653589793 * static_cast<double>(k) / 8.0;
    CHECK(std::abs(static_cast<double>(sampler.centers()(0, k)) - std::cos(angle)) < 1e-6);
    CHECK(std::abs(static_cast<double>(sampler.centers()(1, k)) - std::sin(angle)) < 1e-6);
  }
  check_mixture(sampler, 4000, 31);

  gantry::data::RingOptions options;
  options.modes = 5;
  options.radius = 3.0;
  gantry::data::Ring<TestType> five(options);
  CHECK(five.centers().cols() == 5);
  check_mixture(five, 3000, 32);
}

TEMPLATE_TEST_CASE("SwissRoll follows make_swiss_roll(noise=0.25)[:, [0, 2]] / 7.5", "[data][toy2d]", float, double) {
  const double pi = 3.141592653589793;
  SECTION("without noise every sample lies on the curve (t cos t, t sin t) / 7.5, t in [1.5 pi, 4.5 pi]") {
    gantry::data::SwissRollOptions options;
    options.noise = 0.0;
    gantry::data::SwissRoll<TestType> roll(options);
    Rng rng(41);
    Matrix<TestType> samples(2, 2000);
    roll.sample(samples, rng);
    double mean_t = 0.0;
    for (Index j = 0; j < samples.cols(); ++j) {
      const double x = static_cast<double>(samples(0, j)) * 7.5;
      const double z = static_cast<double>(samples(1, j)) * 7.5;
      const double t = std::hypot(x, z);  // |(t cos t, t sin t)| = t
      mean_t += t;
      REQUIRE(t >= 1.5 * pi - 1e-4);
      REQUIRE(t <= 4.5 * pi + 1e-4);
      const double tolerance = std::is_same_v<TestType, float> ? 1e-4 : 1e-9;
      REQUIRE(std::abs(x - t * std::cos(t)) < tolerance * 10);
      REQUIRE(std::abs(z - t * std::sin(t)) < tolerance * 10);
    }
    mean_t /= static_cast<double>(samples.cols());
    // t is uniform on [1.5 pi, 4.5 pi]: mean 3 pi, std 3 pi / sqrt(3) ~ 5.4, standard error ~ 0.12.
    CHECK(std::abs(mean_t - 3.0 * pi) < 0.6);
  }
  SECTION("with the default noise the distance to the curve has std ~0.25 (before scaling)") {
    gantry::data::SwissRoll<TestType> roll;
    REQUIRE(roll.dimension() == 2);
    Rng rng(42);
    Matrix<TestType> samples(2, 4000);
    roll.sample(samples, rng);
    double squared = 0.0;
    for (Index j = 0; j < samples.cols(); ++j) {
      const double x = static_cast<double>(samples(0, j)) * 7.5;
      const double z = static_cast<double>(samples(1, j)) * 7.5;
      const double radius = std::hypot(x, z);
      const double angle = std::atan2(z, x);
      // The curve's point at this angle nearest in radius (the loops are 2 pi apart, far more than the noise).
      const double t = angle + 2.0 * pi * std::round((radius - angle) / (2.0 * pi));
      squared += (radius - t) * (radius - t);
    }
    const double radial_stddev = std::sqrt(squared / static_cast<double>(samples.cols()));
    CHECK(radial_stddev > 0.22);
    CHECK(radial_stddev < 0.28);
  }
}

TEMPLATE_TEST_CASE("Dirac: every sample is exactly the point, and no randomness is drawn", "[data][toy2d]", float,
                   double) {
  Rng rng(51);
  const Rng::State before = rng.state();
  SECTION("default: the origin of R^1") {
    gantry::data::Dirac<TestType> dirac;
    REQUIRE(dirac.dimension() == 1);
    Matrix<TestType> samples = Matrix<TestType>::Constant(1, 7, TestType(3));
    dirac.sample(samples, rng);
    CHECK(samples.isZero(0));
    CHECK(dirac.stddev() == 0.0);
  }
  SECTION("a given point in R^3") {
    gantry::Vector<TestType> point(3);
    point << TestType(1), TestType(-2), TestType(0.5);
    gantry::data::Dirac<TestType> dirac(point);
    REQUIRE(dirac.dimension() == 3);
    REQUIRE(dirac.centers().cols() == 1);
    CHECK(dirac.centers().col(0) == point);
    Matrix<TestType> samples(3, 5);
    dirac.sample(samples, rng);
    for (Index j = 0; j < 5; ++j) CHECK(samples.col(j) == point);
  }
  CHECK(rng.state().words == before.words);
  CHECK_THROWS_AS(gantry::data::Dirac<TestType>(0), gantry::OptionError);
}

TEMPLATE_TEST_CASE("samplers are deterministic for a seed and fill blocks of a larger batch", "[data][toy2d]", float,
                   double) {
  gantry::data::EightGaussians<TestType> eight;
  gantry::data::SwissRoll<TestType> roll;
  Matrix<TestType> first(2, 64), second(2, 64), third(2, 64);
  Rng rng_a(7), rng_b(7), rng_c(8);
  eight.sample(first, rng_a);
  eight.sample(second, rng_b);
  eight.sample(third, rng_c);
  CHECK(first == second);
  CHECK(first != third);
  roll.sample(first, rng_a);
  roll.sample(second, rng_b);
  CHECK(first == second);

  // The trainer hands over the real half of a concatenated batch: the other columns must stay untouched.
  Matrix<TestType> batch = Matrix<TestType>::Constant(2, 10, TestType(9));
  Rng rng(3);
  eight.sample(batch.middleCols(2, 4), rng);
  CHECK((batch.leftCols(2).array() == TestType(9)).all());
  CHECK((batch.rightCols(4).array() == TestType(9)).all());
  CHECK((batch.middleCols(2, 4).array().abs() < TestType(3)).all());
}

TEMPLATE_TEST_CASE("sampling performs no heap allocation", "[data][toy2d]", float, double) {
  gantry::data::EightGaussians<TestType> eight;
  gantry::data::TwentyFiveGaussians<TestType> twenty_five;
  gantry::data::Ring<TestType> ring;
  gantry::data::SwissRoll<TestType> roll;
  gantry::data::Dirac<TestType> dirac(2);
  gantry::data::GaussianNoise<TestType> gaussian(2);
  gantry::data::UniformNoise<TestType> uniform(2);
  Matrix<TestType> batch(2, 32);
  Matrix<TestType> wide(2, 64);
  Rng rng(5);
  Eigen::internal::set_is_malloc_allowed(false);  // an allocation now aborts through eigen_assert
  eight.sample(batch, rng);
  twenty_five.sample(batch, rng);
  ring.sample(wide.rightCols(32), rng);
  roll.sample(batch, rng);
  dirac.sample(batch, rng);
  gaussian.sample(batch, rng);
  uniform.sample(wide.leftCols(16), rng);
  Eigen::internal::set_is_malloc_allowed(true);
  CHECK(batch.allFinite());
}

TEMPLATE_TEST_CASE("GaussianNoise is standard normal, UniformNoise uniform from low up to high", "[data][sampler]", float,
                   double) {
  Rng rng(61);
  SECTION("GaussianNoise") {
    gantry::data::GaussianNoise<TestType> noise{3};
    REQUIRE(noise.dimension() == 3);
    Matrix<TestType> z(3, 4000);
    noise.sample(z, rng);
    const Matrix<double> x = z.template cast<double>();
    for (Index i = 0; i < 3; ++i) {
      const double mean = x.row(i).mean();
      const double stddev = std::sqrt((x.row(i).array() - mean).square().mean());
      CHECK(std::abs(mean) < 0.08);          // standard error 1 / sqrt(4000) ~ 0.016
      CHECK(std::abs(stddev - 1.0) < 0.06);  // standard error ~ 0.011
    }
  }
  SECTION("UniformNoise") {
    gantry::data::UniformNoise<TestType> noise{2, -0.5, 1.5};
    Matrix<TestType> z(2, 4000);
    noise.sample(z, rng);
    const Matrix<double> x = z.template cast<double>();
    CHECK(x.minCoeff() >= -0.5);
    CHECK(x.maxCoeff() <= 1.5);
    CHECK(std::abs(x.mean() - 0.5) < 0.05);  // std 2 / sqrt(12) ~ 0.58, standard error ~ 0.009
    CHECK(x.minCoeff() < -0.45);
    CHECK(x.maxCoeff() > 1.45);
  }
}

TEST_CASE("samplers reject wrong shapes and bad options, naming them", "[data][toy2d]") {
  Rng rng(1);
  gantry::data::EightGaussians<double> eight;
  Matrix<double> three_rows(3, 4);
  try {
    eight.sample(three_rows, rng);
    FAIL("no ShapeError");
  } catch (const gantry::ShapeError& error) {
    const std::string message = error.what();
    CHECK(message.find("GaussianMixture::sample") != std::string::npos);
    CHECK(message.find("expects shape 2x*") != std::string::npos);
    CHECK(message.find("3x4") != std::string::npos);
  }
  CHECK_THROWS_AS(gantry::data::SwissRoll<double>().sample(three_rows, rng), gantry::ShapeError);
  CHECK_THROWS_AS(gantry::data::GaussianNoise<double>(2).sample(three_rows, rng), gantry::ShapeError);
  CHECK_THROWS_AS(gantry::data::Dirac<double>(2).sample(three_rows, rng), gantry::ShapeError);

  gantry::data::EightGaussiansOptions options;
  options.stddev = -0.1;
  try {
    gantry::data::EightGaussians<double> bad(options);
    FAIL("no OptionError");
  } catch (const gantry::OptionError& error) {
    const std::string message = error.what();
    CHECK(message.find("EightGaussiansOptions.stddev") != std::string::npos);
    CHECK(message.find("-0.1") != std::string::npos);
  }
  gantry::data::TwentyFiveGaussiansOptions grid;
  grid.divisor = 0.0;
  CHECK_THROWS_AS(gantry::data::TwentyFiveGaussians<double>(grid), gantry::OptionError);
  gantry::data::RingOptions ring;
  ring.modes = 0;
  CHECK_THROWS_AS(gantry::data::Ring<double>(ring), gantry::OptionError);
  gantry::data::SwissRollOptions roll;
  roll.noise = std::nan("");
  CHECK_THROWS_AS(gantry::data::SwissRoll<double>(roll), gantry::OptionError);
  CHECK_THROWS_AS(gantry::data::UniformNoise<double>(2, 1.0, 1.0), gantry::OptionError);
  CHECK_THROWS_AS(gantry::data::GaussianNoise<double>(0), gantry::OptionError);
  Matrix<double> centers(2, 1);
  centers << 0.0, std::nan("");
  CHECK_THROWS_AS(gantry::data::GaussianMixture<double>(centers, 0.1), gantry::DataError);
}

namespace {

struct NoDimension {
  void sample(Eigen::Ref<Matrix<double>> out, Rng& rng) { rng.fill_normal(out); }
};
struct NoSample {
  Index dimension() const { return 1; }
};
struct FloatOnlyWithoutScalarTypedef {  // a user's sampler need not declare Scalar
  Index dimension() const { return 1; }
  void sample(Eigen::Ref<Matrix<float>> out, Rng& rng) { rng.fill_uniform(out); }
};

}  // namespace

TEST_CASE("the sampler trait recognises samplers and names the scalar", "[data][sampler]") {
  using namespace gantry::data;
  STATIC_REQUIRE(is_sampler_v<EightGaussians<double>>);
  STATIC_REQUIRE(is_sampler_v<TwentyFiveGaussians<float>>);
  STATIC_REQUIRE(is_sampler_v<SwissRoll<double>>);
  STATIC_REQUIRE(is_sampler_v<Ring<float>>);
  STATIC_REQUIRE(is_sampler_v<Dirac<double>>);
  STATIC_REQUIRE(is_sampler_v<GaussianNoise<float>>);
  STATIC_REQUIRE(is_sampler_v<UniformNoise<double>>);
  STATIC_REQUIRE(check_sampler<EightGaussians<float>, float>());
  STATIC_REQUIRE_FALSE(is_sampler_v<EightGaussians<float>, double>);
  STATIC_REQUIRE_FALSE(is_sampler_v<NoDimension>);
  STATIC_REQUIRE_FALSE(is_sampler_v<NoSample>);
  STATIC_REQUIRE(std::is_same_v<sampler_scalar_t<FloatOnlyWithoutScalarTypedef>, float>);
  STATIC_REQUIRE(std::is_same_v<sampler_scalar_t<SwissRoll<float>>, float>);
  STATIC_REQUIRE(check_sampler<FloatOnlyWithoutScalarTypedef>());
}
