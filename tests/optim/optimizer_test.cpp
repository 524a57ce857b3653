// SPDX-License-Identifier: MIT
#include "gantry/optim/optimizer.hpp"

#include <string>

#include "catch.hpp"
#include "gantry/optim/adam.hpp"
#include "gantry/optim/rmsprop.hpp"
#include "gantry/optim/sgd.hpp"

namespace {

using gantry::Index;
using gantry::Vector;
namespace optim = gantry::optim;

/// The skeleton of optimizer.hpp filled in: what a user-written optimizer minimally looks like.
template <class ScalarType>
class SignDescent {
 public:
  using Scalar = ScalarType;
  void reset(Index size) { size_ = size; }
  void step(Eigen::Ref<Vector<Scalar>> parameters, const Eigen::Ref<const Vector<Scalar>>& gradient) {
    parameters.array() -= static_cast<Scalar>(learning_rate_) * gradient.array().sign();
  }
  double learning_rate() const { return learning_rate_; }
  void set_learning_rate(double learning_rate) { learning_rate_ = learning_rate; }

 private:
  Index size_ = 0;
  double learning_rate_ = 1e-2;
};

// Each of these lacks exactly one member (or has it with a signature the trainer cannot call).
struct NoScalar {
  void reset(Index) {}
  void step(Eigen::Ref<Vector<double>>, const Eigen::Ref<const Vector<double>>&) {}
  double learning_rate() const { return 1; }
  void set_learning_rate(double) {}
};
struct NoStep {
  using Scalar = double;
  void reset(Index) {}
  double learning_rate() const { return 1; }
  void set_learning_rate(double) {}
};
struct StepTakesAnOwningVector {  // cannot accept the trainer's Ref to a slice of a buffer
  using Scalar = double;
  void reset(Index) {}
  void step(Vector<double>&, const Vector<double>&) {}
  double learning_rate() const { return 1; }
  void set_learning_rate(double) {}
};
struct StepForTheWrongScalar {
  using Scalar = float;
  void reset(Index) {}
  void step(Eigen::Ref<Vector<double>>, const Eigen::Ref<const Vector<double>>&) {}
  double learning_rate() const { return 1; }
  void set_learning_rate(double) {}
};
struct NoReset {
  using Scalar = double;
  void step(Eigen::Ref<Vector<double>>, const Eigen::Ref<const Vector<double>>&) {}
  double learning_rate() const { return 1; }
  void set_learning_rate(double) {}
};
struct NoLearningRate {
  using Scalar = double;
  void reset(Index) {}
  void step(Eigen::Ref<Vector<double>>, const Eigen::Ref<const Vector<double>>&) {}
  void set_learning_rate(double) {}
};
struct LearningRateNotConst {
  using Scalar = double;
  void reset(Index) {}
  void step(Eigen::Ref<Vector<double>>, const Eigen::Ref<const Vector<double>>&) {}
  double learning_rate() { return 1; }
  void set_learning_rate(double) {}
};
struct NoSetLearningRate {
  using Scalar = double;
  void reset(Index) {}
  void step(Eigen::Ref<Vector<double>>, const Eigen::Ref<const Vector<double>>&) {}
  double learning_rate() const { return 1; }
};

static_assert(optim::check_optimizer<optim::Sgd<float>>());
static_assert(optim::check_optimizer<optim::Sgd<double>>());
static_assert(optim::check_optimizer<optim::Rmsprop<float>>());
static_assert(optim::check_optimizer<optim::Rmsprop<double>>());
static_assert(optim::check_optimizer<optim::Adam<float>>());
static_assert(optim::check_optimizer<optim::Adam<double>>());
static_assert(optim::check_optimizer<SignDescent<double>>());

static_assert(!optim::has_scalar_v<NoScalar> && !optim::is_optimizer_v<NoScalar>);
static_assert(!optim::has_step_v<NoStep> && !optim::is_optimizer_v<NoStep>);
static_assert(!optim::has_step_v<StepTakesAnOwningVector> && !optim::is_optimizer_v<StepTakesAnOwningVector>);
static_assert(!optim::has_step_v<StepForTheWrongScalar> && !optim::is_optimizer_v<StepForTheWrongScalar>);
static_assert(!optim::has_reset_v<NoReset> && !optim::is_optimizer_v<NoReset>);
static_assert(!optim::has_learning_rate_v<NoLearningRate> && !optim::is_optimizer_v<NoLearningRate>);
static_assert(!optim::has_learning_rate_v<LearningRateNotConst> && !optim::is_optimizer_v<LearningRateNotConst>);
static_assert(!optim::has_set_learning_rate_v<NoSetLearningRate> && !optim::is_optimizer_v<NoSetLearningRate>);
// Each bad type still has the members it does declare.
static_assert(optim::has_reset_v<NoStep> && optim::has_learning_rate_v<NoStep> &&
              optim::has_set_learning_rate_v<NoStep>);

/// Written against the interface only, as the trainer is: minimizes 1/2 |p - target|^2 with a halving
/// schedule and returns the final distance to the target.
template <class Optimizer>
double minimize_through_interface(Optimizer& optimizer) {
  static_assert(optim::check_optimizer<Optimizer>());
  using Scalar = typename Optimizer::Scalar;
  Vector<Scalar> target(3);
  target << Scalar(0.5), Scalar(-1), Scalar(2);
  Vector<Scalar> p = Vector<Scalar>::Zero(3);
  optimizer.reset(p.size());
  const double initial_rate = optimizer.learning_rate();
  for (int i = 0; i < 3000; ++i) {
    if (i > 0 && i % 500 == 0) optimizer.set_learning_rate(optimizer.learning_rate() / 2);
    const Vector<Scalar> gradient = p - target;
    optimizer.step(p, gradient);
  }
  optimizer.set_learning_rate(initial_rate);
  return static_cast<double>((p - target).cwiseAbs().maxCoeff());
}

}  // namespace

TEMPLATE_TEST_CASE("optimizer interface: every optimizer minimizes when driven through the interface only",
                   "[optim][optimizer]", float, double) {
  using Scalar = TestType;
  optim::SgdOptions sgd_options;
  sgd_options.learning_rate = 0.1;
  optim::Sgd<Scalar> sgd(sgd_options);
  optim::Rmsprop<Scalar> rmsprop;
  optim::AdamOptions adam_options;
  adam_options.learning_rate = 0.05;
  optim::Adam<Scalar> adam(adam_options);
  SignDescent<Scalar> sign_descent;

  CHECK(minimize_through_interface(sgd) <= 1e-4);
  CHECK(minimize_through_interface(rmsprop) <= 1e-3);
  CHECK(minimize_through_interface(adam) <= 1e-3);
  // Sign descent stalls at the smallest rate's scale: 1e-2 / 2^5.
  CHECK(minimize_through_interface(sign_descent) <= 1e-3);
  CHECK(sgd.learning_rate() == 0.1);
}

TEST_CASE("optimizer interface: the detail checks name both sizes", "[optim][optimizer]") {
  using optim::detail::check_step_sizes;
  std::string message;
  try {
    check_step_sizes("where", 0, 130, 129);
  } catch (const gantry::ShapeError& error) {
    message = error.what();
  }
  CHECK(message == "where: gradient expects 130 entries (the size of parameters), given 129");
  try {
    check_step_sizes("where", 130, 129, 129);
  } catch (const gantry::ShapeError& error) {
    message = error.what();
  }
  CHECK(message == "where: parameters expect 130 entries (the size of the optimizer state), given 129");
  CHECK_NOTHROW(check_step_sizes("where", 0, 7, 7));
  CHECK_NOTHROW(check_step_sizes("where", 7, 7, 7));
}
