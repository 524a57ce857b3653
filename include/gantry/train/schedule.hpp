// SPDX-License-Identifier: MIT
#pragma once
/// Schedules over generator iterations: a value (learning rate, instance-noise sigma) or a number of critic steps.

#include <cmath>
#include <locale>
#include <sstream>
#include <string>
#include <string_view>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/types.hpp"

namespace gantry::train {

namespace detail {
inline void check_iteration(std::string_view where, Index t) {
  if (t < 0) throw OptionError(gantry::detail::message(where, ": the iteration must be >= 0, given ", t));
}
/// Six significant digits, locale-free: "0.2", "1e-05", for descriptions.
inline std::string short_number(double x) {
  std::ostringstream out;
  out.imbue(std::locale::classic());
  out << x;
  return out.str();
}
}  // namespace detail

/// A value as a function of t, the number of generator iterations done before the one it applies to (0 for the
/// first). Evaluated from t alone, so a run resumed from a checkpoint at iteration t continues it exactly.
///
///   constant     initial
///   linear       initial + (target - initial) min(t, duration) / duration     (then stays at target)
///   exponential  target + (initial - target) decay^t                          (decays to the floor `target`)
///   step         max(target, initial factor^floor(t / every))                 (PyTorch's StepLR, with a floor)
struct ValueSchedule {
  enum class Kind { constant, linear, exponential, step };

  Kind kind = Kind::constant;
  double initial = 0.0;  ///< the value at t = 0
  double target = 0.0;   ///< linear: the end value; exponential: the limit (floor); step: the floor
  Index duration = 1;    ///< linear: iterations from initial to target
  double decay = 1.0;    ///< exponential: factor per iteration, in (0, 1]
  double factor = 1.0;   ///< step: factor per step, > 0
  Index every = 1;       ///< step: iterations per step

  static ValueSchedule constant(double value) {
    ValueSchedule s;
    s.initial = s.target = value;
    return s;
  }
  static ValueSchedule linear(double initial, double target, Index duration) {
    ValueSchedule s;
    s.kind = Kind::linear;
    s.initial = initial;
    s.target = target;
    s.duration = duration;
    return s;
  }
  static ValueSchedule exponential(double initial, double decay, double floor = 0.0) {
    ValueSchedule s;
    s.kind = Kind::exponential;
    s.initial = initial;
    s.decay = decay;
    s.target = floor;
    return s;
  }
  static ValueSchedule step(double initial, double factor, Index every, double floor = 0.0) {
    ValueSchedule s;
    s.kind = Kind::step;
    s.initial = initial;
    s.factor = factor;
    s.every = every;
    s.target = floor;
    return s;
  }

  double at(Index t) const {
    detail::check_iteration("gantry::train::ValueSchedule::at", t);
    switch (kind) {
      case Kind::constant: return initial;
      case Kind::linear:
        if (t >= duration) return target;  // exactly the target, whatever the rounding of the ramp
        return initial + (target - initial) * (static_cast<double>(t) / static_cast<double>(duration));
      case Kind::exponential: return target + (initial - target) * std::pow(decay, static_cast<double>(t));
      case Kind::step: {
        const double value = initial * std::pow(factor, static_cast<double>(t / every));
        return value > target ? value : target;
      }
    }
    return initial;
  }

  /// Throws OptionError naming `owner` and the field; `minimum` is what every value must be at least (with
  /// `strictly`, more than): a learning rate > 0, a noise level >= 0.
  void validate(std::string_view owner, double minimum, bool strictly) const {
    using gantry::detail::finite;
    using gantry::detail::require;
    const std::string bound = gantry::detail::message(strictly ? "> " : ">= ", minimum);
    const auto above = [&](double v) { return finite(v) && (strictly ? v > minimum : v >= minimum); };
    require(kind == Kind::constant || kind == Kind::linear || kind == Kind::exponential || kind == Kind::step, owner,
            "kind", static_cast<int>(kind), "constant, linear, exponential or step");
    require(above(initial), owner, "initial", initial, "finite and " + bound);
    if (kind == Kind::constant) return;
    // The end value, limit or floor: what a decaying schedule comes down to, so it bounds every value too.
    require(above(target), owner, "target", target, "finite and " + bound);
    if (kind == Kind::linear) require(duration >= 1, owner, "duration", duration, ">= 1");
    if (kind == Kind::exponential)
      require(finite(decay) && decay > 0 && decay <= 1, owner, "decay", decay, "in (0, 1]");
    if (kind == Kind::step) {
      require(finite(factor) && factor > 0, owner, "factor", factor, "finite and > 0");
      require(every >= 1, owner, "every", every, ">= 1");
    }
  }

  /// "linear 1 -> 0.01 over 2000 iterations", for logs and records.
  std::string describe() const {
    using detail::short_number;
    using gantry::detail::message;
    switch (kind) {
      case Kind::constant: return message("constant ", short_number(initial));
      case Kind::linear:
        return message("linear ", short_number(initial), " -> ", short_number(target), " over ", duration, " iterations");
      case Kind::exponential:
        return message("exponential ", short_number(initial), " x ", short_number(decay), "^t, floor ",
                       short_number(target));
      case Kind::step:
        return message("step ", short_number(initial), " x ", short_number(factor), " every ", every,
                       " iterations, floor ", short_number(target));
    }
    return "?";
  }
};

/// The number of critic steps before generator iteration t (t = iterations done). The default is the WGAN
/// reference code's (Arjovsky et al. 2017, main.py): 100 critic steps for the first 25 generator iterations and
/// at every 500th, 5 otherwise, so that the critic starts, and stays, close to optimal.
struct CriticStepsSchedule {
  Index steps = 5;                ///< critic steps per generator iteration otherwise
  Index warmup_steps = 100;       ///< at t < warmup_iterations and at every `every`-th t
  Index warmup_iterations = 25;
  Index every = 500;              ///< 0: only the initial warm-up

  Index at(Index t) const {
    detail::check_iteration("gantry::train::CriticStepsSchedule::at", t);
    return t < warmup_iterations || (every > 0 && t % every == 0) ? warmup_steps : steps;
  }

  void validate(std::string_view owner = "gantry::train::CriticStepsSchedule") const {
    using gantry::detail::require;
    require(steps >= 1, owner, "steps", steps, ">= 1");
    require(warmup_steps >= 1, owner, "warmup_steps", warmup_steps, ">= 1");
    require(warmup_iterations >= 0, owner, "warmup_iterations", warmup_iterations, ">= 0");
    require(every >= 0, owner, "every", every, ">= 0 (0: no periodic warm-up)");
  }

  std::string describe() const {
    return gantry::detail::message(warmup_steps, " critic steps for the first ", warmup_iterations,
                                   " generator iterations", every > 0 ? gantry::detail::message(" and every ", every, "th") : "",
                                   ", ", steps, " otherwise");
  }
};

}  // namespace gantry::train
