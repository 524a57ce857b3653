// SPDX-License-Identifier: MIT
// Objectives: values against the textbook formulas, derivatives against finite differences, stability at
// extreme logits, and the interface checks of objectives and regularizers.

#include <gantry/policy.hpp>

#include "catch.hpp"
#include "support/gradient_check.hpp"

using gantry::Vector;
namespace loss = gantry::loss;

namespace {
double sigmoid(double a) { return 1.0 / (1.0 + std::exp(-a)); }

/// Value against `formula` at moderate logits; first and second derivatives against finite differences.
template <class TermOf, class Formula>
void check(const std::string& label, TermOf term_of, Formula formula) {
  for (double a : {-3.0, -0.7, 0.0, 0.4, 2.5}) {
    const loss::Term<double> t = term_of(a);
    INFO(label << " at " << a);
    CHECK(std::abs(t.value - formula(a)) < 1e-12);
    const double h = 1e-4;
    const double d1 = (term_of(a - 2 * h).value - 8 * term_of(a - h).value + 8 * term_of(a + h).value - term_of(a + 2 * h).value) / (12 * h);
    const double d2 = (term_of(a - 2 * h).first - 8 * term_of(a - h).first + 8 * term_of(a + h).first - term_of(a + 2 * h).first) / (12 * h);
    CHECK(std::abs(t.first - d1) < 1e-9);
    CHECK(std::abs(t.second - d2) < 1e-9);
  }
  for (double a : {-800.0, 800.0}) {
    const loss::Term<double> t = term_of(a);
    INFO(label << " at " << a);
    CHECK(std::isfinite(t.value));
    CHECK(std::isfinite(t.first));
    CHECK(std::isfinite(t.second));
  }
}
}  // namespace

TEST_CASE("minimax, non-saturating and Wasserstein terms match their formulas", "[loss][objective]") {
  const loss::Minimax minimax;
  const loss::NonSaturating ns;
  const loss::Wasserstein w;
  check("minimax critic real", [&](double a) { return minimax.critic_real(a); }, [](double a) { return -std::log(sigmoid(a)); });
  check("minimax critic fake", [&](double a) { return minimax.critic_fake(a); }, [](double a) { return -std::log(1 - sigmoid(a)); });
  check("minimax generator", [&](double a) { return minimax.generator_fake(a); }, [](double a) { return std::log(1 - sigmoid(a)); });
  check("non-saturating generator", [&](double a) { return ns.generator_fake(a); }, [](double a) { return -std::log(sigmoid(a)); });
  check("non-saturating critic real", [&](double a) { return ns.critic_real(a); }, [](double a) { return -std::log(sigmoid(a)); });
  check("wasserstein critic real", [&](double a) { return w.critic_real(a); }, [](double a) { return -a; });
  check("wasserstein critic fake", [&](double a) { return w.critic_fake(a); }, [](double a) { return a; });
  check("wasserstein generator", [&](double a) { return w.generator_fake(a); }, [](double a) { return -a; });
  // log(sigmoid(-800)) computed naively is -inf; the stable form is exact.
  CHECK(ns.generator_fake(-800.0).value == 800.0);
  CHECK(minimax.critic_fake(800.0).value == 800.0);
  CHECK(loss::Wasserstein::estimates_wasserstein);
  CHECK_FALSE(loss::Minimax::estimates_wasserstein);
}

TEST_CASE("policies compose any objective with any regularizers and validate their options", "[loss][policy]") {
  using Mixed = gantry::Policy<loss::Wasserstein, loss::ZeroCenteredPenalty, loss::Consensus, loss::InstanceNoise>;
  STATIC_REQUIRE(Mixed::has_penalty);
  STATIC_REQUIRE(Mixed::has_consensus);
  STATIC_REQUIRE(Mixed::has_noise);
  STATIC_REQUIRE_FALSE(Mixed::has_projection);
  STATIC_REQUIRE(gantry::WganClip::has_projection);
  const Mixed mixed;
  CHECK(mixed.name() == "wasserstein+r1+consensus+instance_noise");
  CHECK(gantry::WganGp{}.regularizer<loss::GradientPenalty>().lambda == 10.0);
  CHECK(gantry::ZeroCenteredGp{}.regularizer<loss::ZeroCenteredPenalty>().at == loss::PenaltyPoints::real);
  REQUIRE_THROWS_WITH((gantry::WganClip{loss::Wasserstein{}, loss::WeightClipping{0.0}}.validate()),
                      gantry::test::contains("WeightClipping.clip must be finite and > 0, given 0"));
  REQUIRE_THROWS_WITH((gantry::Policy<loss::NonSaturating, loss::InstanceNoise>{{}, loss::InstanceNoise{-0.1}}.validate()),
                      gantry::test::contains("InstanceNoise.sigma must be finite and >= 0, given -0.1"));
  REQUIRE_THROWS_WITH((gantry::Consensus{loss::NonSaturating{}, loss::Consensus{-1.0}}.validate()),
                      gantry::test::contains("Consensus.gamma must be finite and >= 0, given -1"));
}

namespace {
/// A user-written regularizer: a penalty on |g|^4 at fake samples, defined outside gantry.
struct QuarticPenalty {
  std::string name() const { return "quartic"; }
  loss::PenaltyPoints points() const { return loss::PenaltyPoints::fake; }
  template <class S>
  S penalty(const Eigen::Ref<const gantry::Matrix<S>>& g, Eigen::Ref<gantry::Matrix<S>> seed) const {
    S total = 0;
    for (gantry::Index i = 0; i < g.cols(); ++i) {
      const S n2 = g.col(i).squaredNorm();
      total += n2 * n2;
      seed.col(i) = S(4) * n2 * g.col(i) / S(g.cols());
    }
    return total / S(g.cols());
  }
};
}  // namespace

TEST_CASE("a regularizer written outside gantry plugs into a policy", "[loss][policy]") {
  using Custom = gantry::Policy<loss::NonSaturating, QuarticPenalty>;
  STATIC_REQUIRE(Custom::has_penalty);
  CHECK(Custom{}.name() == "non_saturating+quartic");
}
