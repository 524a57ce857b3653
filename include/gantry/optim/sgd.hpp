// SPDX-License-Identifier: MIT
#pragma once
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight decay.

#include <utility>

#include <Eigen/Core>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/types.hpp"
#include "gantry/optim/optimizer.hpp"

namespace gantry::optim {

/// Defaults and meaning follow torch.optim.SGD (PyTorch 1.13), except that the learning rate,
/// required there, defaults to 1e-3 here.
struct SgdOptions {
  double learning_rate = 1e-3;
  double momentum = 0.0;
  /// Scales the new gradient's share of the momentum buffer by (1 - dampening).
  double dampening = 0.0;
  /// Sutskever et al. 2013, in PyTorch's formulation: step along g + momentum * buffer.
  bool nesterov = false;
  /// L2 penalty: weight_decay * parameters is added to the gradient (not decoupled as in AdamW).
  double weight_decay = 0.0;

  // For checkpoints (gantry/core/settings.hpp): every option must match the file's to continue a run. The learning
  // rate is not among them: schedules change it, so the checkpoint restores it through the optimizer interface.
  template <class Self, class Fields>
  static void settings(Self& self, Fields& fields) {
    fields.match("momentum", self.momentum);
    fields.match("dampening", self.dampening);
    fields.match("nesterov", self.nesterov);
    fields.match("weight_decay", self.weight_decay);
  }

  void validate() const {
    using gantry::detail::finite;
    using gantry::detail::require;
    optim::detail::check_learning_rate("SgdOptions.", learning_rate);
    require(momentum >= 0 && finite(momentum), "SgdOptions", "momentum", momentum, ">= 0 and finite");
    require(dampening >= 0 && dampening <= 1, "SgdOptions", "dampening", dampening, "in [0, 1]");
    require(weight_decay >= 0 && finite(weight_decay), "SgdOptions", "weight_decay", weight_decay,
            ">= 0 and finite");
    if (nesterov) {
      require(momentum > 0, "SgdOptions", "momentum", momentum, "> 0 when nesterov is true");
      require(dampening == 0, "SgdOptions", "dampening", dampening, "0 when nesterov is true");
    }
  }
};

/// Minimizes; per step, with g = gradient + weight_decay * p (PyTorch 1.13's update):
///   buffer = g on the first step, else momentum * buffer + (1 - dampening) * g
///   d = nesterov ? g + momentum * buffer : buffer      (d = g when momentum is 0)
///   p -= learning_rate * d
template <class ScalarType>
class Sgd {
 public:
  using Scalar = ScalarType;
  using Options = SgdOptions;
  static constexpr const char* type_name = "sgd";  ///< a checkpoint refuses a file saved by another optimizer

  /// Everything a bit-identical continuation needs.
  struct State {
    Index parameter_count = 0;  ///< 0 until the first step or reset
    Index step_count = 0;
    Vector<Scalar> momentum_buffer;  ///< parameter_count entries when momentum > 0, else empty

    /// f(name, buffer) for each buffer, for checkpoints; Self is State or const State.
    template <class Self, class F>
    static void for_each_buffer(Self& state, F&& f) {
      f("momentum_buffer", state.momentum_buffer);
    }
  };

  explicit Sgd(Options options = {}) : options_(options) { options_.validate(); }

  void reset(Index size) {
    optim::detail::check_state_size("gantry::optim::Sgd::reset", size);
    state_.parameter_count = size;
    state_.step_count = 0;
    state_.momentum_buffer.setZero(uses_momentum() ? size : 0);
  }

  void step(Eigen::Ref<Vector<Scalar>> parameters, const Eigen::Ref<const Vector<Scalar>>& gradient) {
    constexpr const char* where = "gantry::optim::Sgd::step";
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
    optim::detail::check_learning_rate("gantry::optim::Sgd::set_learning_rate: ", learning_rate);
    options_.learning_rate = learning_rate;
  }

  const Options& options() const { return options_; }
  const State& state() const { return state_; }

  void set_state(State state) {
    constexpr const char* where = "gantry::optim::Sgd::set_state";
    optim::detail::check_state_counts(where, state.parameter_count, state.step_count);
    optim::detail::check_state_buffer(where, "momentum_buffer", state.momentum_buffer,
                                      uses_momentum() ? state.parameter_count : 0);
    state_ = std::move(state);
  }

 private:
  bool uses_momentum() const { return options_.momentum != 0; }

  /// Operations per entry of a step (sizes its segments for the pool).
  static constexpr double entry_work = 4;

  // `g` is an array expression (the gradient, plus weight decay when there is some), evaluated once per
  // entry inside each assignment: no temporary vector, so no allocation. Entries [begin, begin + count).
  template <class Parameters, class Gradient>
  void update(Index begin, Index count, Parameters& parameters, const Eigen::ArrayBase<Gradient>& g) {
    const Scalar learning_rate = static_cast<Scalar>(options_.learning_rate);
    if (!uses_momentum()) {
      parameters.array() -= learning_rate * g;
      return;
    }
    const Scalar momentum = static_cast<Scalar>(options_.momentum);
    auto buffer = state_.momentum_buffer.segment(begin, count);
    if (state_.step_count == 0) {
      buffer.array() = g;
    } else {
      const Scalar new_share = static_cast<Scalar>(1.0 - options_.dampening);
      buffer.array() = momentum * buffer.array() + new_share * g;
    }
    if (options_.nesterov)
      parameters.array() -= learning_rate * (g + momentum * buffer.array());
    else
      parameters.array() -= learning_rate * buffer.array();
  }

  Options options_;
  State state_;
};

}  // namespace gantry::optim
