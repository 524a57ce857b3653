// SPDX-License-Identifier: MIT
// The Dirac-GAN through the real trainer (Mescheder, Geiger & Nowozin 2018): with R1 gradient descent converges to
// the equilibrium under both schedules, at the rate the update's Jacobian predicts; without regularization
// simultaneous gradient descent moves away from it.

#include <gantry/data/constant_noise.hpp>
#include <gantry/gantry.hpp>
#include <gantry/metrics/dirac.hpp>

#include <cmath>
#include <vector>

#include "catch.hpp"

using gantry::Index;
namespace metrics = gantry::metrics;
namespace loss = gantry::loss;
namespace train = gantry::train;
namespace data = gantry::data;
namespace optim = gantry::optim;

namespace {

/// Distance to (0, 0) after every generator iteration.
struct DistanceLog {
  std::vector<double>* distances;
  template <class Trainer, class Stats>
  void on_step_end(Trainer& trainer, const Stats&) {
    distances->push_back(std::hypot(static_cast<double>(trainer.generator().parameters()(0)),
                                    static_cast<double>(trainer.critic().parameters()(0))));
  }
};

/// Trains the Dirac-GAN from (1, 1) with gradient descent (lr 0.1) and returns the distance after each iteration.
template <class Scalar, class Policy>
std::vector<double> train_dirac(const Policy& policy, train::Schedule schedule, Index n_critic, Index iterations) {
  optim::SgdOptions sgd;
  sgd.learning_rate = 0.1;
  train::TrainerOptions options;
  options.schedule = schedule;
  options.n_critic = n_critic;
  options.batch_size = 4;  // every sample is the same point: the batch size cannot matter
  auto trainer = train::make_trainer(policy, metrics::dirac_generator(Scalar(1)), metrics::dirac_critic(Scalar(1)),
                                     data::Dirac<Scalar>(1), data::ConstantNoise<Scalar>(1, 1.0),
                                     optim::Sgd<Scalar>(sgd), optim::Sgd<Scalar>(sgd), options);
  std::vector<double> distances;
  trainer.fit(iterations, DistanceLog{&distances});
  REQUIRE(static_cast<Index>(distances.size()) == iterations);
  return distances;
}

using R1 = gantry::ZeroCenteredGp;  // non-saturating objective + gamma/2 E |grad_x D(x_real)|^2

R1 r1(double gamma) { return R1(loss::NonSaturating{}, loss::ZeroCenteredPenalty{gamma, loss::PenaltyPoints::real}); }

}  // namespace

TEMPLATE_TEST_CASE("with R1 (gamma 0.3, lr 0.1) gradient descent converges to (0, 0)", "[train][dirac]", float,
                   double) {
  const double start = std::sqrt(2.0);
  SECTION("simultaneous") {
    const auto d = train_dirac<TestType>(r1(0.3), train::Schedule::simultaneous, 1, 3000);
    CHECK(d.back() < 1e-6);
    CHECK(d.back() < 1e-6 * start);
  }
  SECTION("alternating, one critic step") {
    const auto d = train_dirac<TestType>(r1(0.3), train::Schedule::alternating, 1, 3000);
    CHECK(d.back() < 1e-6);
  }
  SECTION("alternating, five critic steps") {
    const auto d = train_dirac<TestType>(r1(0.3), train::Schedule::alternating, 5, 1000);
    CHECK(d.back() < 1e-6);
  }
}

TEST_CASE("the trainer's rate of convergence is the spectral radius of the update's Jacobian", "[train][dirac]") {
  for (const auto& [schedule, n_critic] : {std::pair{train::Schedule::simultaneous, Index(1)},
                                           std::pair{train::Schedule::alternating, Index(1)}}) {
    INFO(train::schedule_name(schedule) << ", n_critic " << n_critic);
    const auto d = train_dirac<double>(r1(0.3), schedule, n_critic, 2000);
    train::TrainerOptions options;
    options.schedule = schedule;
    options.n_critic = n_critic;
    const double rho = metrics::dirac_update_jacobian(r1(0.3), options, 0.1, 0.0, 0.0).spectral_radius;
    // Late in the run the iteration is linear: log distance falls by log rho per step, up to the bounded factor of
    // a non-orthogonal eigenbasis spread over 1000 steps.
    const double measured = (std::log(d[1999]) - std::log(d[999])) / 1000.0;
    CHECK(std::abs(measured - std::log(rho)) < 2e-3);
    CHECK(rho < 1.0);
  }
}

TEST_CASE("without regularization simultaneous gradient descent does not converge", "[train][dirac]") {
  const double start = std::sqrt(2.0);
  SECTION("minimax: the distance never drops below its start and keeps growing") {
    const auto d = train_dirac<double>(gantry::Vanilla{}, train::Schedule::simultaneous, 1, 1000);
    double smallest = start;
    for (const double x : d) smallest = std::min(smallest, x);
    CHECK(smallest >= start * (1 - 1e-12));
    CHECK(d.back() > 1.5 * start);
    CHECK(d[999] > d[499]);
    // The update's Jacobian at (0, 0) repels: |1 +- i h f'(0)| > 1.
    train::TrainerOptions options;
    options.schedule = train::Schedule::simultaneous;
    options.n_critic = 1;
    CHECK(metrics::dirac_update_jacobian(gantry::Vanilla{}, options, 0.1, 0.0, 0.0).spectral_radius > 1.0);
  }
  SECTION("non-saturating: it settles on a cycle, far from the equilibrium") {
    const auto d = train_dirac<double>(gantry::NonSaturating{}, train::Schedule::simultaneous, 1, 2000);
    double smallest = start;
    for (std::size_t k = 1000; k < d.size(); ++k) smallest = std::min(smallest, d[k]);
    CHECK(smallest > 0.2);
  }
}
