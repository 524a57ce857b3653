// SPDX-License-Identifier: MIT
// When the pool keeps its helpers out (core/helper_advisor.hpp): the verdict over a window of jobs, the stretch
// of solo jobs it starts, its doubling and reset, and the jobs it cannot judge.

#include <gantry/core/helper_advisor.hpp>

#include <chrono>

#include "catch.hpp"

using gantry::detail::HelperAdvisor;
using Clock = HelperAdvisor::Clock;
using std::chrono::microseconds;
using std::chrono::milliseconds;

namespace {

/// Feeds one window of identical jobs ending at `now`: the calling thread ran `mine` of `pieces` in `caller`,
/// then waited `wait`.
void window_of(HelperAdvisor& advisor, Clock::time_point now, Clock::duration caller, Clock::duration wait,
               int mine = 1, int pieces = 2) {
  for (int job = 0; job < HelperAdvisor::window; ++job) advisor.pooled_job(caller, wait, mine, pieces, now);
}

}  // namespace

TEST_CASE("helpers that finish with the calling thread stay in", "[core][threads]") {
  HelperAdvisor advisor;
  const Clock::time_point now = Clock::now();
  window_of(advisor, now, microseconds(200), microseconds(20));
  CHECK_FALSE(advisor.solo(now));
  // One late wake-up in a window does not decide: 16 x 1 ms saved against 10 ms waited once.
  for (int job = 0; job < HelperAdvisor::window; ++job)
    advisor.pooled_job(milliseconds(1), job == 7 ? milliseconds(10) : microseconds(0), 1, 2, now);
  CHECK_FALSE(advisor.solo(now));
}

TEST_CASE("helpers that hold the job longer than their pieces would take alone are kept out for a stretch",
          "[core][threads]") {
  HelperAdvisor advisor;
  const Clock::time_point now = Clock::now();
  // A helper preempted in a piece: 0.2 ms of the calling thread's work, 3 ms of waiting, each job.
  for (int job = 0; job + 1 < HelperAdvisor::window; ++job)
    advisor.pooled_job(microseconds(200), milliseconds(3), 1, 2, now);
  CHECK_FALSE(advisor.solo(now));  // no verdict before the window is full
  advisor.pooled_job(microseconds(200), milliseconds(3), 1, 2, now);
  CHECK(advisor.solo(now));
  CHECK(advisor.solo(now + HelperAdvisor::first_solo - microseconds(1)));
  CHECK_FALSE(advisor.solo(now + HelperAdvisor::first_solo));
}

TEST_CASE("the break-even is the calling thread running the helpers' pieces itself", "[core][threads]") {
  // The calling thread ran 3 of 4 pieces in 3 ms: alone it would need 1 ms more.
  HelperAdvisor slower;
  const Clock::time_point now = Clock::now();
  window_of(slower, now, milliseconds(3), microseconds(1100), 3, 4);
  CHECK(slower.solo(now));
  HelperAdvisor faster;
  window_of(faster, now, milliseconds(3), microseconds(900), 3, 4);
  CHECK_FALSE(faster.solo(now));
}

TEST_CASE("verdicts in a row double the stretch up to its cap, and a good window resets it", "[core][threads]") {
  HelperAdvisor advisor;
  Clock::time_point now = Clock::now();
  Clock::duration expected = HelperAdvisor::first_solo;
  for (int verdict = 0; verdict < 10; ++verdict) {
    INFO("verdict " << verdict);
    REQUIRE(advisor.next_solo_length() == expected);
    window_of(advisor, now, microseconds(200), milliseconds(3));
    REQUIRE(advisor.solo(now + expected - microseconds(1)));
    REQUIRE_FALSE(advisor.solo(now + expected));
    now += expected;  // the stretch ends, the helpers get a trial window
    expected = std::min<Clock::duration>(2 * expected, HelperAdvisor::max_solo);
  }
  CHECK(advisor.next_solo_length() == HelperAdvisor::max_solo);
  window_of(advisor, now, microseconds(200), microseconds(10));
  CHECK_FALSE(advisor.solo(now));
  CHECK(advisor.next_solo_length() == HelperAdvisor::first_solo);
}

TEST_CASE("jobs the calling thread ran whole, or none of, are not counted", "[core][threads]") {
  HelperAdvisor advisor;
  const Clock::time_point now = Clock::now();
  window_of(advisor, now, milliseconds(1), milliseconds(50), 2, 2);  // the helpers took nothing
  window_of(advisor, now, milliseconds(1), milliseconds(50), 0, 2);  // the calling thread took nothing
  CHECK_FALSE(advisor.solo(now));
  // Not counted either: these 2 x 16 jobs left the window empty, so 15 bad jobs are still short of a verdict.
  for (int job = 0; job + 1 < HelperAdvisor::window; ++job)
    advisor.pooled_job(microseconds(200), milliseconds(3), 1, 2, now);
  CHECK_FALSE(advisor.solo(now));
}
