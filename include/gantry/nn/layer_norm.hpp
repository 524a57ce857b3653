// SPDX-License-Identifier: MIT
#pragma once
/// Layer normalization of a hidden layer's affine output, per sample, with its four exact passes in O(n) a column.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include <Eigen/Core>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/types.hpp"

namespace gantry::nn {

/// Which hidden layers normalize their affine output a = W h + b before the activation (Ba et al. 2016; the
/// critic Gulrajani et al. 2017, section 4, recommend in place of batch normalization, which would couple the
/// samples of a penalized batch):
///
///   y = gain * (a - mean(a)) / sqrt(var(a) + epsilon) + shift,   mean and biased variance over a's n features,
///
/// one sample (column) at a time, as PyTorch's nn.LayerNorm(n). The output layer is never normalized.
struct LayerNormOptions {
  bool every_hidden_layer = false;  ///< normalize every hidden layer (then `layers` must be empty)
  std::vector<Index> layers;        ///< or these hidden layers only: indices in [0, layer count - 1)
  bool gain_and_shift = true;       ///< learnable per-feature gain (initialized to 1) and shift (to 0)
  double epsilon = 1e-5;            ///< added to the variance; PyTorch's default

  bool enabled() const { return every_hidden_layer || !layers.empty(); }

  /// Checks the options for a network of `layer_count` dense layers; throws OptionError naming the field.
  void validate(Index layer_count) const {
    constexpr const char* where = "gantry::nn::LayerNormOptions";
    detail::require(detail::finite(epsilon) && epsilon > 0, where, "epsilon", epsilon, "finite and > 0");
    if (every_hidden_layer && !layers.empty())
      throw OptionError(detail::message(where, ": give either every_hidden_layer or a list of layers, not both"));
    for (std::size_t i = 0; i < layers.size(); ++i) {
      if (layers[i] < 0 || layers[i] + 1 >= layer_count)
        throw OptionError(detail::message(where, ": layers[", i, "] = ", layers[i], " is not a hidden layer (the ",
                                          layer_count, "-layer network's hidden layers are 0..", layer_count - 2,
                                          "; the output layer is never normalized)"));
      for (std::size_t k = 0; k < i; ++k)
        if (layers[k] == layers[i])
          throw OptionError(detail::message(where, ": layer ", layers[i], " is listed twice"));
    }
  }

  bool normalizes(Index layer, Index layer_count) const {
    if (layer + 1 >= layer_count) return false;
    if (every_hidden_layer) return true;
    for (const Index l : layers)
      if (l == layer) return true;
    return false;
  }
};

/// One layer's normalization, described like DenseLayer by where its gain and shift live in the network's flat
/// parameter vector (right after that layer's weight and bias), so optimizers, clipping, averaging and
/// checkpoints see them as any other parameter. `features == 0`: the layer is not normalized.
///
/// The passes below treat each column (sample) from its mean and deviation alone: never an (n x n) matrix.
/// With c = a - mean(a), r = 1 / sqrt(|c|^2 / n + epsilon) and x_hat = r c, the Jacobian of x_hat is
///   J = r (I - 1 1^T / n - x_hat x_hat^T / n),   symmetric,
/// applied as J v = r (v - mean(v) - x_hat <x_hat, v> / n). A single feature normalizes to 0 (c = 0, J = 0):
/// the layer's output is its shift, and no derivative flows through it.
struct LayerNorm {
  Index features = 0;
  bool has_gain_and_shift = false;
  double epsilon = 1e-5;
  Index gain_offset = 0;   ///< gain (features) at flat[gain_offset ...] when has_gain_and_shift
  Index shift_offset = 0;  ///< shift (features) at flat[shift_offset ...]

  bool active() const { return features > 0; }
  Index parameter_count() const { return has_gain_and_shift ? 2 * features : 0; }

  template <class Scalar>
  VectorMap<Scalar> gain(Scalar* flat) const {
    return VectorMap<Scalar>(flat + gain_offset, has_gain_and_shift ? features : 0);
  }
  template <class Scalar>
  ConstVectorMap<Scalar> gain(const Scalar* flat) const {
    return ConstVectorMap<Scalar>(flat + gain_offset, has_gain_and_shift ? features : 0);
  }
  template <class Scalar>
  VectorMap<Scalar> shift(Scalar* flat) const {
    return VectorMap<Scalar>(flat + shift_offset, has_gain_and_shift ? features : 0);
  }
  template <class Scalar>
  ConstVectorMap<Scalar> shift(const Scalar* flat) const {
    return ConstVectorMap<Scalar>(flat + shift_offset, has_gain_and_shift ? features : 0);
  }
};

}  // namespace gantry::nn

namespace gantry::detail {

// The kernels below work on blocks of columns (features x samples) with Eigen's column-wise reductions and
// broadcasts, so that a block costs a few vectorized sweeps rather than a dozen small expressions per sample (at
// width 64, per-sample expressions cost as much as the layer's GEMM). Per-sample scalars (means, projections, the
// inverse deviation r) are rows of length `samples`: `r` the tape's, the others rows of a scratch block.

/// v = J v column by column, for the columns with normalized values x_hat and inverse deviations r (a row);
/// `mean` and `projection` are scratch rows of the block's width.
template <class XHat, class R, class V, class Mean, class Projection>
void apply_layer_norm_jacobian(const XHat& x_hat, const R& r, V&& v, Mean&& mean, Projection&& projection) {
  using S = typename XHat::Scalar;
  const S inv_n = S(1) / static_cast<S>(x_hat.rows());
  mean = v.colwise().sum() * inv_n;
  projection = x_hat.cwiseProduct(v).colwise().sum() * inv_n;
  v.rowwise() -= mean;
  v.noalias() -= x_hat * projection.asDiagonal();
  v.array().rowwise() *= r.array();
}

/// out = gain * v row by row (out = v when the layer has no gain).
template <class Gain, class V, class Out>
void gain_times(const Gain& gain, bool has_gain, const V& v, Out&& out) {
  if (has_gain)
    out = gain.asDiagonal() * v;
  else
    out = v;
}

/// The gain's and shift's gradients over a block: sum_j adj(y_j) x_hat_j and sum_j adj(y_j).
template <class Scalar, class AdjY, class XHat>
void add_gain_and_shift_gradient(const nn::LayerNorm& norm, const AdjY& adj_y, const XHat& x_hat, Scalar* gradient) {
  if (adj_y.cols() == 0) return;
  norm.gain(gradient).noalias() += adj_y.cwiseProduct(x_hat).rowwise().sum();
  norm.shift(gradient).noalias() += adj_y.rowwise().sum();
}

}  // namespace gantry::detail

namespace gantry::nn {

/// Forward on a block of columns: from the affine output a, the normalized x_hat, the inverse deviations r (a row,
/// one per column) and the layer's output y = gain x_hat + shift (the activation's input).
template <class Scalar, class A, class XHat, class R, class Y>
void layer_norm_forward(const LayerNorm& norm, const Scalar* theta, const A& a, XHat&& x_hat, R&& r, Y&& y) {
  const Scalar inv_n = Scalar(1) / static_cast<Scalar>(norm.features);
  const Scalar epsilon = static_cast<Scalar>(norm.epsilon);
  r = a.colwise().sum() * inv_n;  // the means, for now
  x_hat = a;
  x_hat.rowwise() -= r;  // centred first: the variance of c, not E a^2 - mean^2, which cancels in float
  r = ((x_hat.colwise().squaredNorm() * inv_n).array() + epsilon).sqrt().inverse().matrix();
  x_hat.array().rowwise() *= r.array();
  if (norm.has_gain_and_shift)
    y = (norm.gain(theta).asDiagonal() * x_hat).colwise() + norm.shift(theta);
  else
    y = x_hat;
}

/// Backward on a block: from adj(y), adj(a) = J (gain adj(y)) and, when `gradient` is given, the gain's gradient
/// sum_j adj(y_j) x_hat_j and the shift's sum_j adj(y_j) (added when `accumulate`). `scratch`: 2 rows of the width.
template <class Scalar, class AdjY, class XHat, class R, class AdjA, class Scratch>
void layer_norm_backward(const LayerNorm& norm, const Scalar* theta, const AdjY& adj_y, const XHat& x_hat, const R& r,
                         AdjA&& adj_a, Scratch&& scratch, Scalar* gradient, bool accumulate) {
  const bool affine = norm.has_gain_and_shift;
  if (gradient && affine) {
    if (!accumulate) {
      norm.gain(gradient).setZero();
      norm.shift(gradient).setZero();
    }
    detail::add_gain_and_shift_gradient(norm, adj_y, x_hat, gradient);
  }
  detail::gain_times(norm.gain(theta), affine, adj_y, adj_a);
  detail::apply_layer_norm_jacobian(x_hat, r, adj_a, scratch.row(0), scratch.row(1));
}

/// Tangent forward on a block of tangent columns: from da, dx_hat = J da and dy = gain dx_hat (+ dgain x_hat +
/// dshift with a parameter tangent `dtheta`, which may be null). x_hat and r are the primal columns of the same
/// samples; `scratch`: 2 rows of the width.
template <class Scalar, class DA, class XHat, class R, class DXHat, class DY, class Scratch>
void layer_norm_tangent(const LayerNorm& norm, const Scalar* theta, const Scalar* dtheta, const DA& da,
                        const XHat& x_hat, const R& r, DXHat&& dx_hat, DY&& dy, Scratch&& scratch) {
  const bool affine = norm.has_gain_and_shift;
  dx_hat = da;
  detail::apply_layer_norm_jacobian(x_hat, r, dx_hat, scratch.row(0), scratch.row(1));
  detail::gain_times(norm.gain(theta), affine, dx_hat, dy);
  if (affine && dtheta) {
    dy.noalias() += norm.gain(dtheta).asDiagonal() * x_hat;
    dy.colwise() += norm.shift(dtheta);
  }
}

/// Reverse of the tangent pass for samples [j0, j1) of P primal columns, the first T of which have a tangent
/// column P + j. Given adj(y), adj(dy), writes adj(a), adj(da) and, when `gradient` is given, the gain's and
/// shift's gradients (added when `accumulate`). With u = gain adj(dy) (the adjoint of dx_hat = J(a) da):
///   adj(da) = J u,
///   adj(a)  = J (gain adj(y) + dgain adj(dy)) + grad_a <u, J(a) da>,
///   grad_a <u, J(a) da> = -(r / n) (<u, dx_hat> x_hat + <x_hat, da> J u + <u, x_hat> dx_hat),
/// the second derivative of the normalization applied in O(n) (from dr/da = -r^2 x_hat / n and dx_hat/da = J).
/// `scratch` has 5 rows and at least j1 columns.
template <class Scalar>
void layer_norm_reverse_tangent(const LayerNorm& norm, const Scalar* theta, const Scalar* dtheta, Index P, Index T,
                                Index j0, Index j1, const Matrix<Scalar>& a, const Matrix<Scalar>& x_hat,
                                const Vector<Scalar>& r, const Matrix<Scalar>& adj_y, Matrix<Scalar>& adj_a,
                                Matrix<Scalar>& scratch, Scalar* gradient, bool accumulate) {
  const bool affine = norm.has_gain_and_shift;
  const Index t1 = std::max(j0, std::min(j1, T));  // samples [j0, t1) have a tangent column, [t1, j1) have none
  // Samples without a tangent column: the backward's step.
  layer_norm_backward(norm, theta, adj_y.middleCols(t1, j1 - t1), x_hat.middleCols(t1, j1 - t1),
                      r.segment(t1, j1 - t1).transpose(), adj_a.middleCols(t1, j1 - t1),
                      scratch.middleCols(t1, j1 - t1), gradient, accumulate);
  const Index m = t1 - j0;
  if (m == 0) return;
  const auto x = x_hat.middleCols(j0, m), dx = x_hat.middleCols(P + j0, m), da = a.middleCols(P + j0, m);
  const auto y_adjoint = adj_y.middleCols(j0, m), dy_adjoint = adj_y.middleCols(P + j0, m);
  const auto rj = r.segment(j0, m).transpose();
  auto a_adjoint = adj_a.middleCols(j0, m);
  auto da_adjoint = adj_a.middleCols(P + j0, m);
  auto row = [&](Index k) { return scratch.row(k).segment(j0, m); };
  if (gradient && affine) {  // the shift's gradient is already in place (from the block above, or zeroed there)
    detail::add_gain_and_shift_gradient(norm, y_adjoint, x, gradient);
    norm.gain(gradient).noalias() += dy_adjoint.cwiseProduct(dx).rowwise().sum();
  }
  detail::gain_times(norm.gain(theta), affine, y_adjoint, a_adjoint);
  if (affine && dtheta) a_adjoint.noalias() += norm.gain(dtheta).asDiagonal() * dy_adjoint;
  detail::apply_layer_norm_jacobian(x, rj, a_adjoint, row(0), row(1));
  detail::gain_times(norm.gain(theta), affine, dy_adjoint, da_adjoint);  // u
  const Scalar inv_n = Scalar(1) / static_cast<Scalar>(norm.features);
  row(2) = da_adjoint.cwiseProduct(dx).colwise().sum().cwiseProduct(rj) * (-inv_n);  // -(r/n) <u, dx_hat>
  row(3) = da_adjoint.cwiseProduct(x).colwise().sum().cwiseProduct(rj) * (-inv_n);   // -(r/n) <u, x_hat>
  row(4) = x.cwiseProduct(da).colwise().sum().cwiseProduct(rj) * (-inv_n);           // -(r/n) <x_hat, da>
  detail::apply_layer_norm_jacobian(x, rj, da_adjoint, row(0), row(1));
  a_adjoint.noalias() += x * row(2).asDiagonal();
  a_adjoint.noalias() += da_adjoint * row(4).asDiagonal();
  a_adjoint.noalias() += dx * row(3).asDiagonal();
}

}  // namespace gantry::nn
