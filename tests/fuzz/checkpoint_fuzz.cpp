// SPDX-License-Identifier: MIT
// libFuzzer target for the checkpoint loader, gantry::train::load_checkpoint_bytes: arbitrary bytes must either
// load or throw gantry::IoError, never crash, leak, hang or read out of bounds; a refused input must leave the
// trainer and its EMA exactly as they were (loading validates everything before it touches them), and an
// accepted one must save back to a checkpoint that loads into a copy with the same state.
//
// Build and run (from the repository root; .ci/run does the same):
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
//     -Iinclude -I/usr/include/eigen3 tests/fuzz/checkpoint_fuzz.cpp -o /tmp/checkpoint_fuzz
//   mkdir -p /tmp/checkpoint_corpus
//   /tmp/checkpoint_fuzz -max_total_time=60 -max_len=16384 -dict=tests/fuzz/checkpoint.dict \
//     /tmp/checkpoint_corpus tests/fuzz/checkpoint_corpus
//
// The seed corpus is written by this same file built without libFuzzer:
//   clang++ -std=c++17 -O1 -DGANTRY_CHECKPOINT_CORPUS_MAIN -Iinclude -I/usr/include/eigen3 \
//     tests/fuzz/checkpoint_fuzz.cpp -o /tmp/make_corpus && /tmp/make_corpus tests/fuzz/checkpoint_corpus

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "gantry/core/rng.hpp"
#include "gantry/data/sampler.hpp"
#include "gantry/data/toy2d.hpp"
#include "gantry/nn/mlp.hpp"
#include "gantry/optim/adam.hpp"
#include "gantry/policy.hpp"
#include "gantry/train/checkpoint.hpp"
#include "gantry/train/ema.hpp"
#include "gantry/train/trainer.hpp"

namespace {

namespace nn = gantry::nn;
namespace train = gantry::train;

// Small networks keep an input near 2 KB, so that mutations reach every part of the file.
auto make_fuzz_trainer() {
  gantry::Rng rng(1);
  nn::Mlp<double> generator({2, 3, 2}, nn::Activation::relu()), critic({2, 3, 1}, nn::Activation::relu());
  generator.initialize(nn::InitScheme::torch_default, rng);
  critic.initialize(nn::InitScheme::torch_default, rng);
  gantry::optim::AdamOptions adam;
  adam.beta1 = 0.5;
  adam.beta2 = 0.9;
  train::TrainerOptions options;
  options.batch_size = 4;
  options.n_critic = 2;
  return train::make_trainer(gantry::WganGp{}, generator, critic, gantry::data::EightGaussians<double>(),
                             gantry::data::GaussianNoise<double>(2), gantry::optim::Adam<double>(adam),
                             gantry::optim::Adam<double>(adam), options);
}

using FuzzTrainer = decltype(make_fuzz_trainer());
using Ema = train::EmaGenerator<double>;

}  // namespace

#ifndef GANTRY_CHECKPOINT_CORPUS_MAIN

namespace {

bool same_adam(const gantry::optim::Adam<double>& a, const gantry::optim::Adam<double>& b) {
  const auto& x = a.state();
  const auto& y = b.state();
  return a.learning_rate() == b.learning_rate() && x.parameter_count == y.parameter_count &&
         x.step_count == y.step_count && x.first_moment == y.first_moment && x.second_moment == y.second_moment &&
         x.max_second_moment == y.max_second_moment;
}

bool same_state(const FuzzTrainer& a, const Ema& ema_a, const FuzzTrainer& b, const Ema& ema_b) {
  const auto& r = a.rng().state();
  const auto& s = b.rng().state();
  const auto& o = a.options();
  const auto& p = b.options();
  bool same = a.generator().parameters() == b.generator().parameters() &&
              a.critic().parameters() == b.critic().parameters() &&
              same_adam(a.critic_optimizer(), b.critic_optimizer()) &&
              same_adam(a.generator_optimizer(), b.generator_optimizer()) && r.words == s.words &&
              r.has_spare_normal == s.has_spare_normal &&
              std::memcmp(&r.spare_normal, &s.spare_normal, sizeof r.spare_normal) == 0 &&
              a.iteration() == b.iteration() && o.batch_size == p.batch_size && o.n_critic == p.n_critic &&
              o.schedule == p.schedule && o.generator_first == p.generator_first && o.seed == p.seed &&
              a.policy().name() == b.policy().name() &&
              a.policy().regularizer<gantry::loss::GradientPenalty>().lambda ==
                  b.policy().regularizer<gantry::loss::GradientPenalty>().lambda &&
              ema_a.initialized() == ema_b.initialized() && ema_a.decay() == ema_b.decay() &&
              ema_a.updates() == ema_b.updates();
  if (same && ema_a.initialized()) same = ema_a.parameters() == ema_b.parameters();
  return same;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const FuzzTrainer baseline = [] {
    FuzzTrainer trainer = make_fuzz_trainer();
    trainer.fit(1);
    return trainer;
  }();
  static const Ema baseline_ema = [] {
    Ema ema(0.5);
    ema.initialize(baseline.generator());
    return ema;
  }();

  FuzzTrainer trainer = baseline;
  Ema ema = baseline_ema;
  try {
    train::load_checkpoint_bytes(std::string(reinterpret_cast<const char*>(data), size), "fuzz input", trainer, ema);
  } catch (const gantry::IoError&) {
    // Refused: nothing may have changed. Any other exception type escapes and libFuzzer reports it.
    if (!same_state(trainer, ema, baseline, baseline_ema)) std::abort();
    return 0;
  }
  // Accepted: what it loaded saves, and that loads into a fresh copy with the same state.
  FuzzTrainer again = baseline;
  Ema again_ema = baseline_ema;
  train::load_checkpoint_bytes(train::checkpoint_bytes(trainer, ema), "round trip", again, again_ema);
  if (!same_state(trainer, ema, again, again_ema)) std::abort();
  return 0;
}

#else  // the seed corpus: valid checkpoints of the fuzz trainer, and typical broken ones

#include <fstream>
#include <iostream>

namespace {
void write(const std::string& directory, const std::string& name, const std::string& bytes) {
  std::ofstream(directory + "/" + name, std::ios::binary) << bytes;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " DIRECTORY\n";
    return 2;
  }
  const std::string directory = argv[1];
  FuzzTrainer trainer = make_fuzz_trainer();
  Ema ema(0.7);
  write(directory, "valid_before_first_step.safetensors", train::checkpoint_bytes(trainer));
  write(directory, "valid_ema_not_initialized.safetensors", train::checkpoint_bytes(trainer, ema));
  trainer.fit(3, ema);
  const std::string valid = train::checkpoint_bytes(trainer, ema);
  write(directory, "valid_with_ema.safetensors", valid);
  write(directory, "valid_without_ema.safetensors", train::checkpoint_bytes(trainer));
  trainer.critic_optimizer().set_learning_rate(1e-5);
  trainer.policy().regularizer<gantry::loss::GradientPenalty>().lambda = 2.5;
  write(directory, "valid_changed_settings.safetensors", train::checkpoint_bytes(trainer, ema));

  write(directory, "broken_truncated.safetensors", valid.substr(0, valid.size() / 2));
  write(directory, "broken_short.safetensors", valid.substr(0, 5));
  std::string nan_weight = valid;
  std::uint64_t header = 0;
  for (int i = 7; i >= 0; --i) header = (header << 8) | static_cast<unsigned char>(valid[static_cast<std::size_t>(i)]);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::memcpy(&nan_weight[8 + header], &nan, sizeof nan);
  write(directory, "broken_nan_weight.safetensors", nan_weight);
  std::string other_format = valid;
  other_format.replace(other_format.find("gantry.checkpoint"), 6, "pytorc");
  write(directory, "broken_format.safetensors", other_format);

  auto other = make_fuzz_trainer();
  nn::Mlp<double> wide({2, 5, 1}, nn::Activation::relu());
  auto mismatched = train::make_trainer(gantry::WganGp{}, other.generator(), wide, gantry::data::EightGaussians<double>(),
                                        gantry::data::GaussianNoise<double>(2), other.critic_optimizer(),
                                        other.generator_optimizer(), other.options());
  write(directory, "broken_other_critic.safetensors", train::checkpoint_bytes(mismatched));
  return 0;
}

#endif
