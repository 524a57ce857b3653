// SPDX-License-Identifier: MIT
#pragma once
/// Whether a thread shares its core with another runnable thread, from the time it spends waiting for a CPU
/// (docs/PERFORMANCE.md, "Speed on a busy machine").

#include <cstdint>

#if defined(__linux__)
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#endif

namespace gantry::detail {

/// Learns, on one thread, whether another runnable thread competes for its core.
///
/// The kernel counts the time a thread was ready to run but waited for a CPU (its run-queue wait). On a core of
/// its own a helper waits almost never (0.3–0.4 % of the time on the test machine: kernel threads); on a core
/// shared with a busy process it waits about half the time (45–50 %), whether it spins or sleeps between jobs.
/// The thread reports its wall-clock time and its total wait (observe()), as often as it likes; every `window` or
/// more the watch takes the share of that stretch spent waiting. Two stretches in a row waiting a quarter or more
/// make the core shared until `memory` after the second. Why two, and a quarter: the test machine had a kernel
/// thread's burst of 1–4 ms every 0.5 s; a burst shorter than 5 ms, however it falls across two stretches, leaves
/// one of them under a quarter, while a busy process fills every stretch. All times in nanoseconds.
class ContentionWatch {
 public:
  using Nanoseconds = std::int64_t;

  static constexpr Nanoseconds window = 10'000'000;   ///< shortest stretch whose waiting share is judged
  static constexpr int busy_share_percent = 25;       ///< a stretch waiting at least this share is busy
  static constexpr Nanoseconds memory = 50'000'000;  ///< shared for this long after the last busy pair

  /// `wall`: the thread's wall-clock time now; `waited`: its total run-queue wait so far (negative: unknown,
  /// ignored).
  void observe(Nanoseconds wall, Nanoseconds waited) {
    if (waited < 0 || !due(wall)) return;
    if (!started_) {
      started_ = true;
      mark(wall, waited);
      return;
    }
    const Nanoseconds stretch = wall - wall_mark_;
    const bool busy = (waited - waited_mark_) * 100 >= stretch * busy_share_percent;
    if (busy && last_busy_) shared_until_ = wall + memory;
    last_busy_ = busy;
    mark(wall, waited);
  }

  /// True when observe() at `wall` would use its reading: a caller may skip reading the wait until then.
  bool due(Nanoseconds wall) const { return !started_ || wall - wall_mark_ >= window; }

  /// True while the thread's core counts as shared with another runnable thread.
  bool shared(Nanoseconds wall) const { return wall < shared_until_; }

 private:
  void mark(Nanoseconds wall, Nanoseconds waited) {
    wall_mark_ = wall;
    waited_mark_ = waited;
  }

  bool started_ = false;
  bool last_busy_ = false;
  Nanoseconds wall_mark_ = 0, waited_mark_ = 0;
  Nanoseconds shared_until_ = 0;
};

/// The calling thread's total run-queue wait, read from /proc/thread-self/schedstat (Linux 3.17 and later,
/// with CONFIG_SCHED_INFO, as Debian's and Ubuntu's kernels have): its second field, in nanoseconds. A reader
/// belongs to the thread that made it (thread-self names the thread that opened the file). Where the file is
/// missing, where the kernel keeps no counts (it then reads "0 0 0", though the thread has run), or elsewhere than
/// Linux, wait() is -1: the watch then never sees a shared core.
///
/// The file shows the counts as of the thread's last accounting, which for a thread that has just started is
/// often none yet: on Linux 6.18, 197 of 200 new threads read "0 0 0" first thing, like a kernel that keeps no
/// counts (a pool helper makes its reader first thing, and so never saw a shared core). Reading the thread's own
/// CPU clock first brings its counts up to date, so that only a kernel without counts reads 0 here.
class RunQueueWait {
 public:
  RunQueueWait() {
#if defined(__linux__)
    fd_ = ::open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
#if defined(CLOCK_THREAD_CPUTIME_ID)
    timespec now{};
    (void)clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
#endif
    long long ran = 0, waited = 0;
    if (fd_ >= 0 && (!read(ran, waited) || ran == 0)) {
      ::close(fd_);
      fd_ = -1;
    }
#endif
  }
  ~RunQueueWait() {
#if defined(__linux__)
    if (fd_ >= 0) ::close(fd_);
#endif
  }
  RunQueueWait(const RunQueueWait&) = delete;
  RunQueueWait& operator=(const RunQueueWait&) = delete;

  /// True when wait() can tell.
  bool available() const { return fd_ >= 0; }

  /// Nanoseconds the thread has waited for a CPU since it started, or -1.
  std::int64_t wait() const {
#if defined(__linux__)
    long long ran = 0, waited = 0;
    if (fd_ >= 0 && read(ran, waited)) return static_cast<std::int64_t>(waited);
#endif
    return -1;
  }

 private:
#if defined(__linux__)
  /// The file's first two fields: "<time on the CPU> <time waiting> <timeslices>\n".
  bool read(long long& ran, long long& waited) const {
    char text[96];
    const ssize_t size = ::pread(fd_, text, sizeof text - 1, 0);
    if (size <= 0) return false;
    text[size] = '\0';
    char* after_first = nullptr;
    ran = std::strtoll(text, &after_first, 10);
    char* after_second = nullptr;
    waited = std::strtoll(after_first, &after_second, 10);
    return after_first != text && after_second != after_first && ran >= 0 && waited >= 0;
  }
#endif

  int fd_ = -1;
};

}  // namespace gantry::detail
