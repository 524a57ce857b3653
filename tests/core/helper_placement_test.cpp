// SPDX-License-Identifier: MIT
// A helper thread keeping off the calling thread's CPU (core/helper_placement.hpp): on Linux it leaves that CPU
// at once and gets every CPU it started with back; with one CPU to run on, or elsewhere, it stays as it is; pinned
// by another thread (a CPU lent by the calling thread), it takes its CPUs back.

#include <gantry/core/helper_placement.hpp>

#include <atomic>
#include <thread>

#include "catch.hpp"

using gantry::detail::current_cpu;
using gantry::detail::current_thread_id;
using gantry::detail::HelperPlacement;

#if defined(__linux__)

namespace {

bool same_cpus(const cpu_set_t& a, const cpu_set_t& b) { return CPU_EQUAL(&a, &b) != 0; }

}  // namespace

TEST_CASE("a helper on the calling thread's CPU moves off it, and gets its CPUs back when asked",
          "[core][threads]") {
  // On a thread of its own, as a helper is: the test thread's affinity is never touched.
  struct Seen {
    cpu_set_t started_with{}, while_avoiding{}, restored{}, after_other{};
    int cpu = -1, cpu_after = -1, avoided = -2, avoided_after_restore = -2, avoided_other = -2;
  } seen;
  std::thread helper([&seen] {
    CPU_ZERO(&seen.started_with);
    sched_getaffinity(0, sizeof seen.started_with, &seen.started_with);
    HelperPlacement placement;
    // As if the calling thread ran here. The OS may move this thread between reading its CPU and keep_off()
    // (on a loaded machine): then keep_off() rightly sees no meeting, and the test tries again.
    for (int attempt = 0; attempt < 100 && placement.avoided() < 0; ++attempt) {
      seen.cpu = current_cpu();
      placement.keep_off(seen.cpu);
    }
    seen.avoided = placement.avoided();
    seen.cpu_after = current_cpu();
    sched_getaffinity(0, sizeof seen.while_avoiding, &seen.while_avoiding);
    placement.keep_off(-1);  // the calling thread's CPU unknown: every CPU again
    seen.avoided_after_restore = placement.avoided();
    sched_getaffinity(0, sizeof seen.restored, &seen.restored);
    // A calling thread on another CPU than this one: nothing to move away from (again unless the OS moves this
    // thread onto that CPU in between: then it tries again).
    for (int attempt = 0; attempt < 100; ++attempt) {
      placement.restore();
      const int here = current_cpu();
      int other = -1;
      for (int c = 0; c < CPU_SETSIZE && other < 0; ++c)
        if (c != here && CPU_ISSET(c, &seen.started_with)) other = c;
      placement.keep_off(other);
      seen.avoided_other = placement.avoided();
      if (seen.avoided_other == -1) break;
    }
    sched_getaffinity(0, sizeof seen.after_other, &seen.after_other);
  });
  helper.join();

  REQUIRE(seen.cpu >= 0);
  CHECK(seen.avoided_after_restore == -1);
  CHECK(same_cpus(seen.restored, seen.started_with));
  CHECK(seen.avoided_other == -1);
  CHECK(same_cpus(seen.after_other, seen.started_with));
  if (CPU_COUNT(&seen.started_with) >= 2) {
    CHECK(seen.avoided == seen.cpu);
    CHECK(seen.cpu_after != seen.cpu);  // sched_setaffinity moves the thread before it returns
    CHECK_FALSE(CPU_ISSET(seen.cpu, &seen.while_avoiding));
    CHECK(CPU_COUNT(&seen.while_avoiding) == CPU_COUNT(&seen.started_with) - 1);
  } else {
    // One CPU for the process: the helper has nowhere else to go and stays.
    CHECK(seen.avoided == -1);
    CHECK(same_cpus(seen.while_avoiding, seen.started_with));
  }
}

TEST_CASE("a helper restricted to one CPU stays on it", "[core][threads]") {
  struct Seen {
    cpu_set_t pinned{}, after{};
    int avoided = -2;
    bool pinned_ok = false;
  } seen;
  std::thread helper([&seen] {
    const int here = current_cpu();
    CPU_ZERO(&seen.pinned);
    CPU_SET(here, &seen.pinned);
    seen.pinned_ok = sched_setaffinity(0, sizeof seen.pinned, &seen.pinned) == 0;
    HelperPlacement placement;
    placement.keep_off(current_cpu());
    seen.avoided = placement.avoided();
    sched_getaffinity(0, sizeof seen.after, &seen.after);
  });
  helper.join();
  REQUIRE(seen.pinned_ok);
  CHECK(seen.avoided == -1);
  CHECK(same_cpus(seen.after, seen.pinned));
}

TEST_CASE("a helper pinned to another thread's CPU takes every CPU it started with back", "[core][threads]") {
  // SharePool lends a helper the calling thread's CPU with pin_thread(); the helper then calls reclaim().
  cpu_set_t started_with;
  CPU_ZERO(&started_with);
  REQUIRE(sched_getaffinity(0, sizeof started_with, &started_with) == 0);
  int target = -1;  // the last CPU this process may use
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &started_with)) target = c;
  REQUIRE(target >= 0);

  std::atomic<long> helper_id{0};
  std::atomic<bool> pinned{false};
  struct Seen {
    cpu_set_t while_pinned{}, reclaimed{};
    int cpu_while_pinned = -1, avoided_before = -2, avoided_after = -2;
  } seen;
  std::thread helper([&] {
    HelperPlacement placement;
    for (int attempt = 0; attempt < 100 && placement.avoided() < 0; ++attempt)
      placement.keep_off(current_cpu());  // kept off some CPU first (with two or more), as in a job
    seen.avoided_before = placement.avoided();
    helper_id = current_thread_id();
    while (!pinned) std::this_thread::yield();
    seen.cpu_while_pinned = current_cpu();
    sched_getaffinity(0, sizeof seen.while_pinned, &seen.while_pinned);
    placement.reclaim();
    seen.avoided_after = placement.avoided();
    sched_getaffinity(0, sizeof seen.reclaimed, &seen.reclaimed);
  });
  while (helper_id == 0) std::this_thread::yield();
  const bool pinned_ok = gantry::detail::pin_thread(helper_id, target);
  pinned = true;
  helper.join();

  REQUIRE(pinned_ok);
  CHECK(seen.cpu_while_pinned == target);  // the OS moved it before pin_thread returned
  CHECK(CPU_COUNT(&seen.while_pinned) == 1);
  CHECK(CPU_ISSET(target, &seen.while_pinned));
  if (CPU_COUNT(&started_with) >= 2) CHECK(seen.avoided_before >= 0);
  CHECK(seen.avoided_after == -1);
  CHECK(same_cpus(seen.reclaimed, started_with));
  CHECK_FALSE(gantry::detail::pin_thread(0, target));  // no such thread id: refused, not this thread
}

#else

TEST_CASE("without Linux's affinity calls a helper stays where it is", "[core][threads]") {
  HelperPlacement placement;
  placement.keep_off(current_cpu());
  CHECK(current_cpu() == -1);
  CHECK(placement.avoided() == -1);
}

#endif
