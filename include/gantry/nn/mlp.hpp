// SPDX-License-Identifier: MIT
#pragma once
/// A multilayer perceptron built at run time, with exact forward, backward, tangent and reverse-of-tangent passes.

#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/rng.hpp"
#include "gantry/core/types.hpp"
#include "gantry/nn/activation.hpp"
#include "gantry/nn/dense.hpp"
#include "gantry/nn/init.hpp"
#include "gantry/nn/tape.hpp"

namespace gantry::nn {

struct MlpOptions {
  Activation hidden_activation = Activation::relu();  ///< every hidden layer; the output layer is linear
  bool bias = true;                                   ///< false: no bias in any layer
};

/// Network h0 = x, a_l = W_l h_{l-1} + b_l, h_l = s(a_l), output a_L (no activation on the last layer).
///
/// All parameters live in one flat vector (per layer: W column-major, then b); `weight(l)` and `bias(l)` are
/// views into it. The passes keep their state in a Tape (see tape.hpp for its column layout):
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
    Index offset = 0;
    for (std::size_t l = 0; l + 1 < sizes_.size(); ++l) {
      DenseLayer layer;
      layer.inputs = sizes_[l];
      layer.outputs = sizes_[l + 1];
      layer.has_bias = options_.bias;
      layer.weight_offset = offset;
      layer.bias_offset = offset + layer.inputs * layer.outputs;
      offset += layer.parameter_count();
      layers_.push_back(layer);
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

  void initialize(InitScheme scheme, Rng& rng) {
    for (const DenseLayer& layer : layers_)  // a bias-free layer's bias view is empty
      initialize_layer(scheme, rng, layer.weight(parameters_.data()), layer.bias(parameters_.data()));
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
    tape.prepare(sizes_, x.cols(), tangent_cols);
    tape.post_[0].leftCols(x.cols()) = x;
    forward_core(tape);
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
    const Scalar* theta = parameters_.data();
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      const DenseLayer& layer = layers_[l];
      auto a = tape.pre_[l].leftCols(P);
      a.noalias() = layer.weight(theta) * tape.post_[l].leftCols(P);
      if (layer.has_bias) a.colwise() += layer.bias(theta);
      if (l + 1 < layers_.size()) options_.hidden_activation.value(a, tape.post_[l + 1].leftCols(P));
    }
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
    const Scalar* theta = parameters_.data();
    for (std::size_t l = layers_.size(); l-- > 0;) {
      const DenseLayer& layer = layers_[l];
      const auto adj = tape.adjoint_[l].middleCols(first, count);
      if (gradient) {
        auto grad_w = layer.weight(gradient);
        if (accumulate)
          grad_w.noalias() += adj * tape.post_[l].middleCols(first, count).transpose();
        else
          grad_w.noalias() = adj * tape.post_[l].middleCols(first, count).transpose();
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
        below.noalias() = layer.weight(theta).transpose() * adj;
        options_.hidden_activation.scale_by_derivative(tape.pre_[l - 1].middleCols(first, count), below);
      } else if (want_input_adjoint) {
        tape.input_adjoint_.middleCols(first, count).noalias() = layer.weight(theta).transpose() * adj;
      }
    }
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
    const Index P = tape.primal_cols_, T = tape.tangent_cols_;
    const Scalar* theta = parameters_.data();
    tape.has_parameter_tangent_ = parameter_tangent != nullptr;
    if (tape.has_parameter_tangent_ && parameter_tangent != tape.parameter_tangent_.data())
      tape.parameter_tangent_ = ConstVectorMap<Scalar>(parameter_tangent, parameter_count());
    if (!has_input_tangent) tape.input_tangent().setZero();  // the reverse pass multiplies by it
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      const DenseLayer& layer = layers_[l];
      auto da = tape.pre_[l].middleCols(P, T);
      if (l > 0 || has_input_tangent)
        da.noalias() = layer.weight(theta) * tape.post_[l].middleCols(P, T);
      else
        da.setZero();
      if (parameter_tangent) {
        da.noalias() += layer.weight(parameter_tangent) * tape.post_[l].leftCols(T);
        if (layer.has_bias) da.colwise() += layer.bias(parameter_tangent);
      }
      if (l + 1 < layers_.size()) {
        auto dh = tape.post_[l + 1].middleCols(P, T);
        dh = da;
        options_.hidden_activation.scale_by_derivative(tape.pre_[l].leftCols(T), dh);
      }
    }
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

  void reverse_tangent_core(Tape<Scalar>& tape, Scalar* gradient, bool accumulate, bool want_input_adjoint,
                            Index zero_adjoint_cols) const {
    const Index P = tape.primal_cols_, T = tape.tangent_cols_, N = P + T;
    const Activation& s = options_.hidden_activation;
    const bool skip = zero_adjoint_cols > 0 && (s.piecewise_linear() || layers_.size() == 1);
    const Index lo = skip ? zero_adjoint_cols : 0;  // first column whose adjoint may be non-zero
    const Scalar* theta = parameters_.data();
    const Scalar* dtheta = tape.has_parameter_tangent_ ? tape.parameter_tangent_.data() : nullptr;
    for (std::size_t l = layers_.size(); l-- > 0;) {
      const DenseLayer& layer = layers_[l];
      const auto adj = tape.adjoint_[l].middleCols(lo, N - lo);  // [adj(a) adj(da)]
      if (gradient) {
        // dL/dW = adj(a) h^T + adj(da) dh^T as one GEMM over both streams.
        auto grad_w = layer.weight(gradient);
        if (accumulate)
          grad_w.noalias() += adj * tape.post_[l].middleCols(lo, N - lo).transpose();
        else
          grad_w.noalias() = adj * tape.post_[l].middleCols(lo, N - lo).transpose();
        if (layer.has_bias) {
          auto grad_b = layer.bias(gradient);
          if (accumulate)
            grad_b += tape.adjoint_[l].middleCols(lo, P - lo).rowwise().sum();
          else
            grad_b = tape.adjoint_[l].middleCols(lo, P - lo).rowwise().sum();
        }
      }
      if (l > 0) {
        auto below = tape.adjoint_[l - 1].middleCols(lo, N - lo);
        below.noalias() = layer.weight(theta).transpose() * adj;  // [adj(h) adj(dh)] = W^T [adj(a) adj(da)]
        if (dtheta) tape.adjoint_[l - 1].leftCols(T).noalias() += layer.weight(dtheta).transpose() * tape.adjoint_[l].middleCols(P, T);
        // Through h = s(a), dh = s'(a) da:  adj(a) = s'(a) adj(h) + s''(a) da adj(dh);  adj(da) = s'(a) adj(dh).
        s.scale_by_derivative(tape.pre_[l - 1].middleCols(lo, P - lo), tape.adjoint_[l - 1].middleCols(lo, P - lo));
        if (!s.piecewise_linear())
          s.add_second_derivative_term(tape.pre_[l - 1].leftCols(T), tape.pre_[l - 1].middleCols(P, T),
                                       tape.adjoint_[l - 1].middleCols(P, T), tape.adjoint_[l - 1].leftCols(T));
        s.scale_by_derivative(tape.pre_[l - 1].leftCols(T), tape.adjoint_[l - 1].middleCols(P, T));
      } else if (want_input_adjoint) {
        tape.input_adjoint_.middleCols(lo, N - lo).noalias() = layer.weight(theta).transpose() * adj;
        if (lo > 0) tape.input_adjoint_.leftCols(lo).setZero();
        if (dtheta) tape.input_adjoint_.leftCols(T).noalias() += layer.weight(dtheta).transpose() * tape.adjoint_[0].middleCols(P, T);
      }
    }
  }

 private:
  std::size_t checked_layer(const char* what, Index l) const {
    if (l < 0 || l >= layer_count())
      throw ShapeError(detail::message("gantry::nn::Mlp::", what, ": layer index ", l, " out of range [0, ",
                                       layer_count(), ")"));
    return static_cast<std::size_t>(l);
  }

  void check_tape(const char* where, const Tape<Scalar>& tape) const {
    if (tape.pre_.size() != layers_.size() || tape.post_.empty() || tape.post_[0].rows() != input_size() ||
        tape.pre_.back().rows() != output_size())
      throw Error(detail::message(where, ": the tape does not hold a forward pass of this network (run forward first)"));
  }

  std::vector<Index> sizes_;
  MlpOptions options_;
  std::vector<DenseLayer> layers_;
  Vector<Scalar> parameters_;
};

}  // namespace gantry::nn
