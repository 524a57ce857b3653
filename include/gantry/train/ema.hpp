// SPDX-License-Identifier: MIT
#pragma once
/// A callback that keeps an exponential moving average of the generator's parameters, the network to sample from.

#include <limits>
#include <optional>
#include <utility>

#include <Eigen/Core>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/types.hpp"
#include "gantry/nn/mlp.hpp"

namespace gantry::train {

struct EmaOptions {
  double decay = 0.999;  ///< weight of the old average per iteration; the average spans about 1 / (1 - decay) iterations

  void validate() const {
    gantry::detail::require(gantry::detail::finite(decay) && decay >= 0.0 && decay < 1.0, "gantry::train::EmaOptions",
                            "decay", decay, "in [0, 1)");
  }
};

/// theta_ema <- decay * theta_ema + (1 - decay) * theta after every generator iteration. Averaging the
/// generator's iterates damps the rotation of simultaneous-gradient dynamics around the equilibrium, so the
/// average often sits closer to it than any single iterate (Yazici et al. 2019, "The Unusual Effectiveness of
/// Averaging in GAN Training"). No bias correction: the average starts as a copy of the generator, not at zero.
///
///   EmaGenerator<float> ema(EmaOptions{0.999});
///   trainer.fit(10000, ema);
///   Matrix<float> samples = ema.generator()(z);
///
/// The average is initialised from the trainer's generator at the first `on_train_begin` (or the first
/// `update`) and kept across later `fit` calls, so a run split into chunks averages as one run.
template <class Scalar>
class EmaGenerator {
 public:
  explicit EmaGenerator(EmaOptions options = {}) : options_(options) { options_.validate(); }
  explicit EmaGenerator(double decay) : EmaGenerator(EmaOptions{decay}) {}

  template <class Trainer>
  void on_train_begin(Trainer& trainer) {
    if (!average_) initialize(trainer.generator());
  }

  template <class Trainer, class Stats>
  void on_step_end(Trainer& trainer, const Stats& /*stats*/) {
    update(trainer.generator());
  }

  /// Starts the average over as a copy of `generator` (its architecture and parameters).
  void initialize(const nn::Mlp<Scalar>& generator) {
    average_ = generator;
    updates_ = 0;
  }

  /// One averaging step towards `generator`'s current parameters; initialises on first use.
  void update(const nn::Mlp<Scalar>& generator) {
    if (!average_) {
      initialize(generator);
      return;
    }
    if (generator.parameter_count() != average_->parameter_count())
      throw ShapeError(gantry::detail::message("gantry::train::EmaGenerator::update: the generator has ",
                                               generator.parameter_count(), " parameters, the average has ",
                                               average_->parameter_count()));
    if (updates_ == std::numeric_limits<Index>::max())
      throw OptionError(gantry::detail::message("gantry::train::EmaGenerator::update: updates ", updates_,
                                                " is the largest 64-bit count; one more would overflow it"));
    const Scalar decay = static_cast<Scalar>(options_.decay);
    const Scalar weight = static_cast<Scalar>(1.0 - options_.decay);
    // Coefficient-wise, so the expression may read and write the same vector; no temporary is allocated.
    average_->parameters() = decay * average_->parameters() + weight * generator.parameters();
    ++updates_;
  }

  bool initialized() const { return average_.has_value(); }
  /// Averaging steps since the average was initialised.
  Index updates() const { return updates_; }
  double decay() const { return options_.decay; }
  const EmaOptions& options() const { return options_; }

  /// The generator with the averaged parameters: sample from it.
  const nn::Mlp<Scalar>& generator() const { return checked("generator"); }

  /// The averaged parameters (flat, laid out like the generator's), e.g. for a checkpoint.
  const Vector<Scalar>& parameters() const { return checked("parameters").parameters(); }

  /// Restores the average from a checkpoint; the architecture comes from `generator`, the values from `parameters`.
  void restore(const nn::Mlp<Scalar>& generator, const Eigen::Ref<const Vector<Scalar>>& parameters,
               Index updates = 0) {
    nn::Mlp<Scalar> average = generator;
    average.set_parameters(parameters);  // checks the size
    gantry::detail::check_finite("gantry::train::EmaGenerator::restore", "parameters", parameters);
    average_ = std::move(average);
    updates_ = updates;
  }

 private:
  const nn::Mlp<Scalar>& checked(const char* what) const {
    if (!average_)
      throw OptionError(gantry::detail::message("gantry::train::EmaGenerator::", what,
                                                ": no average yet (call fit with this callback, or update/initialize)"));
    return *average_;
  }

  EmaOptions options_;
  std::optional<nn::Mlp<Scalar>> average_;
  Index updates_ = 0;
};

}  // namespace gantry::train
