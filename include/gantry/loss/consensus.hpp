// SPDX-License-Identifier: MIT
#pragma once
/// Consensus optimization: each player adds gamma * 1/2 |v|^2 to its loss, v the game's gradient field.

#include <string>

#include "gantry/core/check.hpp"
#include "gantry/loss/regularizer.hpp"

namespace gantry::loss {

/// Mescheder, Nowozin and Geiger 2017, eq. 7: R = 1/2 |v|^2 with v = (grad_D L_D, grad_G L_G) of the objective
/// (regularizers excluded), both at the same batch. grad R = J^T v is computed exactly with Hessian-vector
/// products through generator and critic; fake samples are not detached.
struct Consensus {
  double gamma = 10.0;

  static constexpr const char* type_name = "consensus";
  template <class Self, class Fields>
  static void settings(Self& self, Fields& fields) {
    fields.restore("gamma", self.gamma);
  }

  void validate() const {
    gantry::detail::require(gantry::detail::finite(gamma) && gamma >= 0, "gantry::loss::Consensus", "gamma", gamma,
                            "finite and >= 0");
  }
  std::string name() const { return "consensus"; }
  double consensus_weight() const { return gamma; }
};

}  // namespace gantry::loss
