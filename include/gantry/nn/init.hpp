// SPDX-License-Identifier: MIT
#pragma once
/// Weight initialisation schemes (He, Glorot, PyTorch's nn.Linear default) drawn from a seeded Rng.

#include <cmath>
#include <string>

#include "gantry/core/error.hpp"
#include "gantry/core/rng.hpp"

namespace gantry::nn {

enum class InitScheme {
  he_uniform,      ///< U(-b, b), b = sqrt(6 / fan_in); biases 0 (He et al. 2015, for ReLU)
  he_normal,       ///< N(0, 2 / fan_in); biases 0
  glorot_uniform,  ///< U(-b, b), b = sqrt(6 / (fan_in + fan_out)); biases 0 (Glorot & Bengio 2010)
  glorot_normal,   ///< N(0, 2 / (fan_in + fan_out)); biases 0
  torch_default,   ///< weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's nn.Linear, as the reference toy code uses
};

inline std::string init_scheme_name(InitScheme scheme) {
  switch (scheme) {
    case InitScheme::he_uniform: return "he_uniform";
    case InitScheme::he_normal: return "he_normal";
    case InitScheme::glorot_uniform: return "glorot_uniform";
    case InitScheme::glorot_normal: return "glorot_normal";
    case InitScheme::torch_default: return "torch_default";
  }
  return "?";
}

inline InitScheme init_scheme_from_name(const std::string& name) {
  for (InitScheme s : {InitScheme::he_uniform, InitScheme::he_normal, InitScheme::glorot_uniform,
                       InitScheme::glorot_normal, InitScheme::torch_default})
    if (init_scheme_name(s) == name) return s;
  throw OptionError(detail::message("gantry::nn::init_scheme_from_name: unknown scheme '", name,
                                    "' (expected he_uniform, he_normal, glorot_uniform, glorot_normal, torch_default)"));
}

/// Fills one layer's weight (fan_out x fan_in) and bias according to `scheme`.
template <class WeightDerived, class BiasDerived>
void initialize_layer(InitScheme scheme, Rng& rng, const Eigen::DenseBase<WeightDerived>& weight,
                      const Eigen::DenseBase<BiasDerived>& bias) {
  const double fan_out = static_cast<double>(weight.rows());
  const double fan_in = static_cast<double>(weight.cols());
  auto& b = const_cast<Eigen::DenseBase<BiasDerived>&>(bias);
  switch (scheme) {
    case InitScheme::he_uniform: {
      const double bound = std::sqrt(6.0 / fan_in);
      rng.fill_uniform(weight, -bound, bound);
      b.setZero();
      break;
    }
    case InitScheme::he_normal:
      rng.fill_normal(weight, 0.0, std::sqrt(2.0 / fan_in));
      b.setZero();
      break;
    case InitScheme::glorot_uniform: {
      const double bound = std::sqrt(6.0 / (fan_in + fan_out));
      rng.fill_uniform(weight, -bound, bound);
      b.setZero();
      break;
    }
    case InitScheme::glorot_normal:
      rng.fill_normal(weight, 0.0, std::sqrt(2.0 / (fan_in + fan_out)));
      b.setZero();
      break;
    case InitScheme::torch_default: {
      const double bound = 1.0 / std::sqrt(fan_in);
      rng.fill_uniform(weight, -bound, bound);
      rng.fill_uniform(bias, -bound, bound);
      break;
    }
  }
}

}  // namespace gantry::nn
