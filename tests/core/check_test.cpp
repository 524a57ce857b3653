// SPDX-License-Identifier: MIT
// Validation helpers: the messages name the function, the field, what was expected and what was given.

#include <limits>

#include <gantry/core/check.hpp>

#include "catch.hpp"

using gantry::Index;
using gantry::Matrix;
using gantry::test::contains;

TEST_CASE("check_shape names the function, the field and both shapes", "[core][check]") {
  const Matrix<double> m = Matrix<double>::Zero(2, 3);
  REQUIRE_NOTHROW(gantry::detail::check_shape("f", "x", m, 2, 3));
  REQUIRE_NOTHROW(gantry::detail::check_shape("f", "x", m, 2, -1));
  REQUIRE_THROWS_AS(gantry::detail::check_shape("f", "x", m, 3, 3), gantry::ShapeError);
  REQUIRE_THROWS_WITH(gantry::detail::check_shape("gantry::f", "input x", m, 3, -1),
                      contains("gantry::f: input x expects shape 3x*, given 2x3"));
}

TEST_CASE("check_finite reports the first non-finite entry with its position", "[core][check]") {
  Matrix<double> m = Matrix<double>::Zero(2, 3);
  m(1, 2) = std::numeric_limits<double>::quiet_NaN();
  REQUIRE_THROWS_AS(gantry::detail::check_finite("g", "samples", m), gantry::DataError);
  REQUIRE_THROWS_WITH(gantry::detail::check_finite("g", "samples", m), contains("g: samples has a non-finite value nan at row 1, column 2"));
}

TEST_CASE("require names the owner, the field, the expectation and the value", "[core][check]") {
  REQUIRE_THROWS_AS(gantry::detail::require(false, "AdamOptions", "beta1", 1.5, "in [0, 1)"), gantry::OptionError);
  REQUIRE_THROWS_WITH(gantry::detail::require(false, "AdamOptions", "beta1", 1.5, "in [0, 1)"),
                      contains("AdamOptions.beta1 must be in [0, 1), given 1.5"));
  REQUIRE_NOTHROW(gantry::detail::require(true, "AdamOptions", "beta1", 0.5, "in [0, 1)"));
  // Every gantry error is a std::exception.
  try {
    gantry::detail::require(false, "O", "f", 0, "x");
  } catch (const std::exception& e) {
    CHECK(std::string(e.what()).find("O.f") != std::string::npos);
  }
}

TEST_CASE("checked_product and checked_sum refuse what a 64-bit index cannot hold, naming it", "[core][check]") {
  constexpr Index max = std::numeric_limits<Index>::max();
  CHECK(gantry::detail::checked_product(4000000000, 2, "f", "x") == 8000000000);
  CHECK(gantry::detail::checked_product(max, 1, "f", "x") == max);
  CHECK(gantry::detail::checked_product(0, max, "f", "x") == 0);
  CHECK(gantry::detail::checked_sum(max - 1, 1, "f", "x") == max);
  REQUIRE_THROWS_AS(gantry::detail::checked_product(4000000000, 4000000000, "f", "x"), gantry::OptionError);
  REQUIRE_THROWS_WITH(gantry::detail::checked_product(4000000000, 4000000000, "gantry::f", "layer 1 parameters"),
                      contains("gantry::f: layer 1 parameters: 4000000000 x 4000000000 overflows a 64-bit index"));
  REQUIRE_THROWS_WITH(gantry::detail::checked_sum(max, 1, "gantry::g", "the counter"),
                      contains("gantry::g: the counter: 9223372036854775807 + 1 overflows a 64-bit index"));
  REQUIRE_THROWS_WITH(gantry::detail::checked_sum(-1, 1, "g", "x"), contains("negative"));
  REQUIRE_THROWS_WITH(gantry::detail::checked_product(-1, 1, "g", "x"), contains("negative"));
}
