// SPDX-License-Identifier: MIT
// Checkpoints of layer-normalized networks: the gains and shifts are saved and restored (a resumed run continues bit
// for bit), and a checkpoint is refused, naming the layer, by a network normalized otherwise.

#include <gantry/gantry.hpp>
#include <gantry/train/checkpoint.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "catch.hpp"

using gantry::Index;
using gantry::Rng;
namespace nn = gantry::nn;
namespace optim = gantry::optim;
namespace train = gantry::train;
namespace data = gantry::data;
using gantry::test::contains;

namespace {

nn::LayerNormOptions normalize(std::vector<Index> layers, bool gain_and_shift = true, double epsilon = 1e-5) {
  nn::LayerNormOptions o;
  o.layers = std::move(layers);
  o.gain_and_shift = gain_and_shift;
  o.epsilon = epsilon;
  return o;
}

/// A WGAN-GP trainer whose networks normalize as given; `init_seed` draws its initial parameters.
auto make_trainer(const nn::LayerNormOptions& generator_norm, const nn::LayerNormOptions& critic_norm,
                  std::uint64_t init_seed) {
  Rng rng(init_seed);
  nn::Mlp<double> generator({2, 8, 8, 2}, nn::MlpOptions(nn::Activation::relu(), true, generator_norm));
  nn::Mlp<double> critic({2, 8, 8, 1}, nn::MlpOptions(nn::Activation::relu(), true, critic_norm));
  generator.initialize(nn::InitScheme::torch_default, rng);
  critic.initialize(nn::InitScheme::torch_default, rng);
  optim::AdamOptions adam;
  adam.learning_rate = 2e-3;
  adam.beta1 = 0.5;
  train::TrainerOptions options;
  options.batch_size = 16;
  options.n_critic = 2;
  options.seed = 5;
  return train::make_trainer(gantry::WganGp{}, generator, critic, data::EightGaussians<double>(),
                             data::GaussianNoise<double>(2), optim::Adam<double>(adam), optim::Adam<double>(adam),
                             options);
}

std::string temporary_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("gantry_checkpoint_layer_norm_" + name)).string();
}

}  // namespace

TEST_CASE("a layer-normalized run resumes from a checkpoint bit for bit", "[train][checkpoint][layer_norm]") {
  const std::string path = temporary_path("resume.safetensors");
  const nn::LayerNormOptions generator_norm = normalize({0, 1}), critic_norm = normalize({1});
  auto straight = make_trainer(generator_norm, critic_norm, 1);
  straight.fit(6);
  auto interrupted = make_trainer(generator_norm, critic_norm, 1);
  interrupted.fit(3);
  train::save_checkpoint(path, interrupted);
  auto resumed = make_trainer(generator_norm, critic_norm, 2);
  REQUIRE(resumed.critic().parameters() != interrupted.critic().parameters());
  train::load_checkpoint(path, resumed);
  CHECK(resumed.critic().parameters() == interrupted.critic().parameters());
  CHECK(resumed.generator().parameters() == interrupted.generator().parameters());
  // The gains trained away from their initial 1 (the checkpoint carries more than the initialization).
  CHECK_FALSE(resumed.critic().gain(1).isOnes());
  resumed.fit(3);
  CHECK(resumed.critic().parameters() == straight.critic().parameters());
  CHECK(resumed.generator().parameters() == straight.generator().parameters());

  const std::string bytes = train::checkpoint_bytes(interrupted);
  CHECK(bytes.find("\"critic.layers.1.layer_norm.gain\"") != std::string::npos);
  CHECK(bytes.find("\"generator.layers.0.layer_norm.shift\"") != std::string::npos);
  CHECK(bytes.find("critic.layers.0.layer_norm") == std::string::npos);
  std::filesystem::remove(path);
}

TEST_CASE("a checkpoint is refused by a network normalized otherwise, naming the layer",
          "[train][checkpoint][layer_norm][validation]") {
  const std::string path = temporary_path("mismatch.safetensors");
  const auto refused = [&](const nn::LayerNormOptions& saved_critic, const nn::LayerNormOptions& receiving_critic,
                           const std::string& expected) {
    auto source = make_trainer({}, saved_critic, 1);
    source.fit(1);
    train::save_checkpoint(path, source);
    auto receiving = make_trainer({}, receiving_critic, 2);
    const auto before = receiving.critic().parameters();
    INFO("expected: " << expected);
    CHECK_THROWS_WITH(train::load_checkpoint(path, receiving), contains(expected));
    CHECK(receiving.critic().parameters() == before);
  };
  refused(normalize({0}), {}, "the saved critic's layer 0 has layer normalization, the receiving network's layer 0 has none");
  refused({}, normalize({1}), "the saved critic's layer 1 has no layer normalization, the receiving network's layer 1 has one");
  refused(normalize({0}), normalize({1}), "the saved critic's layer 0 has layer normalization");
  refused(normalize({0}, true), normalize({0}, false), "has gain_and_shift true, the receiving network's false");
  refused(normalize({0}, true, 1e-5), normalize({0}, true, 1e-3), "the saved critic's layer normalization has epsilon 1");
  std::filesystem::remove(path);
}
