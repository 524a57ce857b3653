// SPDX-License-Identifier: MIT
#pragma once
/// Exact Hessian-vector products of a scalar loss of a network's output, alone or through generator -> critic.

#include <type_traits>

#include "gantry/core/check.hpp"
#include "gantry/core/types.hpp"
#include "gantry/nn/mlp.hpp"

namespace gantry::detail {
template <class Loss, class Scalar, class = void>
struct has_value : std::false_type {};
template <class Loss, class Scalar>
struct has_value<Loss, Scalar,
                 std::void_t<decltype(std::declval<const Loss&>().value(std::declval<const Matrix<Scalar>&>()))>>
    : std::true_type {};
template <class Loss, class Scalar, class = void>
struct has_gradient : std::false_type {};
template <class Loss, class Scalar>
struct has_gradient<Loss, Scalar,
                    std::void_t<decltype(std::declval<const Loss&>().gradient(std::declval<const Matrix<Scalar>&>(),
                                                                              std::declval<Matrix<Scalar>&>()))>>
    : std::true_type {};
template <class Loss, class Scalar, class = void>
struct has_hessian_vector : std::false_type {};
template <class Loss, class Scalar>
struct has_hessian_vector<
    Loss, Scalar,
    std::void_t<decltype(std::declval<const Loss&>().hessian_vector(
        std::declval<const Matrix<Scalar>&>(), std::declval<const Matrix<Scalar>&>(), std::declval<Matrix<Scalar>&>()))>>
    : std::true_type {};
}  // namespace gantry::detail

namespace gantry::nn {

/// What a loss of a network's output must offer (any type with these members works):
///
///   template <class Scalar> struct MyOutputLoss {
///     // L(a) for the network's output a (outputs x batch)
///     Scalar value(const Eigen::Ref<const Matrix<Scalar>>& output) const;
///     // dL/da, written into `adjoint` (outputs x batch)
///     void gradient(const Eigen::Ref<const Matrix<Scalar>>& output, Eigen::Ref<Matrix<Scalar>> adjoint) const;
///     // (d2L/da2) da, written into `out` (outputs x batch)
///     void hessian_vector(const Eigen::Ref<const Matrix<Scalar>>& output,
///                         const Eigen::Ref<const Matrix<Scalar>>& output_tangent, Eigen::Ref<Matrix<Scalar>> out) const;
///   };

template <class Loss, class Scalar>
constexpr void check_output_loss() {
  static_assert(detail::has_value<Loss, Scalar>::value,
                "gantry output loss: missing member `Scalar value(const Eigen::Ref<const Matrix<Scalar>>& output) const`");
  static_assert(detail::has_gradient<Loss, Scalar>::value,
                "gantry output loss: missing member `void gradient(const Eigen::Ref<const Matrix<Scalar>>& output, "
                "Eigen::Ref<Matrix<Scalar>> adjoint) const`");
  static_assert(detail::has_hessian_vector<Loss, Scalar>::value,
                "gantry output loss: missing member `void hessian_vector(const Eigen::Ref<const Matrix<Scalar>>& output, "
                "const Eigen::Ref<const Matrix<Scalar>>& output_tangent, Eigen::Ref<Matrix<Scalar>> out) const`");
}

/// H v for L(theta) = loss(f_theta(x)), H the Hessian w.r.t. theta. Returns L(theta); `hv` receives H v.
/// H v = grad_theta <grad_theta L, v>: a tangent pass along v gives da = J v, and the reverse of it from
/// adj(a) = (d2L/da2) da, adj(da) = dL/da gives the exact product (Pearlmutter 1994).
template <class Scalar, class Loss>
Scalar hessian_vector_product(const Mlp<Scalar>& network, const typename Mlp<Scalar>::ConstMatrixRef& x, const Loss& loss,
                              const typename Mlp<Scalar>::ConstVectorRef& v, Tape<Scalar>& tape, Vector<Scalar>& hv) {
  check_output_loss<Loss, Scalar>();
  hv.resize(network.parameter_count());
  network.forward(x, tape, x.cols());
  network.tangent_forward_parameters(tape, v);
  loss.gradient(tape.output(), tape.output_tangent_adjoint());
  loss.hessian_vector(tape.output(), tape.output_tangent(), tape.output_adjoint());
  network.reverse_tangent(tape, &hv, false, false);
  return loss.value(tape.output());
}

/// Tapes for a pass through generator -> critic; keep one per call site so that nothing reallocates.
template <class Scalar>
struct ChainTapes {
  Tape<Scalar> generator;
  Tape<Scalar> critic;
};

/// H v for L(theta_G, theta_D) = loss(D(G(z))), v = (v_generator, v_critic): the product with the full joint
/// Hessian (both diagonal blocks and the cross terms), as consensus optimization needs (Mescheder et al. 2017).
/// Returns L; `hv_generator` and `hv_critic` receive the two blocks of H v.
template <class Scalar, class Loss>
Scalar chain_hessian_vector_product(const Mlp<Scalar>& generator, const Mlp<Scalar>& critic,
                                    const typename Mlp<Scalar>::ConstMatrixRef& z, const Loss& loss,
                                    const typename Mlp<Scalar>::ConstVectorRef& v_generator,
                                    const typename Mlp<Scalar>::ConstVectorRef& v_critic, ChainTapes<Scalar>& tapes,
                                    Vector<Scalar>& hv_generator, Vector<Scalar>& hv_critic) {
  check_output_loss<Loss, Scalar>();
  constexpr const char* where = "gantry::nn::chain_hessian_vector_product";
  if (generator.output_size() != critic.input_size())
    throw ShapeError(detail::message(where, ": the generator's output size ", generator.output_size(),
                                     " differs from the critic's input size ", critic.input_size()));
  hv_generator.resize(generator.parameter_count());
  hv_critic.resize(critic.parameter_count());
  const Index batch = z.cols();
  generator.forward(z, tapes.generator, batch);
  generator.tangent_forward_parameters(tapes.generator, v_generator);
  critic.forward(tapes.generator.output(), tapes.critic, batch);
  critic.tangent_forward_both(tapes.critic, tapes.generator.output_tangent(), v_critic);
  loss.gradient(tapes.critic.output(), tapes.critic.output_tangent_adjoint());
  loss.hessian_vector(tapes.critic.output(), tapes.critic.output_tangent(), tapes.critic.output_adjoint());
  critic.reverse_tangent(tapes.critic, &hv_critic, false, true);
  tapes.generator.output_adjoint() = tapes.critic.input_adjoint();
  tapes.generator.output_tangent_adjoint() = tapes.critic.input_tangent_adjoint();
  generator.reverse_tangent(tapes.generator, &hv_generator, false, false);
  return loss.value(tapes.critic.output());
}

}  // namespace gantry::nn
