// SPDX-License-Identifier: MIT
// Whether a helper shares its core (core/contention_watch.hpp): on made-up timelines of run-queue waits, when the
// watch says shared and for how long; and on Linux, that the kernel's count it reads grows when two threads take
// turns on one CPU, and can be read by a thread that has just started (as a pool helper does).

#include <gantry/core/contention_watch.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "catch.hpp"

#if defined(__linux__)
#include <sched.h>
#endif

using gantry::detail::ContentionWatch;
using gantry::detail::RunQueueWait;
using Ns = ContentionWatch::Nanoseconds;

namespace {

constexpr Ns ms = 1'000'000;

/// Feeds a watch reports every `step`, waiting `wait_per_step` of each; tells whether it said shared at the end.
struct Timeline {
  ContentionWatch watch;
  Ns now = 0, waited = 0;

  Timeline() { watch.observe(now, waited); }

  void run(Ns duration, Ns step, Ns wait_per_step) {
    for (Ns end = now + duration; now < end;) {
      now += step;
      waited += wait_per_step;
      watch.observe(now, waited);
    }
  }
  bool shared() const { return watch.shared(now); }
};

}  // namespace

TEST_CASE("a thread that seldom waits for the CPU keeps its core, kernel threads' bursts included",
          "[core][threads]") {
  Timeline line;
  // 0.4 % waiting, as measured on a core of its own, reported every 0.1 ms for 2 s.
  for (int i = 0; i < 20000; ++i) {
    line.run(100'000, 100'000, 400);
    REQUIRE_FALSE(line.shared());
  }
  // A kernel thread holding the CPU for 4.9 ms every 0.5 s, falling anywhere across the watch's stretches: a
  // busy stretch alone, or two under a quarter, never a shared core.
  for (Ns offset = 0; offset < ContentionWatch::window; offset += 100'000) {
    line.run(500 * ms + offset, 100'000, 400);
    line.run(4'900'000, 100'000, 100'000);
    CHECK_FALSE(line.shared());
  }
}

TEST_CASE("a thread that waits half the time shares its core from the second busy stretch, for memory after",
          "[core][threads]") {
  Timeline line;
  line.run(ContentionWatch::window, ContentionWatch::window, ContentionWatch::window / 2);
  CHECK_FALSE(line.shared());  // one busy stretch
  line.run(ContentionWatch::window, ContentionWatch::window, ContentionWatch::window / 2);
  REQUIRE(line.shared());
  // Stays shared while the waiting goes on, reported often or seldom.
  line.run(300 * ms, 50'000, 25'000);
  CHECK(line.shared());
  line.run(300 * ms, 30 * ms, 15 * ms);
  CHECK(line.shared());
  // Then no more waiting: shared until `memory` after the last busy pair, and not after.
  const Ns quiet_from = line.now;
  CHECK(line.watch.shared(quiet_from + ContentionWatch::memory - 1));
  line.run(ContentionWatch::memory + ContentionWatch::window, 1 * ms, 0);
  CHECK_FALSE(line.shared());
}

TEST_CASE("the share of a stretch spent waiting decides, at a quarter", "[core][threads]") {
  const Ns w = ContentionWatch::window;
  SECTION("a quarter is busy") {
    Timeline line;
    line.run(2 * w, w, w * ContentionWatch::busy_share_percent / 100);
    CHECK(line.shared());
  }
  SECTION("just under a quarter is not") {
    Timeline line;
    line.run(100 * w, w, w * ContentionWatch::busy_share_percent / 100 - 1000);
    CHECK_FALSE(line.shared());
  }
  SECTION("reports closer than the window add up to one stretch") {
    Timeline line;
    line.run(w - 1000, 1000, 500);  // 10 ms at 50 %, reported every microsecond: one stretch, not yet judged
    CHECK_FALSE(line.shared());
    line.run(2 * w, 1000, 500);
    CHECK(line.shared());
  }
  SECTION("a long quiet stretch between two busy ones breaks the pair") {
    Timeline line;
    line.run(w, w, w / 2);
    line.run(5 * w, 5 * w, 0);  // a helper asleep for 50 ms between jobs: one stretch, not waiting
    line.run(w, w, w / 2);
    CHECK_FALSE(line.shared());
    line.run(w, w, w / 2);
    CHECK(line.shared());
  }
}

TEST_CASE("an unknown wait is ignored", "[core][threads]") {
  ContentionWatch watch;
  for (Ns t = 0; t < 200 * ms; t += 1 * ms) watch.observe(t, -1);
  CHECK_FALSE(watch.shared(200 * ms));
  // Known readings after unknown ones start the count afresh.
  for (Ns t = 200 * ms; t <= 230 * ms; t += 1 * ms) watch.observe(t, (t - 200 * ms) / 2);
  CHECK(watch.shared(230 * ms));
}

#if defined(__linux__)

TEST_CASE("the run-queue wait read on Linux grows when two threads take turns on one CPU", "[core][threads]") {
  RunQueueWait own;
  if (!own.available()) {
    // A kernel without CONFIG_SCHED_INFO, or one that keeps no counts ("0 0 0"): the documented fallback, said
    // out loud.
    WARN("/proc/thread-self/schedstat is missing or keeps no counts: the helpers cannot see a shared core here");
    CHECK(own.wait() == -1);
    return;
  }
  const std::int64_t first = own.wait();
  REQUIRE(first >= 0);
  CHECK(own.wait() >= first);

  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  REQUIRE(sched_getaffinity(0, sizeof allowed, &allowed) == 0);
  int cpu = 0;
  while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &allowed)) ++cpu;
  REQUIRE(cpu < CPU_SETSIZE);

  // Two threads pinned to one CPU, both spinning until both have run there for 200 ms of wall time: the OS
  // shares the CPU between them, so each waits for it about half the time.
  std::atomic<int> ready{0};
  struct Seen {
    std::int64_t waited = -1;
    bool pinned = false, shared = false;
  } seen[2];
  auto spinner = [&](Seen& out) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    out.pinned = sched_setaffinity(0, sizeof one, &one) == 0;
    const RunQueueWait mine;
    ContentionWatch watch;
    ready.fetch_add(1);
    while (ready.load() < 2) {
    }
    const auto start = std::chrono::steady_clock::now();
    const std::int64_t before = mine.wait();
    for (auto now = start; now - start < std::chrono::milliseconds(200); now = std::chrono::steady_clock::now())
      watch.observe(std::chrono::duration_cast<std::chrono::nanoseconds>(now - start).count(), mine.wait());
    out.waited = mine.wait() - before;
    out.shared = watch.shared(std::chrono::nanoseconds(std::chrono::milliseconds(200)).count());
  };
  std::thread a(spinner, std::ref(seen[0])), b(spinner, std::ref(seen[1]));
  a.join();
  b.join();
  for (const Seen& s : seen) {
    REQUIRE(s.pinned);
    CHECK(s.waited >= 40 * ms);  // about 100 ms each; 40 leaves room for a slow start of the other thread
    CHECK(s.shared);
  }
}

TEST_CASE("a run-queue wait reader made first thing on a new thread can tell", "[core][threads]") {
  // A pool helper makes its reader as it starts. The kernel has often not yet accounted a new thread's run time
  // then, and its file reads "0 0 0" like a kernel that keeps no counts; the reader must not take it for one.
  RunQueueWait own;  // this thread has run for a while, so this says whether the kernel keeps counts at all
  if (!own.available()) {
    WARN("/proc/thread-self/schedstat is missing or keeps no counts: the helpers cannot see a shared core here");
    return;
  }
  constexpr int threads = 100;
  std::vector<char> available(threads, 0);
  std::vector<std::int64_t> wait(threads, -2);
  for (int i = 0; i < threads; ++i) {
    std::thread([&, i] {
      const RunQueueWait reader;
      available[i] = reader.available();
      wait[i] = reader.wait();
    }).join();
  }
  int unavailable = 0;
  for (int i = 0; i < threads; ++i) {
    if (!available[i]) ++unavailable;
    CHECK(wait[i] >= 0);
  }
  CHECK(unavailable == 0);
}

#endif
