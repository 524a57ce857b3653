// SPDX-License-Identifier: MIT
#pragma once
/// A callback that writes the training curves to a CSV file: one row per iteration (or every k).

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/types.hpp"

namespace gantry::train {

struct CsvLoggerOptions {
  Index every = 1;  ///< a row every `every` iterations (those whose iteration number is a multiple of it)

  void validate() const { gantry::detail::require(every >= 1, "gantry::train::CsvLoggerOptions", "every", every, ">= 1"); }
};

/// Writes `header()` when constructed, then one row of StepStats per logged iteration:
///
///   iteration,seconds,critic_loss,generator_loss,penalty,consensus,wasserstein_estimate,mean_gradient_norm,max_gradient_norm
///
/// Numbers are written in the shortest form that reads back to the same value; NaN (e.g. the gradient norms
/// of a policy without a penalty) is written "nan", which Python, pandas, R and spreadsheets read as
/// missing. `seconds` is wall time since the first `fit` this logger saw, summed over later `fit` calls.
/// The file is opened (truncated) by the constructor, which throws IoError naming the path if it cannot;
/// rows are flushed when training ends and when the logger is destroyed.
class CsvLogger {
 public:
  explicit CsvLogger(std::string path, CsvLoggerOptions options = {}) : path_(std::move(path)), options_(options) {
    options_.validate();
    errno = 0;
    file_.reset(std::fopen(path_.c_str(), "w"));
    if (!file_)
      throw IoError(gantry::detail::message("gantry::train::CsvLogger: cannot open '", path_, "' for writing: ",
                                            errno ? std::strerror(errno) : "unknown error"));
    write(std::string(header()) + "\n");
  }

  static constexpr std::string_view header() {
    return "iteration,seconds,critic_loss,generator_loss,penalty,consensus,wasserstein_estimate,mean_gradient_norm,"
           "max_gradient_norm";
  }

  template <class Trainer>
  void on_train_begin(Trainer& /*trainer*/) {
    seconds_offset_ = last_seconds_;
  }

  template <class Trainer, class Stats>
  void on_step_end(Trainer& /*trainer*/, const Stats& stats) {
    const double seconds = seconds_offset_ + stats.seconds;
    last_seconds_ = seconds;
    if (stats.iteration % options_.every != 0) return;
    line_.clear();
    fmt::format_to(std::back_inserter(line_), "{},{:.4f}", stats.iteration, seconds);
    // Formatted in the stats' own Scalar: a float written as float is short ("0.1", not "0.10000000149011612").
    using Scalar = std::decay_t<decltype(stats.critic_loss)>;
    for (const Scalar value : {stats.critic_loss, stats.generator_loss, stats.penalty, stats.consensus,
                               stats.wasserstein_estimate, stats.mean_gradient_norm, stats.max_gradient_norm}) {
      line_.push_back(',');
      append_number(value);
    }
    line_.push_back('\n');
    write(line_);
    ++rows_;
  }

  template <class Trainer>
  void on_train_end(Trainer& /*trainer*/) {
    flush();
  }

  /// Pushes buffered rows to the file; throws IoError naming the path if the system refuses them.
  void flush() {
    if (std::fflush(file_.get()) != 0 || std::ferror(file_.get()))
      throw IoError(gantry::detail::message("gantry::train::CsvLogger: cannot write to '", path_,
                                            "': ", std::strerror(errno)));
  }

  const std::string& path() const { return path_; }
  /// Data rows written so far (the header not counted).
  Index rows() const { return rows_; }

 private:
  struct Closer {
    void operator()(std::FILE* file) const { std::fclose(file); }
  };

  template <class Scalar>
  void append_number(Scalar value) {
    if (std::isnan(value))
      line_ += "nan";  // fmt would write "-nan" for a NaN with its sign bit set
    else
      fmt::format_to(std::back_inserter(line_), "{}", value);
  }

  void write(const std::string& text) {
    if (std::fwrite(text.data(), 1, text.size(), file_.get()) != text.size())
      throw IoError(gantry::detail::message("gantry::train::CsvLogger: cannot write to '", path_,
                                            "': ", std::strerror(errno)));
  }

  std::string path_;
  CsvLoggerOptions options_;
  std::unique_ptr<std::FILE, Closer> file_;
  std::string line_;
  Index rows_ = 0;
  double seconds_offset_ = 0.0;
  double last_seconds_ = 0.0;
};

}  // namespace gantry::train
