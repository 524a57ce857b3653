// SPDX-License-Identifier: MIT
// Must NOT compile: the type has every member of the optimizer interface except step, and
// check_optimizer must say so by name (tests/CMakeLists.txt matches the static_assert's text).
#include "gantry/optim/optimizer.hpp"

namespace {

struct OptimizerWithoutStep {
  using Scalar = double;
  void reset(gantry::Index) {}
  double learning_rate() const { return 1e-3; }
  void set_learning_rate(double) {}
};

}  // namespace

int main() { return gantry::optim::check_optimizer<OptimizerWithoutStep>() ? 0 : 1; }
