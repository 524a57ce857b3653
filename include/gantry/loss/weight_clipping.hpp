// SPDX-License-Identifier: MIT
#pragma once
/// WGAN weight clipping: after each critic optimizer step every critic parameter is projected to [-c, c].

#include <string>

#include "gantry/core/check.hpp"
#include "gantry/loss/regularizer.hpp"

namespace gantry::loss {

/// Arjovsky et al. 2017, Algorithm 1: a projection after the step, not a gradient term. Every critic parameter is
/// clipped: biases, and a layer normalization's gains and shifts too (the reference code clamps all of
/// netD.parameters(), normalization parameters included, so a gain that starts at 1 is c after the first step).
struct WeightClipping {
  double clip = 0.01;

  static constexpr const char* type_name = "weight_clipping";
  template <class Self, class Fields>
  static void settings(Self& self, Fields& fields) {
    fields.restore("clip", self.clip);
  }

  void validate() const {
    gantry::detail::require(gantry::detail::finite(clip) && clip > 0, "gantry::loss::WeightClipping", "clip", clip,
                            "finite and > 0");
  }
  std::string name() const { return "weight_clipping"; }
  template <class S>
  void project_critic(nn::Mlp<S>& critic) const {
    const S c = static_cast<S>(clip);
    critic.parameters() = critic.parameters().cwiseMax(-c).cwiseMin(c);
  }
};

}  // namespace gantry::loss
