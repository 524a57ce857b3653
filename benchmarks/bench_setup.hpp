// SPDX-License-Identifier: MIT
#pragma once
/// What gantry's benchmarks share: the reference toy networks and trainers, and the operation counts behind GFLOP/s.

#include <string>
#include <utility>
#include <vector>

#include <gantry/data/sampler.hpp>
#include <gantry/data/toy2d.hpp>
#include <gantry/nn/mlp.hpp>
#include <gantry/optim/adam.hpp>
#include <gantry/policy.hpp>
#include <gantry/train/trainer.hpp>

namespace gantry::bench {

// The reference toy settings (Gulrajani et al. 2017, gan_toy.py): three hidden ReLU layers of one width,
// 2-D noise, batch 256, n_critic 5, Adam(1e-4, 0.5, 0.9), nn.Linear's default initialization.
inline constexpr Index batch_size = 256;
inline constexpr Index n_critic = 5;
inline constexpr Index noise_dimension = 2;
inline constexpr Index data_dimension = 2;
inline const std::vector<Index> widths = {64, 128, 512, 1024};

inline std::vector<Index> critic_sizes(Index width) { return {data_dimension, width, width, width, 1}; }
inline std::vector<Index> generator_sizes(Index width) { return {noise_dimension, width, width, width, data_dimension}; }

/// `layer_norm`: every hidden layer normalized (gain and shift), as the WGAN-GP paper's critic.
template <class Scalar>
nn::Mlp<Scalar> make_network(const std::vector<Index>& sizes, std::uint64_t seed, bool layer_norm = false) {
  nn::MlpOptions options(nn::Activation::relu(), true);
  options.layer_norm.every_hidden_layer = layer_norm;
  nn::Mlp<Scalar> net(sizes, options);
  Rng rng(seed);
  net.initialize(nn::InitScheme::torch_default, rng);
  return net;
}

// ---- operation counts -------------------------------------------------------------------------------------
//
// GFLOP/s counts the matrix products only: 2 * rows * depth * columns for every product of a layer's matrix
// (W, W^T, dW or a weight gradient) with a block of samples, including the thin first and last layers.
// Element-wise work (activations, losses, the optimizer) is left out: it is < 1% at width 512.
// The passes follow DESIGN.md; a pass over N columns of a network with layers (in_l x out_l) costs:
//   forward / input-tangent forward   2 N sum_l in_l out_l
//   weight gradients                  2 N sum_l in_l out_l
//   adjoints below each layer         2 N sum_{l>0} in_l out_l  (+ the first layer when the input adjoint is read)
// and a parameter tangent adds one more product per layer (dW h, and dW^T adj(da) in the reverse).

struct NetworkCost {
  double all = 0;        ///< sum over layers of in * out
  double first = 0;      ///< the first layer's in * out
  double below(bool to_input) const { return to_input ? all : all - first; }
};

inline NetworkCost cost_of(const std::vector<Index>& sizes) {
  NetworkCost c;
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) c.all += static_cast<double>(sizes[l] * sizes[l + 1]);
  c.first = static_cast<double>(sizes[0] * sizes[1]);
  return c;
}

inline double forward_flops(const NetworkCost& c, double n) { return 2 * n * c.all; }
inline double backward_flops(const NetworkCost& c, double n, bool weights, bool to_input) {
  return 2 * n * ((weights ? c.all : 0) + c.below(to_input));
}
inline double weight_gradient_flops(const NetworkCost& c, double n) { return 2 * n * c.all; }
/// A reverse pass whose tangent-stream adjoints are reused from a backward pass (Mlp::reverse_tangent_core):
/// weight gradients over primal and tangent columns, W^T below the first layer over the primal columns only,
/// and the first layer's W^T over all when the input adjoint is read.
inline double reused_reverse_flops(const NetworkCost& c, double primal, double tangent, bool to_input) {
  return weight_gradient_flops(c, primal + tangent) + 2 * primal * c.below(false) +
         (to_input ? 2 * (primal + tangent) * c.first : 0);
}

enum class Preset { vanilla, non_saturating, wgan_clip, wgan_gp, zero_centered_gp, consensus };

inline const std::vector<Preset>& all_presets() {
  static const std::vector<Preset> presets = {Preset::vanilla,  Preset::non_saturating,   Preset::wgan_clip,
                                              Preset::wgan_gp,  Preset::zero_centered_gp, Preset::consensus};
  return presets;
}

inline std::string preset_name(Preset p) {
  switch (p) {
    case Preset::vanilla: return "Vanilla";
    case Preset::non_saturating: return "NonSaturating";
    case Preset::wgan_clip: return "WganClip";
    case Preset::wgan_gp: return "WganGp";
    case Preset::zero_centered_gp: return "ZeroCenteredGp";
    case Preset::consensus: return "Consensus";
  }
  return "?";
}

/// Matrix-product FLOPs of one generator iteration of `preset` (n_critic critic steps and one generator step,
/// or one simultaneous consensus step), B = batch_size.
inline double iteration_flops(Preset preset, Index width) {
  const NetworkCost g = cost_of(generator_sizes(width)), d = cost_of(critic_sizes(width));
  const double b = static_cast<double>(batch_size);
  // Generator step: G(z), D(G(z)), D's input adjoint only, G's weight gradients.
  const double generator_step =
      forward_flops(g, b) + forward_flops(d, b) + backward_flops(d, b, false, true) + backward_flops(g, b, true, false);
  double critic_step = forward_flops(g, b);  // the fake samples
  switch (preset) {
    case Preset::vanilla:
    case Preset::non_saturating:
    case Preset::wgan_clip:
      critic_step += forward_flops(d, 2 * b) + backward_flops(d, 2 * b, true, false);
      break;
    case Preset::wgan_gp:
      // [interpolates | real | fake] forward; grad_x D on the interpolates; the tangent along dP/dg; one reverse
      // over [real, fake, interpolate tangents] (the interpolates' primal adjoints are 0 for ReLU), whose
      // tangent-stream adjoints are grad_x D's (reused), so only [real, fake] go through W^T.
      critic_step += forward_flops(d, 3 * b) + backward_flops(d, b, false, true) + forward_flops(d, b) +
                     reused_reverse_flops(d, 2 * b, b, false);
      break;
    case Preset::zero_centered_gp:
      // [real | fake] forward; grad_x D on real; tangent on real; reverse over [real, fake, real tangents], the
      // tangents' adjoints reused from grad_x D.
      critic_step += forward_flops(d, 2 * b) + backward_flops(d, b, false, true) + forward_flops(d, b) +
                     reused_reverse_flops(d, 2 * b, b, false);
      break;
    case Preset::consensus: {
      // v_D and v_G (a critic step's and a generator step's gradients, sharing G(z) and D(G(z))), then, on those
      // forwards:
      // H_D v_D: parameter tangent through D on [real, fake] (dW h and W dh) and its reverse;
      // H_G v_G: parameter tangent through G, its output tangent through D, the reverse of D's tangent stream, and
      // one reverse through G for both (the primal streams on the fake samples merged: Evaluator::joint).
      // Every reverse reuses the first-order pass's adjoints as its tangent stream's (same seeds); dW^T adj(da) is
      // the parameter tangent's extra product.
      const double v = forward_flops(g, b) + forward_flops(d, 2 * b) + backward_flops(d, 2 * b, true, false) +
                       backward_flops(d, b, false, true) + backward_flops(g, b, true, false);
      const double critic_hvp = 2 * forward_flops(d, 2 * b) + reused_reverse_flops(d, 2 * b, 2 * b, true) +
                                backward_flops(d, 2 * b, false, true);
      const double generator_hvp = 2 * forward_flops(g, b) + forward_flops(d, b) + reused_reverse_flops(d, 0, b, true) +
                                   reused_reverse_flops(g, b, b, false) + backward_flops(g, b, false, false);
      return v + critic_hvp + generator_hvp;
    }
  }
  return static_cast<double>(n_critic) * critic_step + generator_step;
}

// ---- trainers ---------------------------------------------------------------------------------------------

template <Preset P>
struct PresetPolicy;
template <>
struct PresetPolicy<Preset::vanilla> { using type = Vanilla; };
template <>
struct PresetPolicy<Preset::non_saturating> { using type = NonSaturating; };
template <>
struct PresetPolicy<Preset::wgan_clip> { using type = WganClip; };
template <>
struct PresetPolicy<Preset::wgan_gp> { using type = WganGp; };
template <>
struct PresetPolicy<Preset::zero_centered_gp> { using type = ZeroCenteredGp; };
template <>
struct PresetPolicy<Preset::consensus> { using type = Consensus; };

/// Consensus optimization is a simultaneous method (Mescheder et al. 2017): one step of both players at one
/// point per iteration. The other presets alternate n_critic critic steps with one generator step.
inline train::TrainerOptions trainer_options(Preset preset) {
  train::TrainerOptions options;
  options.batch_size = batch_size;
  if (preset == Preset::consensus) {
    options.schedule = train::Schedule::simultaneous;
    options.n_critic = 1;
  } else {
    options.n_critic = n_critic;
  }
  return options;
}

/// `critic_layer_norm`: the critic normalizes every hidden layer (its operation count is the same: the
/// normalization is element-wise work, O(width) a sample against the products' O(width^2)).
template <Preset P, class Scalar = float>
auto make_trainer(Index width, bool critic_layer_norm = false) {
  optim::AdamOptions adam;
  adam.learning_rate = 1e-4;
  adam.beta1 = 0.5;
  adam.beta2 = 0.9;
  return train::make_trainer(typename PresetPolicy<P>::type{}, make_network<Scalar>(generator_sizes(width), 1),
                             make_network<Scalar>(critic_sizes(width), 2, critic_layer_norm), data::EightGaussians<Scalar>{},
                             data::GaussianNoise<Scalar>(noise_dimension), optim::Adam<Scalar>(adam),
                             optim::Adam<Scalar>(adam), trainer_options(P));
}

}  // namespace gantry::bench
