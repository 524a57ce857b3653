// SPDX-License-Identifier: MIT
#pragma once
/// One training batch: everything random a step uses, drawn up front so that evaluating it is deterministic.

#include "gantry/core/types.hpp"

namespace gantry::train {

template <class Scalar>
struct Batch {
  Matrix<Scalar> real;        ///< (data dimension x B) real samples, instance noise already added
  Matrix<Scalar> z;           ///< (noise dimension x B) generator inputs
  RowVector<Scalar> eps;      ///< (1 x B) interpolation weights for penalties at interpolates, U[0, 1]
  Matrix<Scalar> fake_noise;  ///< (data dimension x B) noise added to generated samples; empty when unused
};

}  // namespace gantry::train
