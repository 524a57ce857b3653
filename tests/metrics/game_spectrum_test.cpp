// SPDX-License-Identifier: MIT
// The full spectrum of a game's Jacobian: the Dirac-GAN's closed forms through it, a network's spectrum against
// the eigen-equation, the summary numbers, and the size limit.

#include <gantry/gantry.hpp>
#include <gantry/metrics/dirac.hpp>
#include <gantry/metrics/game_spectrum.hpp>

#include <complex>
#include <vector>

#include "catch.hpp"
#include "support/networks.hpp"

using gantry::Index;
using gantry::Matrix;
using gantry::Vector;
namespace loss = gantry::loss;
namespace metrics = gantry::metrics;
namespace nn = gantry::nn;
namespace train = gantry::train;

TEST_CASE("the Dirac-GAN's eigenvalues at (0, 0) through full_spectrum equal the closed forms",
          "[metrics][game_spectrum]") {
  // f(t) = -log(1 + exp(-t)): f'(0) = 1/2. R1: -gamma/2 +- sqrt(gamma^2/4 - f'(0)^2); consensus: -gamma f'(0)^2
  // +- i f'(0); unregularized: +- i f'(0) (Mescheder, Geiger & Nowozin 2018, section 2 and table 1).
  const double f1 = 0.5;
  const auto spectrum_of = [](const auto& policy) {
    metrics::GameJacobian game(policy, metrics::dirac_generator(0.0), metrics::dirac_critic(0.0),
                               metrics::dirac_batch<double>(policy));
    return metrics::full_spectrum(game);
  };
  const auto close = [](std::complex<double> a, std::complex<double> b) { return std::abs(a - b) < 1e-12; };
  const auto plain = spectrum_of(gantry::NonSaturating{});
  CHECK(close(plain[0], {0.0, f1}));
  CHECK(close(plain[1], {0.0, -f1}));
  for (const double gamma : {0.4, 3.0}) {
    const auto r1 = spectrum_of(gantry::ZeroCenteredGp(loss::NonSaturating{}, loss::ZeroCenteredPenalty{gamma}));
    const std::complex<double> root = std::sqrt(std::complex<double>(gamma * gamma / 4 - f1 * f1, 0.0));
    CHECK(close(r1[0], -gamma / 2 + root));
    CHECK(close(r1[1], -gamma / 2 - root));
    const auto consensus = spectrum_of(gantry::Consensus(loss::NonSaturating{}, loss::Consensus{gamma}));
    CHECK(close(consensus[0], {-gamma * f1 * f1, f1}));
    CHECK(close(consensus[1], {-gamma * f1 * f1, -f1}));
  }
}

TEST_CASE("a network game's spectrum: each eigenvalue makes J - lambda I singular", "[metrics][game_spectrum]") {
  gantry::Rng rng(4);
  nn::Mlp<double> generator({2, 6, 2}, nn::Activation::tanh()), critic({2, 6, 1}, nn::Activation::tanh());
  rng.fill_normal(generator.parameters(), 0.0, 0.7);
  rng.fill_normal(critic.parameters(), 0.0, 0.7);
  train::Batch<double> batch{gantry::test::random_matrix<double>(2, 8, rng),
                             gantry::test::random_matrix<double>(2, 8, rng), {}, {}};
  metrics::GameJacobian game(gantry::NonSaturating{}, generator, critic, batch);
  const Matrix<double> j = game.matrix();
  const std::vector<std::complex<double>> spectrum = metrics::full_spectrum(game);
  REQUIRE(static_cast<Index>(spectrum.size()) == game.size());
  std::complex<double> sum = 0;
  for (std::size_t i = 0; i < spectrum.size(); ++i) {
    sum += spectrum[i];
    if (i > 0) CHECK(spectrum[i - 1].real() >= spectrum[i].real());
  }
  CHECK(std::abs(sum - j.trace()) < 1e-10 * std::max(1.0, j.cwiseAbs().maxCoeff()));
  // The smallest singular value of J - lambda I, relative to |J|, for the ten largest eigenvalues.
  const Eigen::MatrixXcd jc = j.cast<std::complex<double>>();
  const double scale = j.norm();
  for (std::size_t i = 0; i < 10; ++i) {
    const Eigen::MatrixXcd shifted = jc - spectrum[i] * Eigen::MatrixXcd::Identity(j.rows(), j.cols());
    const Eigen::JacobiSVD<Eigen::MatrixXcd> svd(shifted);
    CHECK(svd.singularValues().minCoeff() < 1e-10 * scale);
  }
  metrics::FullSpectrumOptions tight;
  tight.max_parameters = game.size() - 1;
  REQUIRE_THROWS_AS(metrics::full_spectrum(game, tight), gantry::OptionError);
  REQUIRE_THROWS_WITH(metrics::full_spectrum(game, tight), gantry::test::contains("max_parameters"));
}

TEST_CASE("summarize_spectrum: largest real part, modulus and |Im/Re| above the floor", "[metrics][game_spectrum]") {
  const std::vector<std::complex<double>> cloud = {{-1.0, 4.0}, {-1.0, -4.0}, {0.5, 0.0}, {-3.0, 0.0}, {1e-9, 1e-9}};
  const metrics::SpectrumSummary s = metrics::summarize_spectrum(cloud);
  CHECK(s.count == 5);
  CHECK(s.max_real == 0.5);
  CHECK(std::abs(s.max_modulus - std::sqrt(17.0)) < 1e-15);
  CHECK(s.max_imag_over_real == 4.0);  // the 1e-9 eigenvalue (ratio 1) is below the floor anyway
  CHECK(std::isinf(metrics::summarize_spectrum({{0.0, 2.0}, {0.0, -2.0}}).max_imag_over_real));
  CHECK(std::isnan(metrics::summarize_spectrum({}).max_real));
  REQUIRE_THROWS_WITH(metrics::summarize_spectrum(cloud, -1.0), gantry::test::contains("relative_floor"));
}
