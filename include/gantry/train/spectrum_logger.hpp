// SPDX-License-Identifier: MIT
#pragma once
/// A callback that every k iterations records the eigenvalues of the game's Jacobian (leading ones by Arnoldi,
/// the whole spectrum for small networks) into a CSV and a JSON log.

#include <algorithm>
#include <chrono>
#include <complex>
#include <cstdint>
#include <iterator>
#include <type_traits>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/rng.hpp"
#include "gantry/core/types.hpp"
#include "gantry/io/atomic_file.hpp"
#include "gantry/io/json_writer.hpp"
#include "gantry/metrics/game_jacobian.hpp"
#include "gantry/metrics/game_spectrum.hpp"
#include "gantry/metrics/leading_eigenvalues.hpp"
#include "gantry/train/batch.hpp"
#include "gantry/train/trainer.hpp"

namespace gantry::train {

struct SpectrumLoggerOptions {
  Index every = 100;                 ///< a record at every iteration that is a multiple of this (k)
  bool at_start = true;              ///< and one before the first iteration of the first fit
  Index leading_count = 6;           ///< eigenvalues of largest modulus and of largest real part (0: none; Spectra)
  Index full_max_parameters = 2000;  ///< the whole spectrum too when the game has at most this many parameters
  Index full_every = 1;              ///< ... at every full_every-th record only (it costs n products and O(n^3))
  std::uint64_t batch_seed = 1;      ///< the log's own batch: drawn once, as training draws one, then held fixed
  Index batch_size = 0;              ///< its size (0: the trainer's)
  metrics::ConsensusJacobian consensus = metrics::ConsensusJacobian::exact;
  metrics::LeadingEigenvaluesOptions arnoldi{};  ///< its count and order are set from leading_count
  std::string csv_path;   ///< long format: iteration,set,rank,real,imag (empty: no CSV)
  std::string json_path;  ///< every record so far, rewritten after each (empty: no JSON)

  void validate() const {
    constexpr const char* owner = "gantry::train::SpectrumLoggerOptions";
    gantry::detail::require(every >= 1, owner, "every", every, ">= 1");
    gantry::detail::require(leading_count >= 0, owner, "leading_count", leading_count, ">= 0");
    gantry::detail::require(full_max_parameters >= 0, owner, "full_max_parameters", full_max_parameters, ">= 0");
    gantry::detail::require(full_every >= 1, owner, "full_every", full_every, ">= 1");
    gantry::detail::require(batch_size >= 0, owner, "batch_size", batch_size, ">= 0 (0: the trainer's)");
    if (leading_count > 0 && !GANTRY_HAS_SPECTRA)
      throw OptionError(gantry::detail::message(owner, ".leading_count = ", leading_count,
                                                " needs Spectra (libspectra-dev), which this build lacks; set it to 0"));
    if (csv_path.empty() && json_path.empty())
      throw OptionError(gantry::detail::message(owner, ": csv_path and json_path are both empty: nothing would be "
                                                       "written"));
  }
};

/// One record of the log.
struct SpectrumRecord {
  Index iteration = 0;
  Index parameters = 0;
  std::vector<std::complex<double>> largest_modulus, largest_real;  ///< Arnoldi's converged ones
  bool leading_converged = true;
  std::vector<std::complex<double>> full;  ///< empty unless recorded
  metrics::SpectrumSummary summary;        ///< of `full` when recorded, else of both leading sets
  double field_norm = 0;                   ///< |v| on the batch: 0 at a stationary point
  double seconds = 0;                      ///< wall time of this record
};

/// Works with any trainer of double scalars (the Arnoldi runs in double). Each record builds a
/// metrics::GameJacobian at the trainer's current networks on the logger's fixed batch; training itself is
/// untouched (the trainer's Rng is restored after the batch is drawn).
class SpectrumLogger {
 public:
  explicit SpectrumLogger(SpectrumLoggerOptions options) : options_(std::move(options)) {
    options_.validate();
    if (!options_.csv_path.empty()) csv_ += "iteration,set,rank,real,imag\n";
  }

  template <class Trainer>
  void on_train_begin(Trainer& trainer) {
    if (options_.at_start && trainer.iteration() == 0 && records_.empty()) record(trainer, 0);
  }

  template <class Trainer, class Stats>
  void on_step_end(Trainer& trainer, const Stats& stats) {
    if (stats.iteration % options_.every == 0) record(trainer, stats.iteration);
  }

  /// Records the trainer's current state now (also what the events call).
  template <class Trainer>
  void record(Trainer& trainer, Index iteration) {
    using Policy = typename Trainer::policy_type;
    static_assert(std::is_same_v<typename Trainer::scalar_type, double>,
                  "gantry::train::SpectrumLogger: the trainer's scalar must be double (the Arnoldi runs in double)");
    const auto start = std::chrono::steady_clock::now();
    if (batch_.z.size() == 0) {
      const Rng::State saved = trainer.rng().state();
      const TrainerOptions schedule = trainer.options();
      TrainerOptions drawing = schedule;
      if (options_.batch_size > 0) drawing.batch_size = options_.batch_size;
      trainer.set_options(drawing);
      trainer.rng().reseed(options_.batch_seed);
      trainer.draw_batch(batch_);
      trainer.rng().set_state(saved);
      trainer.set_options(schedule);
    }
    metrics::GameJacobianOptions jacobian_options;
    jacobian_options.consensus = options_.consensus;
    metrics::GameJacobian<Policy, double> jacobian(trainer.policy(), trainer.generator(), trainer.critic(), batch_,
                                                   jacobian_options);
    SpectrumRecord r;
    r.iteration = iteration;
    r.parameters = jacobian.size();
    r.field_norm = jacobian.field().norm();
    if (options_.leading_count > 0) leading(jacobian, r);
    const bool full = jacobian.size() <= options_.full_max_parameters &&
                      static_cast<Index>(records_.size()) % options_.full_every == 0;
    if (full) {
      metrics::FullSpectrumOptions full_options;
      full_options.max_parameters = options_.full_max_parameters;
      r.full = metrics::full_spectrum(jacobian, full_options);
      r.summary = metrics::summarize_spectrum(r.full);
    } else {
      std::vector<std::complex<double>> both = r.largest_modulus;
      both.insert(both.end(), r.largest_real.begin(), r.largest_real.end());
      r.summary = metrics::summarize_spectrum(both);
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    records_.push_back(std::move(r));
    write(records_.back());
  }

  const std::vector<SpectrumRecord>& records() const { return records_; }
  const SpectrumLoggerOptions& options() const { return options_; }
  /// The fixed batch every record is taken on (empty before the first record).
  const Batch<double>& batch() const { return batch_; }

 private:
  template <class Jacobian>
  void leading(Jacobian& jacobian, SpectrumRecord& r) {
#if GANTRY_HAS_SPECTRA
    metrics::LeadingEigenvaluesOptions arnoldi = options_.arnoldi;
    // A game too small for the requested count gets as many as Arnoldi can give (its full spectrum says the rest).
    arnoldi.count = std::min(options_.leading_count, jacobian.size() - 2);
    if (arnoldi.count < 1) return;
    arnoldi.order = metrics::EigenvalueOrder::largest_modulus;
    const metrics::LeadingEigenvalues by_modulus = metrics::leading_eigenvalues(jacobian, arnoldi);
    arnoldi.order = metrics::EigenvalueOrder::largest_real;
    const metrics::LeadingEigenvalues by_real = metrics::leading_eigenvalues(jacobian, arnoldi);
    r.largest_modulus = by_modulus.eigenvalues;
    r.largest_real = by_real.eigenvalues;
    r.leading_converged = by_modulus.converged && by_real.converged;
#else
    (void)jacobian;
    (void)r;
#endif
  }

  void write(const SpectrumRecord& r) {
    if (!options_.csv_path.empty()) {
      const auto rows = [&](const char* set, const std::vector<std::complex<double>>& values) {
        for (std::size_t k = 0; k < values.size(); ++k)
          fmt::format_to(std::back_inserter(csv_), "{},{},{},{},{}\n", r.iteration, set, k, values[k].real(),
                         values[k].imag());
      };
      rows("largest_modulus", r.largest_modulus);
      rows("largest_real", r.largest_real);
      rows("full", r.full);
      io::write_file_atomically(options_.csv_path, csv_);
    }
    if (!options_.json_path.empty()) json().save(options_.json_path);
  }

  io::JsonWriter json() const {
    io::JsonWriter w;
    w.begin_object().key("records").begin_array();
    const auto values = [&](const char* name, const std::vector<std::complex<double>>& list) {
      w.key(name).begin_array();
      for (const auto& e : list) w.begin_array().value(e.real()).value(e.imag()).end_array();
      w.end_array();
    };
    for (const SpectrumRecord& r : records_) {
      w.begin_object();
      w.field("iteration", r.iteration).field("parameters", r.parameters).field("seconds", r.seconds);
      w.field("field_norm", r.field_norm);
      w.field("max_real", r.summary.max_real).field("max_modulus", r.summary.max_modulus);
      w.field("max_imag_over_real", r.summary.max_imag_over_real).field("leading_converged", r.leading_converged);
      values("largest_modulus", r.largest_modulus);
      values("largest_real", r.largest_real);
      values("full", r.full);
      w.end_object();
    }
    w.end_array().end_object();
    return w;
  }

  SpectrumLoggerOptions options_;
  Batch<double> batch_;
  std::vector<SpectrumRecord> records_;
  std::string csv_;
};

}  // namespace gantry::train
