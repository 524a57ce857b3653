// SPDX-License-Identifier: MIT
#pragma once
/// Layer normalization of a hidden layer's affine output, per sample, with its four exact passes in O(n) a column.

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
/// The passes below work on one column (sample) at a time, from its mean and deviation: never an (n x n) matrix.
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

/// out = J v for the column with normalized values x_hat and inverse deviation r; out may be v itself.
template <class XHat, class V, class Out>
void apply_layer_norm_jacobian(const XHat& x_hat, typename XHat::Scalar r, const V& v, Out&& out) {
  using S = typename XHat::Scalar;
  const S inv_n = S(1) / static_cast<S>(x_hat.size());
  const S mean = v.sum() * inv_n;
  const S projection = x_hat.dot(v) * inv_n;
  out = r * (v.array() - mean - projection * x_hat.array()).matrix();
}

/// out += gain * v, or out = gain * v when `assign`; a layer without gain has gain 1.
template <class Gain, class V, class Out>
void add_gain_times(const Gain& gain, bool has_gain, const V& v, Out&& out, bool assign) {
  if (assign) {
    if (has_gain)
      out = gain.cwiseProduct(v);
    else
      out = v;
  } else if (has_gain) {
    out += gain.cwiseProduct(v);
  } else {
    out += v;
  }
}

}  // namespace gantry::detail

namespace gantry::nn {

/// Forward on columns [c0, c0 + count): from the affine output a, the normalized x_hat, the inverse deviation r
/// (one per column) and the layer's output y = gain x_hat + shift (the activation's input).
template <class Scalar, class A, class XHat, class R, class Y>
void layer_norm_forward(const LayerNorm& norm, const Scalar* theta, const A& a, XHat&& x_hat, R&& r, Y&& y) {
  const Scalar inv_n = Scalar(1) / static_cast<Scalar>(norm.features);
  const Scalar epsilon = static_cast<Scalar>(norm.epsilon);
  const auto gain = norm.gain(theta);
  const auto shift = norm.shift(theta);
  for (Index j = 0; j < a.cols(); ++j) {
    auto x = x_hat.col(j);
    x = (a.col(j).array() - a.col(j).sum() * inv_n).matrix();  // centred first: the variance of c, not E a^2 - m^2
    const Scalar rj = Scalar(1) / std::sqrt(x.squaredNorm() * inv_n + epsilon);
    r(j) = rj;
    x *= rj;
    if (norm.has_gain_and_shift)
      y.col(j) = gain.cwiseProduct(x) + shift;
    else
      y.col(j) = x;
  }
}

/// Backward on the same columns: from adj(y), adj(a) = J (gain adj(y)) and, when `gradient` is given, the gain's
/// gradient sum_j adj(y_j) x_hat_j and the shift's sum_j adj(y_j) (added when `accumulate`).
template <class Scalar, class AdjY, class XHat, class R, class AdjA>
void layer_norm_backward(const LayerNorm& norm, const Scalar* theta, const AdjY& adj_y, const XHat& x_hat, const R& r,
                         AdjA&& adj_a, Scalar* gradient, bool accumulate) {
  const bool affine = norm.has_gain_and_shift;
  if (gradient && affine && !accumulate) {
    norm.gain(gradient).setZero();
    norm.shift(gradient).setZero();
  }
  const auto gain = norm.gain(theta);
  for (Index j = 0; j < adj_y.cols(); ++j) {
    if (gradient && affine) {
      norm.gain(gradient) += adj_y.col(j).cwiseProduct(x_hat.col(j));
      norm.shift(gradient) += adj_y.col(j);
    }
    auto out = adj_a.col(j);
    detail::add_gain_times(gain, affine, adj_y.col(j), out, true);
    detail::apply_layer_norm_jacobian(x_hat.col(j), r(j), out, out);
  }
}

/// Tangent forward on `count` tangent columns: from da, dx_hat = J da and dy = gain dx_hat (+ dgain x_hat + dshift
/// with a parameter tangent `dtheta`, which may be null). x_hat and r are the primal columns of the same samples.
template <class Scalar, class DA, class XHat, class R, class DXHat, class DY>
void layer_norm_tangent(const LayerNorm& norm, const Scalar* theta, const Scalar* dtheta, const DA& da,
                        const XHat& x_hat, const R& r, DXHat&& dx_hat, DY&& dy) {
  const bool affine = norm.has_gain_and_shift;
  const auto gain = norm.gain(theta);
  for (Index j = 0; j < da.cols(); ++j) {
    auto dx = dx_hat.col(j);
    detail::apply_layer_norm_jacobian(x_hat.col(j), r(j), da.col(j), dx);
    auto out = dy.col(j);
    detail::add_gain_times(gain, affine, dx, out, true);
    if (affine && dtheta) out += norm.gain(dtheta).cwiseProduct(x_hat.col(j)) + norm.shift(dtheta);
  }
}

/// Reverse of the tangent pass for samples [j0, j1) of P primal columns, the first T of which have a tangent
/// column P + j. Given adj(y), adj(dy), writes adj(a), adj(da) and, when `gradient` is given, the gain's and
/// shift's gradients (added when `accumulate`). With u = gain adj(dy) (the adjoint of dx_hat = J(a) da):
///   adj(da) = J u,
///   adj(a)  = J (gain adj(y) + dgain adj(dy)) + grad_a <u, J(a) da>,
///   grad_a <u, J(a) da> = -(r / n) (<u, dx_hat> x_hat + <x_hat, da> J u + <u, x_hat> dx_hat),
/// the second derivative of the normalization applied in O(n) (from dr/da = -r^2 x_hat / n and dx_hat/da = J).
template <class Scalar>
void layer_norm_reverse_tangent(const LayerNorm& norm, const Scalar* theta, const Scalar* dtheta, Index P, Index T,
                                Index j0, Index j1, const Matrix<Scalar>& a, const Matrix<Scalar>& x_hat,
                                const Vector<Scalar>& r, const Matrix<Scalar>& adj_y, Matrix<Scalar>& adj_a,
                                Scalar* gradient, bool accumulate) {
  const bool affine = norm.has_gain_and_shift;
  if (gradient && affine && !accumulate) {
    norm.gain(gradient).setZero();
    norm.shift(gradient).setZero();
  }
  const auto gain = norm.gain(theta);
  const Scalar inv_n = Scalar(1) / static_cast<Scalar>(norm.features);
  for (Index j = j0; j < j1; ++j) {
    const auto y_adjoint = adj_y.col(j);
    const auto x = x_hat.col(j);
    auto a_adjoint = adj_a.col(j);
    if (gradient && affine) {
      norm.gain(gradient) += y_adjoint.cwiseProduct(x);
      norm.shift(gradient) += y_adjoint;
    }
    detail::add_gain_times(gain, affine, y_adjoint, a_adjoint, true);
    if (j >= T) {  // no tangent column: the backward's step
      detail::apply_layer_norm_jacobian(x, r(j), a_adjoint, a_adjoint);
      continue;
    }
    const auto dy_adjoint = adj_y.col(P + j);
    const auto dx = x_hat.col(P + j);
    const auto da = a.col(P + j);
    auto da_adjoint = adj_a.col(P + j);
    if (gradient && affine) norm.gain(gradient) += dy_adjoint.cwiseProduct(dx);
    if (affine && dtheta) a_adjoint += norm.gain(dtheta).cwiseProduct(dy_adjoint);
    detail::apply_layer_norm_jacobian(x, r(j), a_adjoint, a_adjoint);
    detail::add_gain_times(gain, affine, dy_adjoint, da_adjoint, true);  // u
    const Scalar u_dx = da_adjoint.dot(dx), u_x = da_adjoint.dot(x), x_da = x.dot(da);
    detail::apply_layer_norm_jacobian(x, r(j), da_adjoint, da_adjoint);
    a_adjoint += (-r(j) * inv_n) * (u_dx * x + x_da * da_adjoint + u_x * dx);
  }
}

}  // namespace gantry::nn
