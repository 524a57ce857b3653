// SPDX-License-Identifier: MIT
#pragma once
/// The buffers one pass through an Mlp keeps: primal and tangent activations and their adjoints.

#include <algorithm>
#include <vector>

#include "gantry/core/types.hpp"

namespace gantry::nn {

template <class Scalar>
class Mlp;

/// What a forward pass leaves for the backward, tangent and reverse-of-tangent passes.
///
/// Every buffer has P + T columns: P primal samples, then T tangent columns that belong to the first T
/// primal samples. Keeping both streams side by side lets the reverse pass form the weight gradient
/// [adj(a) adj(da)] [h dh]^T and the input adjoints W^T [adj(a) adj(da)] as single GEMMs of width P + T.
/// Buffers only grow (to the widest P + T seen, or when the network changes) and passes work on their leading
/// columns, so once a tape has seen its widest call, a loop that mixes batch sizes allocates nothing.
template <class Scalar>
class Tape {
 public:
  Index primal_cols() const { return primal_cols_; }
  Index tangent_cols() const { return tangent_cols_; }

  /// Network output a_L (outputs x P).
  auto output() const { return pre_.back().leftCols(primal_cols_); }
  /// Output tangent da_L (outputs x T), after a tangent pass.
  auto output_tangent() const { return pre_.back().middleCols(primal_cols_, tangent_cols_); }

  /// Seeds for the backward and reverse passes: adjoint of a_L (outputs x P) and of da_L (outputs x T).
  auto output_adjoint() { return adjoint_.back().leftCols(primal_cols_); }
  auto output_tangent_adjoint() { return adjoint_.back().middleCols(primal_cols_, tangent_cols_); }

  /// The input tangent (inputs x T), filled by the caller before a tangent pass that has one.
  auto input_tangent() { return post_.front().middleCols(primal_cols_, tangent_cols_); }
  auto input() const { return post_.front().leftCols(primal_cols_); }

  /// Adjoints of the input after a backward or reverse pass that asked for them: (inputs x P), (inputs x T).
  auto input_adjoint() const { return input_adjoint_.leftCols(primal_cols_); }
  auto input_tangent_adjoint() const { return input_adjoint_.middleCols(primal_cols_, tangent_cols_); }

 private:
  friend class Mlp<Scalar>;

  /// `normalized[l]`: layer l has a layer normalization (its buffers below are then sized too).
  void prepare(const std::vector<Index>& sizes, const std::vector<bool>& normalized, Index primal, Index tangent) {
    const std::size_t layers = sizes.size() - 1;
    bool same_network = pre_.size() == layers && input_adjoint_.rows() == sizes[0] && normalized_layers_ == normalized;
    for (std::size_t l = 0; same_network && l < layers; ++l) same_network = pre_[l].rows() == sizes[l + 1];
    const Index columns = same_network ? std::max(capacity_, primal + tangent) : primal + tangent;
    if (!same_network || columns != capacity_) {
      pre_.resize(layers);
      post_.resize(layers);
      adjoint_.resize(layers);
      for (std::size_t l = 0; l < layers; ++l) {
        pre_[l].resize(sizes[l + 1], columns);
        post_[l].resize(sizes[l], columns);
        adjoint_[l].resize(sizes[l + 1], columns);
      }
      affine_.resize(layers);
      affine_adjoint_.resize(layers);
      normalized_.resize(layers);
      inverse_deviation_.resize(layers);
      for (std::size_t l = 0; l < layers; ++l) {
        const Index rows = normalized[l] ? sizes[l + 1] : 0;
        affine_[l].resize(rows, columns);
        affine_adjoint_[l].resize(rows, columns);
        normalized_[l].resize(rows, columns);
        inverse_deviation_[l].resize(normalized[l] ? columns : 0);
      }
      const bool any = std::find(normalized.begin(), normalized.end(), true) != normalized.end();
      layer_norm_scratch_.resize(any ? 5 : 0, any ? columns : 0);
      normalized_layers_ = normalized;
      input_adjoint_.resize(sizes[0], columns);
      capacity_ = columns;
    }
    primal_cols_ = primal;
    tangent_cols_ = tangent;
  }

  Index primal_cols_ = 0;
  Index tangent_cols_ = 0;
  Index capacity_ = 0;  ///< columns allocated in every buffer (>= P + T)
  std::vector<Matrix<Scalar>> pre_;      ///< pre_[l]: a of layer l (outputs_l x P+T); tangent columns hold da
  std::vector<Matrix<Scalar>> post_;     ///< post_[l]: input h of layer l (inputs_l x P+T); post_[0] = [x, dx]
  std::vector<Matrix<Scalar>> adjoint_;  ///< adjoint_[l]: adjoint of pre_[l]
  // A layer-normalized layer l (nn/layer_norm.hpp): pre_[l] holds the normalization's output y (the activation's
  // input) and these its affine input; every other layer's are empty.
  std::vector<Matrix<Scalar>> affine_;             ///< a = W h + b (outputs_l x P+T); tangent columns da
  std::vector<Matrix<Scalar>> affine_adjoint_;     ///< adjoint of affine_[l]
  std::vector<Matrix<Scalar>> normalized_;         ///< x_hat = (a - mean) r; tangent columns dx_hat
  std::vector<Vector<Scalar>> inverse_deviation_;  ///< r = 1 / sqrt(var(a) + epsilon) per primal column
  std::vector<bool> normalized_layers_;
  Matrix<Scalar> layer_norm_scratch_;  ///< per-sample scalars of the normalization's passes (5 x P+T), by sample
  Matrix<Scalar> input_adjoint_;         ///< adjoint of post_[0]
  Vector<Scalar> parameter_tangent_;     ///< copy of the parameter tangent of the last tangent pass
  bool has_parameter_tangent_ = false;
  /// Parameter gradients of the batch shares after the first, when a pass splits its batch over threads
  /// (the first share writes straight into the caller's gradient). Grown on first use, then reused.
  std::vector<Vector<Scalar>> partial_gradients_;
};

}  // namespace gantry::nn
