// SPDX-License-Identifier: MIT
#pragma once
/// A multilayer perceptron built at run time, with exact forward, backward, tangent and reverse-of-tangent passes.

#include <algorithm>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/rng.hpp"
#include "gantry/core/share_pool.hpp"
#include "gantry/core/types.hpp"
#include "gantry/nn/activation.hpp"
#include "gantry/nn/dense.hpp"
#include "gantry/nn/init.hpp"
#include "gantry/nn/layer_norm.hpp"
#include "gantry/nn/tape.hpp"

// Threads split a pass over the batch: every pass is independent across samples except for the weight
// gradients' sums, so a pass is cut into contiguous shares of its columns, run as the pieces of a job on
// core/share_pool.hpp's pool; the first share writes the gradient and the others a partial gradient each, added
// in share order at the end. This beats threading inside each GEMM at small widths (one hand-off per pass
// instead of several per product), and keeps working when other processes hold some of the cores: the threads
// claim shares one at a time, so one the OS runs less often takes fewer. Results depend on the thread count (and
// SplitOptions) only through the number of shares. A pass inside a share of a training step
// (train/evaluator.hpp) stays on that share's thread.

namespace gantry::nn {

struct MlpOptions {
  MlpOptions() = default;
  /// MlpOptions{activation, bias}: the form most networks need, without naming the normalization.
  MlpOptions(Activation activation, bool with_bias, LayerNormOptions normalization = {})
      : hidden_activation(activation), bias(with_bias), layer_norm(std::move(normalization)) {}

  Activation hidden_activation = Activation::relu();  ///< every hidden layer; the output layer is linear
  bool bias = true;                                   ///< false: no bias in any layer
  LayerNormOptions layer_norm;                        ///< hidden layers normalized before their activation
};

/// Network h0 = x, a_l = W_l h_{l-1} + b_l, h_l = s(a_l), output a_L (no activation on the last layer); a hidden
/// layer with layer normalization has h_l = s(LN(a_l)) instead (MlpOptions::layer_norm, nn/layer_norm.hpp).
///
/// All parameters live in one flat vector (per layer: W column-major, then b, then a normalization's gain and
/// shift); `weight(l)`, `bias(l)`, `gain(l)` and `shift(l)` are views into it. The passes keep their state in a Tape (see tape.hpp for its column layout):
///   forward                 a_L(x)
///   backward                given adj(a_L): parameter gradient and/or adj(x)            (vector-Jacobian product)
///   tangent_forward_*       given dx and/or dtheta: da_L                                (Jacobian-vector product)
///   reverse_tangent         given adj(a_L), adj(da_L): gradients of <adj(a_L), a_L> + <adj(da_L), da_L>
/// The last one is what makes gradient penalties and Hessian-vector products exact (../DESIGN.md).
template <class Scalar>
class Mlp {
 public:
  using scalar_type = Scalar;
  /// Argument types of the free functions built on the passes (nested, so Scalar is deduced from the network).
  using ConstMatrixRef = Eigen::Ref<const Matrix<Scalar>>;
  using ConstVectorRef = Eigen::Ref<const Vector<Scalar>>;
  using ParameterVector = Vector<Scalar>;

  /// `sizes` = {inputs, hidden..., outputs}: at least two entries, all positive.
  explicit Mlp(std::vector<Index> sizes, MlpOptions options = {}) : sizes_(std::move(sizes)), options_(options) {
    constexpr const char* where = "gantry::nn::Mlp";
    if (sizes_.size() < 2)
      throw OptionError(detail::message(where, ": sizes must list at least the input and output sizes, given ",
                                        sizes_.size(), " entries"));
    for (std::size_t i = 0; i < sizes_.size(); ++i)
      if (sizes_[i] <= 0)
        throw OptionError(detail::message(where, ": sizes[", i, "] must be > 0, given ", sizes_[i]));
    const Index layer_count = static_cast<Index>(sizes_.size()) - 1;
    options_.layer_norm.validate(layer_count);
    // The layer loop's offsets are then free of overflow: the parameter count (weights, and at most a bias, a
    // gain and a shift per output) is checked as it is summed.
    Index count = 0;
    for (std::size_t l = 0; l + 1 < sizes_.size(); ++l) {
      const std::string layer = detail::message("layer ", l, " (", sizes_[l], " -> ", sizes_[l + 1], ") parameters");
      const Index weights = detail::checked_product(sizes_[l], sizes_[l + 1], where, layer);
      const Index per_output = detail::checked_product(sizes_[l + 1], 3, where, layer);
      count = detail::checked_sum(detail::checked_sum(count, weights, where, layer), per_output, where, layer);
    }
    Index offset = 0;
    for (Index l = 0; l < layer_count; ++l) {
      DenseLayer layer;
      layer.inputs = sizes_[l];
      layer.outputs = sizes_[l + 1];
      layer.has_bias = options_.bias;
      layer.weight_offset = offset;
      layer.bias_offset = offset + layer.inputs * layer.outputs;
      offset += layer.parameter_count();
      layers_.push_back(layer);
      work_per_column_ += static_cast<double>(layer.inputs * layer.outputs);
      LayerNorm norm;
      if (options_.layer_norm.normalizes(l, layer_count)) {
        norm.features = layer.outputs;
        norm.has_gain_and_shift = options_.layer_norm.gain_and_shift;
        norm.epsilon = options_.layer_norm.epsilon;
        norm.gain_offset = offset;
        norm.shift_offset = offset + norm.features;
        offset += norm.parameter_count();
      }
      norms_.push_back(norm);
      normalized_.push_back(norm.active());
    }
    parameters_ = Vector<Scalar>::Zero(offset);
  }

  Mlp(std::vector<Index> sizes, Activation hidden) : Mlp(std::move(sizes), MlpOptions{hidden, true}) {}

  // ---- shape ----
  Index input_size() const { return sizes_.front(); }
  Index output_size() const { return sizes_.back(); }
  Index layer_count() const { return static_cast<Index>(layers_.size()); }
  Index parameter_count() const { return parameters_.size(); }
  const std::vector<Index>& sizes() const { return sizes_; }
  const MlpOptions& options() const { return options_; }
  const Activation& hidden_activation() const { return options_.hidden_activation; }
  const DenseLayer& layer(Index l) const { return layers_.at(checked_layer("layer", l)); }
  /// Layer l's normalization (inactive, features 0, when the layer has none).
  const LayerNorm& layer_norm(Index l) const { return norms_[checked_layer("layer_norm", l)]; }
  bool normalizes(Index l) const { return norms_[checked_layer("normalizes", l)].active(); }
  /// True when the network is piecewise linear in its pre-activations: a piecewise-linear activation and no layer
  /// normalization. Then a tangent inside the network never reaches the primal stream's adjoints (no second
  /// derivatives), which the second-order passes exploit.
  bool piecewise_linear() const {
    return options_.hidden_activation.piecewise_linear() &&
           std::find(normalized_.begin(), normalized_.end(), true) == normalized_.end();
  }
  /// Multiply-adds of one sample's forward through every layer's weight (sizes thread shares of a batch).
  double multiply_adds_per_sample() const { return work_per_column_; }

  // ---- parameters ----
  Vector<Scalar>& parameters() { return parameters_; }
  const Vector<Scalar>& parameters() const { return parameters_; }

  void set_parameters(const Eigen::Ref<const Vector<Scalar>>& flat) {
    detail::check_shape("gantry::nn::Mlp::set_parameters", "parameters", flat, parameter_count(), 1);
    parameters_ = flat;
  }

  MatrixMap<Scalar> weight(Index l) { return layers_[checked_layer("weight", l)].weight(parameters_.data()); }
  ConstMatrixMap<Scalar> weight(Index l) const {
    return layers_[checked_layer("weight", l)].weight(parameters_.data());
  }
  VectorMap<Scalar> bias(Index l) { return layers_[checked_layer("bias", l)].bias(parameters_.data()); }
  ConstVectorMap<Scalar> bias(Index l) const { return layers_[checked_layer("bias", l)].bias(parameters_.data()); }

  void set_weight(Index l, const Eigen::Ref<const Matrix<Scalar>>& w) {
    const DenseLayer& layer = layers_[checked_layer("set_weight", l)];
    if (w.rows() != layer.outputs || w.cols() != layer.inputs)
      throw ShapeError(detail::message("gantry::nn::Mlp::set_weight: layer ", l, " weight expects shape ",
                                       layer.outputs, "x", layer.inputs, " (outputs x inputs), given ", w.rows(), "x",
                                       w.cols()));
    layer.weight(parameters_.data()) = w;
  }

  void set_bias(Index l, const Eigen::Ref<const Vector<Scalar>>& b) {
    const DenseLayer& layer = layers_[checked_layer("set_bias", l)];
    if (!layer.has_bias)
      throw ShapeError(detail::message("gantry::nn::Mlp::set_bias: layer ", l, " has no bias (MlpOptions::bias is false)"));
    if (b.size() != layer.outputs)
      throw ShapeError(detail::message("gantry::nn::Mlp::set_bias: layer ", l, " bias expects ", layer.outputs,
                                       " entries, given ", b.size()));
    layer.bias(parameters_.data()) = b;
  }

  /// Views of layer l inside any flat vector laid out like the parameters (a gradient, a tangent).
  MatrixMap<Scalar> weight_in(Vector<Scalar>& flat, Index l) const {
    return layers_[checked_layer("weight_in", l)].weight(flat.data());
  }
  VectorMap<Scalar> bias_in(Vector<Scalar>& flat, Index l) const {
    return layers_[checked_layer("bias_in", l)].bias(flat.data());
  }

  /// Layer l's normalization gain and shift (layer l must be normalized with MlpOptions::layer_norm.gain_and_shift).
  VectorMap<Scalar> gain(Index l) { return checked_norm("gain", l).gain(parameters_.data()); }
  ConstVectorMap<Scalar> gain(Index l) const { return checked_norm("gain", l).gain(parameters_.data()); }
  VectorMap<Scalar> shift(Index l) { return checked_norm("shift", l).shift(parameters_.data()); }
  ConstVectorMap<Scalar> shift(Index l) const { return checked_norm("shift", l).shift(parameters_.data()); }

  /// Every layer by `scheme`; normalization gains 1 and shifts 0, as PyTorch's nn.LayerNorm starts.
  void initialize(InitScheme scheme, Rng& rng) {
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      const DenseLayer& layer = layers_[l];  // a bias-free layer's bias view is empty
      initialize_layer(scheme, rng, layer.weight(parameters_.data()), layer.bias(parameters_.data()));
      norms_[l].gain(parameters_.data()).setOnes();
      norms_[l].shift(parameters_.data()).setZero();
    }
  }

  // ---- passes (public entry points validate; the *_core members only assert) ----

  /// Runs the primal pass on x (inputs x P) and reserves `tangent_cols` tangent columns (<= P) for a later
  /// tangent pass, which then belongs to the first `tangent_cols` samples.
  void forward(const Eigen::Ref<const Matrix<Scalar>>& x, Tape<Scalar>& tape, Index tangent_cols = 0) const {
    constexpr const char* where = "gantry::nn::Mlp::forward";
    detail::check_shape(where, "input x", x, input_size(), -1);
    detail::check_nonempty_batch(where, "input x", x);
    if (tangent_cols < 0 || tangent_cols > x.cols())
      throw ShapeError(detail::message(where, ": tangent_cols must be in [0, ", x.cols(), "] (the batch), given ",
                                       tangent_cols));
    tape.prepare(sizes_, normalized_, x.cols(), tangent_cols);
    tape.post_[0].leftCols(x.cols()) = x;
    forward_core(tape);
  }

  /// The primal pass of samples [first, first + count) that `source` already holds, copied into `tape` rather than
  /// computed again (consensus runs D(G(z)) once for both players), with `tangent_cols` (<= count) reserved as
  /// forward() does.
  void forward_from(const Tape<Scalar>& source, Index first, Index count, Tape<Scalar>& tape,
                    Index tangent_cols = 0) const {
    constexpr const char* where = "gantry::nn::Mlp::forward_from";
    check_tape(where, source);
    if (&source == &tape) throw Error(detail::message(where, ": source and destination must be different tapes"));
    if (first < 0 || count < 1 || first + count > source.primal_cols_)
      throw ShapeError(detail::message(where, ": columns [", first, ", ", first + count,
                                       ") must lie inside the source's forward batch of ", source.primal_cols_));
    if (tangent_cols < 0 || tangent_cols > count)
      throw ShapeError(detail::message(where, ": tangent_cols must be in [0, ", count, "] (the samples copied), given ",
                                       tangent_cols));
    tape.prepare(sizes_, normalized_, count, tangent_cols);
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      tape.post_[l].leftCols(count) = source.post_[l].middleCols(first, count);
      tape.pre_[l].leftCols(count) = source.pre_[l].middleCols(first, count);
      if (!normalized_[l]) continue;
      tape.affine_[l].leftCols(count) = source.affine_[l].middleCols(first, count);
      tape.normalized_[l].leftCols(count) = source.normalized_[l].middleCols(first, count);
      tape.inverse_deviation_[l].head(count) = source.inverse_deviation_[l].segment(first, count);
    }
  }

  /// Convenience: a_L(x) as a new matrix (allocates; use forward with a Tape in loops).
  Matrix<Scalar> operator()(const Eigen::Ref<const Matrix<Scalar>>& x) const {
    Tape<Scalar> tape;
    forward(x, tape);
    return tape.output();
  }

  /// Primal pass on what tape.post_[0] already holds (the caller filled the input columns).
  void forward_core(Tape<Scalar>& tape) const {
    const Index P = tape.primal_cols_;
    detail::run_shares(detail::batch_shares(P, work_per_column_), [&](int i, int n) {
      const Index c0 = detail::share_begin(0, P, i, n);
      forward_columns(tape, c0, detail::share_begin(0, P, i + 1, n) - c0);
    });
  }

  /// Vector-Jacobian product for samples [first, first + count) of the last forward. The caller has written
  /// adj(a_L) into tape.output_adjoint() for those columns. Writes the parameter gradient (if `gradient` is
  /// given; added to it when `accumulate`) and, if asked, adj(x) into tape.input_adjoint().
  void backward(Tape<Scalar>& tape, Index first, Index count, Vector<Scalar>* gradient, bool accumulate,
                bool want_input_adjoint) const {
    constexpr const char* where = "gantry::nn::Mlp::backward";
    check_tape(where, tape);
    if (first < 0 || count < 1 || first + count > tape.primal_cols_)
      throw ShapeError(detail::message(where, ": columns [", first, ", ", first + count,
                                       ") must lie inside the forward batch of ", tape.primal_cols_));
    if (gradient) detail::check_shape(where, "gradient", *gradient, parameter_count(), 1);
    backward_core(tape, first, count, gradient ? gradient->data() : nullptr, accumulate, want_input_adjoint);
  }

  /// Convenience: forward on x, then the backward from `output_adjoint` (outputs x P).
  void backward(const Eigen::Ref<const Matrix<Scalar>>& x, const Eigen::Ref<const Matrix<Scalar>>& output_adjoint,
                Tape<Scalar>& tape, Vector<Scalar>* gradient, bool accumulate, bool want_input_adjoint) const {
    detail::check_shape("gantry::nn::Mlp::backward", "output adjoint", output_adjoint, output_size(), x.cols());
    forward(x, tape);
    tape.output_adjoint() = output_adjoint;
    backward(tape, 0, x.cols(), gradient, accumulate, want_input_adjoint);
  }

  void backward_core(Tape<Scalar>& tape, Index first, Index count, Scalar* gradient, bool accumulate,
                     bool want_input_adjoint) const {
    const int shares = detail::batch_shares(count, 2 * work_per_column_);
    if (gradient) reserve_partial_gradients(tape, shares);
    detail::run_shares(shares, [&](int i, int n) {
      const Index c0 = detail::share_begin(first, count, i, n);
      Scalar* share_gradient = gradient && i > 0 ? tape.partial_gradients_[i - 1].data() : gradient;
      backward_columns(tape, c0, detail::share_begin(first, count, i + 1, n) - c0, share_gradient,
                       i == 0 && accumulate, want_input_adjoint);
    });
    if (gradient) add_partial_gradients(tape, shares, gradient);
  }

  /// Jacobian-vector product along an input tangent dx (inputs x T, T as reserved by forward).
  void tangent_forward_input(Tape<Scalar>& tape, const Eigen::Ref<const Matrix<Scalar>>& input_tangent) const {
    constexpr const char* where = "gantry::nn::Mlp::tangent_forward_input";
    check_tape(where, tape);
    detail::check_shape(where, "input tangent", input_tangent, input_size(), tape.tangent_cols_);
    tape.input_tangent() = input_tangent;
    tangent_forward_core(tape, true, nullptr);
  }

  /// Jacobian-vector product along a parameter tangent dtheta (laid out like parameters()).
  void tangent_forward_parameters(Tape<Scalar>& tape, const Eigen::Ref<const Vector<Scalar>>& parameter_tangent) const {
    constexpr const char* where = "gantry::nn::Mlp::tangent_forward_parameters";
    check_tape(where, tape);
    detail::check_shape(where, "parameter tangent", parameter_tangent, parameter_count(), 1);
    tape.parameter_tangent_ = parameter_tangent;
    tangent_forward_core(tape, false, tape.parameter_tangent_.data());
  }

  /// Jacobian-vector product along both dx and dtheta.
  void tangent_forward_both(Tape<Scalar>& tape, const Eigen::Ref<const Matrix<Scalar>>& input_tangent,
                            const Eigen::Ref<const Vector<Scalar>>& parameter_tangent) const {
    constexpr const char* where = "gantry::nn::Mlp::tangent_forward_both";
    check_tape(where, tape);
    detail::check_shape(where, "input tangent", input_tangent, input_size(), tape.tangent_cols_);
    detail::check_shape(where, "parameter tangent", parameter_tangent, parameter_count(), 1);
    tape.input_tangent() = input_tangent;
    tape.parameter_tangent_ = parameter_tangent;
    tangent_forward_core(tape, true, tape.parameter_tangent_.data());
  }

  /// Tangent pass: da_l = W_l dh_{l-1} + dW_l h_{l-1} + db_l, dh_l = s'(a_l) da_l, on the first T samples.
  /// With `has_input_tangent` the caller has filled tape.input_tangent(); `parameter_tangent` may be null.
  /// A non-null parameter tangent must stay alive until the reverse pass (the public overloads copy it into the tape).
  void tangent_forward_core(Tape<Scalar>& tape, bool has_input_tangent, const Scalar* parameter_tangent) const {
    const Index T = tape.tangent_cols_;
    tape.has_parameter_tangent_ = parameter_tangent != nullptr;
    if (tape.has_parameter_tangent_ && parameter_tangent != tape.parameter_tangent_.data())
      tape.parameter_tangent_ = ConstVectorMap<Scalar>(parameter_tangent, parameter_count());
    if (!has_input_tangent) tape.input_tangent().setZero();  // the reverse pass multiplies by it
    const Scalar* dtheta = tape.has_parameter_tangent_ ? tape.parameter_tangent_.data() : nullptr;
    const double work = dtheta ? 2 * work_per_column_ : work_per_column_;
    detail::run_shares(detail::batch_shares(T, work), [&](int i, int n) {
      const Index c0 = detail::share_begin(0, T, i, n);
      tangent_forward_columns(tape, c0, detail::share_begin(0, T, i + 1, n) - c0, has_input_tangent, dtheta);
    });
  }

  /// Reverse of the tangent pass. The caller has written adj(a_L) into tape.output_adjoint() and adj(da_L) into
  /// tape.output_tangent_adjoint(). Computes the gradient w.r.t. the parameters (and, if asked, w.r.t. x and dx)
  /// of <adj(a_L), a_L> + <adj(da_L), da_L>, with the parameter tangent held fixed.
  ///
  /// `zero_adjoint_cols`: the caller promises adj(a_L) = 0 on the first `zero_adjoint_cols` (<= T) samples and
  /// there is no parameter tangent. With a piecewise-linear activation (s'' = 0) those adjoints then stay 0 in
  /// every layer and the GEMMs skip them: a WGAN-GP critic step reverses over [real, fake, tangent] only.
  void reverse_tangent(Tape<Scalar>& tape, Vector<Scalar>* gradient, bool accumulate, bool want_input_adjoint,
                       Index zero_adjoint_cols = 0) const {
    constexpr const char* where = "gantry::nn::Mlp::reverse_tangent";
    check_tape(where, tape);
    if (gradient) detail::check_shape(where, "gradient", *gradient, parameter_count(), 1);
    if (zero_adjoint_cols < 0 || zero_adjoint_cols > tape.tangent_cols_)
      throw ShapeError(detail::message(where, ": zero_adjoint_cols must be in [0, ", tape.tangent_cols_,
                                       "] (the tangent columns), given ", zero_adjoint_cols));
    if (zero_adjoint_cols > 0 && tape.has_parameter_tangent_)
      throw Error(detail::message(where, ": zero_adjoint_cols cannot be used with a parameter tangent"));
    reverse_tangent_core(tape, gradient ? gradient->data() : nullptr, accumulate, want_input_adjoint,
                         zero_adjoint_cols);
  }

  /// `tangent_adjoints_from_backward`: the caller promises that the last backward pass on this tape ran over the
  /// first T samples from an adj(a_L) equal to the adj(da_L) given now. The tangent stream's adjoints follow the
  /// backward's recursion adj(da_l) = s'(a_l) W_{l+1}^T adj(da_{l+1}) (a parameter tangent and s'' only reach the
  /// primal stream's adjoints), so with a piecewise-linear activation they are that pass's adjoints, copied instead
  /// of multiplied again: the reverse pass then skips the tangent stream's W^T products. This is what a gradient
  /// penalty (seed 1 in both) and a Hessian-vector product of a loss (seed l'(a) in both) have. Ignored for other
  /// activations.
  void reverse_tangent_core(Tape<Scalar>& tape, Scalar* gradient, bool accumulate, bool want_input_adjoint,
                            Index zero_adjoint_cols, bool tangent_adjoints_from_backward = false) const {
    const Index P = tape.primal_cols_, T = tape.tangent_cols_, N = P + T;
    const Activation& s = options_.hidden_activation;
    const bool skip = zero_adjoint_cols > 0 && (piecewise_linear() || layers_.size() == 1);
    const Index lo = skip ? zero_adjoint_cols : 0;  // first column whose adjoint may be non-zero
    const bool dtheta = tape.has_parameter_tangent_;
    const bool reuse = tangent_adjoints_from_backward && s.piecewise_linear();
    const int shares = detail::batch_shares(N - lo, 2 * work_per_column_);
    if (gradient) reserve_partial_gradients(tape, shares);
    if (reuse && layers_.size() > 1) {
      // Before any product below overwrites the primal adjoints of those samples.
      detail::run_shares(shares, [&](int i, int n) {
        const Index j0 = detail::share_begin(0, T, i, n), count = detail::share_begin(0, T, i + 1, n) - j0;
        for (std::size_t l = 0; l + 1 < layers_.size(); ++l)
          tape.adjoint_[l].middleCols(P + j0, count) = tape.adjoint_[l].middleCols(j0, count);
      });
    }
    const Scalar* dtheta_data = dtheta ? tape.parameter_tangent_.data() : nullptr;
    for (std::size_t l = layers_.size(); l-- > 0;) {
      if (normalized_[l]) {  // adjoint_[l] holds [adj(y) adj(dy)]: through the normalization, sample by sample
        detail::run_shares(shares, [&](int i, int n) {
          Scalar* share_gradient = gradient && i > 0 ? tape.partial_gradients_[i - 1].data() : gradient;
          layer_norm_reverse_tangent(norms_[l], parameters_.data(), dtheta_data, P, T, detail::share_begin(0, P, i, n),
                                     detail::share_begin(0, P, i + 1, n), tape.affine_[l], tape.normalized_[l],
                                     tape.inverse_deviation_[l], tape.adjoint_[l], tape.affine_adjoint_[l],
                                     tape.layer_norm_scratch_, share_gradient, i == 0 && accumulate);
        });
      }
      detail::run_shares(shares, [&](int i, int n) {
        Scalar* share_gradient = gradient && i > 0 ? tape.partial_gradients_[i - 1].data() : gradient;
        reverse_tangent_products(tape, l, share_gradient, i == 0 && accumulate, want_input_adjoint, lo, reuse, i, n);
      });
      if (l > 0 || (want_input_adjoint && (lo > 0 || dtheta)))
        detail::run_shares(shares, [&](int i, int n) { reverse_tangent_elementwise(tape, l, lo, reuse, i, n); });
    }
    if (gradient) add_partial_gradients(tape, shares, gradient);
  }

 private:
  // ---- products with a thin operand ----
  // The first layer has 2 inputs and the last 1 or 2 outputs on the toy problems: a GEMM of depth 1 or 2 spends
  // its time packing and zero-filling, while per-column axpys touch every output once. Depths up to
  // thin_depth take that path.
  static constexpr Index thin_depth = 4;

  /// out (+)= lhs * rhs, column by column, for lhs with few columns stored contiguously by column.
  template <class Lhs, class Rhs, class Out>
  static void thin_product(const Lhs& lhs, const Rhs& rhs, Out&& out, bool accumulate) {
    for (Index j = 0; j < rhs.cols(); ++j) {
      auto column = out.col(j);
      if (accumulate)
        column += lhs.col(0) * rhs(0, j);
      else
        column = lhs.col(0) * rhs(0, j);
      for (Index k = 1; k < lhs.cols(); ++k) column += lhs.col(k) * rhs(k, j);
    }
  }

  /// out = op(W) h for a layer's weight W and blocks h, out of column-major matrices, op(W) = W or W^T. Eigen
  /// evaluates `out = A * B` as a zero fill followed by a GEMM that adds to out; with a BLAS behind Eigen this
  /// function calls GEMM once with beta = 0 instead. (OpenBLAS 0.3.21's general path, profiled at width 512, still
  /// clears the output before adding the product to it: callgrind shows sgemm_beta calling memset.)
  template <class In, class Out>
  static void overwrite_product(const ConstMatrixMap<Scalar>& w, bool transpose_w, const In& h, Out& out) {
#if defined(EIGEN_USE_BLAS)
    if constexpr (std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>) {
      if (out.cols() == 0) return;
      const int m = static_cast<int>(out.rows()), n = static_cast<int>(out.cols());
      const int k = static_cast<int>(transpose_w ? w.rows() : w.cols());
      const int lda = static_cast<int>(w.rows()), ldb = static_cast<int>(h.outerStride());
      const int ldc = static_cast<int>(out.outerStride());
      const Scalar one = 1, zero = 0;
      const char* op = transpose_w ? "T" : "N";
      if constexpr (std::is_same_v<Scalar, float>)
        sgemm_(op, "N", &m, &n, &k, &one, w.data(), &lda, h.data(), &ldb, &zero, out.data(), &ldc);
      else
        dgemm_(op, "N", &m, &n, &k, &one, w.data(), &lda, h.data(), &ldb, &zero, out.data(), &ldc);
      return;
    }
#endif
    if (transpose_w)
      out.noalias() = w.transpose() * h;
    else
      out.noalias() = w * h;
  }

  /// out (+)= W h for a layer's weight W (outputs x inputs): thin inputs as axpys, thin outputs as one GEMV per
  /// output row, else a GEMM.
  template <class In, class Out>
  static void layer_product(const ConstMatrixMap<Scalar>& w, const In& h, Out&& out, bool accumulate) {
    if (w.cols() <= thin_depth) {
      thin_product(w, h, out, accumulate);
    } else if (w.rows() <= thin_depth) {
      for (Index o = 0; o < w.rows(); ++o) {
        if (accumulate)
          out.row(o).noalias() += w.row(o) * h;
        else
          out.row(o).noalias() = w.row(o) * h;
      }
    } else if (accumulate) {
      out.noalias() += w * h;
    } else {
      overwrite_product(w, false, h, out);
    }
  }

  /// out = W h + b (b optional), the affine map of a layer on a block of columns.
  template <class In, class Out>
  static void affine(const ConstMatrixMap<Scalar>& w, const ConstVectorMap<Scalar>& b, bool has_bias, const In& h,
                     Out&& out) {
    if (w.cols() <= thin_depth || w.rows() <= thin_depth) {
      layer_product(w, h, out, false);
      if (has_bias) out.colwise() += b;
      return;
    }
    // Start from the bias and let the GEMM accumulate: Eigen would otherwise zero the output first.
    if (has_bias)
      out.colwise() = b;
    else
      out.setZero();
    out.noalias() += w * h;
  }

  /// out = W^T adj: the adjoint below a layer.
  template <class Adj, class Out>
  static void transpose_product(const ConstMatrixMap<Scalar>& w, const Adj& adj, Out&& out) {
    if (w.rows() == 1) {
      thin_product(w.transpose(), adj, out, false);  // a single-output layer's W^T is one contiguous column
    } else if (w.rows() <= thin_depth) {
      // A few outputs: one outer product each (Eigen copies the strided row of W once).
      out.noalias() = w.row(0).transpose() * adj.row(0);
      for (Index o = 1; o < w.rows(); ++o) out.noalias() += w.row(o).transpose() * adj.row(o);
    } else if (w.cols() <= thin_depth) {
      for (Index c = 0; c < w.cols(); ++c) out.row(c).noalias() = w.col(c).transpose() * adj;  // a few inputs
    } else {
      overwrite_product(w, true, adj, out);
    }
  }

  /// grad (+)= adj h^T: a layer's weight gradient (outputs x inputs) over a block of columns.
  template <class Adj, class In, class Grad>
  static void weight_gradient(const Adj& adj, const In& h, Grad&& grad, bool accumulate) {
    if (grad.rows() <= thin_depth) {
      for (Index o = 0; o < grad.rows(); ++o) {
        if (accumulate)
          grad.row(o).noalias() += adj.row(o) * h.transpose();
        else
          grad.row(o).noalias() = adj.row(o) * h.transpose();
      }
    } else if (grad.cols() <= thin_depth) {
      for (Index c = 0; c < grad.cols(); ++c) {
        if (accumulate)
          grad.col(c).noalias() += adj * h.row(c).transpose();
        else
          grad.col(c).noalias() = adj * h.row(c).transpose();
      }
    } else if (accumulate) {
      grad.noalias() += adj * h.transpose();
    } else {
      grad.noalias() = adj * h.transpose();
    }
  }

  // ---- the passes on a share of the batch (see detail::batch_shares) ----

  void forward_columns(Tape<Scalar>& tape, Index c0, Index count) const {
    const Scalar* theta = parameters_.data();
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      const DenseLayer& layer = layers_[l];
      auto a = affine_output(tape, l).middleCols(c0, count);
      affine(layer.weight(theta), layer.bias(theta), layer.has_bias, tape.post_[l].middleCols(c0, count), a);
      if (normalized_[l])
        layer_norm_forward(norms_[l], theta, a, tape.normalized_[l].middleCols(c0, count),
                           tape.inverse_deviation_[l].segment(c0, count).transpose(),
                           tape.pre_[l].middleCols(c0, count));
      if (l + 1 < layers_.size())
        options_.hidden_activation.value(tape.pre_[l].middleCols(c0, count), tape.post_[l + 1].middleCols(c0, count));
    }
  }

  void backward_columns(Tape<Scalar>& tape, Index first, Index count, Scalar* gradient, bool accumulate,
                        bool want_input_adjoint) const {
    const Scalar* theta = parameters_.data();
    for (std::size_t l = layers_.size(); l-- > 0;) {
      const DenseLayer& layer = layers_[l];
      if (normalized_[l])  // adjoint_[l] holds adj(y): through the normalization to adj(a)
        layer_norm_backward(norms_[l], theta, tape.adjoint_[l].middleCols(first, count),
                            tape.normalized_[l].middleCols(first, count),
                            tape.inverse_deviation_[l].segment(first, count).transpose(),
                            tape.affine_adjoint_[l].middleCols(first, count),
                            tape.layer_norm_scratch_.middleCols(first, count), gradient, accumulate);
      const auto adj = affine_adjoint(tape, l).middleCols(first, count);
      if (gradient) {
        weight_gradient(adj, tape.post_[l].middleCols(first, count), layer.weight(gradient), accumulate);
        if (layer.has_bias) {
          auto grad_b = layer.bias(gradient);
          if (accumulate)
            grad_b += adj.rowwise().sum();
          else
            grad_b = adj.rowwise().sum();
        }
      }
      if (l > 0) {
        auto below = tape.adjoint_[l - 1].middleCols(first, count);
        transpose_product(layer.weight(theta), adj, below);
        options_.hidden_activation.scale_by_derivative(tape.pre_[l - 1].middleCols(first, count), below);
      } else if (want_input_adjoint) {
        transpose_product(layer.weight(theta), adj, tape.input_adjoint_.middleCols(first, count));
      }
    }
  }

  /// Tangent columns P + [t0, t0 + count), which belong to primal samples [t0, t0 + count).
  void tangent_forward_columns(Tape<Scalar>& tape, Index t0, Index count, bool has_input_tangent,
                               const Scalar* parameter_tangent) const {
    const Index P = tape.primal_cols_;
    const Scalar* theta = parameters_.data();
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      const DenseLayer& layer = layers_[l];
      auto da = affine_output(tape, l).middleCols(P + t0, count);
      if (parameter_tangent) {
        // da = dW h + db (+ W dh)
        affine(layer.weight(parameter_tangent), layer.bias(parameter_tangent), layer.has_bias,
               tape.post_[l].middleCols(t0, count), da);
        if (l > 0 || has_input_tangent) layer_product(layer.weight(theta), tape.post_[l].middleCols(P + t0, count), da, true);
      } else if (l > 0 || has_input_tangent) {
        layer_product(layer.weight(theta), tape.post_[l].middleCols(P + t0, count), da, false);
      } else {
        da.setZero();
      }
      if (normalized_[l])
        layer_norm_tangent(norms_[l], theta, parameter_tangent, da, tape.normalized_[l].middleCols(t0, count),
                           tape.inverse_deviation_[l].segment(t0, count).transpose(),
                           tape.normalized_[l].middleCols(P + t0, count), tape.pre_[l].middleCols(P + t0, count),
                           tape.layer_norm_scratch_.middleCols(t0, count));
      if (l + 1 < layers_.size()) {
        auto dh = tape.post_[l + 1].middleCols(P + t0, count);
        dh = tape.pre_[l].middleCols(P + t0, count);
        options_.hidden_activation.scale_by_derivative(tape.pre_[l].middleCols(t0, count), dh);
      }
    }
  }

  /// Share i of n of layer l's products in the reverse of the tangent pass: the columns [lo, N) of both streams
  /// are cut into contiguous pieces. The element-wise steps that follow couple primal sample j with its tangent
  /// column P + j, so they split the samples instead (reverse_tangent_elementwise), after every product is done.
  /// With `reuse_tangent_adjoints` the tangent stream's adjoints below layer l are already in place (see
  /// reverse_tangent_core), so W^T only multiplies the primal columns.
  void reverse_tangent_products(Tape<Scalar>& tape, std::size_t l, Scalar* gradient, bool accumulate,
                                bool want_input_adjoint, Index lo, bool reuse_tangent_adjoints, int i, int n) const {
    const Index P = tape.primal_cols_, N = P + tape.tangent_cols_;
    const Index c0 = detail::share_begin(lo, N - lo, i, n), c1 = detail::share_begin(lo, N - lo, i + 1, n);
    const DenseLayer& layer = layers_[l];
    const Scalar* theta = parameters_.data();
    const Matrix<Scalar>& layer_adjoint = affine_adjoint(tape, l);
    const auto adj = layer_adjoint.middleCols(c0, c1 - c0);  // [adj(a) adj(da)] of this share
    if (gradient) {
      // dL/dW = adj(a) h^T + adj(da) dh^T as one GEMM over both streams.
      weight_gradient(adj, tape.post_[l].middleCols(c0, c1 - c0), layer.weight(gradient), accumulate);
      if (layer.has_bias) {
        const Index primal = std::max<Index>(std::min(c1, P) - c0, 0);  // the bias only reaches the primal stream
        auto grad_b = layer.bias(gradient);
        if (accumulate)
          grad_b += layer_adjoint.middleCols(c0, primal).rowwise().sum();
        else
          grad_b = layer_adjoint.middleCols(c0, primal).rowwise().sum();
      }
    }
    if (l > 0 && reuse_tangent_adjoints) {  // adj(h) = W^T adj(a) on the primal columns only
      const Index p0 = detail::share_begin(lo, P - lo, i, n), p1 = detail::share_begin(lo, P - lo, i + 1, n);
      if (p1 > p0)
        transpose_product(layer.weight(theta), layer_adjoint.middleCols(p0, p1 - p0),
                          tape.adjoint_[l - 1].middleCols(p0, p1 - p0));
    } else if (l > 0) {  // [adj(h) adj(dh)] = W^T [adj(a) adj(da)]
      transpose_product(layer.weight(theta), adj, tape.adjoint_[l - 1].middleCols(c0, c1 - c0));
    } else if (want_input_adjoint) {
      transpose_product(layer.weight(theta), adj, tape.input_adjoint_.middleCols(c0, c1 - c0));
    }
  }

  /// Share i of n of the samples [0, P): the parameter tangent's term and the activation's derivatives below layer
  /// l (for l = 0: the input adjoints of the zero-adjoint columns and the parameter tangent's term).
  void reverse_tangent_elementwise(Tape<Scalar>& tape, std::size_t l, Index lo, bool reuse_tangent_adjoints, int i,
                                   int n) const {
    const Index P = tape.primal_cols_, T = tape.tangent_cols_;
    const Activation& s = options_.hidden_activation;
    const Scalar* dtheta = tape.has_parameter_tangent_ ? tape.parameter_tangent_.data() : nullptr;
    const Index j0 = detail::share_begin(0, P, i, n), j1 = detail::share_begin(0, P, i + 1, n);
    // Within the samples: the primal ones whose adjoints may be non-zero, and the ones with a tangent column.
    const Index p0 = std::max(j0, lo), p1 = std::max(j1, lo), t1 = std::min(j1, T), t0 = std::min(j0, t1);
    const DenseLayer& layer = layers_[l];
    if (l == 0) {
      if (j0 < lo) tape.input_adjoint_.middleCols(j0, std::min(j1, lo) - j0).setZero();
      if (dtheta && t1 > t0)
        tape.input_adjoint_.middleCols(t0, t1 - t0).noalias() +=
            layer.weight(dtheta).transpose() * affine_adjoint(tape, 0).middleCols(P + t0, t1 - t0);
      return;
    }
    if (dtheta && t1 > t0)
      tape.adjoint_[l - 1].middleCols(t0, t1 - t0).noalias() +=
          layer.weight(dtheta).transpose() * affine_adjoint(tape, l).middleCols(P + t0, t1 - t0);
    // Through h = s(a), dh = s'(a) da:  adj(a) = s'(a) adj(h) + s''(a) da adj(dh);  adj(da) = s'(a) adj(dh).
    s.scale_by_derivative(tape.pre_[l - 1].middleCols(p0, p1 - p0), tape.adjoint_[l - 1].middleCols(p0, p1 - p0));
    if (!s.piecewise_linear() && t1 > t0)
      s.add_second_derivative_term(tape.pre_[l - 1].middleCols(t0, t1 - t0), tape.pre_[l - 1].middleCols(P + t0, t1 - t0),
                                   tape.adjoint_[l - 1].middleCols(P + t0, t1 - t0),
                                   tape.adjoint_[l - 1].middleCols(t0, t1 - t0));
    if (!reuse_tangent_adjoints)  // reused ones were scaled by the backward pass
      s.scale_by_derivative(tape.pre_[l - 1].middleCols(t0, t1 - t0), tape.adjoint_[l - 1].middleCols(P + t0, t1 - t0));
  }

  void reserve_partial_gradients(Tape<Scalar>& tape, int shares) const {
    if (tape.partial_gradients_.size() + 1 < static_cast<std::size_t>(shares))
      tape.partial_gradients_.resize(static_cast<std::size_t>(shares) - 1);
    for (int k = 0; k + 1 < shares; ++k)
      if (tape.partial_gradients_[k].size() != parameter_count()) tape.partial_gradients_[k].resize(parameter_count());
  }

  /// gradient += the other shares' partial gradients, in share order (split over the pool by segments).
  void add_partial_gradients(const Tape<Scalar>& tape, int shares, Scalar* gradient) const {
    detail::add_parts(gradient, parameter_count(), shares - 1,
                      [&](int k) { return tape.partial_gradients_[static_cast<std::size_t>(k)].data(); });
  }

  /// Where layer l's affine output a = W h + b and its adjoint live: pre_[l] and adjoint_[l], unless the layer is
  /// normalized (then those hold the normalization's output y, the activation's input).
  Matrix<Scalar>& affine_output(Tape<Scalar>& tape, std::size_t l) const {
    return normalized_[l] ? tape.affine_[l] : tape.pre_[l];
  }
  const Matrix<Scalar>& affine_adjoint(const Tape<Scalar>& tape, std::size_t l) const {
    return normalized_[l] ? tape.affine_adjoint_[l] : tape.adjoint_[l];
  }

  const LayerNorm& checked_norm(const char* what, Index l) const {
    const LayerNorm& norm = norms_[checked_layer(what, l)];
    if (!norm.has_gain_and_shift)
      throw ShapeError(detail::message("gantry::nn::Mlp::", what, ": layer ", l,
                                       norm.active() ? " is normalized without gain and shift"
                                                     : " has no layer normalization (MlpOptions::layer_norm)"));
    return norm;
  }

  std::size_t checked_layer(const char* what, Index l) const {
    if (l < 0 || l >= layer_count())
      throw ShapeError(detail::message("gantry::nn::Mlp::", what, ": layer index ", l, " out of range [0, ",
                                       layer_count(), ")"));
    return static_cast<std::size_t>(l);
  }

  void check_tape(const char* where, const Tape<Scalar>& tape) const {
    if (tape.pre_.size() != layers_.size() || tape.post_.empty() || tape.post_[0].rows() != input_size() ||
        tape.pre_.back().rows() != output_size() || tape.normalized_layers_ != normalized_)
      throw Error(detail::message(where, ": the tape does not hold a forward pass of this network (run forward first)"));
  }

  std::vector<Index> sizes_;
  MlpOptions options_;
  std::vector<DenseLayer> layers_;
  std::vector<LayerNorm> norms_;   ///< per layer; inactive where the layer is not normalized
  std::vector<bool> normalized_;   ///< norms_[l].active(), in the form Tape::prepare compares
  Vector<Scalar> parameters_;
  double work_per_column_ = 0;  ///< multiply-adds of one sample through every layer's weight, to size thread shares
};

}  // namespace gantry::nn
