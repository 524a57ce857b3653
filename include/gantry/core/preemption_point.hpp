// SPDX-License-Identifier: MIT
#pragma once
/// A place where the OS may end a thread's turn on a shared core, chosen by the thread (docs/PERFORMANCE.md,
/// "Speed on a busy machine").

#include <ctime>

namespace gantry::detail {

/// Lets the OS end the calling thread's turn here, if the turn is up, instead of wherever its next timer tick
/// falls. Two threads sharing a core get turns of a millisecond or two; Linux's scheduler (EEVDF, Linux 6.6 and
/// later) notices that a turn is over when it next brings the thread's run time up to date — at a timer tick, or
/// when the thread reads its own CPU clock — and then switches threads as the thread returns to user code. A
/// pool helper calls this before it claims each piece: a turn that ended during the last piece or while it waited
/// then ends here, with no piece held, rather than at the next tick in the middle of a piece that the whole job,
/// and the calling thread, would wait for until the other process's turn is over. On a core of its own nothing
/// happens but the read (~0.3 µs). Measured under a busy loop sharing the helper's core: jobs of 0.2–0.6 ms ran
/// 25–30 % slower without it (docs/PERFORMANCE.md). Before Linux 6.6 (CFS) a turn's end is checked at the tick
/// only, and the read changes nothing; elsewhere, or where the clock is missing, it is a plain call.
inline void preemption_point() {
#if defined(CLOCK_THREAD_CPUTIME_ID)
  timespec now{};
  (void)clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
#endif
}

}  // namespace gantry::detail
