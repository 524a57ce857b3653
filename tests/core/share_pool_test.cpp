// SPDX-License-Identifier: MIT
// The pool that runs split jobs (core/share_pool.hpp): how jobs are cut into pieces, that every piece runs once,
// exceptions, nesting, concurrent callers, sums that are the same bits under any schedule, a slow thread that
// takes fewer pieces, and (Linux) a helper on a shared core lent the calling thread's CPU. The threaded parts need
// OpenMP (without it thread_count() is 1 and every job one piece).

#include <gantry/core/share_pool.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <initializer_list>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "support/threads.hpp"

#if defined(__linux__)
#include <sched.h>
#endif

using gantry::Index;
using gantry::Matrix;
using gantry::SplitOptions;
using gantry::Vector;
using gantry::test::contains;
using gantry::test::SplitOptionsScope;
using gantry::test::ThreadCountScope;
namespace detail = gantry::detail;

namespace {


}  // namespace

TEST_CASE("SplitOptions are validated, naming the field and the value", "[core][threads]") {
  const SplitOptionsScope restore;
  SplitOptions options;
  REQUIRE_NOTHROW(options.validate());
  options.pieces_per_thread = 0;
  REQUIRE_THROWS_WITH(gantry::set_split_options(options), contains("SplitOptions.pieces_per_thread must be in [1, 64], given 0"));
  options = {};
  options.min_columns_per_piece = 0;
  REQUIRE_THROWS_WITH(options.validate(), contains("SplitOptions.min_columns_per_piece must be >= 1, given 0"));
  options = {};
  options.min_work_per_piece = -1;
  REQUIRE_THROWS_AS(options.validate(), gantry::OptionError);
  options = {};
  options.pieces_per_thread = 2;
  gantry::set_split_options(options);
  REQUIRE(gantry::split_options().pieces_per_thread == 2);
}

TEST_CASE("segments of a vector start at aligned entries and cover it exactly once", "[core][threads]") {
  for (const Index size : {Index(0), Index(1), Index(15), Index(16), Index(17), Index(1000), Index(100003)}) {
    for (int n = 1; n <= 9; ++n) {
      INFO("size " << size << ", " << n << " segments");
      REQUIRE(detail::segment_begin(size, 0, n) == 0);
      REQUIRE(detail::segment_begin(size, n, n) == size);
      for (int i = 0; i < n; ++i) {
        const Index begin = detail::segment_begin(size, i, n);
        CHECK(begin <= detail::segment_begin(size, i + 1, n));
        CHECK((begin == size || begin % detail::segment_alignment == 0));
      }
    }
  }
}

TEST_CASE("one thread plans one piece, and more threads plan several per thread, within the minima", "[core][threads]") {
  const ThreadCountScope restore_threads;
  const SplitOptionsScope restore_split;
  gantry::set_thread_count(1);
  CHECK(detail::batch_shares(100000, 1e6) == 1);
  CHECK(detail::vector_segments(1 << 20, 10) == 1);
#ifdef _OPENMP
  gantry::set_thread_count(2);
  SplitOptions options;
  options.pieces_per_thread = 4;
  gantry::set_split_options(options);
  CHECK(detail::batch_shares(256, 1e6) == 8);        // 4 per thread
  CHECK(detail::batch_shares(64, 1e6) == 4);         // at least 16 columns a piece
  CHECK(detail::batch_shares(256, 2e3) == 2);        // at least 2e5 multiply-adds a piece: 5.12e5 in all
  CHECK(detail::batch_shares(256, 100) == 1);        // too small to hand off at all
  CHECK(detail::vector_segments(1 << 20, 2) == 8);
  CHECK(detail::vector_segments(1 << 20, 1) == 5);   // at least 2e5 operations a segment: 1,048,576 in all
  CHECK(detail::vector_segments(40, 1e6) == 2);      // at least segment_alignment entries a segment
  options.pieces_per_thread = 1;                     // one fixed piece per thread, as before pieces were balanced
  gantry::set_split_options(options);
  CHECK(detail::batch_shares(256, 1e6) == 2);
  // Inside a piece a job stays on its thread, whatever the thread count.
  gantry::set_thread_count(2);
  options.pieces_per_thread = 4;
  gantry::set_split_options(options);
  std::atomic<int> inner_pieces{0}, outside_share{0};  // Catch's assertions belong on this thread only
  detail::run_shares(2, [&](int, int) {
    if (!detail::running_share()) ++outside_share;
    inner_pieces += detail::batch_shares(100000, 1e6);
  });
  CHECK(outside_share == 0);
  CHECK(inner_pieces == 2);
  CHECK_FALSE(detail::running_share());
#endif
}

#ifdef _OPENMP

TEST_CASE("every piece of a job runs exactly once, on at most thread_count() threads", "[core][threads]") {
  const ThreadCountScope restore;
  // Start more helpers than the jobs below may use: a job must still keep to its own count.
  gantry::set_thread_count(4);
  detail::run_shares(8, [](int, int) { std::this_thread::sleep_for(std::chrono::milliseconds(1)); });
  REQUIRE(detail::SharePool::instance().helper_count() >= 3);
  for (const int threads : {2, 3}) {
    gantry::set_thread_count(threads);
    for (int repeat = 0; repeat < 50; ++repeat) {
      constexpr int pieces = 13;
      std::vector<std::atomic<int>> runs(pieces);
      std::atomic<int> wrong_count{0};
      std::mutex mutex;
      std::set<std::thread::id> ids;
      detail::run_shares(pieces, [&](int i, int n) {
        if (n != pieces) ++wrong_count;
        ++runs[static_cast<std::size_t>(i)];
        const std::lock_guard<std::mutex> lock(mutex);
        ids.insert(std::this_thread::get_id());
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      });
      REQUIRE(wrong_count == 0);
      for (int i = 0; i < pieces; ++i) REQUIRE(runs[static_cast<std::size_t>(i)] == 1);
      REQUIRE(static_cast<int>(ids.size()) <= threads);
    }
  }
}

TEST_CASE("a piece's exception reaches the caller after every piece ran, and the pool keeps working",
          "[core][threads]") {
  const ThreadCountScope restore;
  const gantry::test::HelpersAlwaysJoinScope helpers_always_join;
  gantry::set_thread_count(2);
  const int omp_before = omp_get_max_threads();
  for (int attempt = 0; attempt < 20; ++attempt) {
    std::atomic<int> ran{0};
    const auto job = [&](int i, int) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
      ++ran;
      if (i == 3) throw std::runtime_error("piece 3 failed");
    };
    REQUIRE_THROWS_WITH(detail::run_shares(8, job), contains("piece 3 failed"));
    CHECK(ran == 8);  // the pool ran the other pieces before rethrowing
    CHECK_FALSE(detail::running_share());
    CHECK(omp_get_max_threads() == omp_before);  // the products' thread counts came back
  }
  // Not left taken: a helper still joins the next jobs.
  const std::thread::id home = std::this_thread::get_id();
  std::atomic<bool> helper_ran{false};
  for (int attempt = 0; attempt < 200 && !helper_ran; ++attempt)
    detail::run_shares(4, [&](int, int) {
      if (std::this_thread::get_id() != home) helper_ran = true;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    });
  CHECK(helper_ran);
}

TEST_CASE("a job inside a piece runs on that piece's thread", "[core][threads]") {
  const ThreadCountScope restore;
  gantry::set_thread_count(2);
  std::atomic<int> wrong_thread{0}, nested_pieces{0}, threads_inside{0};
  detail::run_shares(4, [&](int, int) {
    threads_inside += detail::max_pass_threads();
    const std::thread::id outer = std::this_thread::get_id();
    detail::run_shares(5, [&](int, int) {
      ++nested_pieces;
      if (std::this_thread::get_id() != outer) ++wrong_thread;
    });
  });
  CHECK(threads_inside == 4);  // one each
  CHECK(nested_pieces == 20);
  CHECK(wrong_thread == 0);
}

TEST_CASE("jobs started by two threads at once both complete", "[core][threads]") {
  const ThreadCountScope restore;
  std::atomic<long> total{0};
  const auto caller = [&] {
    gantry::set_thread_count(2);
    for (int repeat = 0; repeat < 200; ++repeat) detail::run_shares(6, [&](int i, int) { total += i + 1; });
  };
  std::thread first(caller), second(caller);
  first.join();
  second.join();
  CHECK(total == 2 * 200 * 21);
}

#ifdef GANTRY_USE_OPENBLAS
TEST_CASE("a job run while another thread's job holds the pool gives the pool's bits, with OpenBLAS threaded",
          "[core][threads]") {
  const ThreadCountScope restore;
  gantry::set_thread_count(2);
  const int blas_before = openblas_get_num_threads();
  openblas_set_num_threads(2);
  // Products large enough for OpenBLAS to cut over its threads, in two pieces of 64 columns.
  Matrix<float> w(512, 512), h(512, 128);
  w.setRandom();
  h.setRandom();
  const auto piece_product = [&](int i, int n, Matrix<float>& out) {
    const Index c0 = detail::share_begin(0, h.cols(), i, n), c1 = detail::share_begin(0, h.cols(), i + 1, n);
    out.middleCols(c0, c1 - c0).noalias() = w * h.middleCols(c0, c1 - c0);
  };
  Matrix<float> reference(512, 128);
  detail::run_shares(2, [&](int i, int n) { piece_product(i, n, reference); });  // on the pool
  {
    // Whether the bits check below can fail depends on the CPU: OpenBLAS's Haswell and Zen kernels give a product
    // other last bits on two threads, its SkylakeX kernels the same. The thread-count check can fail on any CPU.
    Matrix<float> threaded(512, 128);
    piece_product(0, 2, threaded);
    if (std::memcmp(threaded.data(), reference.data(), sizeof(float) * 512 * 64) == 0)
      WARN("OpenBLAS gives the same bits on 1 and 2 threads on this CPU: only the thread-count check can fail here");
  }
  // Another thread holds the pool; this thread's job then runs its pieces itself, and its first piece lets the
  // other job end before any product runs: that job's end must not give the products back OpenBLAS's threads.
  std::atomic<bool> held{false}, release{false}, ended{false};
  std::thread holder([&] {
    gantry::set_thread_count(2);
    detail::run_shares(2, [&](int, int) {
      held = true;
      while (!release) std::this_thread::yield();
    });
    ended = true;
  });
  while (!held) std::this_thread::yield();
  Matrix<float> concurrent(512, 128);
  std::array<int, 2> blas_threads_in_piece{};
  detail::run_shares(2, [&](int i, int n) {
    if (i == 0) {
      release = true;
      while (!ended) std::this_thread::yield();
    }
    blas_threads_in_piece[static_cast<std::size_t>(i)] = openblas_get_num_threads();
    piece_product(i, n, concurrent);
  });
  holder.join();
  CHECK(blas_threads_in_piece[0] == 1);
  CHECK(blas_threads_in_piece[1] == 1);
  CHECK(std::memcmp(concurrent.data(), reference.data(), sizeof(float) * 512 * 128) == 0);
  CHECK(openblas_get_num_threads() == 2);  // given back once no job runs
  openblas_set_num_threads(blas_before);
}
#endif

TEST_CASE("pieces' partial sums add up to the same bits under any schedule", "[core][threads]") {
  const ThreadCountScope restore;
  gantry::set_thread_count(2);
  // Each piece sums its share of many terms into its own vector (float, so that the order of additions shows in
  // the bits); add_parts then adds the pieces in piece order. Sleeps of varying length shuffle which thread
  // runs which piece; the result must not move by a bit, and must equal the same pieces run one after another.
  constexpr Index size = 5000, terms = 64;
  constexpr int pieces = 8;
  Vector<float> values(size * terms);
  for (Index k = 0; k < values.size(); ++k) values[k] = static_cast<float>(std::sin(0.37 * static_cast<double>(k))) * 1e3f;
  std::vector<Vector<float>> partial(pieces, Vector<float>(size));
  const auto sum_pieces = [&](bool threaded, int seed) {
    const auto piece = [&](int i, int n) {
      partial[static_cast<std::size_t>(i)].setZero();
      for (Index t = detail::share_begin(0, terms, i, n); t < detail::share_begin(0, terms, i + 1, n); ++t)
        partial[static_cast<std::size_t>(i)] += values.segment(t * size, size);
      std::this_thread::sleep_for(std::chrono::microseconds(((i * 7 + seed * 13) % 5) * 300));
    };
    if (threaded) {
      detail::run_shares(pieces, piece);
    } else {
      for (int i = 0; i < pieces; ++i) piece(i, pieces);
    }
    Vector<float> total = partial[0];
    detail::add_parts(total.data(), size, pieces - 1, [&](int k) { return partial[static_cast<std::size_t>(k) + 1].data(); });
    return total;
  };
  const Vector<float> reference = sum_pieces(false, 0);
  // Not vacuous: another order of the same additions gives other bits.
  Vector<float> reversed = partial[pieces - 1];
  for (int k = pieces - 2; k >= 0; --k) reversed += partial[static_cast<std::size_t>(k)];
  CHECK(std::memcmp(reversed.data(), reference.data(), sizeof(float) * size) != 0);
  for (int seed = 0; seed < 10; ++seed) {
    INFO("seed " << seed);
    const Vector<float> threaded = sum_pieces(true, seed);
    CHECK(std::memcmp(threaded.data(), reference.data(), sizeof(float) * size) == 0);
  }
}

TEST_CASE("a thread slowed down takes fewer pieces, and the others take the rest", "[core][threads]") {
  const ThreadCountScope restore;
  const gantry::test::HelpersAlwaysJoinScope helpers_always_join;
  gantry::set_thread_count(2);
  const std::thread::id home = std::this_thread::get_id();
  // Pieces on the helper take 20 ms (as if another process held its core), on the calling thread 1 ms.
  constexpr int pieces = 16;
  int caller_pieces = 0, helper_pieces = 0;
  for (int attempt = 0; attempt < 5 && helper_pieces == 0; ++attempt) {
    std::atomic<int> on_caller{0}, on_helper{0};
    detail::run_shares(pieces, [&](int, int) {
      if (std::this_thread::get_id() == home) {
        ++on_caller;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      } else {
        ++on_helper;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
    caller_pieces = on_caller;
    helper_pieces = on_helper;
  }
  INFO("calling thread " << caller_pieces << " pieces, helper " << helper_pieces);
  CHECK(caller_pieces + helper_pieces == pieces);
  CHECK(helper_pieces >= 1);  // the helper did join
  CHECK(caller_pieces >= 3 * helper_pieces);  // with fixed halves each would have run 8
}

namespace {

/// Runs `jobs` jobs of 2 pieces on 2 threads: a piece on a helper thread sleeps 5 ms (a helper whose core another
/// process holds), on the calling thread 1 ms (long enough for a helper to claim the other piece, even on a machine
/// busy with other tests).
/// Returns how many jobs a helper joined.
int jobs_a_helper_joined(int jobs) {
  const std::thread::id home = std::this_thread::get_id();
  int joined = 0;
  for (int job = 0; job < jobs; ++job) {
    std::atomic<bool> helper_ran{false};
    detail::run_shares(2, [&](int, int) {
      const bool helper = std::this_thread::get_id() != home;
      if (helper) helper_ran = true;
      std::this_thread::sleep_for(std::chrono::microseconds(helper ? 5000 : 1000));
    });
    if (helper_ran) ++joined;
  }
  return joined;
}

}  // namespace

TEST_CASE("helpers that keep the calling thread waiting are kept out, unless adaptive_helpers is off",
          "[core][threads]") {
  const ThreadCountScope restore;
  gantry::set_thread_count(2);
  constexpr int jobs = 200;
  SECTION("adaptive_helpers off: the helper joins (almost) every job") {
    const gantry::test::HelpersAlwaysJoinScope helpers_always_join;
    const int joined = jobs_a_helper_joined(jobs);
    INFO("the helper joined " << joined << " of " << jobs << " jobs");
    CHECK(joined >= jobs / 2);
  }
  SECTION("adaptive (the default): after a window of such jobs the calling thread runs them alone for a while") {
    const SplitOptionsScope defaults;
    REQUIRE(gantry::split_options().adaptive_helpers);
    // The helper joins the first window (16 jobs, 80 ms), is kept out for 25 ms (about 12 jobs of 2 ms), joins a
    // trial window, is kept out for 50 ms, then 100 ms, ...: about a third of the jobs. A stall of this thread makes
    // the stretches pass with fewer jobs run, so a few attempts.
    int joined = jobs;
    for (int attempt = 0; attempt < 3 && joined >= jobs / 2; ++attempt) joined = jobs_a_helper_joined(jobs);
    INFO("the helper joined " << joined << " of " << jobs << " jobs");
    CHECK(joined >= gantry::detail::HelperAdvisor::window);  // it did join before the verdict
    CHECK(joined < jobs / 2);
  }
}

#if defined(__linux__)

namespace {

/// Spins until the calling thread has run for `cpu_time` (not wall time: a thread that waits for its turn on a
/// shared core takes longer).
void run_for(std::chrono::nanoseconds cpu_time) {
  const auto used = [] {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
  };
  const auto until = used() + cpu_time;
  while (used() < until) {
  }
}

/// Restores the calling thread's affinity at the end of a scope.
struct AffinityScope {
  cpu_set_t before{};
  bool known = sched_getaffinity(0, sizeof before, &before) == 0;
  ~AffinityScope() {
    if (known) sched_setaffinity(0, sizeof before, &before);
  }
};

bool set_cpus(std::initializer_list<int> cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) CPU_SET(c, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0;
}

}  // namespace

TEST_CASE("a helper on a shared core holding a long job's last piece is lent the calling thread's CPU",
          "[core][threads]") {
  // The calling thread runs on CPU a alone; its helper on CPU b, where another thread spins all the time. Pieces
  // are 4 ms of CPU time, so the helper's takes ~8 ms of wall time and the calling thread runs out of pieces
  // first: it should lend the helper its CPU. The pieces are the same, so the results are too; what can go wrong
  // is a job that never ends, a piece run twice or not at all, or a helper left pinned to the calling thread's CPU.
  const ThreadCountScope restore;
  const AffinityScope restore_affinity;
  SplitOptions options;
  options.adaptive_helpers = false;  // the helper joins every job, however slow
  options.preemption_aware_helpers = true;
  const gantry::test::SplitOptionsScope restore_options;
  gantry::set_split_options(options);
  gantry::set_thread_count(2);

  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE && cpus.size() < 2; ++c)
    if (CPU_ISSET(c, &restore_affinity.before)) cpus.push_back(c);
  if (cpus.size() < 2 || !gantry::detail::RunQueueWait().available()) {
    WARN("needs two CPUs and the kernel's run-queue counts: a helper here cannot see a shared core, so nothing is "
         "lent (the pool then waits as before, which the other tests check)");
    return;
  }
  detail::SharePool& pool = detail::SharePool::instance();
  if (pool.helper_count() > 0 && CPU_COUNT(&restore_affinity.before) > 2) {
    WARN("the pool's helper started earlier in this process, free to use CPUs other than the two this test "
         "shares out: run this test case alone (ctest does) to check lending");
    return;
  }
  const int a = cpus[0], b = cpus[1];
  REQUIRE(set_cpus({a, b}));  // the helper starts from this thread's CPUs
  detail::run_shares(2, [](int, int) {});
  REQUIRE(set_cpus({a}));

  std::atomic<bool> stop{false};
  std::thread other([&] {  // another process's busy loop, on the helper's CPU
    if (!set_cpus({b})) return;
    while (!stop.load(std::memory_order_relaxed)) {
    }
  });
  const std::thread::id home = std::this_thread::get_id();
  const long lent_before = pool.lent_cpu_count();
  int jobs = 0, jobs_after_lending = 0, pieces_wrong = 0, helper_pieces = 0, helper_pieces_pinned = 0;
  for (; jobs < 200 && jobs_after_lending < 10; ++jobs) {
    std::array<std::atomic<int>, 2> ran{};
    detail::run_shares(2, [&](int i, int) {
      if (std::this_thread::get_id() != home) {
        cpu_set_t mine;
        CPU_ZERO(&mine);
        sched_getaffinity(0, sizeof mine, &mine);
        ++helper_pieces;
        if (CPU_COUNT(&mine) == 1 && CPU_ISSET(a, &mine)) ++helper_pieces_pinned;  // still lent: must not be
      }
      ++ran[i];
      run_for(std::chrono::milliseconds(4));
    });
    if (ran[0] != 1 || ran[1] != 1) ++pieces_wrong;
    if (pool.lent_cpu_count() > lent_before) ++jobs_after_lending;
  }
  stop = true;
  other.join();
  INFO(jobs << " jobs, " << pool.lent_cpu_count() - lent_before << " lent the CPU, helper ran " << helper_pieces
            << " pieces");
  CHECK(pieces_wrong == 0);
  CHECK(pool.lent_cpu_count() > lent_before);
  CHECK(helper_pieces > 0);
  // A helper lent the CPU gives it back after the piece it held: it never starts another one pinned there.
  CHECK(helper_pieces_pinned == 0);
}

#endif  // __linux__

#endif  // _OPENMP
