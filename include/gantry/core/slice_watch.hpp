// SPDX-License-Identifier: MIT
#pragma once
/// Whether a helper thread that shares its core with another process can start one more piece of a job before
/// the OS takes the core away from it (docs/PERFORMANCE.md, "Speed on a busy machine").

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

namespace gantry::detail {

/// Learns, on one thread, how long the OS lets it run between preemptions, and says whether a piece started now
/// would likely be cut by the next one.
///
/// When another process runs on the same core, the OS gives the two turns of a few milliseconds (on the 250 Hz
/// test machine the helper ran 1-2.5 ms of every 4 ms). A helper preempted in the middle of a piece holds the
/// whole job for the other process's turn while the calling thread, on a core of its own, has nothing left to do:
/// two threads then run no faster than one. A helper that starts only the pieces it can finish within its turn
/// never holds the job: in its turn it takes pieces at a whole core's speed, and outside it the calling thread
/// takes them all.
///
/// The thread reports its wall-clock and CPU time (observe()) when it joins a job, after each piece, and every few
/// microseconds while it waits without sleeping. Wall time it did not spend on the CPU since the previous
/// report, above `off_core`, means the core was another thread's. The pause lies somewhere between the two reports, so
/// the turn that follows began between the earliest and the latest the pause can have ended (a piece apart when the
/// thread ran one in between, microseconds when it was spinning), and the turn before lasted at least from the latest
/// it can have begun to the report before the pause. The second shortest of the last five such turns is the expected
/// turn. A piece may start when the time since the earliest start of this turn, plus the longest recent piece, plus
/// `margin`, fits in the expected turn. The core counts as shared from the second pause within `memory` until `memory`
/// after the last one; on a core of its own, and when a piece fits in no turn, every piece may start (the pool's
/// advisor then judges the helpers by their waits). A turn that outlasts the expected one by `late` shows the guess
/// wrong (the pauses were the machine's own, not another thread's turns, as on a quiet virtual machine): the turns are
/// forgotten and the core is the thread's own again, so that a wrong guess costs at most one piece's wait and `late`. A
/// pause after which the thread may have slept begins a turn but ends none that could be measured. All times in
/// nanoseconds.
class SliceWatch {
 public:
  using Nanoseconds = std::int64_t;

  static constexpr Nanoseconds off_core = 300'000;    ///< a longer pause off the CPU: another thread had the core
  static constexpr Nanoseconds memory = 200'000'000;  ///< a core not seen shared for this long is the thread's own
  static constexpr Nanoseconds margin = 100'000;      ///< spare time left at the end of a turn
  static constexpr Nanoseconds late = 2'000'000;      ///< a turn this much longer than expected was no turn
  static constexpr int turns_kept = 5;                ///< the expected turn is the second shortest of these

  /// The thread's wall-clock and CPU time now. `may_have_slept`: it may have waited on a lock or condition since
  /// the previous report. `after_piece`: it ran one piece since the previous report.
  void observe(Nanoseconds wall, Nanoseconds cpu, bool may_have_slept, bool after_piece) {
    if (!started_) {
      started_ = true;
      mark(wall, cpu);
      return;
    }
    const Nanoseconds on_cpu = std::max<Nanoseconds>(cpu - cpu_mark_, 0);
    const Nanoseconds off = (wall - wall_mark_) - on_cpu;
    if (after_piece) {
      // The longest recent piece, forgotten slowly: a job's pieces differ (forward, reverse, sums).
      piece_ = on_cpu > piece_ ? on_cpu : piece_ + (on_cpu - piece_) / 8;
    }
    if (off > off_core) {
      if (!may_have_slept) {
        // From the latest the turn can have begun to the last report in it: the least it can have lasted.
        if (turn_measurable_) remember_turn(wall_mark_ - (turn_began_ + turn_start_error_));
        // Two pauses within `memory`: one alone may be the machine's own (an interrupt, a hypervisor's steal).
        if (wall - last_pause_ < memory) shared_until_ = wall + memory;
        last_pause_ = wall;
      }
      turn_began_ = wall_mark_ + off;
      // The pause lies somewhere in the interval: the turn began up to its CPU time later (a piece's, when the
      // thread ran one; a few microseconds when it reported as it spun).
      turn_start_error_ = on_cpu;
      turn_measurable_ = !may_have_slept;
    } else if (turn_ > 0 && wall - turn_began_ > turn_ + late) {
      forget_turns();
    }
    mark(wall, cpu);
  }

  /// True when a piece started at `wall` (the time of the last observe()) would likely finish within this turn.
  bool may_start(Nanoseconds wall) const {
    if (!shared(wall) || turn_ <= 0) return true;
    const Nanoseconds needed = piece_ + margin;
    if (needed > turn_) return true;
    return (wall - turn_began_) + needed <= turn_;
  }

  /// True while the thread's core counts as shared with another thread.
  bool shared(Nanoseconds wall) const { return wall < shared_until_; }
  /// The expected turn (0: fewer than one measured).
  Nanoseconds expected_turn() const { return turn_; }
  /// The longest recent piece.
  Nanoseconds longest_piece() const { return piece_; }

 private:
  void mark(Nanoseconds wall, Nanoseconds cpu) {
    wall_mark_ = wall;
    cpu_mark_ = cpu;
  }

  void forget_turns() {
    measured_ = 0;
    next_turn_ = 0;
    turn_ = 0;
    shared_until_ = 0;
    last_pause_ = -memory;
  }

  void remember_turn(Nanoseconds turn) {
    if (turn <= 0) return;
    turns_[static_cast<std::size_t>(next_turn_)] = turn;
    next_turn_ = (next_turn_ + 1) % turns_kept;
    if (measured_ < turns_kept) ++measured_;
    // The second shortest (the shortest while fewer than four are known), not the median: guessing a turn too long
    // costs a piece cut off for the other thread's whole turn, guessing it too short only a piece's worth of spin.
    // One odd long or short turn still does not move it.
    std::array<Nanoseconds, turns_kept> sorted = turns_;
    const auto wanted = sorted.begin() + measured_ / 4;
    std::nth_element(sorted.begin(), wanted, sorted.begin() + measured_);
    turn_ = *wanted;
  }

  bool started_ = false;
  Nanoseconds wall_mark_ = 0, cpu_mark_ = 0;  ///< at the previous report
  Nanoseconds turn_began_ = 0;        ///< the earliest the current turn can have begun
  Nanoseconds turn_start_error_ = 0;  ///< how much later it can have begun
  bool turn_measurable_ = false;  ///< turn_began_ is the end of another thread's turn, not of a sleep
  Nanoseconds shared_until_ = 0;
  Nanoseconds last_pause_ = -memory;  ///< when the last pause that was not a sleep ended
  Nanoseconds piece_ = 0;
  std::array<Nanoseconds, turns_kept> turns_{};
  int next_turn_ = 0;
  int measured_ = 0;
  Nanoseconds turn_ = 0;
};

}  // namespace gantry::detail
