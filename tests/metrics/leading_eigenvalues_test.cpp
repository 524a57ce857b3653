// SPDX-License-Identifier: MIT
// Spectra's Arnoldi on the game's J w against the full spectrum (agreement to 1e-8 in double), and the errors and
// the reported non-convergence for requests it cannot meet.

#include <gantry/gantry.hpp>
#include <gantry/metrics/game_spectrum.hpp>
#include <gantry/metrics/leading_eigenvalues.hpp>

#include <algorithm>
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

namespace {

struct SmallGame {
  nn::Mlp<double> generator{{2, 8, 8, 2}, nn::Activation::tanh()};
  nn::Mlp<double> critic{{2, 8, 8, 1}, nn::Activation::tanh()};
  train::Batch<double> batch;
  SmallGame() {
    gantry::Rng rng(21);
    rng.fill_normal(generator.parameters(), 0.0, 0.7);
    rng.fill_normal(critic.parameters(), 0.0, 0.7);
    batch.real = gantry::test::random_matrix<double>(2, 16, rng);
    batch.z = gantry::test::random_matrix<double>(2, 16, rng);
    batch.eps.resize(16);
    rng.fill_uniform(batch.eps);
  }
};

/// Worst distance from each Arnoldi eigenvalue to the nearest of the full spectrum, and whether the Arnoldi ones are
/// the right ones: the smallest key (modulus or real part) found must not be beaten by a full-spectrum eigenvalue
/// that was missed.
double worst_distance(const std::vector<std::complex<double>>& leading, const std::vector<std::complex<double>>& all) {
  double worst = 0;
  for (const auto& e : leading) {
    double nearest = INFINITY;
    for (const auto& f : all) nearest = std::min(nearest, std::abs(e - f));
    worst = std::max(worst, nearest);
  }
  return worst;
}

template <class Policy>
void check_agreement(const Policy& policy, const std::string& name) {
  const SmallGame g;
  metrics::GameJacobian jacobian(policy, g.generator, g.critic, g.batch);
  const std::vector<std::complex<double>> all = metrics::full_spectrum(jacobian);
  for (const auto order : {metrics::EigenvalueOrder::largest_modulus, metrics::EigenvalueOrder::largest_real}) {
    metrics::LeadingEigenvaluesOptions options;
    options.count = 8;
    options.order = order;
    const metrics::LeadingEigenvalues leading = metrics::leading_eigenvalues(jacobian, options);
    REQUIRE(leading.converged);
    REQUIRE(leading.eigenvalues.size() == 8);
    const bool by_modulus = order == metrics::EigenvalueOrder::largest_modulus;
    const auto key = [&](const std::complex<double>& e) { return by_modulus ? std::abs(e) : e.real(); };
    std::vector<double> all_keys;
    for (const auto& e : all) all_keys.push_back(key(e));
    std::sort(all_keys.rbegin(), all_keys.rend());
    double smallest_found = INFINITY;
    for (const auto& e : leading.eigenvalues) smallest_found = std::min(smallest_found, key(e));
    const double distance = worst_distance(leading.eigenvalues, all);
    INFO(name << (by_modulus ? ", largest modulus" : ", largest real part") << ": worst distance " << distance
              << " after " << leading.products << " products");
    CHECK(distance < 1e-8);
    CHECK(std::abs(smallest_found - all_keys[7]) < 1e-8);  // the 8th largest key of the full spectrum
  }
}

}  // namespace

TEST_CASE("Arnoldi's leading eigenvalues agree with the full spectrum to 1e-8", "[metrics][leading_eigenvalues]") {
  check_agreement(gantry::NonSaturating{}, "non-saturating");
  check_agreement(gantry::ZeroCenteredGp(loss::NonSaturating{}, loss::ZeroCenteredPenalty{1.0}), "R1");
  check_agreement(gantry::Consensus(loss::NonSaturating{}, loss::Consensus{0.5}), "consensus");
}

/// The same networks and batch in float.
nn::Mlp<float> in_float(const nn::Mlp<double>& net) {
  nn::Mlp<float> out(net.sizes(), net.options());
  out.parameters() = net.parameters().cast<float>();
  return out;
}

TEST_CASE("float products give the leading eigenvalues to float's precision", "[metrics][leading_eigenvalues]") {
  const SmallGame g;
  train::Batch<float> batch;
  batch.real = g.batch.real.cast<float>();
  batch.z = g.batch.z.cast<float>();
  batch.eps = g.batch.eps.cast<float>();
  const auto policy = gantry::ZeroCenteredGp(loss::NonSaturating{}, loss::ZeroCenteredPenalty{1.0});
  metrics::GameJacobian exact(policy, g.generator, g.critic, g.batch);
  const std::vector<std::complex<double>> all = metrics::full_spectrum(exact);
  double largest = 0;
  for (const auto& e : all) largest = std::max(largest, std::abs(e));
  metrics::GameJacobian<decltype(policy), float> single(policy, in_float(g.generator), in_float(g.critic), batch);
  metrics::SinglePrecisionOperator op(single);
  REQUIRE(op.size() == exact.size());
  metrics::LeadingEigenvaluesOptions options;
  options.count = 8;
  options.tolerance = 1e-6;
  const metrics::LeadingEigenvalues leading = metrics::leading_eigenvalues(op, options);
  REQUIRE(leading.converged);
  REQUIRE(leading.eigenvalues.size() == 8);
  const double distance = worst_distance(leading.eigenvalues, all);
  INFO("float products: worst distance " << distance << " (largest modulus " << largest << ") after "
                                          << leading.products << " products");
  CHECK(distance < 1e-4 * largest);
  Vector<double> wrong(op.size() + 1), out(op.size());
  REQUIRE_THROWS_AS(op.apply(wrong, out), gantry::ShapeError);
}

TEST_CASE("bad requests throw, and a run out of restarts reports non-convergence", "[metrics][leading_eigenvalues]") {
  gantry::Rng rng(3);
  metrics::MatrixOperator op(gantry::test::random_matrix<double>(60, 60, rng));
  metrics::LeadingEigenvaluesOptions options;
  options.count = 0;
  REQUIRE_THROWS_WITH(metrics::leading_eigenvalues(op, options), gantry::test::contains("count"));
  options.count = 59;
  REQUIRE_THROWS_AS(metrics::leading_eigenvalues(op, options), gantry::OptionError);
  REQUIRE_THROWS_WITH(metrics::leading_eigenvalues(op, options), gantry::test::contains("n - 2 = 58"));
  options.count = 4;
  options.krylov_dimension = 61;
  REQUIRE_THROWS_WITH(metrics::leading_eigenvalues(op, options), gantry::test::contains("krylov_dimension"));
  options.krylov_dimension = 5;
  REQUIRE_THROWS_WITH(metrics::leading_eigenvalues(op, options), gantry::test::contains("krylov_dimension"));
  options.krylov_dimension = 6;
  options.max_restarts = 0;
  REQUIRE_THROWS_WITH(metrics::leading_eigenvalues(op, options), gantry::test::contains("max_restarts"));
  options.tolerance = -1;
  options.max_restarts = 1;
  REQUIRE_THROWS_WITH(metrics::leading_eigenvalues(op, options), gantry::test::contains("tolerance"));
  // A random matrix's eigenvalues crowd a disc: 1 restart of a 6-vector basis cannot resolve 4 of them to 1e-14.
  options.tolerance = 1e-14;
  const metrics::LeadingEigenvalues partial = metrics::leading_eigenvalues(op, options);
  CHECK_FALSE(partial.converged);
  CHECK(partial.eigenvalues.size() < 4);
  CHECK(partial.iterations == 2);  // the one allowed restart, and the loop's exit
  // With room to work the same request converges.
  options.krylov_dimension = 0;
  options.max_restarts = 1000;
  options.tolerance = 1e-10;
  CHECK(metrics::leading_eigenvalues(op, options).converged);
}
