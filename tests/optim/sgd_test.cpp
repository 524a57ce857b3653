// SPDX-License-Identifier: MIT
#include "support/no_malloc.hpp"  // first: before any Eigen header

#include "gantry/optim/sgd.hpp"

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
using gantry::optim::Sgd;
using gantry::optim::SgdOptions;

/// PyTorch 1.13's SGD written out entry by entry; column t holds the parameters after step t.
template <class Scalar>
Matrix<Scalar> reference_trajectory(const SgdOptions& o, Vector<Scalar> p, const Matrix<Scalar>& gradients,
                                    const std::vector<double>& learning_rates) {
  Matrix<Scalar> trajectory(p.size(), gradients.cols());
  std::vector<Scalar> buffer(static_cast<std::size_t>(p.size()), Scalar(0));
  for (Index t = 0; t < gradients.cols(); ++t) {
    for (Index i = 0; i < p.size(); ++i) {
      Scalar& b = buffer[static_cast<std::size_t>(i)];
      Scalar d = gradients(i, t) + static_cast<Scalar>(o.weight_decay) * p[i];
      if (o.momentum != 0) {
        b = t == 0 ? d : static_cast<Scalar>(o.momentum) * b + static_cast<Scalar>(1.0 - o.dampening) * d;
        d = o.nesterov ? d + static_cast<Scalar>(o.momentum) * b : b;
      }
      p[i] -= static_cast<Scalar>(learning_rates[static_cast<std::size_t>(t)]) * d;
    }
    trajectory.col(t) = p;
  }
  return trajectory;
}

template <class Scalar>
void check_against_reference(const SgdOptions& options) {
  const std::vector<double> learning_rates = {options.learning_rate, 0.05, 0.2};
  check_trajectory(Sgd<Scalar>(options), learning_rates,
                   reference_trajectory(options, initial_parameters<Scalar>(), gradient_sequence<Scalar>(),
                                        learning_rates));
}

}  // namespace

TEMPLATE_TEST_CASE("Sgd: first step is p - learning_rate * g", "[optim][sgd]", float, double) {
  using Scalar = TestType;
  SgdOptions options;
  options.learning_rate = 0.5;
  Sgd<Scalar> sgd(options);
  Vector<Scalar> p = initial_parameters<Scalar>();
  const Vector<Scalar> g = gradient_sequence<Scalar>().col(0);
  sgd.step(p, g);
  // 1 - 0.5*0.5, -0.5 + 0.5*1.5, 0.25 - 0, 2 - 0.5*2: all exact in binary.
  CHECK(p[0] == Scalar(0.75));
  CHECK(p[1] == Scalar(0.25));
  CHECK(p[2] == Scalar(0.25));
  CHECK(p[3] == Scalar(1.0));
}

TEMPLATE_TEST_CASE("Sgd: three steps match PyTorch's update written out by hand", "[optim][sgd]", float, double) {
  using Scalar = TestType;
  SgdOptions options;
  options.learning_rate = 0.1;
  SECTION("plain") { check_against_reference<Scalar>(options); }
  SECTION("weight decay") {
    options.weight_decay = 0.01;
    check_against_reference<Scalar>(options);
  }
  SECTION("momentum, dampening and weight decay") {
    options.momentum = 0.9;
    options.dampening = 0.1;
    options.weight_decay = 0.01;
    check_against_reference<Scalar>(options);
  }
  SECTION("nesterov") {
    options.momentum = 0.8;
    options.nesterov = true;
    check_against_reference<Scalar>(options);
  }
}

TEMPLATE_TEST_CASE("Sgd: converges on a quadratic", "[optim][sgd]", float, double) {
  using Scalar = TestType;
  SgdOptions options;
  options.learning_rate = 0.2;
  SECTION("plain") {}
  SECTION("momentum") { options.momentum = 0.5; }
  SECTION("nesterov") {
    options.momentum = 0.5;
    options.nesterov = true;
  }
  check_converges_on_quadratic(Sgd<Scalar>(options), 400, options.learning_rate);
}

TEMPLATE_TEST_CASE("Sgd: options are validated with the field and value named", "[optim][sgd]", float, double) {
  using Scalar = TestType;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const RefusedOptions<SgdOptions> cases = {
      {options_with<SgdOptions>([](SgdOptions& o) { o.learning_rate = 0; }), "learning_rate"},
      {options_with<SgdOptions>([](SgdOptions& o) { o.learning_rate = -0.1; }), "learning_rate"},
      {options_with<SgdOptions>([&](SgdOptions& o) { o.learning_rate = nan; }), "learning_rate"},
      {options_with<SgdOptions>([&](SgdOptions& o) { o.learning_rate = inf; }), "learning_rate"},
      {options_with<SgdOptions>([](SgdOptions& o) { o.momentum = -0.5; }), "momentum"},
      {options_with<SgdOptions>([](SgdOptions& o) { o.dampening = 1.5; }), "dampening"},
      {options_with<SgdOptions>([](SgdOptions& o) { o.weight_decay = -1e-4; }), "weight_decay"},
      {options_with<SgdOptions>([](SgdOptions& o) { o.nesterov = true; }), "momentum"},
      {options_with<SgdOptions>([](SgdOptions& o) {
        o.nesterov = true;
        o.momentum = 0.9;
        o.dampening = 0.1;
      }), "dampening"},
  };
  check_refused_options<Sgd<Scalar>>(cases, "SgdOptions");
  CHECK(contains(message_of<gantry::OptionError>([] {
                   SgdOptions o;
                   o.momentum = -0.5;
                   o.validate();
                 }),
                 "-0.5"));

  Sgd<Scalar> sgd;
  CHECK(sgd.learning_rate() == 1e-3);
  CHECK(contains(message_of<gantry::OptionError>([&] { sgd.set_learning_rate(-1); }), "learning_rate"));
  CHECK(contains(message_of<gantry::OptionError>([&] { sgd.set_learning_rate(nan); }), "learning_rate"));
  CHECK(sgd.learning_rate() == 1e-3);
  sgd.set_learning_rate(0.25);
  CHECK(sgd.learning_rate() == 0.25);
  CHECK(sgd.options().learning_rate == 0.25);
}

TEMPLATE_TEST_CASE("Sgd: sizes are checked and the state is never resized by step", "[optim][sgd]", float,
                   double) {
  using Scalar = TestType;
  SgdOptions options;
  options.momentum = 0.9;
  Sgd<Scalar> sgd(options);
  Vector<Scalar> p = Vector<Scalar>::Ones(4);
  const Vector<Scalar> short_gradient = Vector<Scalar>::Ones(3);

  const std::string mismatch = message_of<gantry::ShapeError>([&] { sgd.step(p, short_gradient); });
  INFO(mismatch);
  CHECK(contains(mismatch, "gantry::optim::Sgd::step"));
  CHECK(contains(mismatch, "gradient expects 4 entries"));
  CHECK(contains(mismatch, "given 3"));
  CHECK(sgd.state().parameter_count == 0);

  const Vector<Scalar> g = Vector<Scalar>::Ones(4);
  sgd.step(p, g);
  CHECK(sgd.state().parameter_count == 4);
  CHECK(sgd.state().momentum_buffer.size() == 4);

  Vector<Scalar> longer = Vector<Scalar>::Ones(5);
  const Vector<Scalar> longer_gradient = Vector<Scalar>::Ones(5);
  const std::string resized = message_of<gantry::ShapeError>([&] { sgd.step(longer, longer_gradient); });
  INFO(resized);
  CHECK(contains(resized, "parameters expect 4 entries"));
  CHECK(contains(resized, "given 5"));
  CHECK(sgd.state().step_count == 1);
  CHECK(longer == Vector<Scalar>::Ones(5));

  Vector<Scalar> empty(0);
  Sgd<Scalar> fresh;
  CHECK(contains(message_of<gantry::ShapeError>([&] { fresh.step(empty, empty); }), "parameter count"));
  CHECK(contains(message_of<gantry::ShapeError>([&] { fresh.reset(0); }), "parameter count"));

  // A non-finite gradient is refused before it can reach the momentum buffer.
  const Vector<Scalar> before = p;
  Vector<Scalar> bad_gradient = Vector<Scalar>::Ones(4);
  bad_gradient[2] = std::numeric_limits<Scalar>::quiet_NaN();
  CHECK(contains(message_of<gantry::DivergenceError>([&] { sgd.step(p, bad_gradient); }), "entry 2"));
  CHECK(p == before);
  CHECK(sgd.state().momentum_buffer.allFinite());
  CHECK(sgd.state().step_count == 1);

  // reset is the one way to resize, and it clears the state.
  sgd.reset(5);
  CHECK(sgd.state().parameter_count == 5);
  CHECK(sgd.state().step_count == 0);
  CHECK(sgd.state().momentum_buffer == Vector<Scalar>::Zero(5));
  sgd.step(longer, longer_gradient);
  CHECK(sgd.state().step_count == 1);
}

TEMPLATE_TEST_CASE("Sgd: a restored state continues bit for bit", "[optim][sgd]", float, double) {
  using Scalar = TestType;
  SgdOptions options;
  options.learning_rate = 0.05;
  options.momentum = 0.9;
  options.nesterov = true;
  options.weight_decay = 1e-3;
  RestoredRun<Sgd<Scalar>> run = run_with_restored_state<Sgd<Scalar>>(options);
  CHECK(run.p == run.q);
  CHECK(run.restored.state().momentum_buffer == run.original.state().momentum_buffer);
  CHECK(run.restored.state().step_count == 6);
  CHECK(run.p != run.saved_parameters);

  SECTION("set_state names the field it refuses") {
    typename Sgd<Scalar>::State wrong_size = run.saved;
    wrong_size.momentum_buffer.resize(3);
    CHECK(contains(message_of<gantry::ShapeError>([&] { run.restored.set_state(wrong_size); }), "momentum_buffer"));

    typename Sgd<Scalar>::State not_finite = run.saved;
    not_finite.momentum_buffer[1] = std::numeric_limits<Scalar>::infinity();
    CHECK(contains(message_of<gantry::DataError>([&] { run.restored.set_state(not_finite); }), "momentum_buffer"));

    typename Sgd<Scalar>::State negative_steps = run.saved;
    negative_steps.step_count = -1;
    CHECK(contains(message_of<gantry::DataError>([&] { run.restored.set_state(negative_steps); }), "step_count"));

    // Without momentum the buffer must be empty: a state from another configuration is refused.
    Sgd<Scalar> plain;
    CHECK(contains(message_of<gantry::ShapeError>([&] { plain.set_state(run.saved); }), "momentum_buffer"));
    CHECK(run.restored.state().step_count == 6);
  }
}

TEMPLATE_TEST_CASE("Sgd: a steady step allocates nothing", "[optim][sgd]", float, double) {
  using Scalar = TestType;
  SgdOptions options;
  SECTION("plain") {}
  SECTION("momentum with weight decay") {
    options.momentum = 0.9;
    options.dampening = 0.2;
    options.weight_decay = 1e-2;
  }
  SECTION("nesterov with weight decay") {
    options.momentum = 0.9;
    options.nesterov = true;
    options.weight_decay = 1e-2;
  }
  Sgd<Scalar> sgd(options);
  check_steady_steps_allocate_nothing(sgd);
  CHECK(sgd.state().step_count == 3);
}
