// SPDX-License-Identifier: MIT
#pragma once
/// Matrix and vector aliases shared by every gantry header.

#include <Eigen/Core>

namespace gantry {

using Index = Eigen::Index;

/// A batch is (features x batch): one sample per column, so a dense layer is one GEMM W * H.
template <class Scalar>
using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

template <class Scalar>
using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

template <class Scalar>
using RowVector = Eigen::Matrix<Scalar, 1, Eigen::Dynamic>;

template <class Scalar>
using MatrixMap = Eigen::Map<Matrix<Scalar>>;

template <class Scalar>
using ConstMatrixMap = Eigen::Map<const Matrix<Scalar>>;

template <class Scalar>
using VectorMap = Eigen::Map<Vector<Scalar>>;

template <class Scalar>
using ConstVectorMap = Eigen::Map<const Vector<Scalar>>;

}  // namespace gantry
