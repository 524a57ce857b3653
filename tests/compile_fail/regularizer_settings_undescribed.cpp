// SPDX-License-Identifier: MIT
// Must not compile: a regularizer with an option (a data member) that does not describe its settings, saved in a
// checkpoint, which could then neither record nor check the option. The ctest matches the static_assert's text.
#include <gantry/data/sampler.hpp>
#include <gantry/data/toy2d.hpp>
#include <gantry/optim/sgd.hpp>
#include <gantry/policy.hpp>
#include <gantry/train/checkpoint.hpp>

struct UndescribedClip {
  double bound = 0.5;  // an option, and no settings() for it
  std::string name() const { return "undescribed_clip"; }
  template <class S>
  void project_critic(gantry::nn::Mlp<S>& critic) const {
    critic.parameters() = critic.parameters().cwiseMax(S(-bound)).cwiseMin(S(bound));
  }
};

int main() {
  gantry::nn::Mlp<double> generator({2, 2}), critic({2, 1});
  auto trainer = gantry::train::make_trainer(gantry::Policy<gantry::loss::Wasserstein, UndescribedClip>{}, generator,
                                             critic, gantry::data::EightGaussians<double>(),
                                             gantry::data::GaussianNoise<double>(2), gantry::optim::Sgd<double>(),
                                             gantry::optim::Sgd<double>(), gantry::train::TrainerOptions{});
  return static_cast<int>(gantry::train::checkpoint_bytes(trainer).size());
}
