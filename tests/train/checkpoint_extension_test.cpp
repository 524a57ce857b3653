// SPDX-License-Identifier: MIT
// A regularizer and an optimizer written here, not in the library, go through a checkpoint exactly as the
// library's do: each describes its type and settings where it is defined (gantry/core/settings.hpp), the file records
// them, a resumed run continues bit for bit, and a file saved with other values of a matched option is refused with
// a message naming the option. A regularizer without data members needs nothing for it.

#include <gantry/gantry.hpp>
#include <gantry/train/checkpoint.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "catch.hpp"
#include "support/messages.hpp"
#include "support/namespaces.hpp"

using gantry::Index;
using gantry::Matrix;
using gantry::Rng;
using gantry::Vector;
using gantry::test::contains;
using gantry::test::message_of;

namespace {

/// phi(g) = weight |g|^power per sample at real data, averaged over the batch. `weight` is a setting the run may
/// change and continue with (restored from the file); `power` makes another penalty (matched against the file).
struct PowerPenalty {
  double weight = 1.0;
  int power = 2;

  static constexpr const char* type_name = "power_penalty";
  template <class Self, class Fields>
  static void settings(Self& self, Fields& fields) {
    fields.restore("weight", self.weight);
    fields.match("power", self.power);
  }

  void validate() const {
    gantry::detail::require(gantry::detail::finite(weight) && weight >= 0, "PowerPenalty", "weight", weight,
                            "finite and >= 0");
    gantry::detail::require(power >= 2, "PowerPenalty", "power", power, ">= 2");
  }
  std::string name() const { return "power_penalty"; }
  gantry::loss::PenaltyPoints points() const { return gantry::loss::PenaltyPoints::real; }
  template <class S>
  S penalty(const Eigen::Ref<const Matrix<S>>& g, Eigen::Ref<Matrix<S>> seed) const {
    const S scale = static_cast<S>(weight) / static_cast<S>(g.cols());
    S value = 0;
    for (Index i = 0; i < g.cols(); ++i) {
      const S norm = g.col(i).norm();
      value += scale * std::pow(norm, power);
      // d|g|^p / dg = p |g|^(p - 2) g, finite at g = 0 for p >= 2.
      seed.col(i) = (scale * static_cast<S>(power) * std::pow(norm, power - 2)) * g.col(i);
    }
    return value;
  }
};

/// A projection without data members: nothing to describe, its name() keys it in the file.
struct KeepBounded {
  std::string name() const { return "keep_bounded"; }
  template <class S>
  void project_critic(nn::Mlp<S>& critic) const {
    critic.parameters() = critic.parameters().cwiseMax(S(-100)).cwiseMin(S(100));
  }
};

struct ClippedMomentumOptions {
  double learning_rate = 1e-2;
  double momentum = 0.5;
  double max_step = 0.05;  ///< no entry moves further than this in one step

  template <class Self, class Fields>
  static void settings(Self& self, Fields& fields) {
    fields.match("momentum", self.momentum);
    fields.match("max_step", self.max_step);
  }
  void validate() const {
    gantry::detail::require(learning_rate > 0, "ClippedMomentumOptions", "learning_rate", learning_rate, "> 0");
    gantry::detail::require(momentum >= 0 && momentum < 1, "ClippedMomentumOptions", "momentum", momentum, "in [0, 1)");
    gantry::detail::require(max_step > 0, "ClippedMomentumOptions", "max_step", max_step, "> 0");
  }
};

/// velocity = momentum velocity + g;  p -= clamp(learning_rate velocity, -max_step, max_step).
template <class ScalarType>
class ClippedMomentum {
 public:
  using Scalar = ScalarType;
  using Options = ClippedMomentumOptions;
  static constexpr const char* type_name = "clipped_momentum";

  struct State {
    Index parameter_count = 0;
    Index step_count = 0;
    Vector<Scalar> velocity;
    template <class Self, class F>
    static void for_each_buffer(Self& state, F&& f) {
      f("velocity", state.velocity);
    }
  };

  explicit ClippedMomentum(Options options = {}) : options_(options) { options_.validate(); }

  void reset(Index size) {
    state_.parameter_count = size;
    state_.step_count = 0;
    state_.velocity.setZero(size);
  }
  void step(Eigen::Ref<Vector<Scalar>> parameters, const Eigen::Ref<const Vector<Scalar>>& gradient) {
    if (state_.parameter_count == 0) reset(parameters.size());
    const Scalar momentum = static_cast<Scalar>(options_.momentum);
    const Scalar rate = static_cast<Scalar>(options_.learning_rate);
    const Scalar max_step = static_cast<Scalar>(options_.max_step);
    state_.velocity = momentum * state_.velocity + gradient;
    parameters.array() -= (rate * state_.velocity.array()).max(-max_step).min(max_step);
    ++state_.step_count;
  }
  double learning_rate() const { return options_.learning_rate; }
  void set_learning_rate(double learning_rate) { options_.learning_rate = learning_rate; }
  const Options& options() const { return options_; }
  const State& state() const { return state_; }
  void set_state(State state) {
    if (state.velocity.size() != state.parameter_count)
      throw gantry::ShapeError(gantry::detail::message("ClippedMomentum::set_state: velocity expects ",
                                                       state.parameter_count, " entries, given ", state.velocity.size()));
    state_ = std::move(state);
  }

 private:
  Options options_;
  State state_;
};

using Policy = gantry::Policy<loss::Wasserstein, PowerPenalty, KeepBounded>;

template <class CriticOptimizer>
auto make_trainer(PowerPenalty penalty, CriticOptimizer critic_optimizer, std::uint64_t init_seed) {
  Rng rng(init_seed);
  nn::Mlp<double> generator({2, 6, 2}, nn::Activation::tanh());
  nn::Mlp<double> critic({2, 6, 1}, nn::Activation::tanh());
  generator.initialize(nn::InitScheme::torch_default, rng);
  critic.initialize(nn::InitScheme::torch_default, rng);
  train::TrainerOptions options;
  options.batch_size = 8;
  options.n_critic = 2;
  options.seed = init_seed;
  return train::make_trainer(Policy{loss::Wasserstein{}, penalty, KeepBounded{}}, generator, critic,
                             data::EightGaussians<double>(), data::GaussianNoise<double>(2),
                             std::move(critic_optimizer), ClippedMomentum<double>(), options);
}

std::string metadata(const std::string& bytes, const std::string& key) {
  return io::SafetensorsFile::parse(bytes, "checkpoint").metadata().at(key);
}

/// `bytes` with `from` replaced by `to` of the same length (so the safetensors header length stays right).
std::string replaced(std::string bytes, const std::string& from, const std::string& to) {
  REQUIRE(from.size() == to.size());
  const std::size_t at = bytes.find(from);
  REQUIRE(at != std::string::npos);
  return bytes.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("a regularizer of one's own, with two options, round-trips through a checkpoint",
          "[train][checkpoint][extension]") {
  auto saved = make_trainer(PowerPenalty{0.25, 4}, ClippedMomentum<double>(), 1);
  saved.fit(2);
  const std::string bytes = train::checkpoint_bytes(saved);
  CHECK(metadata(bytes, "policy_settings") ==
        R"({"objective":"wasserstein","regularizers":[{"type":"power_penalty","name":"power_penalty","weight":0.25,)"
        R"("power":4},{"type":"keep_bounded","name":"keep_bounded"}]})");

  // Another weight is restored from the file (as a built-in penalty's lambda is), and the run continues bit for bit.
  auto resumed = make_trainer(PowerPenalty{1.0, 4}, ClippedMomentum<double>(), 2);
  train::load_checkpoint_bytes(bytes, "memory", resumed);
  CHECK(resumed.policy().regularizer<PowerPenalty>().weight == 0.25);
  CHECK(resumed.policy().regularizer<PowerPenalty>().power == 4);
  saved.fit(2);
  resumed.fit(2);
  CHECK(resumed.critic().parameters() == saved.critic().parameters());
  CHECK(resumed.generator().parameters() == saved.generator().parameters());
}

TEST_CASE("a file saved with another value of a regularizer's option is refused, naming the option",
          "[train][checkpoint][extension]") {
  auto saved = make_trainer(PowerPenalty{0.25, 4}, ClippedMomentum<double>(), 1);
  saved.fit(1);
  const std::string bytes = train::checkpoint_bytes(saved);
  auto receiving = make_trainer(PowerPenalty{0.25, 3}, ClippedMomentum<double>(), 2);
  const Vector<double> before = receiving.critic().parameters();
  const auto refused = [&](const std::string& file) {
    return message_of<gantry::IoError>([&] { train::load_checkpoint_bytes(file, "edited", receiving); });
  };

  CHECK_THAT(refused(bytes), contains("gantry::train::load_checkpoint: 'edited': the power_penalty regularizer was "
                                      "saved with power = 4, the receiving regularizer has 3"));
  // Restored options are validated on the way in; a missing option is named too.
  receiving.policy().regularizer<PowerPenalty>().power = 4;
  CHECK_THAT(refused(replaced(bytes, R"(\"weight\":0.25)", R"(\"weight\":-125)")),
             contains("the saved policy settings are invalid: PowerPenalty.weight must be finite and >= 0, given -125"));
  CHECK_THAT(refused(replaced(bytes, R"(\"power\":4)", R"(\"pow_r\":4)")),
             contains("metadata 'policy_settings' regularizer 0 has no field 'power'"));
  CHECK(receiving.critic().parameters() == before);
  CHECK(receiving.policy().regularizer<PowerPenalty>().weight == 0.25);
  CHECK(receiving.iteration() == 0);
}

TEST_CASE("an optimizer of one's own, with two options, round-trips through a checkpoint, and a file saved with "
          "another value of an option is refused, naming it",
          "[train][checkpoint][extension]") {
  ClippedMomentumOptions options;
  options.learning_rate = 0.02;
  options.momentum = 0.25;
  options.max_step = 0.01;
  auto saved = make_trainer(PowerPenalty{0.5, 2}, ClippedMomentum<double>(options), 1);
  saved.fit(2);
  saved.critic_optimizer().set_learning_rate(0.01);  // as a schedule would: restored, not matched
  const std::string bytes = train::checkpoint_bytes(saved);
  CHECK(metadata(bytes, "critic_optimizer") ==
        R"({"type":"clipped_momentum","learning_rate":0.01,"momentum":0.25,"max_step":0.01})");

  auto resumed = make_trainer(PowerPenalty{0.5, 2}, ClippedMomentum<double>(options), 2);
  train::load_checkpoint_bytes(bytes, "memory", resumed);
  CHECK(resumed.critic_optimizer().learning_rate() == 0.01);
  CHECK(resumed.critic_optimizer().state().step_count == saved.critic_optimizer().state().step_count);
  CHECK(resumed.critic_optimizer().state().velocity == saved.critic_optimizer().state().velocity);
  saved.fit(2);
  resumed.fit(2);
  CHECK(resumed.critic().parameters() == saved.critic().parameters());
  CHECK(resumed.generator().parameters() == saved.generator().parameters());

  ClippedMomentumOptions other = options;
  other.max_step = 0.5;
  auto receiving = make_trainer(PowerPenalty{0.5, 2}, ClippedMomentum<double>(other), 2);
  const Vector<double> before = receiving.critic().parameters();
  CHECK_THAT(message_of<gantry::IoError>([&] { train::load_checkpoint_bytes(bytes, "memory", receiving); }),
             contains("the critic_optimizer was saved with max_step = 0.01, the receiving optimizer has 0.5"));
  CHECK(receiving.critic().parameters() == before);
  CHECK(receiving.critic_optimizer().state().step_count == 0);

  auto sgd = make_trainer(PowerPenalty{0.5, 2}, optim::Sgd<double>(), 2);
  CHECK_THAT(message_of<gantry::IoError>([&] { train::load_checkpoint_bytes(bytes, "memory", sgd); }),
             contains("the critic_optimizer was saved as 'clipped_momentum', the receiving optimizer is 'sgd'"));
}
