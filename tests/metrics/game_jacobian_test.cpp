// SPDX-License-Identifier: MIT
// The game's Jacobian: J w against central finite differences of the Evaluator's field (the code the trainer runs),
// J^T against J by the adjoint identity, the Dual path against the Scalar one, for every kind of policy.

#include <gantry/gantry.hpp>
#include <gantry/metrics/game_jacobian.hpp>

#include <string>

#include "catch.hpp"
#include "support/gradient_check.hpp"
#include "support/networks.hpp"

using gantry::Index;
using gantry::Matrix;
using gantry::Vector;
namespace loss = gantry::loss;
namespace metrics = gantry::metrics;
namespace nn = gantry::nn;
namespace train = gantry::train;

namespace {

struct Game {
  nn::Mlp<double> generator, critic;
  train::Batch<double> batch;
};

/// G: 2 -> 5 -> 4 -> 2, D: 2 -> 6 -> 3 -> 1, batch 5; parameters N(0, 0.6^2). `noise` adds instance noise.
/// `layer_norm` normalizes every hidden layer of both networks.
Game make_game(nn::Activation activation, std::uint64_t seed, bool noise = false, bool layer_norm = false) {
  gantry::Rng rng(seed);
  nn::LayerNormOptions normalization;
  normalization.every_hidden_layer = layer_norm;
  Game game{nn::Mlp<double>({2, 5, 4, 2}, nn::MlpOptions{activation, true, normalization}),
            nn::Mlp<double>({2, 6, 3, 1}, nn::MlpOptions{activation, true, normalization}),
            {}};
  rng.fill_normal(game.generator.parameters(), 0.0, 0.6);
  rng.fill_normal(game.critic.parameters(), 0.0, 0.6);
  const Index b = 5;
  game.batch.real = gantry::test::random_matrix<double>(2, b, rng);
  game.batch.z = gantry::test::random_matrix<double>(2, b, rng);
  game.batch.eps.resize(b);
  rng.fill_uniform(game.batch.eps);
  if (noise) game.batch.fake_noise = 0.1 * gantry::test::random_matrix<double>(2, b, rng);
  return game;
}

/// v = -(critic gradient, generator gradient) of the Evaluator at the joint parameters x.
template <class Policy>
Vector<double> field_at(const Policy& policy, Game game, const Vector<double>& x) {
  const Index nd = game.critic.parameter_count(), ng = game.generator.parameter_count();
  game.critic.parameters() = x.head(nd);
  game.generator.parameters() = x.tail(ng);
  train::Evaluator<Policy, double> evaluator;
  Vector<double> critic_gradient, generator_gradient;
  evaluator.both_gradients(policy, game.generator, game.critic, game.batch, critic_gradient, generator_gradient);
  Vector<double> v(nd + ng);
  v << -critic_gradient, -generator_gradient;
  return v;
}

Vector<double> joint_parameters(const Game& game) {
  Vector<double> x(game.critic.parameter_count() + game.generator.parameter_count());
  x << game.critic.parameters(), game.generator.parameters();
  return x;
}

/// Worst of |J w - FD| / max(1, |FD|_inf) over a few random directions, and of the adjoint identity's gap
/// |<u, J w> - <J^T u, w>| / (|u| |J w| + |J^T u| |w|).
template <class Policy>
std::pair<double, double> check_policy(const Policy& policy, const Game& game,
                                       metrics::GameJacobianOptions options = {}) {
  metrics::GameJacobian<Policy, double> jacobian(policy, game.generator, game.critic, game.batch, options);
  const Vector<double> x = joint_parameters(game);
  REQUIRE((jacobian.field() - field_at(policy, game, x)).cwiseAbs().maxCoeff() == 0.0);
  gantry::Rng rng(99);
  double worst_fd = 0, worst_adjoint = 0;
  for (int trial = 0; trial < 3; ++trial) {
    const Vector<double> w = gantry::test::random_vector<double>(jacobian.size(), rng);
    const Vector<double> u = gantry::test::random_vector<double>(jacobian.size(), rng);
    Vector<double> jw(jacobian.size()), jtu(jacobian.size());
    jacobian.apply(w, jw);
    jacobian.apply_transpose(u, jtu);
    const Vector<double> fd = gantry::test::numeric_directional(
        [&](const Vector<double>& p) { return field_at(policy, game, p); }, x, w, 1e-4);
    worst_fd = std::max(worst_fd, (jw - fd).cwiseAbs().maxCoeff() / std::max(1.0, fd.cwiseAbs().maxCoeff()));
    const double gap = std::abs(u.dot(jw) - jtu.dot(w)) / (u.norm() * jw.norm() + jtu.norm() * w.norm());
    worst_adjoint = std::max(worst_adjoint, gap);
  }
  return {worst_fd, worst_adjoint};
}

template <class Policy>
void check_policy_both_activations(const Policy& policy, const std::string& name, bool noise = false) {
  for (const nn::Activation activation : {nn::Activation::tanh(), nn::Activation::leaky_relu(0.2),
                                          nn::Activation::softplus()}) {
    const Game game = make_game(activation, 7, noise);
    const auto [fd, adjoint] = check_policy(policy, game);
    INFO(name << " with " << activation.name() << ": J w vs finite differences " << fd << ", adjoint identity "
              << adjoint);
    CHECK(fd < 1e-7);
    CHECK(adjoint < 1e-12);
  }
}

}  // namespace

TEST_CASE("J w matches finite differences of the field and J^T satisfies the adjoint identity: objectives",
          "[metrics][game_jacobian]") {
  check_policy_both_activations(gantry::Policy<loss::NonSaturating>{}, "non-saturating");
  check_policy_both_activations(gantry::Policy<loss::Minimax>{}, "minimax");
  check_policy_both_activations(gantry::Policy<loss::Wasserstein>{}, "wasserstein");
  check_policy_both_activations(gantry::Policy<loss::NonSaturating, loss::InstanceNoise>{}, "instance noise", true);
}

TEST_CASE("J w and J^T u are exact with penalties at real, fake, both and interpolated points",
          "[metrics][game_jacobian]") {
  using R = gantry::Policy<loss::NonSaturating, loss::ZeroCenteredPenalty>;
  check_policy_both_activations(R(loss::NonSaturating{}, loss::ZeroCenteredPenalty{3.0, loss::PenaltyPoints::real}),
                                "R1");
  check_policy_both_activations(R(loss::NonSaturating{}, loss::ZeroCenteredPenalty{3.0, loss::PenaltyPoints::fake}),
                                "R2");
  check_policy_both_activations(
      R(loss::NonSaturating{}, loss::ZeroCenteredPenalty{2.0, loss::PenaltyPoints::real_and_fake}), "R1 + R2");
  check_policy_both_activations(gantry::WganGp{}, "WGAN-GP");
  check_policy_both_activations(
      gantry::Policy<loss::Wasserstein, loss::GradientPenalty>(loss::Wasserstein{},
                                                               loss::GradientPenalty{5.0, true}),
      "one-sided WGAN-GP");
}

TEST_CASE("consensus: the exact Jacobian of its field, with and without a penalty", "[metrics][game_jacobian]") {
  check_policy_both_activations(gantry::Policy<loss::NonSaturating, loss::Consensus>(loss::NonSaturating{},
                                                                                      loss::Consensus{2.0}),
                                "consensus");
  check_policy_both_activations(
      gantry::Policy<loss::Minimax, loss::ZeroCenteredPenalty, loss::Consensus>(
          loss::Minimax{}, loss::ZeroCenteredPenalty{1.0, loss::PenaltyPoints::fake}, loss::Consensus{0.5}),
      "consensus + R2");
}

TEST_CASE("layer-normalized networks: the products stay exact", "[metrics][game_jacobian]") {
  using R = gantry::Policy<loss::NonSaturating, loss::ZeroCenteredPenalty>;
  for (const nn::Activation activation : {nn::Activation::tanh(), nn::Activation::leaky_relu(0.2)}) {
    const Game game = make_game(activation, 13, false, true);
    for (const auto& [fd, adjoint] :
         {check_policy(gantry::NonSaturating{}, game),
          check_policy(R(loss::NonSaturating{}, loss::ZeroCenteredPenalty{2.0, loss::PenaltyPoints::fake}), game),
          check_policy(gantry::Consensus(loss::NonSaturating{}, loss::Consensus{1.0}), game)}) {
      INFO(activation.name() << ", layer norm: J w vs finite differences " << fd << ", adjoint identity " << adjoint);
      CHECK(fd < 1e-7);
      CHECK(adjoint < 1e-12);
    }
  }
}

TEST_CASE("consensus, paper form: J - gamma J^T J of the objective's J", "[metrics][game_jacobian]") {
  const Game game = make_game(nn::Activation::tanh(), 3);
  const double gamma = 1.5;
  using C = gantry::Policy<loss::NonSaturating, loss::Consensus>;
  metrics::GameJacobianOptions paper;
  paper.consensus = metrics::ConsensusJacobian::paper;
  metrics::GameJacobian<C, double> consensus(C(loss::NonSaturating{}, loss::Consensus{gamma}), game.generator,
                                             game.critic, game.batch, paper);
  metrics::GameJacobian<gantry::NonSaturating, double> plain(gantry::NonSaturating{}, game.generator, game.critic,
                                                             game.batch);
  const Matrix<double> j = plain.matrix();
  const Matrix<double> expected = j - gamma * j.transpose() * j;
  const Matrix<double> got = consensus.matrix();
  INFO("worst entry gap " << (got - expected).cwiseAbs().maxCoeff());
  CHECK((got - expected).cwiseAbs().maxCoeff() < 1e-12 * std::max(1.0, expected.cwiseAbs().maxCoeff()));
  // Away from a stationary point the exact form differs from it by gamma sum_k v_k Hess v_k.
  metrics::GameJacobian<C, double> exact(C(loss::NonSaturating{}, loss::Consensus{gamma}), game.generator,
                                         game.critic, game.batch);
  CHECK((exact.matrix() - expected).cwiseAbs().maxCoeff() > 1e-6);
}

TEST_CASE("the Dual path computes the objective's products as the Scalar one does", "[metrics][game_jacobian]") {
  // Consensus with gamma = 0 runs the Dual tangent of J_g^T g and adds 0 times it; R1 with gamma = 0 likewise: the
  // products then equal the plain objective's exactly, which checks that Dual arithmetic changes no value.
  const Game game = make_game(nn::Activation::softplus(), 11);
  using R = gantry::Policy<loss::NonSaturating, loss::ZeroCenteredPenalty>;
  metrics::GameJacobian<gantry::NonSaturating, double> plain(gantry::NonSaturating{}, game.generator, game.critic,
                                                             game.batch);
  metrics::GameJacobian<R, double> zero(R(loss::NonSaturating{}, loss::ZeroCenteredPenalty{0.0}), game.generator,
                                        game.critic, game.batch);
  CHECK((plain.matrix() - zero.matrix()).cwiseAbs().maxCoeff() == 0.0);
  // ... and that the penalty's block is not 0, so the finite-difference checks above test it.
  metrics::GameJacobian<R, double> r1(R(loss::NonSaturating{}, loss::ZeroCenteredPenalty{3.0}), game.generator,
                                      game.critic, game.batch);
  CHECK((plain.matrix() - r1.matrix()).cwiseAbs().maxCoeff() > 1e-2);
}

TEST_CASE("float products agree with double", "[metrics][game_jacobian]") {
  const Game game = make_game(nn::Activation::tanh(), 5);
  using R = gantry::Policy<loss::NonSaturating, loss::ZeroCenteredPenalty>;
  const R policy(loss::NonSaturating{}, loss::ZeroCenteredPenalty{2.0, loss::PenaltyPoints::real});
  train::Batch<float> batch{game.batch.real.cast<float>(), game.batch.z.cast<float>(), game.batch.eps.cast<float>(),
                            {}};
  nn::Mlp<float> generator(game.generator.sizes(), game.generator.options());
  nn::Mlp<float> critic(game.critic.sizes(), game.critic.options());
  generator.parameters() = game.generator.parameters().cast<float>();
  critic.parameters() = game.critic.parameters().cast<float>();
  metrics::GameJacobian<R, float> single(policy, generator, critic, batch);
  metrics::GameJacobian<R, double> twice(policy, game.generator, game.critic, game.batch);
  const Matrix<double> j = twice.matrix();
  CHECK((single.matrix().cast<double>() - j).cwiseAbs().maxCoeff() < 1e-4 * std::max(1.0, j.cwiseAbs().maxCoeff()));
}

TEST_CASE("bad input names what is wrong", "[metrics][game_jacobian]") {
  const Game game = make_game(nn::Activation::tanh(), 5);
  metrics::GameJacobian<gantry::NonSaturating, double> jacobian(gantry::NonSaturating{}, game.generator, game.critic,
                                                                game.batch);
  Vector<double> short_w(jacobian.size() - 1), out(jacobian.size());
  REQUIRE_THROWS_WITH(jacobian.apply(short_w, out), gantry::test::contains("w"));
  REQUIRE_THROWS_AS(jacobian.apply(short_w, out), gantry::ShapeError);
  Vector<double> w(jacobian.size()), short_out(3);
  REQUIRE_THROWS_AS(jacobian.apply_transpose(w, short_out), gantry::ShapeError);
  train::Batch<double> bad = game.batch;
  bad.z.resize(3, 5);
  REQUIRE_THROWS_AS((metrics::GameJacobian<gantry::NonSaturating, double>(gantry::NonSaturating{}, game.generator,
                                                                           game.critic, bad)),
                    gantry::ShapeError);
  metrics::GameJacobianOptions options;
  options.consensus = static_cast<metrics::ConsensusJacobian>(7);
  REQUIRE_THROWS_WITH(options.validate(), gantry::test::contains("consensus"));
}
