// SPDX-License-Identifier: MIT
#pragma once
/// Whether a split job's helper threads are paying for themselves on this machine right now, or whether the
/// calling thread would finish sooner alone (another process holding a core: docs/PERFORMANCE.md, "Speed on a
/// busy machine").

#include <algorithm>
#include <chrono>

namespace gantry::detail {

/// Watches the jobs the pool runs and says when to run them on the calling thread alone.
///
/// A job's pieces are the same whoever runs them, so the choice changes speed only, never results. For a job the
/// calling thread ran k of its n pieces in time c and then waited w for the helpers' last pieces, the job took
/// c + w; alone, the calling thread would have needed about c n / k. The helpers paid when w < c (n - k) / k.
/// When a core the helpers need is taken by another process, a helper preempted in the middle of a piece holds
/// the job for the other process's time slice (milliseconds, against pieces of 0.1 ms at width 64) and w grows
/// far past that. Over a window of jobs (a single late wake-up on a quiet machine does not decide), the advisor
/// compares the summed waits with the summed savings; when the helpers cost more, the jobs of the next stretch of
/// time run on the calling thread alone, and then the helpers are tried again for a window. Each consecutive
/// verdict against them doubles the stretch (up to max_solo), so a long-busy machine pays for a trial window
/// rarely, and a machine that became quiet gets its threads back within max_solo.
class HelperAdvisor {
 public:
  using Clock = std::chrono::steady_clock;

  static constexpr int window = 16;                               ///< pooled jobs per verdict
  static constexpr Clock::duration first_solo = std::chrono::milliseconds(25);
  static constexpr Clock::duration max_solo = std::chrono::milliseconds(1600);

  /// True when a job started at `now` should run on the calling thread alone.
  bool solo(Clock::time_point now) const { return now < solo_until_; }

  /// A job that ran on the pool and ended at `now`: the calling thread ran `caller_pieces` of its `pieces` in
  /// `caller_time`, then waited `wait` for the helpers.
  void pooled_job(Clock::duration caller_time, Clock::duration wait, int caller_pieces, int pieces,
                  Clock::time_point now) {
    if (caller_pieces < 1 || pieces <= caller_pieces) return;  // nothing to compare with running alone
    const double c = std::chrono::duration<double>(caller_time).count();
    waited_ += std::chrono::duration<double>(wait).count();
    saved_ += c * (pieces - caller_pieces) / caller_pieces;
    if (++jobs_ < window) return;
    if (waited_ > saved_) {
      solo_until_ = now + solo_length_;
      solo_length_ = std::min<Clock::duration>(2 * solo_length_, max_solo);
    } else {
      solo_length_ = first_solo;
    }
    jobs_ = 0;
    waited_ = saved_ = 0;
  }

  /// How long the next verdict against the helpers makes the jobs run alone.
  Clock::duration next_solo_length() const { return solo_length_; }

 private:
  int jobs_ = 0;
  double waited_ = 0;  ///< seconds the calling thread waited for helpers in this window
  double saved_ = 0;   ///< seconds the helpers' pieces would have cost the calling thread
  Clock::duration solo_length_ = first_solo;
  Clock::time_point solo_until_{};
};

}  // namespace gantry::detail
