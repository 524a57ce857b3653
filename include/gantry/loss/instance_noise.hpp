// SPDX-License-Identifier: MIT
#pragma once
/// Instance noise: Gaussian noise of a fixed or scheduled sigma added to every real and fake sample before the critic.

#include <optional>
#include <string>

#include "gantry/core/check.hpp"
#include "gantry/loss/regularizer.hpp"
#include "gantry/train/schedule.hpp"

namespace gantry::loss {

/// Sonderby et al. 2016; analysed for the Dirac-GAN by Mescheder et al. 2018, section 3.
/// The noise is drawn with the batch, so the evaluation of a batch is deterministic. Arjovsky & Bottou 2017
/// (section 4) anneal it: with `sigma_schedule` the trainer sets sigma = sigma_schedule->at(t) at the start of
/// generator iteration t (e.g. train::ValueSchedule::linear(1.0, 0.0, 5000)).
struct InstanceNoise {
  double sigma = 0.1;
  std::optional<train::ValueSchedule> sigma_schedule = std::nullopt;

  static constexpr const char* type_name = "instance_noise";
  // The schedule is the receiving trainer's: it sets sigma from the iteration, which the checkpoint restores.
  template <class Self, class Fields>
  static void settings(Self& self, Fields& fields) {
    fields.restore("sigma", self.sigma);
  }

  void validate() const {
    gantry::detail::require(gantry::detail::finite(sigma) && sigma >= 0, "gantry::loss::InstanceNoise", "sigma", sigma,
                            "finite and >= 0");
    if (sigma_schedule) sigma_schedule->validate("gantry::loss::InstanceNoise.sigma_schedule", 0, false);
  }
  void at_iteration(Index t) {
    if (sigma_schedule) sigma = sigma_schedule->at(t);
  }
  std::string name() const { return "instance_noise"; }
  template <class S>
  void sample_noise(Eigen::Ref<Matrix<S>> noise, Rng& rng) const {
    rng.fill_normal(noise, 0.0, sigma);
  }
  /// For the Dirac-GAN analysis, which replaces the draws by their law.
  double noise_stddev() const { return sigma; }
};

}  // namespace gantry::loss
