// SPDX-License-Identifier: MIT
// Once sized by a first product, J w and J^T u allocate nothing on the heap: the Scalar passes (objective) and the
// Dual ones (penalties, consensus) alike, as an Arnoldi loop calls them.

#include "support/no_malloc.hpp"  // first: before any Eigen header

#include <gantry/gantry.hpp>
#include <gantry/metrics/game_jacobian.hpp>

#include "catch.hpp"
#include "support/networks.hpp"

using gantry::Vector;
namespace loss = gantry::loss;
namespace metrics = gantry::metrics;
namespace nn = gantry::nn;
namespace train = gantry::train;

namespace {

// Small enough that Eigen's GEMM keeps its packing blocks on the stack, as in tests/train/no_allocation_test.cpp.
template <class Policy>
void check_products(const Policy& policy) {
  gantry::Rng rng(12);
  nn::Mlp<double> generator({2, 24, 24, 2}, nn::Activation::relu()), critic({2, 24, 24, 1}, nn::Activation::relu());
  generator.initialize(nn::InitScheme::torch_default, rng);
  critic.initialize(nn::InitScheme::torch_default, rng);
  train::Batch<double> batch{gantry::test::random_matrix<double>(2, 32, rng),
                             gantry::test::random_matrix<double>(2, 32, rng), {}, {}};
  batch.eps.resize(32);
  rng.fill_uniform(batch.eps);
  metrics::GameJacobian<Policy, double> jacobian(policy, generator, critic, batch);
  Vector<double> w = gantry::test::random_vector<double>(jacobian.size(), rng), out(jacobian.size());
  jacobian.apply(w, out);  // sizes every buffer
  jacobian.apply_transpose(w, out);
  const Vector<double> first = out;
  {
    gantry::test::NoMallocScope no_malloc;
    for (int i = 0; i < 3; ++i) {
      jacobian.apply(w, out);
      jacobian.apply_transpose(w, out);
    }
  }
  CHECK(out == first);  // and they computed the same thing again
  CHECK(out.norm() > 0);
}

}  // namespace

TEST_CASE("J w and J^T u allocate nothing once sized", "[metrics][game_jacobian][allocation]") {
  REQUIRE(gantry::test::allocation_guard_is_live());
  check_products(gantry::NonSaturating{});
  check_products(gantry::WganGp{});
  check_products(gantry::ZeroCenteredGp{});
  check_products(gantry::Consensus{});
}
