// SPDX-License-Identifier: MIT
#pragma once
/// Keeping a helper thread off the CPU of the thread whose job it helps (docs/PERFORMANCE.md, "Speed on a busy
/// machine").

#if defined(__linux__)
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace gantry::detail {

/// The CPU the calling thread runs on now, or -1 where the system does not say.
inline int current_cpu() {
#if defined(__linux__)
  return sched_getcpu();
#else
  return -1;
#endif
}

/// The calling thread's id for the OS (what pin_thread() takes), or 0 where there is none.
inline long current_thread_id() {
#if defined(__linux__)
  return static_cast<long>(::syscall(SYS_gettid));
#else
  return 0;
#endif
}

/// Lets the thread `thread_id` (of this process) run on `cpu` only, which moves it there at once, even while it
/// waits for its turn on another CPU. False when the system refuses (or elsewhere than Linux). The thread gets
/// its own CPUs back with HelperPlacement::reclaim().
inline bool pin_thread(long thread_id, int cpu) {
#if defined(__linux__)
  if (thread_id <= 0 || cpu < 0 || cpu >= CPU_SETSIZE) return false;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  return sched_setaffinity(static_cast<pid_t>(thread_id), sizeof one, &one) == 0;
#else
  (void)thread_id;
  (void)cpu;
  return false;
#endif
}

/// One helper thread's affinity: all the CPUs it started with, less the calling thread's while the two meet.
///
/// When another process holds one of two cores, the OS tends to wake a sleeping helper on the core of the thread
/// that woke it, and then leaves it there: two threads on one core against one on the other is as even as three
/// threads on two cores get. The helper and the calling thread then share a core while the other process has one
/// alone, and two threads run no faster than one (measured under a busy loop pinned to CPU 1: 2590 of the 2637
/// pieces a helper ran, it ran on the calling thread's CPU). A helper that finds itself on the calling thread's
/// CPU at the start of a job takes that CPU out of its own affinity, so that the OS moves it at once, and puts it
/// back when the calling thread has moved on or the job does not ask for it. It touches only its own thread's
/// affinity, never the calling thread's, and never leaves itself without a CPU. Linux only; elsewhere nothing.
class HelperPlacement {
 public:
  /// Made on the helper's own thread: notes the CPUs it starts with.
  HelperPlacement() {
#if defined(__linux__)
    CPU_ZERO(&started_with_);
    known_ = sched_getaffinity(0, sizeof started_with_, &started_with_) == 0;
#endif
  }

  /// At the start of a job whose calling thread runs on `caller_cpu` (-1: unknown, keep the CPUs it started with).
  void keep_off(int caller_cpu) {
#if defined(__linux__)
    if (!known_) return;
    if (avoided_ >= 0 && avoided_ != caller_cpu) restore();
    if (caller_cpu < 0 || caller_cpu == avoided_ || current_cpu() != caller_cpu) return;
    if (caller_cpu >= CPU_SETSIZE || !CPU_ISSET(caller_cpu, &started_with_)) return;
    cpu_set_t others = started_with_;
    CPU_CLR(caller_cpu, &others);
    if (CPU_COUNT(&others) == 0) return;  // the process has this one CPU: stay
    if (sched_setaffinity(0, sizeof others, &others) == 0) avoided_ = caller_cpu;
#else
    (void)caller_cpu;
#endif
  }

  /// Every CPU the helper started with again.
  void restore() {
    if (avoided_ >= 0) reclaim();
  }

  /// Every CPU the helper started with again, after another thread changed its affinity (pin_thread): what it
  /// kept off before is forgotten. Call on the helper's own thread.
  void reclaim() {
#if defined(__linux__)
    if (known_ && sched_setaffinity(0, sizeof started_with_, &started_with_) != 0) return;
#endif
    avoided_ = -1;
  }

  /// The calling thread's CPU this helper keeps off now (-1: none).
  int avoided() const { return avoided_; }

 private:
#if defined(__linux__)
  cpu_set_t started_with_{};
  bool known_ = false;
#endif
  int avoided_ = -1;
};

}  // namespace gantry::detail
