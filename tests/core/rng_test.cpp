// SPDX-License-Identifier: MIT
// The portable generator: determinism, state round trip, and the moments of its distributions.

#include <gantry/core/rng.hpp>

#include "catch.hpp"

using gantry::Rng;

TEST_CASE("the same seed gives the same stream, another seed another", "[core][rng]") {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const auto x = a(), y = b(), z = c();
    REQUIRE(x == y);
    differs = differs || (x != z);
  }
  REQUIRE(differs);
}

TEST_CASE("saving and restoring the state continues the stream bit for bit", "[core][rng]") {
  Rng a(7);
  a.normal();  // leaves a spare normal in the state
  const Rng::State saved = a.state();
  std::vector<double> first;
  for (int i = 0; i < 10; ++i) first.push_back(a.normal());
  Rng b(0);
  b.set_state(saved);
  for (int i = 0; i < 10; ++i) REQUIRE(b.normal() == first[std::size_t(i)]);
}

TEST_CASE("uniform and normal draws have the right moments", "[core][rng]") {
  Rng rng(3);
  const int n = 200000;
  double sum_u = 0, sum_n = 0, sum_n2 = 0, min_u = 1, max_u = 0;
  for (int i = 0; i < n; ++i) {
    const double u = rng.uniform();
    min_u = std::min(min_u, u);
    max_u = std::max(max_u, u);
    sum_u += u;
    const double z = rng.normal();
    sum_n += z;
    sum_n2 += z * z;
  }
  CHECK(min_u >= 0.0);
  CHECK(max_u < 1.0);
  CHECK(std::abs(sum_u / n - 0.5) < 0.005);
  CHECK(std::abs(sum_n / n) < 0.01);
  CHECK(std::abs(sum_n2 / n - 1.0) < 0.02);
  std::array<int, 5> counts{};
  for (int i = 0; i < 50000; ++i) ++counts[std::size_t(rng.below(5))];
  for (int count : counts) CHECK(std::abs(count - 10000) < 500);
}
