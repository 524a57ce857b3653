// SPDX-License-Identifier: MIT
#include "support/no_malloc.hpp"  // first: before any Eigen header

#include "gantry/optim/rmsprop.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "catch.hpp"
#include "support/optimizer_checks.hpp"

namespace {

// The shared checks (support/optimizer_checks.hpp) and fixtures, by their names.
using namespace gantry::test;  // NOLINT(google-build-using-namespace): test helpers only

using gantry::Index;
using gantry::Matrix;
using gantry::Vector;
using gantry::optim::Rmsprop;
using gantry::optim::RmspropOptions;

/// PyTorch 1.13's RMSprop written out entry by entry; column t holds the parameters after step t.
template <class Scalar>
Matrix<Scalar> reference_trajectory(const RmspropOptions& o, Vector<Scalar> p, const Matrix<Scalar>& gradients,
                                    const std::vector<double>& learning_rates) {
  const auto n = static_cast<std::size_t>(p.size());
  std::vector<Scalar> square_average(n, Scalar(0)), gradient_average(n, Scalar(0)), buffer(n, Scalar(0));
  const Scalar alpha = static_cast<Scalar>(o.alpha);
  const Scalar one_minus_alpha = static_cast<Scalar>(1.0 - o.alpha);
  Matrix<Scalar> trajectory(p.size(), gradients.cols());
  for (Index t = 0; t < gradients.cols(); ++t) {
    const Scalar lr = static_cast<Scalar>(learning_rates[static_cast<std::size_t>(t)]);
    for (std::size_t i = 0; i < n; ++i) {
      const auto k = static_cast<Index>(i);
      const Scalar g = gradients(k, t) + static_cast<Scalar>(o.weight_decay) * p[k];
      square_average[i] = alpha * square_average[i] + one_minus_alpha * g * g;
      Scalar root_mean_square;
      if (o.centered) {
        gradient_average[i] = alpha * gradient_average[i] + one_minus_alpha * g;
        const Scalar variance = square_average[i] - gradient_average[i] * gradient_average[i];
        root_mean_square = std::sqrt(variance > 0 ? variance : Scalar(0)) + static_cast<Scalar>(o.epsilon);
      } else {
        root_mean_square = std::sqrt(square_average[i]) + static_cast<Scalar>(o.epsilon);
      }
      if (o.momentum > 0) {
        buffer[i] = static_cast<Scalar>(o.momentum) * buffer[i] + g / root_mean_square;
        p[k] -= lr * buffer[i];
      } else {
        p[k] -= lr * g / root_mean_square;
      }
    }
    trajectory.col(t) = p;
  }
  return trajectory;
}

template <class Scalar>
void check_against_reference(const RmspropOptions& options) {
  const std::vector<double> learning_rates = {options.learning_rate, 0.005, 0.02};
  check_trajectory(Rmsprop<Scalar>(options), learning_rates,
                   reference_trajectory(options, initial_parameters<Scalar>(), gradient_sequence<Scalar>(),
                                        learning_rates));
}

}  // namespace

TEMPLATE_TEST_CASE("Rmsprop: first step moves each entry by learning_rate / sqrt(1 - alpha)", "[optim][rmsprop]",
                   float, double) {
  using Scalar = TestType;
  // v = (1 - alpha) g^2, so g / (sqrt(v) + eps) = sign(g) / sqrt(1 - alpha) = 10 sign(g) for alpha = 0.99.
  Rmsprop<Scalar> rmsprop;
  CHECK(rmsprop.learning_rate() == 1e-2);
  Vector<Scalar> p = initial_parameters<Scalar>();
  const Vector<Scalar> g = gradient_sequence<Scalar>().col(0);
  rmsprop.step(p, g);
  Vector<Scalar> expected(4);
  expected << Scalar(0.9), Scalar(-0.4), Scalar(0.25), Scalar(1.9);
  INFO("got " << p.transpose());
  CHECK((p - expected).cwiseAbs().maxCoeff() <= Scalar(1e-6));
}

TEMPLATE_TEST_CASE("Rmsprop: three steps match PyTorch's update written out by hand", "[optim][rmsprop]", float,
                   double) {
  using Scalar = TestType;
  RmspropOptions options;
  options.learning_rate = 0.01;
  options.alpha = 0.9;
  SECTION("plain") { check_against_reference<Scalar>(options); }
  SECTION("weight decay") {
    options.weight_decay = 0.05;
    check_against_reference<Scalar>(options);
  }
  SECTION("momentum") {
    options.momentum = 0.9;
    check_against_reference<Scalar>(options);
  }
  SECTION("centered with momentum and weight decay") {
    options.centered = true;
    options.momentum = 0.5;
    options.weight_decay = 0.05;
    options.epsilon = 1e-3;
    check_against_reference<Scalar>(options);
  }
}

TEMPLATE_TEST_CASE("Rmsprop: converges on a quadratic", "[optim][rmsprop]", float, double) {
  using Scalar = TestType;
  RmspropOptions options;
  SECTION("plain") {}
  SECTION("centered with momentum") {
    options.centered = true;
    options.momentum = 0.5;
  }
  // A constant rate leaves RMSprop hovering at distance ~learning_rate; a decaying schedule (through
  // set_learning_rate, as the trainer's schedules do) brings it in.
  check_converges_on_quadratic(Rmsprop<Scalar>(options), 1500, 0.05, 0.996);
}

TEMPLATE_TEST_CASE("Rmsprop: options are validated with the field and value named", "[optim][rmsprop]", float,
                   double) {
  using Scalar = TestType;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const RefusedOptions<RmspropOptions> cases = {
      {options_with<RmspropOptions>([](RmspropOptions& o) { o.learning_rate = 0; }), "learning_rate"},
      {options_with<RmspropOptions>([&](RmspropOptions& o) { o.learning_rate = inf; }), "learning_rate"},
      {options_with<RmspropOptions>([](RmspropOptions& o) { o.alpha = 1.0; }), "alpha"},
      {options_with<RmspropOptions>([](RmspropOptions& o) { o.alpha = -0.1; }), "alpha"},
      {options_with<RmspropOptions>([&](RmspropOptions& o) { o.alpha = nan; }), "alpha"},
      {options_with<RmspropOptions>([](RmspropOptions& o) { o.epsilon = 0; }), "epsilon"},
      {options_with<RmspropOptions>([](RmspropOptions& o) { o.weight_decay = -1; }), "weight_decay"},
      {options_with<RmspropOptions>([](RmspropOptions& o) { o.momentum = -0.25; }), "momentum"},
  };
  check_refused_options<Rmsprop<Scalar>>(cases, "RmspropOptions");
  CHECK(contains(message_of<gantry::OptionError>([] {
                   RmspropOptions o;
                   o.alpha = 1.5;
                   o.validate();
                 }),
                 "alpha must be in [0, 1), given 1.5"));

  Rmsprop<Scalar> rmsprop;
  CHECK(contains(message_of<gantry::OptionError>([&] { rmsprop.set_learning_rate(0); }), "learning_rate"));
  CHECK(rmsprop.learning_rate() == 1e-2);
  rmsprop.set_learning_rate(0.125);
  CHECK(rmsprop.learning_rate() == 0.125);
  CHECK(rmsprop.options().learning_rate == 0.125);
}

TEMPLATE_TEST_CASE("Rmsprop: sizes are checked and the state is never resized by step", "[optim][rmsprop]", float,
                   double) {
  using Scalar = TestType;
  RmspropOptions options;
  options.centered = true;
  Rmsprop<Scalar> rmsprop(options);
  Vector<Scalar> p = Vector<Scalar>::Ones(4);
  const Vector<Scalar> short_gradient = Vector<Scalar>::Ones(3);

  const std::string mismatch = message_of<gantry::ShapeError>([&] { rmsprop.step(p, short_gradient); });
  INFO(mismatch);
  CHECK(contains(mismatch, "gantry::optim::Rmsprop::step"));
  CHECK(contains(mismatch, "gradient expects 4 entries"));
  CHECK(contains(mismatch, "given 3"));

  const Vector<Scalar> g = Vector<Scalar>::Ones(4);
  rmsprop.step(p, g);
  CHECK(rmsprop.state().parameter_count == 4);
  CHECK(rmsprop.state().square_average.size() == 4);
  CHECK(rmsprop.state().gradient_average.size() == 4);
  CHECK(rmsprop.state().momentum_buffer.size() == 0);

  Vector<Scalar> longer = Vector<Scalar>::Ones(5);
  const Vector<Scalar> longer_gradient = Vector<Scalar>::Ones(5);
  const std::string resized = message_of<gantry::ShapeError>([&] { rmsprop.step(longer, longer_gradient); });
  INFO(resized);
  CHECK(contains(resized, "parameters expect 4 entries"));
  CHECK(contains(resized, "given 5"));
  CHECK(rmsprop.state().step_count == 1);

  const Vector<Scalar> before = p;
  Vector<Scalar> bad_gradient = Vector<Scalar>::Ones(4);
  bad_gradient[3] = -std::numeric_limits<Scalar>::infinity();
  CHECK(contains(message_of<gantry::DivergenceError>([&] { rmsprop.step(p, bad_gradient); }), "entry 3"));
  CHECK(p == before);
  CHECK(rmsprop.state().square_average.allFinite());

  rmsprop.reset(5);
  CHECK(rmsprop.state().step_count == 0);
  CHECK(rmsprop.state().square_average == Vector<Scalar>::Zero(5));
  rmsprop.step(longer, longer_gradient);
  CHECK(rmsprop.state().step_count == 1);
}

TEMPLATE_TEST_CASE("Rmsprop: a restored state continues bit for bit", "[optim][rmsprop]", float, double) {
  using Scalar = TestType;
  RmspropOptions options;
  options.centered = true;
  options.momentum = 0.9;
  options.weight_decay = 1e-3;
  RestoredRun<Rmsprop<Scalar>> run = run_with_restored_state<Rmsprop<Scalar>>(options);
  CHECK(run.p == run.q);
  CHECK(run.restored.state().square_average == run.original.state().square_average);
  CHECK(run.restored.state().gradient_average == run.original.state().gradient_average);
  CHECK(run.restored.state().momentum_buffer == run.original.state().momentum_buffer);
  CHECK(run.p != run.saved_parameters);

  SECTION("set_state names the field it refuses") {
    typename Rmsprop<Scalar>::State wrong_size = run.saved;
    wrong_size.gradient_average.resize(2);
    CHECK(contains(message_of<gantry::ShapeError>([&] { run.restored.set_state(wrong_size); }), "gradient_average"));

    typename Rmsprop<Scalar>::State negative = run.saved;
    negative.square_average[0] = Scalar(-1);
    CHECK(contains(message_of<gantry::DataError>([&] { run.restored.set_state(negative); }), "square_average"));

    typename Rmsprop<Scalar>::State not_finite = run.saved;
    not_finite.momentum_buffer[3] = std::numeric_limits<Scalar>::quiet_NaN();
    CHECK(contains(message_of<gantry::DataError>([&] { run.restored.set_state(not_finite); }), "momentum_buffer"));

    Rmsprop<Scalar> uncentered;
    CHECK(contains(message_of<gantry::ShapeError>([&] { uncentered.set_state(run.saved); }), "gradient_average"));
    CHECK(run.restored.state().step_count == 6);
  }
}

TEMPLATE_TEST_CASE("Rmsprop: a steady step allocates nothing", "[optim][rmsprop]", float, double) {
  using Scalar = TestType;
  RmspropOptions options;
  SECTION("plain") {}
  SECTION("centered with momentum and weight decay") {
    options.centered = true;
    options.momentum = 0.9;
    options.weight_decay = 1e-2;
  }
  Rmsprop<Scalar> rmsprop(options);
  check_steady_steps_allocate_nothing(rmsprop);
  CHECK(rmsprop.state().step_count == 3);
}
