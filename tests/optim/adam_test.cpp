// SPDX-License-Identifier: MIT
#include "support/no_malloc.hpp"  // first: before any Eigen header

#include "gantry/optim/adam.hpp"

#include <algorithm>
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
using gantry::optim::Adam;
using gantry::optim::AdamOptions;

/// Adam written out entry by entry in the paper's form (Kingma & Ba 2015, Algorithm 1), with PyTorch's
/// L2 term and its AMSGrad (maximum of the raw v). PyTorch orders the same operations differently;
/// the results agree to rounding. Column t holds the parameters after step t.
template <class Scalar>
Matrix<Scalar> reference_trajectory(const AdamOptions& o, Vector<Scalar> p, const Matrix<Scalar>& gradients,
                                    const std::vector<double>& learning_rates) {
  const auto n = static_cast<std::size_t>(p.size());
  std::vector<double> m(n, 0.0), v(n, 0.0), v_max(n, 0.0);
  Matrix<Scalar> trajectory(p.size(), gradients.cols());
  for (Index t = 0; t < gradients.cols(); ++t) {
    const double step = static_cast<double>(t + 1);
    for (std::size_t i = 0; i < n; ++i) {
      const auto k = static_cast<Index>(i);
      const double g = static_cast<double>(gradients(k, t)) + o.weight_decay * static_cast<double>(p[k]);
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g;
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * g * g;
      v_max[i] = std::max(v_max[i], v[i]);
      const double m_hat = m[i] / (1 - std::pow(o.beta1, step));
      const double v_hat = (o.amsgrad ? v_max[i] : v[i]) / (1 - std::pow(o.beta2, step));
      const double update = learning_rates[static_cast<std::size_t>(t)] * m_hat / (std::sqrt(v_hat) + o.epsilon);
      p[k] = static_cast<Scalar>(static_cast<double>(p[k]) - update);
    }
    trajectory.col(t) = p;
  }
  return trajectory;
}

template <class Scalar>
void check_against_reference(const AdamOptions& options) {
  const std::vector<double> learning_rates = {options.learning_rate, 0.05, 0.2};
  check_trajectory(Adam<Scalar>(options), learning_rates,
                   reference_trajectory(options, initial_parameters<Scalar>(), gradient_sequence<Scalar>(),
                                        learning_rates));
}

}  // namespace

TEMPLATE_TEST_CASE("Adam: first step moves each entry by learning_rate against the gradient's sign", "[optim][adam]",
                   float, double) {
  using Scalar = TestType;
  // After one step m_hat = g and v_hat = g^2, so the update is learning_rate * g / (|g| + eps).
  AdamOptions options;
  options.learning_rate = 0.01;
  Adam<Scalar> adam(options);
  Vector<Scalar> p = initial_parameters<Scalar>();
  const Vector<Scalar> g = gradient_sequence<Scalar>().col(0);
  adam.step(p, g);
  Vector<Scalar> expected(4);
  expected << Scalar(0.99), Scalar(-0.49), Scalar(0.25), Scalar(1.99);
  INFO("got " << p.transpose());
  CHECK((p - expected).cwiseAbs().maxCoeff() <= Scalar(1e-6));
  // m = (1 - beta1) g and v = (1 - beta2) g^2 for g = 2.
  CHECK(std::abs(adam.state().first_moment[3] - Scalar(0.2)) <= Scalar(1e-7));
  CHECK(std::abs(adam.state().second_moment[3] - Scalar(0.004)) <= Scalar(1e-9));
}

TEMPLATE_TEST_CASE("Adam: three steps match the update written out by hand", "[optim][adam]", float, double) {
  using Scalar = TestType;
  AdamOptions options;
  options.learning_rate = 0.1;
  SECTION("defaults") { check_against_reference<Scalar>(options); }
  SECTION("GAN betas and weight decay") {
    options.beta1 = 0.5;
    options.beta2 = 0.9;
    options.weight_decay = 0.05;
    check_against_reference<Scalar>(options);
  }
  SECTION("beta1 = 0 and a large epsilon") {
    options.beta1 = 0.0;
    options.beta2 = 0.9;
    options.epsilon = 1e-2;
    check_against_reference<Scalar>(options);
  }
  SECTION("amsgrad") {
    // Gradients that shrink make v fall below its running maximum, so AMSGrad differs from Adam here.
    options.amsgrad = true;
    options.beta2 = 0.5;
    check_against_reference<Scalar>(options);
  }
}

TEMPLATE_TEST_CASE("Adam: converges on a quadratic", "[optim][adam]", float, double) {
  using Scalar = TestType;
  AdamOptions options;
  SECTION("defaults") {}
  SECTION("GAN betas") {
    options.beta1 = 0.5;
    options.beta2 = 0.9;
  }
  SECTION("amsgrad") { options.amsgrad = true; }
  check_converges_on_quadratic(Adam<Scalar>(options), 1500, 0.1, 0.996);
}

TEMPLATE_TEST_CASE("Adam: options are validated with the field and value named", "[optim][adam]", float, double) {
  using Scalar = TestType;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const RefusedOptions<AdamOptions> cases = {
      {options_with<AdamOptions>([](AdamOptions& o) { o.learning_rate = -1e-3; }), "learning_rate"},
      {options_with<AdamOptions>([&](AdamOptions& o) { o.learning_rate = nan; }), "learning_rate"},
      {options_with<AdamOptions>([](AdamOptions& o) { o.beta1 = 1.0; }), "beta1"},
      {options_with<AdamOptions>([](AdamOptions& o) { o.beta1 = -0.5; }), "beta1"},
      {options_with<AdamOptions>([](AdamOptions& o) { o.beta2 = 1.0; }), "beta2"},
      {options_with<AdamOptions>([&](AdamOptions& o) { o.beta2 = nan; }), "beta2"},
      {options_with<AdamOptions>([](AdamOptions& o) { o.epsilon = 0; }), "epsilon"},
      {options_with<AdamOptions>([&](AdamOptions& o) { o.epsilon = inf; }), "epsilon"},
      {options_with<AdamOptions>([](AdamOptions& o) { o.weight_decay = -0.1; }), "weight_decay"},
  };
  check_refused_options<Adam<Scalar>>(cases, "AdamOptions");
  CHECK(contains(message_of<gantry::OptionError>([] {
                   AdamOptions o;
                   o.beta1 = 1.5;
                   o.validate();
                 }),
                 "AdamOptions.beta1 must be in [0, 1), given 1.5"));

  Adam<Scalar> adam;
  CHECK(adam.learning_rate() == 1e-3);
  CHECK(adam.options().beta2 == 0.999);
  CHECK(contains(message_of<gantry::OptionError>([&] { adam.set_learning_rate(inf); }),
                 "gantry::optim::Adam::set_learning_rate: learning_rate"));
  CHECK(adam.learning_rate() == 1e-3);
  adam.set_learning_rate(2e-4);
  CHECK(adam.learning_rate() == 2e-4);
}

TEMPLATE_TEST_CASE("Adam: sizes are checked and the state is never resized by step", "[optim][adam]", float,
                   double) {
  using Scalar = TestType;
  Adam<Scalar> adam;
  Vector<Scalar> p = Vector<Scalar>::Ones(130);
  const Vector<Scalar> short_gradient = Vector<Scalar>::Ones(129);

  const std::string mismatch = message_of<gantry::ShapeError>([&] { adam.step(p, short_gradient); });
  INFO(mismatch);
  CHECK(contains(mismatch, "gantry::optim::Adam::step: gradient expects 130 entries"));
  CHECK(contains(mismatch, "given 129"));
  CHECK(adam.state().parameter_count == 0);

  const Vector<Scalar> g = Vector<Scalar>::Ones(130);
  adam.step(p, g);
  CHECK(adam.state().parameter_count == 130);
  CHECK(adam.state().first_moment.size() == 130);
  CHECK(adam.state().max_second_moment.size() == 0);

  Vector<Scalar> shorter = Vector<Scalar>::Ones(129);
  const std::string resized = message_of<gantry::ShapeError>([&] { adam.step(shorter, short_gradient); });
  INFO(resized);
  CHECK(contains(resized, "parameters expect 130 entries"));
  CHECK(contains(resized, "given 129"));
  CHECK(adam.state().step_count == 1);

  const Vector<Scalar> before = p;
  Vector<Scalar> bad_gradient = Vector<Scalar>::Ones(130);
  bad_gradient[7] = std::numeric_limits<Scalar>::quiet_NaN();
  CHECK(contains(message_of<gantry::DivergenceError>([&] { adam.step(p, bad_gradient); }), "entry 7"));
  CHECK(p == before);
  bad_gradient[7] = 1;
  bad_gradient[129] = -std::numeric_limits<Scalar>::infinity();
  CHECK(contains(message_of<gantry::DivergenceError>([&] { adam.step(p, bad_gradient); }), "entry 129"));
  CHECK(p == before);
  CHECK(adam.state().second_moment.allFinite());
  CHECK(adam.state().step_count == 1);

  // The largest finite values are finite: the check must not overflow on them.
  Vector<Scalar> huge_gradient = Vector<Scalar>::Constant(130, std::numeric_limits<Scalar>::max());
  huge_gradient[3] = std::numeric_limits<Scalar>::lowest();
  Vector<Scalar> scratch = p;
  adam.step(scratch, huge_gradient);
  CHECK(adam.state().step_count == 2);

  adam.reset(129);
  CHECK(adam.state().step_count == 0);
  CHECK(adam.state().first_moment == Vector<Scalar>::Zero(129));
  adam.step(shorter, short_gradient);
  CHECK(adam.state().step_count == 1);
}

TEMPLATE_TEST_CASE("Adam: a restored state continues bit for bit", "[optim][adam]", float, double) {
  using Scalar = TestType;
  AdamOptions options;
  options.learning_rate = 0.01;
  options.amsgrad = true;
  options.weight_decay = 1e-3;
  const Matrix<Scalar> gradients = gradient_sequence<Scalar>();
  RestoredRun<Adam<Scalar>> run = run_with_restored_state<Adam<Scalar>>(options);
  CHECK(run.p == run.q);
  CHECK(run.restored.state().first_moment == run.original.state().first_moment);
  CHECK(run.restored.state().second_moment == run.original.state().second_moment);
  CHECK(run.restored.state().max_second_moment == run.original.state().max_second_moment);
  CHECK(run.restored.state().step_count == 6);
  CHECK(run.p != run.saved_parameters);

  SECTION("restoring into the same optimizer rewinds it") {
    Vector<Scalar> first_run = run.p;
    run.original.set_state(run.saved);
    run.p = run.saved_parameters;
    for (Index t = 0; t < 3; ++t) run.original.step(run.p, gradients.col(2 - t));
    CHECK(run.p == first_run);
  }
  SECTION("set_state names the field it refuses") {
    typename Adam<Scalar>::State wrong_size = run.saved;
    wrong_size.second_moment.resize(5);
    CHECK(contains(message_of<gantry::ShapeError>([&] { run.restored.set_state(wrong_size); }), "second_moment"));

    typename Adam<Scalar>::State not_finite = run.saved;
    not_finite.first_moment[0] = std::numeric_limits<Scalar>::quiet_NaN();
    CHECK(contains(message_of<gantry::DataError>([&] { run.restored.set_state(not_finite); }), "first_moment"));

    typename Adam<Scalar>::State negative = run.saved;
    negative.max_second_moment[2] = Scalar(-0.5);
    CHECK(contains(message_of<gantry::DataError>([&] { run.restored.set_state(negative); }), "max_second_moment"));

    typename Adam<Scalar>::State unsized_with_steps;
    unsized_with_steps.step_count = 4;
    CHECK(contains(message_of<gantry::DataError>([&] { run.restored.set_state(unsized_with_steps); }), "step_count"));

    Adam<Scalar> without_amsgrad;
    CHECK(contains(message_of<gantry::ShapeError>([&] { without_amsgrad.set_state(run.saved); }), "max_second_moment"));
    CHECK(run.restored.state().step_count == 6);
  }
}

TEMPLATE_TEST_CASE("Adam: a steady step allocates nothing", "[optim][adam]", float, double) {
  using Scalar = TestType;
  AdamOptions options;
  SECTION("defaults") {}
  SECTION("amsgrad with weight decay") {
    options.amsgrad = true;
    options.weight_decay = 1e-2;
  }
  Adam<Scalar> adam(options);
  check_steady_steps_allocate_nothing(adam);
  CHECK(adam.state().step_count == 3);
}
