// SPDX-License-Identifier: MIT
// A helper that shares its core (core/slice_watch.hpp): on timelines of turns and pauses made up here, what it
// learns of its turns, when it still starts a piece, and the pauses that must not count (a sleep, a lone
// interrupt, a turn far off the others).

#include <gantry/core/slice_watch.hpp>

#include <cstdint>

#include "catch.hpp"

using gantry::detail::SliceWatch;
using Ns = SliceWatch::Nanoseconds;

namespace {

constexpr Ns us = 1'000;
constexpr Ns ms = 1'000'000;

/// One thread's clocks: wall time, and the CPU time it has had. run() advances both, pause() the wall only.
struct Timeline {
  Ns wall = 5'000 * ms;  // a steady clock reads the time since boot
  Ns cpu = 0;
  SliceWatch watch;

  void run(Ns t) {
    wall += t;
    cpu += t;
  }
  void pause(Ns t) { wall += t; }
  void report(bool slept = false, bool after_piece = false) { watch.observe(wall, cpu, slept, after_piece); }
  /// A piece of `t`, reported after it as a piece.
  void piece(Ns t) {
    run(t);
    report(false, true);
  }
  /// The thread spins, reporting every `step`, for `t` of its turn.
  void spin(Ns t, Ns step = 5 * us) {
    for (Ns done = 0; done < t; done += step) {
      run(step);
      report();
    }
  }
};

}  // namespace

TEST_CASE("a thread that is never paused takes every piece", "[core][threads]") {
  Timeline line;
  line.report();
  for (int k = 0; k < 1000; ++k) line.piece(300 * us);
  CHECK_FALSE(line.watch.shared(line.wall));
  CHECK(line.watch.expected_turn() == 0);
  CHECK(line.watch.may_start(line.wall));
  CHECK(line.watch.longest_piece() == 300 * us);
}

TEST_CASE("one pause alone, or pauses after sleeps, do not make a core shared", "[core][threads]") {
  Timeline line;
  line.report();
  line.spin(1 * ms);
  line.pause(2 * ms);  // an interrupt, or the hypervisor taking the CPU once
  line.report();
  CHECK_FALSE(line.watch.shared(line.wall));
  // Sleeping between jobs: long pauses, the thread's own.
  for (int k = 0; k < 20; ++k) {
    line.spin(500 * us);
    line.pause(3 * ms);
    line.report(true);
  }
  CHECK_FALSE(line.watch.shared(line.wall));
  CHECK(line.watch.expected_turn() == 0);
  CHECK(line.watch.may_start(line.wall));
}

TEST_CASE("turns on a shared core are learned, and a piece is started only when it fits in what is left",
          "[core][threads]") {
  Timeline line;
  line.report();
  // Turns of 1.6 ms and pauses of 2.4 ms, the thread spinning (reporting every 5 us): the pattern measured
  // with a busy loop on the helper's CPU.
  for (int k = 0; k < 6; ++k) {
    line.spin(1600 * us);
    line.pause(2400 * us);
    line.report();
  }
  REQUIRE(line.watch.shared(line.wall));
  CHECK(line.watch.expected_turn() >= 1590 * us);
  CHECK(line.watch.expected_turn() <= 1600 * us);

  // A new turn has just begun. Pieces of 200 us: a piece may start while 200 us + margin still fit.
  line.piece(200 * us);
  const Ns began = line.wall - 200 * us;
  for (;;) {
    const Ns left = began + line.watch.expected_turn() - line.wall;
    const bool fits = left >= line.watch.longest_piece() + SliceWatch::margin;
    CHECK(line.watch.may_start(line.wall) == fits);
    if (!fits) break;
    line.piece(200 * us);
  }
  CHECK(line.wall - began >= 1200 * us);  // most of the turn was used for pieces: 6 of them
  // The rest of the turn is spun away; after the pause, pieces start again.
  line.spin(1600 * us - (line.wall - began));
  CHECK_FALSE(line.watch.may_start(line.wall));
  line.pause(2400 * us);
  line.report();
  CHECK(line.watch.may_start(line.wall));
}

TEST_CASE("one odd turn does not move the expected one: the second shortest of the last five", "[core][threads]") {
  Timeline line;
  line.report();
  const Ns turns[] = {1600 * us, 1700 * us, 400 * us, 1650 * us, 1600 * us, 1650 * us};
  for (Ns turn : turns) {
    line.spin(turn);
    line.pause(2400 * us);
    line.report();
  }
  // Measured from the second pause on: 1700, 400, 1650, 1600, 1650 (to within one report); sorted, the second
  // is 1600 whichever turn was odd.
  CHECK(line.watch.expected_turn() >= 1590 * us);
  CHECK(line.watch.expected_turn() <= 1600 * us);
}

TEST_CASE("a piece longer than any turn is started anyway, and a core quiet for long is the thread's own again",
          "[core][threads]") {
  Timeline line;
  line.report();
  for (int k = 0; k < 6; ++k) {
    line.spin(1600 * us);
    line.pause(2400 * us);
    line.report();
  }
  REQUIRE(line.watch.shared(line.wall));
  line.spin(1400 * us);
  line.piece(100 * us);
  CHECK_FALSE(line.watch.may_start(line.wall));  // 100 us left of the turn: less than a piece and the margin
  line.pause(2400 * us);
  line.report();
  line.piece(5 * ms);  // a width-512 piece: longer than a turn, then 3.4 ms of it went to the other thread
  line.pause(3400 * us);
  line.report();
  CHECK(line.watch.longest_piece() == 5 * ms);
  CHECK(line.watch.may_start(line.wall));  // no turn could hold it: start it, as without the watch
  // The other process ends: no pause for `memory`.
  for (Ns t = 0; t <= SliceWatch::memory; t += 1 * ms) line.piece(1 * ms);
  CHECK_FALSE(line.watch.shared(line.wall));
  CHECK(line.watch.may_start(line.wall));
}

TEST_CASE("a guess proven wrong by a longer turn is forgotten, after a bounded wait", "[core][threads]") {
  // A core of its own on a busy virtual machine: pauses of 1 ms every 60 ms or so, the machine's own. They look
  // like turns of another thread...
  Timeline line;
  line.report();
  for (int k = 0; k < 4; ++k) {
    for (int p = 0; p < 200; ++p) line.piece(300 * us);
    line.pause(1 * ms);
    line.report();
  }
  REQUIRE(line.watch.shared(line.wall));
  const Ns expected = line.watch.expected_turn();
  REQUIRE(expected >= 59 * ms);
  REQUIRE(expected <= 60 * ms);
  // ...until a turn runs on past the expected one: the thread waits at most a piece, the margin and `late`.
  const Ns began = line.wall;
  Ns waited = 0;
  while (line.wall - began < 150 * ms) {
    if (line.watch.may_start(line.wall)) {
      line.piece(300 * us);
    } else {
      line.spin(5 * us);
      waited += 5 * us;
    }
  }
  CHECK(waited > 0);
  CHECK(waited <= 300 * us + SliceWatch::margin + SliceWatch::late + 10 * us);
  CHECK_FALSE(line.watch.shared(line.wall));
  CHECK(line.watch.expected_turn() == 0);
  // The next pause alone does not make the core shared again.
  line.pause(1 * ms);
  line.report();
  CHECK_FALSE(line.watch.shared(line.wall));
}

TEST_CASE("a pause after which the thread may have slept begins a turn but measures none", "[core][threads]") {
  Timeline line;
  line.report();
  for (int k = 0; k < 6; ++k) {
    line.spin(1600 * us);
    line.pause(2400 * us);
    line.report();
  }
  const Ns expected = line.watch.expected_turn();
  REQUIRE(expected > 0);
  // A short run, then a sleep: no turn of 300 us is learned from it...
  line.spin(300 * us);
  line.pause(5 * ms);
  line.report(true);
  line.spin(300 * us);
  line.pause(2400 * us);
  line.report();
  CHECK(line.watch.expected_turn() == expected);
  // ...and the turn after the last pause counts from it.
  CHECK(line.watch.may_start(line.wall));
}
