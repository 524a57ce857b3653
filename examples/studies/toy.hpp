// SPDX-License-Identifier: MIT
#pragma once
// What the toy-2D studies share: the datasets as one sampler type, ReLU MLPs initialized as the reference toy code
// does (PyTorch's nn.Linear), and gan_toy.py's Adam.

#include <gantry/gantry.hpp>

#include <string>
#include <variant>
#include <vector>

namespace studies {

/// 8 Gaussians, 25 Gaussians or the swiss roll, as one sampler type (so that each study instantiates its trainer
/// once). `Scalar` float or double.
template <class ScalarT>
class ToyData {
 public:
  using Scalar = ScalarT;
  explicit ToyData(const std::string& name) : sampler_(make(name)) {}
  Index dimension() const { return 2; }
  void sample(Eigen::Ref<Matrix<Scalar>> out, gantry::Rng& rng) const {
    std::visit([&](const auto& s) { s.sample(out, rng); }, sampler_);
  }
  /// The mixture for mode coverage; null for the swiss roll.
  const gantry::data::GaussianMixture<Scalar>* mixture() const {
    return std::get_if<gantry::data::GaussianMixture<Scalar>>(&sampler_);
  }

 private:
  using Sampler = std::variant<gantry::data::GaussianMixture<Scalar>, gantry::data::SwissRoll<Scalar>>;
  static Sampler make(const std::string& name) {
    if (name == "swissroll") return gantry::data::SwissRoll<Scalar>();
    if (name == "25gaussians") return gantry::data::GaussianMixture<Scalar>(gantry::data::TwentyFiveGaussians<Scalar>());
    return gantry::data::GaussianMixture<Scalar>(gantry::data::EightGaussians<Scalar>());
  }
  Sampler sampler_;
};

/// inputs -> depth hidden ReLU layers of `width` -> outputs, nn.Linear's initialization.
template <class Scalar>
gantry::nn::Mlp<Scalar> relu_network(Index inputs, Index width, Index depth, Index outputs, gantry::Rng& rng) {
  std::vector<Index> sizes{inputs};
  for (Index l = 0; l < depth; ++l) sizes.push_back(width);
  sizes.push_back(outputs);
  gantry::nn::Mlp<Scalar> net(sizes, gantry::nn::Activation::relu());
  net.initialize(gantry::nn::InitScheme::torch_default, rng);
  return net;
}

/// Adam with gan_toy.py's betas (0.5, 0.9).
template <class Scalar>
gantry::optim::Adam<Scalar> toy_adam(double learning_rate) {
  gantry::optim::AdamOptions o;
  o.learning_rate = learning_rate;
  o.beta1 = 0.5;
  o.beta2 = 0.9;
  return gantry::optim::Adam<Scalar>(o);
}

}  // namespace studies
