// SPDX-License-Identifier: MIT
#pragma once
/// A callback that shows training progress: a redrawn bar on a terminal, a few plain lines in a log file.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <string>
#include <utility>

#include <fmt/format.h>

#if defined(_WIN32)
#include <io.h>
#else
#include <unistd.h>
#endif

#include "gantry/core/check.hpp"
#include "gantry/core/types.hpp"

namespace gantry::train {

enum class ProgressStyle {
  automatic,  ///< `terminal` when the stream is a terminal (isatty), else `plain`
  terminal,   ///< one line redrawn in place with '\r', at most every refresh_seconds
  plain,      ///< a new line every `every` iterations: what a log file or a CI console wants
};

struct ProgressBarOptions {
  std::FILE* stream = stderr;
  ProgressStyle style = ProgressStyle::automatic;
  Index every = 0;               ///< plain: a line every `every` iterations; 0: every 10% of the run, at most 1000
  double refresh_seconds = 0.1;  ///< terminal: minimum wall time between redraws
  int bar_width = 24;            ///< terminal: characters inside the brackets
  std::string label;             ///< printed first on every line, e.g. the policy's name

  void validate() const {
    constexpr const char* owner = "gantry::train::ProgressBarOptions";
    gantry::detail::require(stream != nullptr, owner, "stream", "null", "an open FILE*");
    gantry::detail::require(every >= 0, owner, "every", every, ">= 0 (0: automatic)");
    gantry::detail::require(gantry::detail::finite(refresh_seconds) && refresh_seconds >= 0, owner, "refresh_seconds",
                            refresh_seconds, "finite and >= 0");
    gantry::detail::require(bar_width >= 1 && bar_width <= 200, owner, "bar_width", bar_width, "in [1, 200]");
  }
};

namespace detail {

inline bool is_terminal(std::FILE* stream) {
#if defined(_WIN32)
  return _isatty(_fileno(stream)) != 0;
#else
  return isatty(fileno(stream)) != 0;
#endif
}

/// "42s", "3:07", "1:02:09": short for small durations, "--" when unknown.
inline std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--";
  const auto total = static_cast<long long>(std::llround(seconds));
  if (total < 60) return fmt::format("{}s", total);
  if (total < 3600) return fmt::format("{}:{:02}", total / 60, total % 60);
  return fmt::format("{}:{:02}:{:02}", total / 3600, (total / 60) % 60, total % 60);
}

inline std::string format_rate(double rate) {
  if (!std::isfinite(rate) || rate <= 0) return "-- it/s";
  if (rate >= 100) return fmt::format("{:.0f} it/s", rate);
  if (rate >= 1) return fmt::format("{:.1f} it/s", rate);
  return fmt::format("{:.2f} s/it", 1.0 / rate);  // slow runs read better as seconds per iteration
}

}  // namespace detail

/// Progress of `fit`: iteration / total, rate, elapsed time, ETA and the latest losses.
///
/// On a terminal it redraws one line in place, at most every `refresh_seconds`:
///   wgan-gp [#########...............]  1200/3000  40%  21.5 it/s  ETA 1:24  D -0.412 G 0.29 gp 0.0113 W 0.417
/// Elsewhere (a file, a pipe, CI) it writes a plain line every `every` iterations (default 10% of the run,
/// at most every 1000) and one at the end, so a long run never floods a log:
///   wgan-gp iteration 1200/3000 (40%)  21.5 it/s  elapsed 56s  ETA 1:24  critic -0.412  generator 0.29 ...
/// Rates and times come from StepStats::seconds; the run starts at the trainer's iteration when `fit` begins.
class ProgressBar {
 public:
  explicit ProgressBar(ProgressBarOptions options = {}) : options_(std::move(options)) { options_.validate(); }

  template <class Trainer>
  void on_train_begin(Trainer& trainer) {
    start_iteration_ = trainer.iteration();
    terminal_ = options_.style == ProgressStyle::terminal ||
                (options_.style == ProgressStyle::automatic && detail::is_terminal(options_.stream));
    last_draw_seconds_ = -1.0;
    drawn_width_ = 0;
    have_pending_ = false;
  }

  template <class Trainer, class Stats>
  void on_step_end(Trainer& /*trainer*/, const Stats& stats) {
    latest_ = Snapshot{stats.iteration,
                       stats.total_iterations,
                       stats.seconds,
                       static_cast<double>(stats.critic_loss),
                       static_cast<double>(stats.generator_loss),
                       static_cast<double>(stats.penalty),
                       static_cast<double>(stats.consensus),
                       static_cast<double>(stats.wasserstein_estimate),
                       stats.estimates_wasserstein};
    const bool last = latest_.total > 0 && latest_.iteration >= latest_.total;
    if (terminal_) {
      if (last || last_draw_seconds_ < 0 || latest_.seconds - last_draw_seconds_ >= options_.refresh_seconds) draw();
      else have_pending_ = true;
    } else {
      const Index done = latest_.iteration - start_iteration_;
      if (last || done % plain_every() == 0) print_line();
      else have_pending_ = true;
    }
  }

  template <class Trainer>
  void on_train_end(Trainer& /*trainer*/) {
    if (terminal_) {
      if (have_pending_) draw();
      if (drawn_width_ > 0) std::fputc('\n', options_.stream);
      drawn_width_ = 0;
    } else if (have_pending_) {
      print_line();
    }
    std::fflush(options_.stream);
  }

  const ProgressBarOptions& options() const { return options_; }

 private:
  struct Snapshot {
    Index iteration = 0;
    Index total = 0;
    double seconds = 0;
    double critic_loss = 0, generator_loss = 0, penalty = 0, consensus = 0, wasserstein = 0;
    bool estimates_wasserstein = false;
  };

  Index plain_every() const {
    if (options_.every > 0) return options_.every;
    const Index run = latest_.total - start_iteration_;
    if (run <= 0) return 1000;
    return std::clamp<Index>((run + 9) / 10, 1, 1000);
  }

  double rate() const {
    const Index done = latest_.iteration - start_iteration_;
    return latest_.seconds > 0 ? static_cast<double>(done) / latest_.seconds : 0.0;
  }

  double eta_seconds() const {
    const double r = rate();
    if (latest_.total <= 0 || r <= 0) return -1.0;
    return static_cast<double>(std::max<Index>(latest_.total - latest_.iteration, 0)) / r;
  }

  double fraction() const {
    const Index run = latest_.total - start_iteration_;
    if (run <= 0) return 0.0;
    return std::clamp(static_cast<double>(latest_.iteration - start_iteration_) / static_cast<double>(run), 0.0, 1.0);
  }

  void append_losses(std::string& out, bool terse) const {
    const auto item = [&](const char* short_name, const char* long_name, double value) {
      fmt::format_to(std::back_inserter(out), "  {} {:.4g}", terse ? short_name : long_name, value);
    };
    item("D", "critic", latest_.critic_loss);
    item("G", "generator", latest_.generator_loss);
    if (latest_.penalty != 0) item("gp", "penalty", latest_.penalty);
    if (latest_.consensus != 0) item("cons", "consensus", latest_.consensus);
    if (latest_.estimates_wasserstein) item("W", "wasserstein", latest_.wasserstein);
  }

  void draw() {
    std::string line = options_.label.empty() ? std::string() : options_.label + " ";
    if (latest_.total > 0) {
      const int filled = static_cast<int>(std::floor(fraction() * options_.bar_width));
      line += '[';
      line.append(static_cast<std::size_t>(filled), '#');
      line.append(static_cast<std::size_t>(options_.bar_width - filled), '.');
      fmt::format_to(std::back_inserter(line), "] {}/{} {:3.0f}%", latest_.iteration, latest_.total,
                     100.0 * fraction());
    } else {
      fmt::format_to(std::back_inserter(line), "iteration {}", latest_.iteration);
    }
    fmt::format_to(std::back_inserter(line), "  {}", detail::format_rate(rate()));
    if (latest_.total > 0) fmt::format_to(std::back_inserter(line), "  ETA {}", detail::format_duration(eta_seconds()));
    append_losses(line, true);
    // Blank out what a longer previous line left behind.
    const std::size_t width = line.size();
    if (width < drawn_width_) line.append(drawn_width_ - width, ' ');
    drawn_width_ = width;
    std::fputc('\r', options_.stream);
    std::fputs(line.c_str(), options_.stream);
    std::fflush(options_.stream);
    last_draw_seconds_ = latest_.seconds;
    have_pending_ = false;
  }

  void print_line() {
    std::string line = options_.label.empty() ? std::string() : options_.label + " ";
    if (latest_.total > 0)
      fmt::format_to(std::back_inserter(line), "iteration {}/{} ({:.0f}%)", latest_.iteration, latest_.total,
                     100.0 * fraction());
    else
      fmt::format_to(std::back_inserter(line), "iteration {}", latest_.iteration);
    fmt::format_to(std::back_inserter(line), "  {}  elapsed {}", detail::format_rate(rate()),
                   detail::format_duration(latest_.seconds));
    if (latest_.total > 0) fmt::format_to(std::back_inserter(line), "  ETA {}", detail::format_duration(eta_seconds()));
    append_losses(line, false);
    line += '\n';
    std::fputs(line.c_str(), options_.stream);
    std::fflush(options_.stream);
    have_pending_ = false;
  }

  ProgressBarOptions options_;
  Index start_iteration_ = 0;
  bool terminal_ = false;
  double last_draw_seconds_ = -1.0;
  std::size_t drawn_width_ = 0;
  bool have_pending_ = false;
  Snapshot latest_;
};

}  // namespace gantry::train
