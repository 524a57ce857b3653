// SPDX-License-Identifier: MIT
#pragma once
/// A dense layer a = W h + b described by where its weight and bias live in a flat parameter vector.

#include "gantry/core/types.hpp"

namespace gantry::nn {

/// Layers own no storage: every layer of a network is a view into one flat vector, so one optimizer step
/// updates all of them and gradients, tangents and parameters share one layout.
struct DenseLayer {
  Index inputs = 0;
  Index outputs = 0;
  bool has_bias = true;
  Index weight_offset = 0;  ///< W is (outputs x inputs), column-major, at flat[weight_offset ...]
  Index bias_offset = 0;    ///< b is (outputs), at flat[bias_offset ...] when has_bias

  Index parameter_count() const { return inputs * outputs + (has_bias ? outputs : 0); }

  template <class Scalar>
  MatrixMap<Scalar> weight(Scalar* flat) const {
    return MatrixMap<Scalar>(flat + weight_offset, outputs, inputs);
  }
  template <class Scalar>
  ConstMatrixMap<Scalar> weight(const Scalar* flat) const {
    return ConstMatrixMap<Scalar>(flat + weight_offset, outputs, inputs);
  }
  template <class Scalar>
  VectorMap<Scalar> bias(Scalar* flat) const {
    return VectorMap<Scalar>(flat + bias_offset, has_bias ? outputs : 0);
  }
  template <class Scalar>
  ConstVectorMap<Scalar> bias(const Scalar* flat) const {
    return ConstVectorMap<Scalar>(flat + bias_offset, has_bias ? outputs : 0);
  }
};

}  // namespace gantry::nn
