// SPDX-License-Identifier: MIT
#pragma once
/// The checks every optimizer test runs, written once over the optimizer interface: a trajectory against a
/// reference written out by hand, refused options, convergence on a quadratic, a restored state, no allocation.

#include "support/no_malloc.hpp"  // first: before any Eigen header

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gantry/core/error.hpp>
#include <gantry/core/types.hpp>

#include "catch.hpp"
#include "support/messages.hpp"
#include "support/optimizer_fixtures.hpp"

namespace gantry::test {

/// Steps `optimizer` through gradient_sequence() from initial_parameters(), at learning_rates[t] for step t, and
/// checks the parameters after each step against column t of `expected` (the test's reference by hand).
template <class Optimizer>
void check_trajectory(Optimizer optimizer, const std::vector<double>& learning_rates,
                      const Matrix<typename Optimizer::Scalar>& expected) {
  using Scalar = typename Optimizer::Scalar;
  const Matrix<Scalar> gradients = gradient_sequence<Scalar>();
  Vector<Scalar> p = initial_parameters<Scalar>();
  for (Index t = 0; t < gradients.cols(); ++t) {
    optimizer.set_learning_rate(learning_rates[static_cast<std::size_t>(t)]);
    const Vector<Scalar> g = gradients.col(t);
    optimizer.step(p, g);
    INFO("step " << t + 1 << ": got " << p.transpose() << ", expected " << expected.col(t).transpose());
    CHECK((p - expected.col(t)).cwiseAbs().maxCoeff() <= tolerance<Scalar>());
  }
  CHECK(optimizer.state().step_count == 3);
}

/// Default options changed by `change(options)`.
template <class Options, class Change>
Options options_with(Change change) {
  Options options;
  change(options);
  return options;
}

/// Options the optimizer's constructor must refuse, each with the field its message names.
template <class Options>
using RefusedOptions = std::vector<std::pair<Options, std::string_view>>;

/// Each case is refused with an OptionError whose message names `owner` ("AdamOptions") and the field.
template <class Optimizer>
void check_refused_options(const RefusedOptions<typename Optimizer::Options>& cases, std::string_view owner) {
  for (const auto& [options, field] : cases) {
    const std::string message = message_of<OptionError>([&] { Optimizer optimizer(options); });
    INFO(message);
    CHECK(contains(message, field));
    CHECK(contains(message, owner));
  }
}

/// Minimizes f(p) = 1/2 sum c_i (p_i - target_i)^2 (gradient c * (p - target), condition number 8) from p = 0 in
/// `iterations` steps at the rate learning_rate * decay^i, and checks that p reaches the target to 1e-4.
template <class Optimizer>
void check_converges_on_quadratic(Optimizer optimizer, int iterations, double learning_rate, double decay = 1.0) {
  using Scalar = typename Optimizer::Scalar;
  Vector<Scalar> curvature(4), target(4);
  curvature << Scalar(1), Scalar(4), Scalar(0.5), Scalar(2);
  target << Scalar(1), Scalar(-2), Scalar(0.5), Scalar(3);
  Vector<Scalar> p = Vector<Scalar>::Zero(4);
  Vector<Scalar> g(4);
  for (int i = 0; i < iterations; ++i) {
    optimizer.set_learning_rate(learning_rate);
    g = curvature.cwiseProduct(p - target);
    optimizer.step(p, g);
    learning_rate *= decay;
  }
  INFO("final parameters " << p.transpose());
  CHECK((p - target).cwiseAbs().maxCoeff() <= Scalar(1e-4));
}

/// An optimizer stepped three times, its state saved and set into a second one of the same options, and both
/// stepped three more times on the same gradients: p and q are their parameters.
template <class Optimizer>
struct RestoredRun {
  using Scalar = typename Optimizer::Scalar;
  Optimizer original;
  Optimizer restored;
  typename Optimizer::State saved;
  Vector<Scalar> saved_parameters;
  Vector<Scalar> p;
  Vector<Scalar> q;
};

template <class Optimizer>
RestoredRun<Optimizer> run_with_restored_state(const typename Optimizer::Options& options) {
  using Scalar = typename Optimizer::Scalar;
  const Matrix<Scalar> gradients = gradient_sequence<Scalar>();
  Optimizer original(options);
  Vector<Scalar> p = initial_parameters<Scalar>();
  for (Index t = 0; t < 3; ++t) original.step(p, gradients.col(t));
  RestoredRun<Optimizer> run{original, Optimizer(options), original.state(), p, p, p};
  run.restored.set_state(run.saved);
  for (Index t = 0; t < 3; ++t) {
    run.original.step(run.p, gradients.col(2 - t));
    run.restored.step(run.q, gradients.col(2 - t));
  }
  return run;
}

/// A first step sizes the state; the two after it must not allocate (the guard is checked to be live first).
template <class Optimizer>
void check_steady_steps_allocate_nothing(Optimizer& optimizer) {
  using Scalar = typename Optimizer::Scalar;
  Vector<Scalar> p = Vector<Scalar>::Ones(257);
  const Vector<Scalar> g = Vector<Scalar>::LinSpaced(257, Scalar(-1), Scalar(1));
  optimizer.step(p, g);  // sizes the state
  {
    NoMallocScope guard;
    // The switch is live: an allocation now throws, so the steps below would too.
    CHECK_THROWS_AS([] { return Vector<Scalar>(16).size(); }(), std::logic_error);
    CHECK_NOTHROW(optimizer.step(p, g));
    CHECK_NOTHROW(optimizer.step(p, g));
  }
}

}  // namespace gantry::test
