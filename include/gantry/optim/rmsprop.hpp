// SPDX-License-Identifier: MIT
#pragma once
/// RMSprop (Tieleman & Hinton 2012): gradient steps divided by a running root mean square of the gradient.

#include <utility>

#include <Eigen/Core>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/types.hpp"
#include "gantry/optim/optimizer.hpp"

namespace gantry::optim {

/// Defaults and meaning follow torch.optim.RMSprop (PyTorch 1.13).
struct RmspropOptions {
  double learning_rate = 1e-2;
  /// Decay of the running average of squared gradients.
  double alpha = 0.99;
  /// Added to the root mean square, outside the square root (as PyTorch does).
  double epsilon = 1e-8;
  /// L2 penalty: weight_decay * parameters is added to the gradient.
  double weight_decay = 0.0;
  double momentum = 0.0;
  /// Graves 2013, eq. 38-40: normalize by an estimate of the variance instead of the raw second moment.
  bool centered = false;

  // For checkpoints (gantry/core/settings.hpp): every option must match the file's to continue a run. The learning
  // rate is not among them: schedules change it, so the checkpoint restores it through the optimizer interface.
  template <class Self, class Fields>
  static void settings(Self& self, Fields& fields) {
    fields.match("alpha", self.alpha);
    fields.match("epsilon", self.epsilon);
    fields.match("weight_decay", self.weight_decay);
    fields.match("momentum", self.momentum);
    fields.match("centered", self.centered);
  }

  void validate() const {
    using gantry::detail::finite;
    using gantry::detail::require;
    optim::detail::check_learning_rate("RmspropOptions.", learning_rate);
    require(alpha >= 0 && alpha < 1, "RmspropOptions", "alpha", alpha, "in [0, 1)");
    require(epsilon > 0 && finite(epsilon), "RmspropOptions", "epsilon", epsilon, "> 0 and finite");
    require(weight_decay >= 0 && finite(weight_decay), "RmspropOptions", "weight_decay", weight_decay,
            ">= 0 and finite");
    require(momentum >= 0 && finite(momentum), "RmspropOptions", "momentum", momentum, ">= 0 and finite");
  }
};

/// Minimizes; per step, with g = gradient + weight_decay * p (PyTorch 1.13's update):
///   v = alpha v + (1 - alpha) g^2
///   centered: m = alpha m + (1 - alpha) g,  a = sqrt(v - m^2) + epsilon;  else a = sqrt(v) + epsilon
///   momentum > 0: b = momentum b + g / a,  p -= learning_rate b;  else p -= learning_rate g / a
template <class ScalarType>
class Rmsprop {
 public:
  using Scalar = ScalarType;
  using Options = RmspropOptions;
  static constexpr const char* type_name = "rmsprop";  ///< a checkpoint refuses a file saved by another optimizer

  /// Everything a bit-identical continuation needs.
  struct State {
    Index parameter_count = 0;  ///< 0 until the first step or reset
    Index step_count = 0;
    Vector<Scalar> square_average;    ///< running mean of g^2 (v); parameter_count entries
    Vector<Scalar> gradient_average;  ///< running mean of g (m); parameter_count entries when centered, else empty
    Vector<Scalar> momentum_buffer;   ///< b; parameter_count entries when momentum > 0, else empty

    /// f(name, buffer) for each buffer, for checkpoints; Self is State or const State.
    template <class Self, class F>
    static void for_each_buffer(Self& state, F&& f) {
      f("square_average", state.square_average);
      f("gradient_average", state.gradient_average);
      f("momentum_buffer", state.momentum_buffer);
    }
  };

  explicit Rmsprop(Options options = {}) : options_(options) { options_.validate(); }

  void reset(Index size) {
    optim::detail::check_state_size("gantry::optim::Rmsprop::reset", size);
    state_.parameter_count = size;
    state_.step_count = 0;
    state_.square_average.setZero(size);
    state_.gradient_average.setZero(options_.centered ? size : 0);
    state_.momentum_buffer.setZero(uses_momentum() ? size : 0);
  }

  void step(Eigen::Ref<Vector<Scalar>> parameters, const Eigen::Ref<const Vector<Scalar>>& gradient) {
    constexpr const char* where = "gantry::optim::Rmsprop::step";
    optim::detail::check_step_sizes(where, state_.parameter_count, parameters.size(), gradient.size());
    optim::detail::check_gradient_finite<Scalar>(where, gradient);
    optim::detail::check_step_count_room(where, state_.step_count);
    if (state_.parameter_count == 0) reset(parameters.size());

    optim::detail::update_by_segments<Scalar>(parameters, gradient, options_.weight_decay, entry_work,
                                              [&](Index begin, Index count, auto& p, const auto& g) {
                                                update(begin, count, p, g);
                                              });
    ++state_.step_count;
  }

  double learning_rate() const { return options_.learning_rate; }
  void set_learning_rate(double learning_rate) {
    optim::detail::check_learning_rate("gantry::optim::Rmsprop::set_learning_rate: ", learning_rate);
    options_.learning_rate = learning_rate;
  }

  const Options& options() const { return options_; }
  const State& state() const { return state_; }

  void set_state(State state) {
    constexpr const char* where = "gantry::optim::Rmsprop::set_state";
    const Index n = state.parameter_count;
    optim::detail::check_state_counts(where, n, state.step_count);
    optim::detail::check_state_buffer(where, "square_average", state.square_average, n, /*nonnegative=*/true);
    optim::detail::check_state_buffer(where, "gradient_average", state.gradient_average,
                                      options_.centered ? n : 0);
    optim::detail::check_state_buffer(where, "momentum_buffer", state.momentum_buffer, uses_momentum() ? n : 0);
    state_ = std::move(state);
  }

 private:
  bool uses_momentum() const { return options_.momentum > 0; }

  /// Operations per entry of a step (sizes its segments for the pool).
  static constexpr double entry_work = 10;

  // `g` is an array expression evaluated entry by entry inside each assignment; the denominator is
  // recomputed inside the final assignment rather than stored, so no temporary vector is allocated.
  // Entries [begin, begin + count).
  template <class Parameters, class Gradient>
  void update(Index begin, Index count, Parameters& parameters, const Eigen::ArrayBase<Gradient>& g) {
    const Scalar alpha = static_cast<Scalar>(options_.alpha);
    const Scalar one_minus_alpha = static_cast<Scalar>(1.0 - options_.alpha);
    auto square_average = state_.square_average.segment(begin, count);
    square_average.array() = alpha * square_average.array() + one_minus_alpha * g * g;

    if (options_.centered) {
      auto gradient_average = state_.gradient_average.segment(begin, count);
      gradient_average.array() = alpha * gradient_average.array() + one_minus_alpha * g;
      // v >= m^2 in exact arithmetic (Cauchy-Schwarz on the same weights); the clamp only removes a
      // rounding-level negative that would otherwise turn into a NaN.
      finish(begin, count, parameters, g,
             (square_average.array() - gradient_average.array().square()).max(Scalar(0)).sqrt() + epsilon());
    } else {
      finish(begin, count, parameters, g, square_average.array().sqrt() + epsilon());
    }
  }

  template <class Parameters, class Gradient, class Denominator>
  void finish(Index begin, Index count, Parameters& parameters, const Eigen::ArrayBase<Gradient>& g,
              const Eigen::ArrayBase<Denominator>& root_mean_square) {
    const Scalar learning_rate = static_cast<Scalar>(options_.learning_rate);
    if (uses_momentum()) {
      const Scalar momentum = static_cast<Scalar>(options_.momentum);
      auto buffer = state_.momentum_buffer.segment(begin, count);
      buffer.array() = momentum * buffer.array() + g / root_mean_square;
      parameters.array() -= learning_rate * buffer.array();
    } else {
      parameters.array() -= learning_rate * g / root_mean_square;
    }
  }

  Scalar epsilon() const { return static_cast<Scalar>(options_.epsilon); }

  Options options_;
  State state_;
};

}  // namespace gantry::optim
