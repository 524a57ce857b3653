// SPDX-License-Identifier: MIT
#pragma once
/// The thread pool that runs a split pass, step or vector update, and how such a job is cut into pieces.

#include <algorithm>
#include <chrono>
#include <exception>
#include <utility>

#include "gantry/core/contention_watch.hpp"
#include "gantry/core/helper_advisor.hpp"
#include "gantry/core/helper_placement.hpp"
#include "gantry/core/preemption_point.hpp"
#include "gantry/core/threads.hpp"
#include "gantry/core/types.hpp"

#ifdef _OPENMP
#include <omp.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>
#endif

#ifdef GANTRY_USE_OPENBLAS
// OpenBLAS's thread count is process-wide; a split job sets it to 1 while its pieces run (SingleThreadedProducts).
extern "C" {
int openblas_get_num_threads(void);
void openblas_set_num_threads(int);
}
#endif

// ---- The contract ----
//
// A job is `pieces` calls body(i, pieces), i in [0, pieces), that may run in any order and on any thread:
// run_shares() runs them on the calling thread and the pool's helper threads, each thread claiming the next
// unclaimed piece from a counter until none is left, and returns when every piece has run. So a thread the OS
// runs less often (another process on its core) simply claims fewer pieces. Results must not depend on which
// thread ran a piece: each piece writes only its own outputs (its columns of a tape, its own partial gradient),
// and whatever adds pieces up does so in piece order afterwards (add_parts). Then a job's result depends on the
// number of pieces only, which batch_shares() and vector_segments() derive from thread_count(), SplitOptions and
// the job's size: the same bits on every run with the same settings.
//
// Who may call: any thread, at any time. The pool runs one job at a time; a thread that starts a job while
// another thread's job holds the pool runs all its pieces itself (same pieces, products single-threaded as on the
// pool: same result, no waiting). A job of one piece runs its products with OpenBLAS's count of the moment, which
// is 1 while another thread's split job runs: with OpenBLAS, the bits of one-piece jobs can then depend on timing.
// Nesting: inside a piece, running_share() is true, max_pass_threads() is 1, and a nested job runs on that thread
// as a single piece (a training step's pieces run whole passes, whose own splitting then stays off). Inside an
// OpenMP parallel region likewise.
// Exceptions: a piece that throws does not end the process or leave the pool taken. The other pieces still run
// (on the pool; run one after another on the calling thread, the first exception ends the job), and the calling
// thread rethrows the first exception once all are done. What the job was computing is then unspecified, as
// after an exception in any pass; a trainer's networks and optimizers are untouched, since it updates them only
// from a finished step's gradients.
// Thread counts: a job uses min(pieces, max_pass_threads()) threads, the calling thread included, unless the
// helpers have lately cost more waiting than they saved (SplitOptions::adaptive_helpers, HelperAdvisor): then the
// calling thread runs all pieces itself for a while, same pieces, same result. A helper keeps off the calling
// thread's CPU, lets the OS end its turn before it claims a piece rather than in the middle of one, and when it
// shares its core with another process spins longer for the next job before it sleeps; and when the calling thread
// has run out of pieces of a long job while a helper on a shared core still holds one, the calling thread lends it
// its CPU (pins the helper there, and yields to it) until the piece is done, after which the helper takes its own
// CPUs back
// (SplitOptions::preemption_aware_helpers, HelperPlacement, preemption_point(), ContentionWatch): it runs fewer
// pieces, never other ones. Helper threads are started on the first job that needs them (none when thread_count()
// stays 1), kept until the process exits, and a job uses only as many as its count asks for. While a job runs,
// Eigen and OpenBLAS run single-threaded inside its pieces (SingleThreadedProducts), and their settings come back
// after it.

namespace gantry::detail {

/// True on a thread while it runs a piece of a split job: the jobs inside a piece stay on that thread.
inline bool& running_share() {
  thread_local bool running = false;
  return running;
}

/// Threads a job started now on the calling thread may use: 1 inside a piece or an OpenMP parallel region.
inline int max_pass_threads() {
  if (running_share()) return 1;
#ifdef _OPENMP
  if (omp_in_parallel()) return 1;
#endif
  return thread_count();
}

/// Pieces of a job that may be cut into at most `most` pieces and has `work` multiply-adds in all, for
/// max_pass_threads() threads: up to SplitOptions::pieces_per_thread per thread, none below the minimum work.
inline int plan_pieces(Index most, double work) {
  const int threads = max_pass_threads();
  if (threads <= 1) return 1;
  const SplitOptions& options = split_options();
  Index pieces = std::min<Index>(static_cast<Index>(threads) * options.pieces_per_thread, most);
  if (options.min_work_per_piece > 0)
    pieces = std::min<Index>(pieces, static_cast<Index>(work / options.min_work_per_piece));
  return static_cast<int>(std::max<Index>(pieces, 1));
}

/// How many pieces (shares of its columns) a pass over `columns` samples of `work_per_column` multiply-adds
/// is cut into. A split pass or step cuts its batch into contiguous shares, one per piece (share_begin).
inline int batch_shares(Index columns, double work_per_column) {
  return plan_pieces(columns / split_options().min_columns_per_piece,
                     static_cast<double>(columns) * work_per_column);
}

/// Start of share `i` of `n` of the columns [first, first + count).
inline Index share_begin(Index first, Index count, int i, int n) { return first + count * i / n; }

/// Segments of a vector start at multiples of this many entries (64 bytes of float): every entry is then
/// computed by the same vectorized code however the vector is cut, so an element-wise update gives the same
/// bits for every segment count.
constexpr Index segment_alignment = 16;

/// How many segments an element-wise job over `size` entries of `work_per_entry` operations is cut into.
inline int vector_segments(Index size, double work_per_entry) {
  return plan_pieces(size / segment_alignment, static_cast<double>(size) * work_per_entry);
}

/// Start of segment `i` of `n` of the entries [0, size): a multiple of segment_alignment, or size.
inline Index segment_begin(Index size, int i, int n) {
  const Index blocks = (size + segment_alignment - 1) / segment_alignment;
  return std::min(size, blocks * i / n * segment_alignment);
}

#ifdef _OPENMP
inline void spin_pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

/// While alive, products on the calling thread run on that thread alone: neither Eigen (which reads this thread's
/// OpenMP setting) nor OpenBLAS (EIGEN_USE_BLAS; its count is process-wide) threads inside a piece, where two
/// pieces with two threads each would put four threads on two cores, and where a product's bits would depend on
/// how many threads cut it (OpenBLAS's Haswell and Zen kernels give other last bits on 2 threads than on 1). The
/// previous counts come back at the end. OpenBLAS's count is shared by every thread, so it is held at 1 from the
/// first live instance in the process to the last: a job that ends does not hand another thread's running job
/// multi-threaded products.
class SingleThreadedProducts {
 public:
  SingleThreadedProducts() : omp_threads_(omp_get_max_threads()) {
    omp_set_num_threads(1);
#ifdef GANTRY_USE_OPENBLAS
    BlasHold& hold = blas_hold();
    const std::lock_guard<std::mutex> lock(hold.mutex);
    if (hold.holders++ == 0) {
      hold.saved = openblas_get_num_threads();
      if (hold.saved > 1) openblas_set_num_threads(1);
    }
#endif
  }
  ~SingleThreadedProducts() {
    omp_set_num_threads(omp_threads_);
#ifdef GANTRY_USE_OPENBLAS
    BlasHold& hold = blas_hold();
    const std::lock_guard<std::mutex> lock(hold.mutex);
    if (--hold.holders == 0 && hold.saved > 1) openblas_set_num_threads(hold.saved);
#endif
  }
  SingleThreadedProducts(const SingleThreadedProducts&) = delete;
  SingleThreadedProducts& operator=(const SingleThreadedProducts&) = delete;

 private:
#ifdef GANTRY_USE_OPENBLAS
  struct BlasHold {
    std::mutex mutex;
    int holders = 0;  ///< live instances, on any thread
    int saved = 1;    ///< OpenBLAS's count when the first of them began
  };
  static BlasHold& blas_hold() {
    static BlasHold hold;
    return hold;
  }
#endif
  int omp_threads_;
};

/// Helper threads that run the pieces of a job alongside the calling thread (the contract above). Pieces are
/// claimed one at a time from a counter tagged with the job's generation, so a piece runs exactly once, by
/// whichever thread gets to it first.
class SharePool {
 public:
  static SharePool& instance() {
    static SharePool pool;
    return pool;
  }

  SharePool(const SharePool&) = delete;
  SharePool& operator=(const SharePool&) = delete;

  ~SharePool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : helpers_) t.join();
  }

  /// Runs task(i) for every i in [0, pieces) on up to `threads` threads (the calling one included); returns when
  /// all have run, or rethrows the first exception of one. `options`: adaptive_helpers lets the advisor keep the
  /// helpers out, preemption_aware_helpers lets them mind their core's other users.
  template <class Task>
  void run(int pieces, int threads, Task& task, const SplitOptions& options) {
    const bool adaptive = options.adaptive_helpers;
    threads = std::min(threads, pieces);
    if (threads <= 1) {
      for (int i = 0; i < pieces; ++i) task(i);
      return;
    }
    if (!take(threads - 1)) {  // another thread's job holds the pool, or no helper could start
      run_here(pieces, task);
      return;
    }
    const HelperAdvisor::Clock::time_point start = HelperAdvisor::Clock::now();
    if (adaptive && advisor_.solo(start)) {
      run_alone(pieces, task);
      return;
    }
    std::exception_ptr failure;
    {
      // Restored before busy_ is released: OpenBLAS's count is shared with the next job of any thread.
      const SingleThreadedProducts single_threaded;
      task_ = &task;
      call_ = [](void* t, int i) { (*static_cast<Task*>(t))(i); };
      total_.store(pieces, std::memory_order_relaxed);
      done_.store(0, std::memory_order_relaxed);
      active_helpers_.store(threads - 1, std::memory_order_relaxed);
      preemption_aware_.store(options.preemption_aware_helpers, std::memory_order_relaxed);
      caller_cpu_.store(options.preemption_aware_helpers ? current_cpu() : -1, std::memory_order_relaxed);
      const std::uint64_t generation = ++generation_;
      claim_.store(generation << 32, std::memory_order_release);  // publishes the stores above
      {
        std::lock_guard<std::mutex> lock(mutex_);
        published_ = generation;
      }
      wake_.notify_all();
      const int caller_pieces = work(generation, nullptr, false);
      const HelperAdvisor::Clock::time_point caller_done = HelperAdvisor::Clock::now();
      const bool may_lend = options.preemption_aware_helpers && caller_done - start >= lend_after_pieces;
      for (int spin = 0; done_.load(std::memory_order_acquire) < pieces; ++spin) {
        if (may_lend && spin % 64 == 63 && HelperAdvisor::Clock::now() - caller_done >= lend_after_wait &&
            lend_cpu(pieces, threads - 1))
          break;
        if (spin < 4096)
          spin_pause();
        else
          std::this_thread::yield();  // the helper holding the last piece may be waiting for this core
      }
      failure = std::exchange(failure_, nullptr);  // every piece is done: nobody writes failure_ now
      if (adaptive) {
        const HelperAdvisor::Clock::time_point end = HelperAdvisor::Clock::now();
        advisor_.pooled_job(caller_done - start, end - caller_done, caller_pieces, pieces, end);
      }
    }
    busy_.store(false, std::memory_order_release);
    if (failure) std::rethrow_exception(failure);
  }

  /// Helper threads started so far (they live until the process exits).
  int helper_count() const { return static_cast<int>(helpers_.size()); }

  /// Jobs so far in which the calling thread lent a helper its CPU (lend_cpu()).
  long lent_cpu_count() const { return lent_cpu_count_.load(std::memory_order_relaxed); }

 private:
  SharePool() = default;

  /// Takes the pool for one job with `helpers` helper threads (starting those it lacks). False when another job
  /// holds it, or when no thread can be started (std::system_error): the job then runs on the calling thread.
  bool take(int helpers) {
    if (busy_.exchange(true, std::memory_order_acquire)) return false;
    try {
      while (static_cast<int>(helpers_.size()) < helpers) {
        const int index = static_cast<int>(helpers_.size());
        if (static_cast<int>(slots_.size()) == index) slots_.emplace_back();  // kept if the thread cannot start
        HelperSlot& slot = slots_[index];  // a deque: growing it later moves no slot a helper holds
        helpers_.emplace_back([this, index, &slot] { helper_loop(index, slot); });
      }
    } catch (...) {
      busy_.store(false, std::memory_order_release);
      return false;
    }
    return true;
  }

  /// Every piece of a split job on the calling thread, products single-threaded as on the pool, so that the pieces
  /// give the bits they give there.
  template <class Task>
  static void run_here(int pieces, Task& task) {
    const SingleThreadedProducts single_threaded;
    for (int i = 0; i < pieces; ++i) task(i);
  }

  /// The pieces of a job the advisor keeps on the calling thread, while it holds the pool (the advisor is the
  /// pool's: only the holder reads or writes it).
  template <class Task>
  void run_alone(int pieces, Task& task) {
    struct Release {
      std::atomic<bool>& busy;
      ~Release() { busy.store(false, std::memory_order_release); }
    } release{busy_};  // declared first: released after run_here has restored the thread counts
    run_here(pieces, task);
  }

  /// What a helper thread tells the calling thread, which may lend it its CPU (lend_cpu()).
  struct HelperSlot {
    std::atomic<long> thread_id{0};      ///< the helper's id for the OS (pin_thread())
    std::atomic<bool> shared{false};     ///< its ContentionWatch saw its core shared, as of its last job
    std::atomic<bool> holding{false};    ///< it is running a piece
    std::atomic<bool> lent{false};       ///< the calling thread pinned it to its own CPU: take the CPUs back
  };

  /// Claims and runs pieces of job `generation` until none is left; returns how many this thread ran. `helper`:
  /// the running helper's slot (null on the calling thread). With `preemption_points`, the thread offers the OS a
  /// place to end its turn before each claim (preemption_point()).
  int work(std::uint64_t generation, HelperSlot* helper, bool preemption_points) {
    int ran = 0;
    const auto unclaimed = [&](std::uint64_t state) {
      return (state >> 32) == generation &&
             static_cast<int>(state & 0xffffffffu) < total_.load(std::memory_order_relaxed);
    };
    for (;;) {
      std::uint64_t state = claim_.load(std::memory_order_acquire);
      if (!unclaimed(state)) return ran;
      if (preemption_points) {  // only before a claim that can succeed: after the job's last piece, none is needed
        preemption_point();
        state = claim_.load(std::memory_order_acquire);
      }
      bool claimed = false;
      while (!claimed && unclaimed(state))
        claimed = claim_.compare_exchange_weak(state, state + 1, std::memory_order_acq_rel, std::memory_order_acquire);
      if (!claimed) return ran;
      if (helper) helper->holding.store(true, std::memory_order_relaxed);
      try {
        call_(task_, static_cast<int>(state & 0xffffffffu));
      } catch (...) {
        const std::lock_guard<std::mutex> lock(failure_mutex_);
        if (!failure_) failure_ = std::current_exception();
      }
      if (helper) helper->holding.store(false, std::memory_order_relaxed);
      done_.fetch_add(1, std::memory_order_release);
      ++ran;
    }
  }

  /// Helper `index` joins the jobs that ask for more than `index` helpers.
  void helper_loop(int index, HelperSlot& slot) {
    omp_set_num_threads(1);  // products inside a piece stay on this thread (OpenBLAS: see SingleThreadedProducts)
    const RunQueueWait run_queue_wait;  // this thread's: made on it
    ContentionWatch contention;
    HelperPlacement placement;
    slot.thread_id.store(current_thread_id(), std::memory_order_relaxed);
    const auto reclaim_if_lent = [&] {  // the calling thread pinned this helper to its CPU (lend_cpu())
      if (!slot.lent.exchange(false, std::memory_order_acq_rel)) return false;
      placement.reclaim();
      return true;
    };
    std::uint64_t seen = 0;
    for (;;) {
      std::uint64_t generation = seen;
      // Jobs follow each other closely within a training step: spin a little before sleeping. On a core shared
      // with another process, for up to shared_core_spin: the OS shares that core in turns of milliseconds, and a
      // helper that sleeps gives its turn away, then waits for the other process's turn to end once woken.
      bool shared = false;
      ContentionWatch::Nanoseconds spin_began = 0;
      if (preemption_aware_.load(std::memory_order_relaxed)) {
        spin_began = wall_time();
        // The wait is a file read: only every ContentionWatch::window, not after every job.
        if (contention.due(spin_began)) contention.observe(spin_began, run_queue_wait.wait());
        shared = contention.shared(spin_began);
      }
      slot.shared.store(shared, std::memory_order_relaxed);
      for (int spin = 0; generation == seen; ++spin) {
        if (spin >= 4000 && (!shared || (spin % 64 == 0 && wall_time() - spin_began > shared_core_spin))) break;
        generation = claim_.load(std::memory_order_acquire) >> 32;
        if (generation == seen) spin_pause();
      }
      if (generation == seen) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || published_ != seen; });
        if (stop_) return;
        generation = published_;
      }
      seen = generation;
      // Read after the generation (acquire): this job's values or a later job's, whose claims then fail in work().
      if (index >= active_helpers_.load(std::memory_order_relaxed)) continue;
      const bool aware = preemption_aware_.load(std::memory_order_relaxed);
      reclaim_if_lent();  // lent after its last piece of the previous job
      if (aware)
        placement.keep_off(caller_cpu_.load(std::memory_order_relaxed));
      else
        placement.restore();
      work(generation, &slot, aware);
      // Off the calling thread's CPU again at once, rather than spinning there for the next job.
      if (reclaim_if_lent() && aware) placement.keep_off(caller_cpu_.load(std::memory_order_relaxed));
    }
  }

  /// The calling thread has run all the pieces it could of a long job and waited lend_after_wait for the rest: if a
  /// helper whose core is shared with another process holds one, it may be waiting for its turn there while this
  /// thread's CPU idles. Pins that helper to this thread's CPU (the OS moves it at once) and yields the CPU to it
  /// until the job is done; the helper takes its own CPUs back after its piece. Yielding rather than sleeping keeps
  /// the calling thread in its CPU's queue, so that it runs there again as soon as the helper has moved off; a
  /// thread that sleeps is woken wherever the OS finds room, often beside the other process (measured under a busy
  /// loop: sleeping was 4-6 % slower at width 512). False when no helper qualifies or the OS refuses (Linux only):
  /// the caller keeps waiting as before.
  bool lend_cpu(int pieces, int helpers) {
    const int cpu = current_cpu();
    if (cpu < 0) return false;
    for (int i = 0; i < helpers; ++i) {  // take() made a slot for each
      HelperSlot& slot = slots_[i];
      if (!slot.holding.load(std::memory_order_relaxed) || !slot.shared.load(std::memory_order_relaxed)) continue;
      slot.lent.store(true, std::memory_order_release);  // before the pin: the helper may check it at any time
      if (!pin_thread(slot.thread_id.load(std::memory_order_relaxed), cpu)) {
        slot.lent.store(false, std::memory_order_relaxed);
        continue;
      }
      while (done_.load(std::memory_order_acquire) < pieces) std::this_thread::yield();
      lent_cpu_count_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    return false;
  }

  /// Lending a helper the calling thread's CPU costs two affinity changes and two switches between threads, and
  /// moves the helper's piece to a cold cache: it pays only in jobs whose pieces outlast the OS's turns on a shared core
  /// (1.5-3 ms). Measured under a busy loop: +18-32 % at width 512 (pieces of ~5 ms); in jobs of 0.1-1 ms (widths
  /// 64 and 128), lending after 0.2-1 ms of waiting cost 5-19 % (docs/PERFORMANCE.md, "Lending the calling
  /// thread's CPU").
  static constexpr HelperAdvisor::Clock::duration lend_after_pieces = std::chrono::milliseconds(2);
  static constexpr HelperAdvisor::Clock::duration lend_after_wait = std::chrono::microseconds(200);

  /// How long a helper on a shared core spins for the next job before it sleeps: longer than the gaps between
  /// the jobs of a training step, far shorter than a step's pause between two calls of a user's loop.
  static constexpr ContentionWatch::Nanoseconds shared_core_spin = 2'000'000;

  static ContentionWatch::Nanoseconds wall_time() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  std::vector<std::thread> helpers_;
  std::deque<HelperSlot> slots_;  ///< one a helper, same index
  std::atomic<long> lent_cpu_count_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::uint64_t published_ = 0;              ///< last generation announced (under mutex_)
  std::uint64_t generation_ = 0;             ///< last generation started (the calling thread's)
  std::atomic<std::uint64_t> claim_{0};      ///< generation << 32 | next unclaimed piece
  std::atomic<int> total_{0};
  std::atomic<int> done_{0};
  std::atomic<int> active_helpers_{0};       ///< helpers the running job asked for
  std::atomic<bool> preemption_aware_{false};  ///< the running job's SplitOptions::preemption_aware_helpers
  std::atomic<int> caller_cpu_{-1};          ///< the CPU its calling thread started it on
  std::atomic<bool> busy_{false};
  void* task_ = nullptr;
  void (*call_)(void*, int) = nullptr;
  std::mutex failure_mutex_;
  std::exception_ptr failure_;  ///< the first exception of a piece of the running job
  HelperAdvisor advisor_;       ///< read and written only by the thread holding the pool (busy_)
};

#endif  // _OPENMP

/// Calls body(i, n) for every piece i of n = shares, on the calling thread and the pool's helpers (the contract
/// at the top of this header).
template <class Body>
void run_shares(int shares, Body&& body) {
  if (shares <= 1) {
    body(0, 1);
    return;
  }
#ifdef _OPENMP
  struct RunningShare {
    bool was = std::exchange(running_share(), true);
    ~RunningShare() { running_share() = was; }
  };
  auto task = [&](int i) {
    const RunningShare running;
    body(i, shares);
  };
  SharePool::instance().run(shares, max_pass_threads(), task, split_options());
#else
  for (int i = 0; i < shares; ++i) body(i, shares);  // without OpenMP a planned job has one piece
#endif
}

/// Calls body(begin, count) for every segment of the entries [0, size) of an element-wise job of
/// `work_per_entry` operations an entry, split over the pool like a pass (segments of segment_alignment entries).
template <class Body>
void run_segments(Index size, double work_per_entry, Body&& body) {
  run_shares(vector_segments(size, work_per_entry), [&](int i, int n) {
    const Index begin = segment_begin(size, i, n);
    const Index end = segment_begin(size, i + 1, n);
    if (end > begin) body(begin, end - begin);
  });
}

/// sum += part(0) + part(1) + ... + part(parts - 1), each of `size` entries: every entry is added up in this
/// order however the entries are split over the threads, so the result is the same bits for every thread count
/// and schedule (the pieces of a job add their partial gradients so).
template <class Scalar, class PartAt>
void add_parts(Scalar* sum, Index size, int parts, PartAt&& part_at) {
  if (parts < 1) return;
  run_segments(size, static_cast<double>(parts), [&](Index begin, Index count) {
    VectorMap<Scalar> total(sum + begin, count);
    for (int k = 0; k < parts; ++k) total += ConstVectorMap<Scalar>(part_at(k) + begin, count);
  });
}

}  // namespace gantry::detail
