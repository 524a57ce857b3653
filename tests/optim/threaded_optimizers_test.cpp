// SPDX-License-Identifier: MIT
// An optimizer step split into segments of the vector over two threads gives the same bits as on one thread, for
// every optimizer and option that changes its update; a non-finite gradient is still refused before any entry
// moves. Built with OpenMP only (CMake): without it a step never splits.

#include <cmath>
#include <cstring>
#include <limits>

#include <gantry/core/rng.hpp>
#include <gantry/core/share_pool.hpp>
#include <gantry/optim/adam.hpp>
#include <gantry/optim/rmsprop.hpp>
#include <gantry/optim/sgd.hpp>

#include "catch.hpp"
#include "support/threads.hpp"

using gantry::Index;
using gantry::Rng;
using gantry::Vector;
using gantry::test::contains;
using gantry::test::ThreadCountScope;
namespace optim = gantry::optim;

namespace {

// Not a multiple of the segment alignment, so that the last segment has a ragged end.
constexpr Index parameter_count = 300007;

template <class Scalar>
bool same_bits(const Vector<Scalar>& a, const Vector<Scalar>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), sizeof(Scalar) * static_cast<std::size_t>(a.size())) == 0;
}

/// Parameters after five steps on a fixed gradient sequence, with `threads` threads.
template <class Optimizer>
Vector<typename Optimizer::Scalar> five_steps(Optimizer optimizer, int threads) {
  using Scalar = typename Optimizer::Scalar;
  const ThreadCountScope restore;
  gantry::set_thread_count(threads);
  Rng rng(9);
  Vector<Scalar> parameters(parameter_count), gradient(parameter_count);
  rng.fill_normal(parameters, 0.0, 1.0);
  for (int step = 0; step < 5; ++step) {
    rng.fill_normal(gradient, 0.0, 1.0);
    optimizer.step(parameters, gradient);
  }
  return parameters;
}

template <class Optimizer>
void check_split_is_exact(const char* label, const Optimizer& optimizer) {
  INFO(label);
  const auto one = five_steps(optimizer, 1);
  const auto two = five_steps(optimizer, 2);
  CHECK(same_bits(two, one));
  CHECK(one.allFinite());
}

}  // namespace

TEMPLATE_TEST_CASE("an optimizer step split over two threads gives the bits of one thread", "[optim][threads]", float,
                   double) {
  {
    const ThreadCountScope restore;
    gantry::set_thread_count(2);
    REQUIRE(gantry::detail::vector_segments(parameter_count, 4) >= 2);  // it does split
  }
  optim::AdamOptions adam;
  check_split_is_exact("Adam", optim::Adam<TestType>(adam));
  adam.weight_decay = 0.01;
  adam.amsgrad = true;
  check_split_is_exact("Adam, weight decay, AMSGrad", optim::Adam<TestType>(adam));

  optim::SgdOptions sgd;
  sgd.learning_rate = 0.01;
  check_split_is_exact("Sgd", optim::Sgd<TestType>(sgd));
  sgd.momentum = 0.9;
  sgd.nesterov = true;
  sgd.weight_decay = 0.01;
  check_split_is_exact("Sgd, Nesterov momentum, weight decay", optim::Sgd<TestType>(sgd));

  optim::RmspropOptions rmsprop;
  check_split_is_exact("Rmsprop", optim::Rmsprop<TestType>(rmsprop));
  rmsprop.centered = true;
  rmsprop.momentum = 0.5;
  rmsprop.weight_decay = 0.01;
  check_split_is_exact("Rmsprop, centered, momentum, weight decay", optim::Rmsprop<TestType>(rmsprop));
}

TEMPLATE_TEST_CASE("a split step refuses a non-finite gradient before moving any entry", "[optim][threads]", float,
                   double) {
  const ThreadCountScope restore;
  gantry::set_thread_count(2);
  optim::Adam<TestType> adam;
  Vector<TestType> parameters = Vector<TestType>::Ones(parameter_count);
  Vector<TestType> gradient = Vector<TestType>::Ones(parameter_count);
  adam.step(parameters, gradient);
  const Vector<TestType> before = parameters;
  const auto first_moment = adam.state().first_moment;
  gradient[parameter_count - 3] = std::numeric_limits<TestType>::infinity();  // in the last segment
  REQUIRE_THROWS_AS(adam.step(parameters, gradient), gantry::DivergenceError);
  REQUIRE_THROWS_WITH(adam.step(parameters, gradient), contains("at entry 300004"));
  CHECK(same_bits(parameters, before));
  CHECK(same_bits(adam.state().first_moment, first_moment));
  CHECK(adam.state().step_count == 1);
}
