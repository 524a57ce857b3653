// SPDX-License-Identifier: MIT
// The thread count that gantry's passes split a batch over.

#include <gantry/core/threads.hpp>

#include "catch.hpp"

using gantry::test::contains;

TEST_CASE("set_thread_count sets what thread_count reports and rejects counts below 1", "[core][threads]") {
  const int before = gantry::thread_count();
  REQUIRE(before >= 1);
  REQUIRE_THROWS_AS(gantry::set_thread_count(0), gantry::OptionError);
  REQUIRE_THROWS_WITH(gantry::set_thread_count(-3), contains("gantry::set_thread_count: threads must be >= 1, given -3"));
  REQUIRE(gantry::thread_count() == before);  // a rejected count changes nothing
  gantry::set_thread_count(1);
  REQUIRE(gantry::thread_count() == 1);
#ifdef _OPENMP
  gantry::set_thread_count(2);
  REQUIRE(gantry::thread_count() == 2);
#else
  REQUIRE_THROWS_WITH(gantry::set_thread_count(2), contains("this build has no OpenMP, so threads must be 1, given 2"));
#endif
  gantry::set_thread_count(before);
}
