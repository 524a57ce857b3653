// SPDX-License-Identifier: MIT
#pragma once
/// Adam (Kingma & Ba 2015), with PyTorch's L2 weight decay and the AMSGrad variant (Reddi et al. 2018).

#include <cmath>
#include <utility>

#include <Eigen/Core>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/types.hpp"
#include "gantry/optim/optimizer.hpp"

namespace gantry::optim {

/// Defaults and meaning follow torch.optim.Adam (PyTorch 1.13). GANs commonly lower beta1: 0.5 for
/// DCGAN (Radford et al. 2016), beta1 = 0 and beta2 = 0.9 for WGAN-GP (Gulrajani et al. 2017, Algorithm 1).
struct AdamOptions {
  double learning_rate = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  /// Added to the bias-corrected root of the second moment, outside the square root.
  double epsilon = 1e-8;
  /// L2 penalty added to the gradient as torch.optim.Adam does (not AdamW's decoupled decay).
  double weight_decay = 0.0;
  /// Divide by the running maximum of the second moment (Reddi et al. 2018, Algorithm 2).
  bool amsgrad = false;

  // For checkpoints (gantry/core/settings.hpp): every option must match the file's to continue a run. The learning
  // rate is not among them: schedules change it, so the checkpoint restores it through the optimizer interface.
  template <class Self, class Fields>
  static void settings(Self& self, Fields& fields) {
    fields.match("beta1", self.beta1);
    fields.match("beta2", self.beta2);
    fields.match("epsilon", self.epsilon);
    fields.match("weight_decay", self.weight_decay);
    fields.match("amsgrad", self.amsgrad);
  }

  void validate() const {
    using gantry::detail::finite;
    using gantry::detail::require;
    optim::detail::check_learning_rate("AdamOptions.", learning_rate);
    require(beta1 >= 0 && beta1 < 1, "AdamOptions", "beta1", beta1, "in [0, 1)");
    require(beta2 >= 0 && beta2 < 1, "AdamOptions", "beta2", beta2, "in [0, 1)");
    require(epsilon > 0 && finite(epsilon), "AdamOptions", "epsilon", epsilon, "> 0 and finite");
    require(weight_decay >= 0 && finite(weight_decay), "AdamOptions", "weight_decay", weight_decay,
            ">= 0 and finite");
  }
};

/// Minimizes; per step t = 1, 2, ... with g = gradient + weight_decay * p, in PyTorch 1.13's order:
///   m = beta1 m + (1 - beta1) g,   v = beta2 v + (1 - beta2) g^2   (amsgrad: v_max = max(v_max, v))
///   denominator = sqrt(v) / sqrt(1 - beta2^t) + epsilon,   step_size = learning_rate / (1 - beta1^t)
///   p -= step_size * m / denominator
/// The bias corrections are computed in double and rounded to Scalar once, as PyTorch does with
/// Python floats. AMSGrad keeps the running maximum of the raw v and divides it by the current
/// correction, as PyTorch's code does (its documentation takes the maximum of corrected values).
template <class ScalarType>
class Adam {
 public:
  using Scalar = ScalarType;
  using Options = AdamOptions;
  static constexpr const char* type_name = "adam";  ///< a checkpoint refuses a file saved by another optimizer

  /// Everything a bit-identical continuation needs.
  struct State {
    Index parameter_count = 0;  ///< 0 until the first step or reset
    Index step_count = 0;       ///< t of the last step taken, used by the bias corrections
    Vector<Scalar> first_moment;       ///< m; parameter_count entries
    Vector<Scalar> second_moment;      ///< v; parameter_count entries
    Vector<Scalar> max_second_moment;  ///< v_max; parameter_count entries with amsgrad, else empty

    /// f(name, buffer) for each buffer, for checkpoints; Self is State or const State.
    template <class Self, class F>
    static void for_each_buffer(Self& state, F&& f) {
      f("first_moment", state.first_moment);
      f("second_moment", state.second_moment);
      f("max_second_moment", state.max_second_moment);
    }
  };

  explicit Adam(Options options = {}) : options_(options) { options_.validate(); }

  void reset(Index size) {
    optim::detail::check_state_size("gantry::optim::Adam::reset", size);
    state_.parameter_count = size;
    state_.step_count = 0;
    state_.first_moment.setZero(size);
    state_.second_moment.setZero(size);
    state_.max_second_moment.setZero(options_.amsgrad ? size : 0);
  }

  void step(Eigen::Ref<Vector<Scalar>> parameters, const Eigen::Ref<const Vector<Scalar>>& gradient) {
    constexpr const char* where = "gantry::optim::Adam::step";
    optim::detail::check_step_sizes(where, state_.parameter_count, parameters.size(), gradient.size());
    optim::detail::check_gradient_finite<Scalar>(where, gradient);
    optim::detail::check_step_count_room(where, state_.step_count);
    if (state_.parameter_count == 0) reset(parameters.size());

    ++state_.step_count;
    const Coefficients c = coefficients();
    optim::detail::update_by_segments<Scalar>(parameters, gradient, options_.weight_decay, entry_work,
                                              [&](Index begin, Index count, auto& p, const auto& g) {
                                                update_moments(c, begin, count, g);
                                                update_parameters(c, begin, count, p);
                                              });
  }

  double learning_rate() const { return options_.learning_rate; }
  void set_learning_rate(double learning_rate) {
    optim::detail::check_learning_rate("gantry::optim::Adam::set_learning_rate: ", learning_rate);
    options_.learning_rate = learning_rate;
  }

  const Options& options() const { return options_; }
  const State& state() const { return state_; }

  void set_state(State state) {
    constexpr const char* where = "gantry::optim::Adam::set_state";
    const Index n = state.parameter_count;
    optim::detail::check_state_counts(where, n, state.step_count);
    optim::detail::check_state_buffer(where, "first_moment", state.first_moment, n);
    optim::detail::check_state_buffer(where, "second_moment", state.second_moment, n, /*nonnegative=*/true);
    optim::detail::check_state_buffer(where, "max_second_moment", state.max_second_moment,
                                      options_.amsgrad ? n : 0, /*nonnegative=*/true);
    state_ = std::move(state);
  }

 private:
  /// Operations per entry of a step (sizes its segments for the pool).
  static constexpr double entry_work = 12;

  /// The step's scalars: the betas in Scalar, and the bias corrections of step t computed in double and rounded
  /// once, as PyTorch does with Python floats.
  struct Coefficients {
    Scalar beta1, beta2, one_minus_beta1, one_minus_beta2, step_size, bias_correction2_sqrt, epsilon;
  };

  Coefficients coefficients() const {
    const double t = static_cast<double>(state_.step_count);
    const double bias_correction1 = 1.0 - std::pow(options_.beta1, t);
    const double bias_correction2 = 1.0 - std::pow(options_.beta2, t);
    Coefficients c;
    c.beta1 = static_cast<Scalar>(options_.beta1);
    c.beta2 = static_cast<Scalar>(options_.beta2);
    c.one_minus_beta1 = static_cast<Scalar>(1.0 - options_.beta1);
    c.one_minus_beta2 = static_cast<Scalar>(1.0 - options_.beta2);
    c.step_size = static_cast<Scalar>(options_.learning_rate / bias_correction1);
    c.bias_correction2_sqrt = static_cast<Scalar>(std::sqrt(bias_correction2));
    c.epsilon = static_cast<Scalar>(options_.epsilon);
    return c;
  }

  // `g` is an array expression evaluated entry by entry: weight decay costs no temporary vector.
  template <class Gradient>
  void update_moments(const Coefficients& c, Index begin, Index count, const Eigen::ArrayBase<Gradient>& g) {
    auto m = state_.first_moment.segment(begin, count).array();
    auto v = state_.second_moment.segment(begin, count).array();
    m = c.beta1 * m + c.one_minus_beta1 * g;
    v = c.beta2 * v + c.one_minus_beta2 * g * g;
    if (options_.amsgrad) {
      auto v_max = state_.max_second_moment.segment(begin, count).array();
      v_max = v_max.max(v);
    }
  }

  template <class Parameters>
  void update_parameters(const Coefficients& c, Index begin, Index count, Parameters&& parameters) {
    const Vector<Scalar>& second_moment = options_.amsgrad ? state_.max_second_moment : state_.second_moment;
    parameters.array() -= c.step_size * state_.first_moment.segment(begin, count).array() /
                          (second_moment.segment(begin, count).array().sqrt() / c.bias_correction2_sqrt + c.epsilon);
  }

  Options options_;
  State state_;
};

}  // namespace gantry::optim
