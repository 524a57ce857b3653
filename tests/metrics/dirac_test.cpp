// SPDX-License-Identifier: MIT
// The Dirac-GAN metric: eigenvalues of the field's Jacobian at the equilibrium against the closed forms of
// Mescheder, Geiger & Nowozin (2018), the exact Jacobians against finite differences of the Evaluator's field and
// of real trainer steps, the discontinuous cases, consensus away from the equilibrium, and the constant noise sampler.

#include <gantry/data/constant_noise.hpp>
#include <gantry/gantry.hpp>
#include <gantry/metrics/dirac.hpp>

#include <array>
#include <complex>
#include <vector>

#include "catch.hpp"
#include "support/gradient_check.hpp"

using gantry::Index;
using gantry::Vector;
using gantry::test::contains;
namespace metrics = gantry::metrics;
namespace loss = gantry::loss;
namespace train = gantry::train;
namespace data = gantry::data;
namespace optim = gantry::optim;

namespace {

constexpr double f1 = 0.5;    // f'(0) for f(t) = -log(1 + exp(-t))
constexpr double f2 = -0.25;  // f''(0)

template <class Scalar>
using Pair = std::array<std::complex<Scalar>, 2>;

/// m +- sqrt(d), principal root: the order metrics::eigenvalues_2x2 uses.
template <class Scalar>
Pair<Scalar> closed_pair(double mean, double discriminant) {
  const std::complex<double> root = std::sqrt(std::complex<double>(discriminant, 0.0));
  const std::complex<double> m(mean, 0.0);
  return {std::complex<Scalar>(m + root), std::complex<Scalar>(m - root)};
}

template <class Scalar>
double pair_error(const Pair<Scalar>& a, const Pair<Scalar>& b) {
  return std::max(std::abs(std::complex<double>(a[0]) - std::complex<double>(b[0])),
                  std::abs(std::complex<double>(a[1]) - std::complex<double>(b[1])));
}

template <class Scalar>
double tolerance() {
  return std::is_same_v<Scalar, double> ? 1e-8 : 1e-5;
}

using R1Policy = gantry::Policy<loss::NonSaturating, loss::ZeroCenteredPenalty>;
using MinimaxNoise = gantry::Policy<loss::Minimax, loss::InstanceNoise>;

R1Policy zero_centered(double gamma, loss::PenaltyPoints at) {
  return R1Policy(loss::NonSaturating{}, loss::ZeroCenteredPenalty{gamma, at});
}

/// d v / d(theta, psi) by central differences of the Evaluator's exact field (a cross-check only).
template <class Policy>
gantry::metrics::Matrix2<double> numeric_jacobian(const Policy& policy, double theta, double psi) {
  const auto field = [&](const Vector<double>& w) -> Vector<double> {
    return metrics::dirac_field(policy, w(0), w(1));
  };
  Vector<double> w(2);
  w << theta, psi;
  gantry::metrics::Matrix2<double> j;
  for (Index c = 0; c < 2; ++c) j.col(c) = gantry::test::numeric_directional(field, w, Vector<double>::Unit(2, c));
  return j;
}

template <class Policy>
double worst_jacobian_error(const Policy& policy, double theta, double psi) {
  const auto exact = metrics::dirac_jacobian(policy, theta, psi).jacobian;
  const auto numeric = numeric_jacobian(policy, theta, psi);
  return (exact - numeric).cwiseAbs().maxCoeff() / std::max(1.0, exact.cwiseAbs().maxCoeff());
}

/// (theta, psi) after one real trainer iteration (SGD) from a start point.
template <class Policy>
Vector<double> trainer_step(const Policy& policy, const train::TrainerOptions& schedule, double lr, double theta,
                            double psi) {
  optim::SgdOptions sgd;
  sgd.learning_rate = lr;
  train::TrainerOptions options = schedule;
  options.batch_size = 1;
  auto trainer = train::make_trainer(policy, metrics::dirac_generator(theta), metrics::dirac_critic(psi),
                                     data::Dirac<double>(1), data::ConstantNoise<double>(1, 1.0),
                                     optim::Sgd<double>(sgd), optim::Sgd<double>(sgd), options);
  trainer.step();
  Vector<double> next(2);
  next << trainer.generator().parameters()(0), trainer.critic().parameters()(0);
  return next;
}

template <class Policy>
double worst_update_error(const Policy& policy, const train::TrainerOptions& schedule, double lr, double theta,
                          double psi) {
  const auto exact = metrics::dirac_update_jacobian(policy, schedule, lr, theta, psi);
  const auto step = [&](const Vector<double>& w) { return trainer_step(policy, schedule, lr, w(0), w(1)); };
  Vector<double> w(2);
  w << theta, psi;
  gantry::metrics::Matrix2<double> numeric;
  for (Index c = 0; c < 2; ++c) numeric.col(c) = gantry::test::numeric_directional(step, w, Vector<double>::Unit(2, c));
  const Vector<double> next = step(w);
  CHECK(std::abs(exact.next(0) - next(0)) < 1e-14);
  CHECK(std::abs(exact.next(1) - next(1)) < 1e-14);
  return (exact.jacobian - numeric).cwiseAbs().maxCoeff();
}

train::TrainerOptions schedule_of(train::Schedule schedule, Index n_critic, bool generator_first = false) {
  train::TrainerOptions options;
  options.schedule = schedule;
  options.n_critic = n_critic;
  options.generator_first = generator_first;
  return options;
}

}  // namespace

TEMPLATE_TEST_CASE("the field's eigenvalues at (0, 0) match the paper's closed forms", "[metrics][dirac]", float,
                   double) {
  using S = TestType;
  const S zero = S(0);
  const double tol = tolerance<S>();
  const auto eigen = [&](const auto& policy) { return metrics::dirac_jacobian(policy, zero, zero).eigenvalues; };

  SECTION("unregularized: +-i f'(0), minimax and non-saturating alike") {
    CHECK(pair_error(eigen(gantry::Vanilla{}), closed_pair<S>(0.0, -f1 * f1)) < tol);
    CHECK(pair_error(eigen(gantry::NonSaturating{}), closed_pair<S>(0.0, -f1 * f1)) < tol);
  }
  SECTION("WGAN: +-i with f(t) = t; clipping is a projection and leaves the field unchanged") {
    CHECK(pair_error(eigen(gantry::WganClip{}), closed_pair<S>(0.0, -1.0)) < tol);
    CHECK(pair_error(eigen(gantry::Policy<loss::Wasserstein>{}), closed_pair<S>(0.0, -1.0)) < tol);
  }
  SECTION("R1 and R2: -gamma/2 +- sqrt(gamma^2/4 - f'(0)^2), complex and real cases") {
    for (const double gamma : {0.3, 0.8, 2.0, 10.0}) {
      const Pair<S> expected = closed_pair<S>(-gamma / 2, gamma * gamma / 4 - f1 * f1);
      CHECK(pair_error(eigen(zero_centered(gamma, loss::PenaltyPoints::real)), expected) < tol);
      CHECK(pair_error(eigen(zero_centered(gamma, loss::PenaltyPoints::fake)), expected) < tol);
      CHECK(pair_error(eigen(gantry::Policy<loss::Minimax, loss::ZeroCenteredPenalty>(
                           loss::Minimax{}, loss::ZeroCenteredPenalty{gamma})),
                       expected) < tol);
      // Both R1 and R2 at once penalize twice: gamma -> 2 gamma.
      CHECK(pair_error(eigen(zero_centered(gamma, loss::PenaltyPoints::real_and_fake)),
                       closed_pair<S>(-gamma, gamma * gamma - f1 * f1)) < tol);
    }
  }
  SECTION("consensus: -gamma f'(0)^2 +- i f'(0)") {
    for (const double gamma : {0.3, 1.0, 4.0}) {
      const Pair<S> expected = closed_pair<S>(-gamma * f1 * f1, -f1 * f1);
      CHECK(pair_error(eigen(gantry::Consensus(loss::NonSaturating{}, loss::Consensus{gamma})), expected) < tol);
      CHECK(pair_error(eigen(gantry::Policy<loss::Minimax, loss::Consensus>(loss::Minimax{}, loss::Consensus{gamma})),
                       expected) < tol);
    }
  }
  SECTION("instance noise: f''(0) sigma^2 +- sqrt(f''(0)^2 sigma^4 - f'(0)^2)") {
    for (const double sigma : {0.5, 1.0, 2.5}) {
      const double s2 = sigma * sigma;
      const Pair<S> expected = closed_pair<S>(f2 * s2, f2 * f2 * s2 * s2 - f1 * f1);
      CHECK(pair_error(eigen(MinimaxNoise(loss::Minimax{}, loss::InstanceNoise{sigma})), expected) < tol);
      CHECK(pair_error(eigen(gantry::Policy<loss::NonSaturating, loss::InstanceNoise>(loss::NonSaturating{},
                                                                                      loss::InstanceNoise{sigma})),
                       expected) < tol);
    }
  }
  SECTION("the field vanishes at the equilibrium") {
    CHECK(metrics::dirac_jacobian(gantry::Vanilla{}, zero, zero).field.cwiseAbs().maxCoeff() == S(0));
    CHECK(metrics::dirac_jacobian(zero_centered(0.3, loss::PenaltyPoints::real), zero, zero).field.cwiseAbs().maxCoeff() ==
          S(0));
  }
}

TEST_CASE("the exact Jacobian matches finite differences of the Evaluator's field away from (0, 0)",
          "[metrics][dirac]") {
  const std::vector<std::array<double, 2>> points = {{0.7, -0.4}, {-1.3, 0.9}, {0.2, 1.6}, {-0.5, -2.1}};
  for (const auto& p : points) {
    INFO("theta " << p[0] << ", psi " << p[1]);
    CHECK(worst_jacobian_error(gantry::Vanilla{}, p[0], p[1]) < 1e-8);
    CHECK(worst_jacobian_error(gantry::NonSaturating{}, p[0], p[1]) < 1e-8);
    CHECK(worst_jacobian_error(gantry::WganClip{}, p[0], p[1]) < 1e-8);
    CHECK(worst_jacobian_error(gantry::WganGp{}, p[0], p[1]) < 1e-8);  // psi != 0: the penalty is smooth there
    CHECK(worst_jacobian_error(gantry::WganGp(loss::Wasserstein{}, loss::GradientPenalty{3.0, true}), p[0], p[1]) <
          1e-8);
    CHECK(worst_jacobian_error(zero_centered(0.7, loss::PenaltyPoints::real), p[0], p[1]) < 1e-8);
    CHECK(worst_jacobian_error(zero_centered(0.7, loss::PenaltyPoints::fake), p[0], p[1]) < 1e-8);
    CHECK(worst_jacobian_error(zero_centered(0.7, loss::PenaltyPoints::real_and_fake), p[0], p[1]) < 1e-8);
    // The noise nodes are deterministic, so the field with instance noise is a smooth function too.
    CHECK(worst_jacobian_error(MinimaxNoise(loss::Minimax{}, loss::InstanceNoise{0.8}), p[0], p[1]) < 1e-8);
  }
}

TEST_CASE("consensus: exact at the equilibrium and away from it, where it needs third derivatives",
          "[metrics][dirac]") {
  const gantry::Consensus consensus(loss::NonSaturating{}, loss::Consensus{2.0});
  CHECK(worst_jacobian_error(consensus, 0.0, 0.0) < 1e-8);
  for (const auto& p : std::vector<std::array<double, 2>>{{0.3, -0.2}, {-1.1, 0.7}}) {
    INFO("theta " << p[0] << ", psi " << p[1]);
    CHECK(worst_jacobian_error(consensus, p[0], p[1]) < 1e-8);
    CHECK(worst_jacobian_error(gantry::Policy<loss::Minimax, loss::ZeroCenteredPenalty, loss::Consensus>(
                                   loss::Minimax{}, loss::ZeroCenteredPenalty{0.4, loss::PenaltyPoints::fake},
                                   loss::Consensus{0.7}),
                               p[0], p[1]) < 1e-8);
  }
  // There the third-order term gamma sum_k g_k Hess g_k is not 0: the paper's J - gamma J^T J differs.
  const auto plain = metrics::dirac_jacobian(gantry::NonSaturating{}, 0.3, -0.2).jacobian;
  const auto with_consensus = metrics::dirac_jacobian(consensus, 0.3, -0.2).jacobian;
  CHECK((with_consensus - (plain - 2.0 * plain.transpose() * plain)).cwiseAbs().maxCoeff() > 1e-4);
}

TEST_CASE("WGAN-GP has no Jacobian at psi = 0, where its field jumps", "[metrics][dirac]") {
  const gantry::WganGp gp(loss::Wasserstein{}, loss::GradientPenalty{2.0});
  CHECK_THROWS_AS(metrics::dirac_jacobian(gp, 0.0, 0.0), gantry::OptionError);
  CHECK_THROWS_WITH(metrics::dirac_jacobian(gp, 0.0, 0.0), contains("no Jacobian at psi = 0"));
  // The jump: just above and below psi = 0 the critic's component differs by 4 lambda.
  const double above = metrics::dirac_field(gp, 0.0, 1e-12)(1), below = metrics::dirac_field(gp, 0.0, -1e-12)(1);
  CHECK(std::abs(above - below - 4 * 2.0) < 1e-9);
  // Elsewhere the two-sided penalty has curvature 2 lambda: J = [[0, 1], [-1, -2 lambda]].
  const auto j = metrics::dirac_jacobian(gp, 0.4, 0.5).jacobian;
  CHECK(std::abs(j(0, 0)) < 1e-12);
  CHECK(std::abs(j(0, 1) - 1.0) < 1e-12);
  CHECK(std::abs(j(1, 0) + 1.0) < 1e-12);
  CHECK(std::abs(j(1, 1) + 4.0) < 1e-12);
  // One-sided: flat inside |g| < 1, undefined at |g| = 1.
  const gantry::WganGp one_sided(loss::Wasserstein{}, loss::GradientPenalty{2.0, true});
  CHECK(std::abs(metrics::dirac_jacobian(one_sided, 0.4, 0.5).jacobian(1, 1)) < 1e-12);
  CHECK_THROWS_AS(metrics::dirac_jacobian(one_sided, 0.4, 1.0), gantry::OptionError);
  // The kinks follow the center k: one-sided at |psi| = k, none at all for k = 0 (lambda g^2, smooth).
  loss::GradientPenalty centered{2.0, true};
  centered.center = 0.5;
  const gantry::WganGp one_sided_half(loss::Wasserstein{}, centered);
  CHECK_NOTHROW(metrics::dirac_jacobian(one_sided_half, 0.4, 1.0));
  CHECK(std::abs(metrics::dirac_jacobian(one_sided_half, 0.4, 1.0).jacobian(1, 1) + 4.0) < 1e-12);
  CHECK_THROWS_WITH(metrics::dirac_jacobian(one_sided_half, 0.4, 0.5), contains("|psi| = 0.5"));
  centered.center = 0;
  centered.one_sided = false;
  const gantry::WganGp zero_centered(loss::Wasserstein{}, centered);
  CHECK(std::abs(metrics::dirac_jacobian(zero_centered, 0.0, 0.0).jacobian(1, 1) + 4.0) < 1e-12);
}

TEST_CASE("one training iteration: its exact Jacobian matches finite differences of real trainer steps",
          "[metrics][dirac][train]") {
  const double lr = 0.1;
  const std::vector<train::TrainerOptions> schedules = {
      schedule_of(train::Schedule::simultaneous, 1), schedule_of(train::Schedule::alternating, 1),
      schedule_of(train::Schedule::alternating, 5), schedule_of(train::Schedule::alternating, 3, true)};
  for (const auto& schedule : schedules) {
    INFO(train::schedule_name(schedule.schedule) << ", n_critic " << schedule.n_critic);
    CHECK(worst_update_error(gantry::Vanilla{}, schedule, lr, 0.0, 0.0) < 1e-8);
    CHECK(worst_update_error(gantry::Vanilla{}, schedule, lr, 0.6, -0.8) < 1e-8);
    CHECK(worst_update_error(zero_centered(0.3, loss::PenaltyPoints::real), schedule, lr, 0.0, 0.0) < 1e-8);
    CHECK(worst_update_error(zero_centered(0.3, loss::PenaltyPoints::fake), schedule, lr, -1.1, 0.4) < 1e-8);
    CHECK(worst_update_error(gantry::Consensus(loss::NonSaturating{}, loss::Consensus{0.5}), schedule, lr, 0.0, 0.0) <
          1e-8);
    CHECK(worst_update_error(gantry::WganClip(loss::Wasserstein{}, loss::WeightClipping{0.3}), schedule, lr, 0.0, 0.0) <
          1e-8);
  }
  // Clipping active: psi is pushed past the bound, so the critic's new psi no longer depends on anything.
  const gantry::WganClip clipped(loss::Wasserstein{}, loss::WeightClipping{0.3});
  const auto at_bound = metrics::dirac_update_jacobian(clipped, schedules[0], lr, -1.0, 0.3);
  CHECK(at_bound.next(1) == 0.3);
  CHECK(at_bound.jacobian.row(1).cwiseAbs().maxCoeff() == 0.0);
  CHECK(worst_update_error(clipped, schedules[0], lr, -1.0, 0.3) < 1e-8);
}

TEST_CASE("the update's spectral radius at (0, 0) says which schedules converge", "[metrics][dirac]") {
  const double h = 0.1;
  const auto simultaneous = schedule_of(train::Schedule::simultaneous, 1);
  const auto alternating = schedule_of(train::Schedule::alternating, 1);
  const auto alternating5 = schedule_of(train::Schedule::alternating, 5);
  // Unregularized: I + h J has |1 +- i h f'(0)| > 1; alternating steps have determinant 1 (the orbit neither grows
  // nor shrinks to first order).
  CHECK(std::abs(metrics::dirac_update_jacobian(gantry::Vanilla{}, simultaneous, h, 0.0, 0.0).spectral_radius -
                 std::sqrt(1 + h * h * f1 * f1)) < 1e-12);
  for (const auto& schedule : {alternating, alternating5}) {
    const auto update = metrics::dirac_update_jacobian(gantry::Vanilla{}, schedule, h, 0.0, 0.0);
    const auto& u = update.jacobian;
    CHECK(std::abs(u(0, 0) * u(1, 1) - u(0, 1) * u(1, 0) - 1.0) < 1e-12);
    CHECK(std::abs(update.spectral_radius - 1.0) < 1e-12);
  }
  // R1: contracting under every schedule.
  for (const auto& schedule : {simultaneous, alternating, alternating5})
    CHECK(metrics::dirac_update_jacobian(zero_centered(0.3, loss::PenaltyPoints::real), schedule, h, 0.0, 0.0)
              .spectral_radius < 0.99);
}

TEST_CASE("eigenvalues_2x2 and the argument checks", "[metrics][dirac]") {
  metrics::Matrix2<double> m;
  m << 1, 2, 3, 4;
  const auto real_pair = metrics::eigenvalues_2x2(m);
  CHECK(std::abs(real_pair[0].real() - (5 + std::sqrt(33.0)) / 2) < 1e-12);
  CHECK(std::abs(real_pair[1].real() - (5 - std::sqrt(33.0)) / 2) < 1e-12);
  CHECK(real_pair[0].imag() == 0.0);
  m << 0, -2, 2, 0;
  const auto rotation = metrics::eigenvalues_2x2(m);
  CHECK(std::abs(rotation[0] - std::complex<double>(0, 2)) < 1e-12);
  CHECK(std::abs(rotation[1] - std::complex<double>(0, -2)) < 1e-12);

  CHECK_THROWS_AS(metrics::dirac_field(gantry::Vanilla{}, std::nan(""), 0.0), gantry::OptionError);
  CHECK_THROWS_AS(metrics::dirac_jacobian(MinimaxNoise{}, 0.0, 0.0, metrics::DiracOptions{1}), gantry::OptionError);
  CHECK_THROWS_WITH(metrics::dirac_update_jacobian(gantry::Vanilla{}, train::TrainerOptions{}, 0.0, 0.0, 0.0),
                    contains("learning_rate"));
}

TEMPLATE_TEST_CASE("ConstantNoise fills every sample with its value and draws nothing", "[data][dirac]", float,
                   double) {
  static_assert(data::check_sampler<data::ConstantNoise<TestType>>());
  const data::ConstantNoise<TestType> noise(3, -2.5);
  CHECK(noise.dimension() == 3);
  gantry::Matrix<TestType> out(3, 4);
  gantry::Rng rng(5), untouched(5);
  noise.sample(out, rng);
  CHECK((out.array() == TestType(-2.5)).all());
  CHECK(rng() == untouched());
  gantry::Matrix<TestType> wrong(2, 4);
  CHECK_THROWS_AS(noise.sample(wrong, rng), gantry::ShapeError);
  CHECK_THROWS_AS(data::ConstantNoise<TestType>(0), gantry::OptionError);
  CHECK_THROWS_AS(data::ConstantNoise<TestType>(1, std::nan("")), gantry::OptionError);
}
