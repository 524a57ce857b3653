// SPDX-License-Identifier: MIT
// The table of rejected inputs: every public entry point of nn, optim, loss, data, train, io, metrics and core
// refuses bad input with a gantry error of the expected type whose message names the function (or the options
// struct), the field, what was expected and what was given. One row per input; adding a check means adding a row.

#include <gantry/gantry.hpp>
#include <gantry/train/checkpoint.hpp>
#include <gantry/train/ema.hpp>


#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <typeinfo>
#include <vector>

#include "catch.hpp"
#include "support/namespaces.hpp"
#include "support/scratch.hpp"

using gantry::Index;
using gantry::Matrix;
using gantry::Rng;
using gantry::Vector;
using gantry::test::contains;
namespace fs = std::filesystem;

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();

struct Rejection {
  std::string area;                   ///< nn, optim, loss, data, train, io, metrics, core
  std::string input;                  ///< what is wrong, in words
  const std::type_info* error;        ///< the exact gantry error type expected
  std::string message;                ///< a part of the message it must contain
  std::function<void()> action;
};

template <class Error>
const std::type_info* type() {
  return &typeid(Error);
}

/// A sampler whose draws are NaN in one row: non-finite data must be refused where it enters training.
struct NanSampler {
  using Scalar = double;
  Index dim = 2;
  Index dimension() const { return dim; }
  void sample(Eigen::Ref<Matrix<double>> out, Rng&) const {
    out.setZero();
    out.row(dim - 1).setConstant(nan);
  }
};

optim::AdamOptions adam_with(double optim::AdamOptions::*field, double value) {
  optim::AdamOptions options;
  options.*field = value;
  return options;
}

template <class Options>
Options with(double Options::*field, double value) {
  Options options;
  options.*field = value;
  return options;
}

auto trainer_with(train::TrainerOptions options) {
  return train::make_trainer(gantry::WganGp{}, nn::Mlp<double>({2, 4, 2}), nn::Mlp<double>({2, 4, 1}),
                             data::EightGaussians<double>(), data::GaussianNoise<double>(2), optim::Sgd<double>(),
                             optim::Sgd<double>(), options);
}

/// A fresh path for a file a row reads or writes; the directory goes when the test program ends.
std::string scratch_path(const std::string& name) {
  static const gantry::test::ScratchDirectory directory("gantry_validation");
  static std::atomic<int> counter{0};
  return directory.file(std::to_string(counter++) + "_" + name);
}

std::string write_scratch(const std::string& name, const std::string& content) {
  const std::string path = scratch_path(name);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

std::vector<Rejection> rejections() {
  nn::Mlp<double> net({2, 4, 1});  // 2*4 + 4 + 4*1 + 1 = 17 parameters
  const Matrix<double> x = Matrix<double>::Ones(2, 5);
  const std::string missing_directory = scratch_path("no_such_directory") + "/file";
  const std::string csv_with_text = write_scratch("text.csv", "x,y\n1,2\n3,abc\n");
  const std::string truncated_checkpoint = write_scratch("truncated.safetensors", "abc");

  std::vector<Rejection> rows = {
      // ---- nn ----
      {"nn", "a layer size of 0", type<gantry::OptionError>(), "gantry::nn::Mlp: sizes[1] must be > 0, given 0",
       [] { nn::Mlp<double>({2, 0, 1}); }},
      {"nn", "a network of one size", type<gantry::OptionError>(),
       "gantry::nn::Mlp: sizes must list at least the input and output sizes, given 1 entries",
       [] { nn::Mlp<double>({3}); }},
      {"nn", "sizes whose parameter count overflows int64", type<gantry::OptionError>(),
       "gantry::nn::Mlp: layer 1 (4000000000 -> 4000000000) parameters: 4000000000 x 4000000000 overflows a 64-bit index",
       [] { nn::Mlp<float>({2, 4000000000, 4000000000, 2}); }},
      {"nn", "input rows != network input size", type<gantry::ShapeError>(),
       "gantry::nn::Mlp::forward: input x expects shape 2x*, given 3x5",
       [net] { net(Matrix<double>::Ones(3, 5)); }},
      {"nn", "a batch of 0", type<gantry::ShapeError>(),
       "gantry::nn::Mlp::forward: input x is a batch of 0 samples (0 columns)",
       [net] { net(Matrix<double>(2, 0)); }},
      {"nn", "more tangent columns than samples", type<gantry::ShapeError>(),
       "gantry::nn::Mlp::forward: tangent_cols must be in [0, 5] (the batch), given 6",
       [net, x] {
         nn::Tape<double> tape;
         net.forward(x, tape, 6);
       }},
      {"nn", "an input tangent of the wrong shape", type<gantry::ShapeError>(),
       "gantry::nn::Mlp::tangent_forward_input: input tangent expects shape 2x3, given 2x2",
       [net, x] {
         nn::Tape<double> tape;
         net.forward(x, tape, 3);
         net.tangent_forward_input(tape, Matrix<double>::Ones(2, 2));
       }},
      {"nn", "a parameter tangent of the wrong size", type<gantry::ShapeError>(),
       "gantry::nn::Mlp::tangent_forward_parameters: parameter tangent expects shape 17x1, given 16x1",
       [net, x] {
         nn::Tape<double> tape;
         net.forward(x, tape, 5);
         net.tangent_forward_parameters(tape, Vector<double>::Ones(16));
       }},
      {"nn", "parameters of the wrong size", type<gantry::ShapeError>(),
       "gantry::nn::Mlp::set_parameters: parameters expects shape 17x1, given 3x1",
       [net]() mutable { net.set_parameters(Vector<double>::Ones(3)); }},
      {"nn", "a transposed weight", type<gantry::ShapeError>(),
       "gantry::nn::Mlp::set_weight: layer 0 weight expects shape 4x2 (outputs x inputs), given 2x4",
       [net]() mutable { net.set_weight(0, Matrix<double>::Ones(2, 4)); }},
      {"nn", "backward columns outside the forward batch", type<gantry::ShapeError>(),
       "gantry::nn::Mlp::backward: columns [3, 9) must lie inside the forward batch of 5",
       [net, x] {
         nn::Tape<double> tape;
         net.forward(x, tape);
         net.backward(tape, 3, 6, nullptr, false, true);
       }},
      {"nn", "forward_from columns outside the source's batch", type<gantry::ShapeError>(),
       "gantry::nn::Mlp::forward_from: columns [4, 6) must lie inside the source's forward batch of 5",
       [net, x] {
         nn::Tape<double> source, tape;
         net.forward(x, source);
         net.forward_from(source, 4, 2, tape);
       }},
      {"nn", "forward_from with more tangent columns than samples", type<gantry::ShapeError>(),
       "gantry::nn::Mlp::forward_from: tangent_cols must be in [0, 2] (the samples copied), given 3",
       [net, x] {
         nn::Tape<double> source, tape;
         net.forward(x, source);
         net.forward_from(source, 1, 2, tape, 3);
       }},
      {"nn", "forward_from a tape onto itself", type<gantry::Error>(),
       "gantry::nn::Mlp::forward_from: source and destination must be different tapes",
       [net, x] {
         nn::Tape<double> tape;
         net.forward(x, tape);
         net.forward_from(tape, 0, 2, tape);
       }},
      {"nn", "forward_from a tape without a forward pass", type<gantry::Error>(),
       "gantry::nn::Mlp::forward_from: the tape does not hold a forward pass of this network (run forward first)",
       [net] {
         nn::Tape<double> source, tape;
         net.forward_from(source, 0, 1, tape);
       }},
      {"nn", "a layer index out of range", type<gantry::ShapeError>(),
       "gantry::nn::Mlp::weight: layer index 5 out of range [0, 2)", [net] { net.weight(5); }},
      {"nn", "an ELU alpha of 0", type<gantry::OptionError>(),
       "gantry::nn::Activation::elu.alpha must be finite and > 0, given 0", [] { nn::Activation::elu(0.0); }},
      {"nn", "an unknown activation name", type<gantry::OptionError>(),
       "gantry::nn::Activation::from_name: unknown activation 'swish'", [] { nn::Activation::from_name("swish"); }},
      {"nn", "an unknown initialisation", type<gantry::OptionError>(),
       "gantry::nn::init_scheme_from_name: unknown scheme 'xavier'", [] { nn::init_scheme_from_name("xavier"); }},
      {"nn", "an input gradient of a 2-output network", type<gantry::ShapeError>(),
       "gantry::nn::input_gradient: the network must have 1 output, it has 2",
       [x] { nn::input_gradient(nn::Mlp<double>({2, 3, 2}), x); }},
      {"nn", "a negative penalty coefficient", type<gantry::OptionError>(),
       "gantry::nn::GradientPenaltyOptions.coefficient must be finite and >= 0, given -1",
       [net, x] {
         nn::Tape<double> tape;
         nn::gradient_penalty(net, x, nn::GradientPenaltyOptions{-1.0, 1.0, false}, tape, nullptr);
       }},
      {"nn", "a penalty seed of another shape than the gradients", type<gantry::ShapeError>(),
       "gantry::nn::penalty_and_seed: seed expects shape 2x4, given 2x3",
       [] {
         Matrix<double> seed(2, 3);
         nn::penalty_and_seed(nn::GradientPenaltyOptions{}, Matrix<double>::Ones(2, 4), seed);
       }},

      // ---- optim ----
      {"optim", "learning rate 0", type<gantry::OptionError>(), "AdamOptions.learning_rate must be > 0 and finite, given 0",
       [] { optim::Adam<double>(adam_with(&optim::AdamOptions::learning_rate, 0.0)); }},
      {"optim", "a negative learning rate", type<gantry::OptionError>(),
       "SgdOptions.learning_rate must be > 0 and finite, given -0.5",
       [] { optim::Sgd<double>(with(&optim::SgdOptions::learning_rate, -0.5)); }},
      {"optim", "a NaN learning rate", type<gantry::OptionError>(),
       "RmspropOptions.learning_rate must be > 0 and finite, given nan",
       [] { optim::Rmsprop<double>(with(&optim::RmspropOptions::learning_rate, nan)); }},
      {"optim", "an infinite learning rate", type<gantry::OptionError>(),
       "AdamOptions.learning_rate must be > 0 and finite, given inf",
       [] { optim::Adam<float>(adam_with(&optim::AdamOptions::learning_rate, inf)); }},
      {"optim", "beta1 = 1", type<gantry::OptionError>(), "AdamOptions.beta1 must be in [0, 1), given 1",
       [] { optim::Adam<double>(adam_with(&optim::AdamOptions::beta1, 1.0)); }},
      {"optim", "a negative beta2", type<gantry::OptionError>(), "AdamOptions.beta2 must be in [0, 1), given -0.5",
       [] { optim::Adam<double>(adam_with(&optim::AdamOptions::beta2, -0.5)); }},
      {"optim", "a NaN beta1", type<gantry::OptionError>(), "AdamOptions.beta1 must be in [0, 1), given nan",
       [] { optim::Adam<double>(adam_with(&optim::AdamOptions::beta1, nan)); }},
      {"optim", "epsilon 0", type<gantry::OptionError>(), "AdamOptions.epsilon must be > 0 and finite, given 0",
       [] { optim::Adam<double>(adam_with(&optim::AdamOptions::epsilon, 0.0)); }},
      {"optim", "RMSprop alpha = 1", type<gantry::OptionError>(), "RmspropOptions.alpha must be in [0, 1), given 1",
       [] { optim::Rmsprop<double>(with(&optim::RmspropOptions::alpha, 1.0)); }},
      {"optim", "a negative momentum", type<gantry::OptionError>(), "SgdOptions.momentum must be >= 0 and finite, given -1",
       [] { optim::Sgd<double>(with(&optim::SgdOptions::momentum, -1.0)); }},
      {"optim", "Nesterov without momentum", type<gantry::OptionError>(),
       "SgdOptions.momentum must be > 0 when nesterov is true, given 0",
       [] {
         optim::SgdOptions options;
         options.nesterov = true;
         optim::Sgd<double>{options};
       }},
      {"optim", "a negative weight decay", type<gantry::OptionError>(),
       "RmspropOptions.weight_decay must be >= 0 and finite, given -1",
       [] { optim::Rmsprop<double>(with(&optim::RmspropOptions::weight_decay, -1.0)); }},
      {"optim", "a gradient shorter than the parameters", type<gantry::ShapeError>(),
       "gantry::optim::Adam::step: gradient expects 4 entries (the size of parameters), given 3",
       [] {
         optim::Adam<double> adam;
         Vector<double> p = Vector<double>::Ones(4);
         adam.step(p, Vector<double>::Ones(3));
       }},
      {"optim", "parameters of another size than the state", type<gantry::ShapeError>(),
       "gantry::optim::Sgd::step: parameters expect 4 entries (the size of the optimizer state), given 5",
       [] {
         optim::Sgd<double> sgd;
         Vector<double> p = Vector<double>::Ones(4), q = Vector<double>::Ones(5);
         sgd.step(p, Vector<double>::Ones(4));
         sgd.step(q, Vector<double>::Ones(5));
       }},
      {"optim", "a NaN gradient", type<gantry::DivergenceError>(),
       "gantry::optim::Rmsprop::step: gradient has a non-finite value nan at entry 1",
       [] {
         optim::Rmsprop<double> rmsprop;
         Vector<double> p = Vector<double>::Ones(3), g = Vector<double>::Ones(3);
         g[1] = nan;
         rmsprop.step(p, g);
       }},
      {"optim", "a learning rate of 0 set later", type<gantry::OptionError>(),
       "gantry::optim::Adam::set_learning_rate: learning_rate must be > 0 and finite, given 0",
       [] { optim::Adam<double>().set_learning_rate(0.0); }},
      {"optim", "a state of 0 parameters", type<gantry::ShapeError>(),
       "gantry::optim::Sgd::reset: parameter count must be > 0, given 0", [] { optim::Sgd<double>().reset(0); }},
      {"optim", "a state whose moment has the wrong size", type<gantry::ShapeError>(),
       "gantry::optim::Adam::set_state: second_moment expects 4 entries, given 2",
       [] {
         optim::Adam<double>::State state;
         state.parameter_count = 4;
         state.step_count = 1;
         state.first_moment = Vector<double>::Zero(4);
         state.second_moment = Vector<double>::Zero(2);
         optim::Adam<double>().set_state(state);
       }},

      // ---- loss (each through the trainer, which validates its policy) ----
      {"loss", "a negative gradient-penalty lambda", type<gantry::OptionError>(),
       "gantry::loss::GradientPenalty.lambda must be finite and >= 0, given -1",
       [] { loss::GradientPenalty{-1.0}.validate(); }},
      {"loss", "a NaN gradient-penalty lambda", type<gantry::OptionError>(),
       "gantry::loss::GradientPenalty.lambda must be finite and >= 0, given nan",
       [] { loss::GradientPenalty{nan}.validate(); }},
      {"loss", "a negative gradient-penalty center", type<gantry::OptionError>(),
       "gantry::loss::GradientPenalty.center must be finite and >= 0, given -2",
       [] { loss::GradientPenalty{1.0, false, loss::PenaltyPoints::interpolates, -2.0}.validate(); }},
      {"loss", "a negative R1 gamma", type<gantry::OptionError>(),
       "gantry::loss::ZeroCenteredPenalty.gamma must be finite and >= 0, given -2",
       [] { loss::ZeroCenteredPenalty{-2.0}.validate(); }},
      {"loss", "clip 0", type<gantry::OptionError>(), "gantry::loss::WeightClipping.clip must be finite and > 0, given 0",
       [] {
         train::make_trainer(gantry::WganClip{loss::Wasserstein{}, loss::WeightClipping{0.0}}, nn::Mlp<double>({2, 2}),
                             nn::Mlp<double>({2, 1}), data::EightGaussians<double>(), data::GaussianNoise<double>(2),
                             optim::Sgd<double>(), optim::Sgd<double>());
       }},
      {"loss", "a negative clip", type<gantry::OptionError>(),
       "gantry::loss::WeightClipping.clip must be finite and > 0, given -0.5",
       [] { loss::WeightClipping{-0.5}.validate(); }},
      {"loss", "a negative instance-noise sigma", type<gantry::OptionError>(),
       "gantry::loss::InstanceNoise.sigma must be finite and >= 0, given -0.5",
       [] { loss::InstanceNoise{-0.5}.validate(); }},
      {"loss", "an instance-noise schedule below 0", type<gantry::OptionError>(),
       "gantry::loss::InstanceNoise.sigma_schedule.target must be finite and >= 0, given -0.5",
       [] {
         loss::InstanceNoise noise;
         noise.sigma_schedule = train::ValueSchedule::linear(1.0, -0.5, 100);
         noise.validate();
       }},
      {"loss", "a negative consensus gamma", type<gantry::OptionError>(),
       "gantry::loss::Consensus.gamma must be finite and >= 0, given -1",
       [] { gantry::Consensus{loss::NonSaturating{}, loss::Consensus{-1.0}}.validate(); }},

      // ---- data ----
      {"data", "a noise dimension of 0", type<gantry::OptionError>(),
       "gantry::data::GaussianNoise.dimension must be >= 1, given 0", [] { data::GaussianNoise<double>(0); }},
      {"data", "a uniform range with high <= low", type<gantry::OptionError>(),
       "gantry::data::UniformNoise.high must be finite and > low (1), given 1",
       [] { data::UniformNoise<double>(2, 1.0, 1.0); }},
      {"data", "a ring radius of 0", type<gantry::OptionError>(), "EightGaussiansOptions.radius must be finite and > 0, given 0",
       [] { data::EightGaussians<double>(with(&data::EightGaussiansOptions::radius, 0.0)); }},
      {"data", "a negative mixture stddev", type<gantry::OptionError>(),
       "gantry::data::GaussianMixture.stddev must be finite and >= 0, given -1",
       [] { data::GaussianMixture<double>(Matrix<double>::Zero(2, 3), -1.0); }},
      {"data", "a mixture without centres", type<gantry::ShapeError>(),
       "gantry::data::GaussianMixture: centers expects at least 1x1, given 2x0",
       [] { data::GaussianMixture<double>(Matrix<double>(2, 0), 0.1); }},
      {"data", "a Dirac of dimension 0", type<gantry::OptionError>(), "gantry::data::Dirac.dimension must be >= 1, given 0",
       [] { data::Dirac<double>(0); }},
      {"data", "a data set with a NaN", type<gantry::DataError>(),
       "gantry::data::CsvSampler: points has a non-finite value nan at row 0, column 1",
       [] {
         Matrix<double> points = Matrix<double>::Zero(2, 3);
         points(0, 1) = nan;
         data::CsvSampler<double>{points};
       }},
      {"data", "a CSV file that does not exist", type<gantry::IoError>(),
       "gantry::data::load_csv_samples: cannot open '" + missing_directory + "' for reading: No such file or directory",
       [missing_directory] { data::load_csv_samples<double>(missing_directory); }},
      {"data", "text in a CSV field", type<gantry::DataError>(),
       "gantry::data::load_csv_samples: '" + csv_with_text + "' line 3, column 2: 'abc'",
       [csv_with_text] { data::load_csv_samples<double>(csv_with_text); }},
      {"data", "a sample buffer of the wrong dimension", type<gantry::ShapeError>(),
       "gantry::data::GaussianNoise::sample: out expects shape 2x*, given 3x4",
       [] {
         Rng rng;
         Matrix<double> out(3, 4);
         data::GaussianNoise<double>(2).sample(out, rng);
       }},
      {"data", "non-finite data from a data sampler", type<gantry::DataError>(),
       "gantry::train::Trainer::draw_batch: a batch from the data sampler has a non-finite value nan at row 1, column 0",
       [] {
         auto trainer = train::make_trainer(gantry::NonSaturating{}, nn::Mlp<double>({2, 2}), nn::Mlp<double>({2, 1}),
                                            NanSampler{}, data::GaussianNoise<double>(2), optim::Sgd<double>(),
                                            optim::Sgd<double>());
         trainer.step();
       }},
      {"data", "non-finite noise from a noise sampler", type<gantry::DataError>(),
       "gantry::train::Trainer::draw_batch: a batch from the noise sampler has a non-finite value nan at row 2, column 0",
       [] {
         auto trainer = train::make_trainer(gantry::NonSaturating{}, nn::Mlp<double>({3, 2}), nn::Mlp<double>({2, 1}),
                                            data::EightGaussians<double>(), NanSampler{3}, optim::Sgd<double>(),
                                            optim::Sgd<double>());
         trainer.step();
       }},

      // ---- train ----
      {"train", "n_critic 0", type<gantry::OptionError>(), "gantry::train::TrainerOptions.n_critic must be >= 1, given 0",
       [] {
         train::TrainerOptions options;
         options.n_critic = 0;
         trainer_with(options);
       }},
      {"train", "a batch size of 0", type<gantry::OptionError>(),
       "gantry::train::TrainerOptions.batch_size must be in [1, 536870912], given 0",
       [] {
         train::TrainerOptions options;
         options.batch_size = 0;
         trainer_with(options);
       }},
      {"train", "n_critic 5 with simultaneous updates", type<gantry::OptionError>(),
       "gantry::train::TrainerOptions.n_critic must be 1 with the simultaneous schedule",
       [] {
         train::TrainerOptions options;
         options.schedule = train::Schedule::simultaneous;
         trainer_with(options);
       }},
      {"train", "a learning-rate schedule decaying to 0", type<gantry::OptionError>(),
       "gantry::train::TrainerOptions.critic_learning_rate.target must be finite and > 0, given 0",
       [] {
         train::TrainerOptions options;
         options.critic_learning_rate = train::ValueSchedule::exponential(1e-3, 0.99);
         trainer_with(options);
       }},
      {"train", "scheduled critic steps with simultaneous updates", type<gantry::OptionError>(),
       "gantry::train::TrainerOptions.critic_steps must be unset with the simultaneous schedule",
       [] {
         train::TrainerOptions options;
         options.schedule = train::Schedule::simultaneous;
         options.n_critic = 1;
         options.critic_steps = train::CriticStepsSchedule{};
         trainer_with(options);
       }},
      {"train", "an exponential schedule's decay above 1", type<gantry::OptionError>(),
       "gantry::train::TrainerOptions.generator_learning_rate.decay must be in (0, 1], given 1.5",
       [] {
         train::TrainerOptions options;
         options.generator_learning_rate = train::ValueSchedule::exponential(1e-3, 1.5, 1e-5);
         trainer_with(options);
       }},
      {"train", "generator output size != critic input size", type<gantry::ShapeError>(),
       "gantry::train::Trainer: generator output size 3 differs from critic input size 2",
       [] {
         train::make_trainer(gantry::WganGp{}, nn::Mlp<double>({2, 3}), nn::Mlp<double>({2, 1}),
                             data::EightGaussians<double>(), data::GaussianNoise<double>(2), optim::Sgd<double>(),
                             optim::Sgd<double>());
       }},
      {"train", "a critic with 2 outputs", type<gantry::ShapeError>(),
       "gantry::train::Trainer: the critic must have 1 output, it has 2",
       [] {
         train::make_trainer(gantry::WganGp{}, nn::Mlp<double>({2, 2}), nn::Mlp<double>({2, 2}),
                             data::EightGaussians<double>(), data::GaussianNoise<double>(2), optim::Sgd<double>(),
                             optim::Sgd<double>());
       }},
      {"train", "data of another dimension than the critic's input", type<gantry::ShapeError>(),
       "gantry::train::Trainer: data sampler dimension 1 differs from critic input size 2",
       [] {
         train::make_trainer(gantry::WganGp{}, nn::Mlp<double>({2, 2}), nn::Mlp<double>({2, 1}), data::Dirac<double>(1),
                             data::GaussianNoise<double>(2), optim::Sgd<double>(), optim::Sgd<double>());
       }},
      {"train", "noise of another dimension than the generator's input", type<gantry::ShapeError>(),
       "gantry::train::Trainer: noise sampler dimension 3 differs from generator input size 2",
       [] {
         train::make_trainer(gantry::WganGp{}, nn::Mlp<double>({2, 2}), nn::Mlp<double>({2, 1}),
                             data::EightGaussians<double>(), data::GaussianNoise<double>(3), optim::Sgd<double>(),
                             optim::Sgd<double>());
       }},
      {"train", "a negative number of iterations", type<gantry::OptionError>(),
       "gantry::train::Trainer::fit: iterations must be >= 0, given -1", [] { trainer_with({}).fit(-1); }},
      {"train", "generating 0 samples", type<gantry::OptionError>(),
       "gantry::train::Trainer::generate: n must be >= 1, given 0", [] { trainer_with({}).generate(0); }},
      {"train", "a negative iteration", type<gantry::OptionError>(),
       "gantry::train::Trainer::set_iteration: iteration must be >= 0, given -3",
       [] { trainer_with({}).set_iteration(-3); }},
      {"train", "an unknown schedule", type<gantry::OptionError>(),
       "gantry::train::schedule_from_name: unknown schedule 'zigzag' (expected alternating or simultaneous)",
       [] { train::schedule_from_name("zigzag"); }},
      {"train", "an evaluation batch of 0 samples", type<gantry::ShapeError>(),
       "gantry::train::Evaluator::both_gradients: batch.real is a batch of 0 samples",
       [] {
         auto trainer = trainer_with({});
         train::Batch<double> batch;
         trainer.evaluate(batch);
       }},
      {"train", "an evaluation batch with z of the wrong shape", type<gantry::ShapeError>(),
       "gantry::train::Evaluator::both_gradients: batch.z expects shape 2x4, given 2x3",
       [] {
         auto trainer = trainer_with({});
         train::Batch<double> batch;
         batch.real = Matrix<double>::Zero(2, 4);
         batch.z = Matrix<double>::Zero(2, 3);
         trainer.evaluate(batch);
       }},
      {"train", "an iteration counter that fit would overflow", type<gantry::OptionError>(),
       "gantry::train::Trainer::fit: the iteration counter after fit (iteration + iterations): 9223372036854775807 + 1 "
       "overflows a 64-bit index",
       [] {
         auto trainer = trainer_with({});
         trainer.set_iteration(std::numeric_limits<Index>::max());
         trainer.fit(1);
       }},
      {"train", "a checkpoint read from a device", type<gantry::IoError>(),
       "gantry::train::load_checkpoint: '/dev/zero': gantry::io::SafetensorsFile::read: '/dev/zero' is a character "
       "device, not a regular file",
       [] {
         auto trainer = trainer_with({});
         train::load_checkpoint("/dev/zero", trainer);
       }},
      {"train", "an EMA decay of 1", type<gantry::OptionError>(), "gantry::train::EmaOptions.decay must be in [0, 1), given 1",
       [] { train::EmaGenerator<double>(1.0); }},
      {"train", "an EMA read before any average", type<gantry::OptionError>(),
       "gantry::train::EmaGenerator::generator: no average yet", [] { train::EmaGenerator<double>().generator(); }},
      {"train", "a checkpoint shorter than its length field", type<gantry::IoError>(),
       "gantry::train::load_checkpoint: '" + truncated_checkpoint + "': gantry::io::SafetensorsFile::parse: " +
           truncated_checkpoint + ": file is 3 bytes, shorter than the 8-byte header length",
       [truncated_checkpoint] {
         auto trainer = trainer_with({});
         train::load_checkpoint(truncated_checkpoint, trainer);
       }},
      {"train", "a checkpoint of other network sizes", type<gantry::IoError>(),
       "the saved critic has sizes [2,4,1], the receiving network has [2,8,1]",
       [] {
         auto saved = trainer_with({});
         auto receiving = train::make_trainer(gantry::WganGp{}, nn::Mlp<double>({2, 4, 2}), nn::Mlp<double>({2, 8, 1}),
                                              data::EightGaussians<double>(), data::GaussianNoise<double>(2),
                                              optim::Sgd<double>(), optim::Sgd<double>());
         train::load_checkpoint_bytes(train::checkpoint_bytes(saved), "bytes", receiving);
       }},
      {"train", "saving NaN parameters", type<gantry::DivergenceError>(),
       "gantry::train::save_checkpoint: '(in memory)': the generator parameters have a non-finite value nan at entry 2",
       [] {
         auto trainer = trainer_with({});
         trainer.generator().parameters()[2] = nan;
         train::checkpoint_bytes(trainer);
       }},

      // ---- io ----
      {"io", "a safetensors file of 3 bytes", type<gantry::IoError>(),
       "gantry::io::SafetensorsFile::parse: three bytes: file is 3 bytes, shorter than the 8-byte header length",
       [] { io::SafetensorsFile::parse("abc", "three bytes"); }},
      {"io", "a NaN tensor value to write", type<gantry::IoError>(),
       "gantry::io::SafetensorsWriter::add: tensor 'w' has a non-finite value nan at flat index 1",
       [] {
         const double values[] = {1.0, nan};
         io::SafetensorsWriter().add("w", values, {2});
       }},
      {"io", "a tensor name used twice", type<gantry::IoError>(), "gantry::io::SafetensorsWriter::add: tensor 'w' was already added",
       [] {
         const double value = 1.0;
         io::SafetensorsWriter writer;
         writer.add("w", &value, {});
         writer.add("w", &value, {});
       }},
      {"io", "an unfinished JSON document", type<gantry::IoError>(), "JSON text", [] { io::parse_json("{\"a\": "); }},
      {"io", "an atomic write into a missing directory", type<gantry::IoError>(),
       "gantry::io::write_file_atomically: cannot create a temporary file",
       [missing_directory] { io::write_file_atomically(missing_directory, "bytes"); }},
      {"io", "an atomic write to a symbolic link", type<gantry::IoError>(),
       "' is a symbolic link (to 'elsewhere'), which a save neither replaces nor writes through",
       [] {
         const std::string link = scratch_path("link");
         fs::create_symlink("elsewhere", link);
         try {
           io::write_file_atomically(link, "bytes");
         } catch (...) {
           fs::remove(link);
           throw;
         }
       }},
      {"io", "a plot grid of 0 cells", type<gantry::OptionError>(), "gantry::io::grid_cell_centers: nx and ny must be >= 1, given 0",
       [] { io::grid_cell_centers(io::PlotBounds{}, 0, 3); }},

      // ---- metrics ----
      {"metrics", "a negative mode stddev", type<gantry::OptionError>(),
       "gantry::metrics::mode_coverage.stddev must be finite and >= 0, given -1",
       [] { metrics::mode_coverage(Matrix<double>::Zero(2, 3), Matrix<double>::Zero(2, 1), -1.0); }},
      {"metrics", "sets of different sizes for W1", type<gantry::ShapeError>(),
       "gantry::metrics::wasserstein1: b expects shape 2x3, given 2x4",
       [] { metrics::wasserstein1(Matrix<double>::Zero(2, 3), Matrix<double>::Zero(2, 4)); }},
      {"metrics", "no gradients", type<gantry::ShapeError>(),
       "gantry::metrics::gradient_norm_stats: gradients is a batch of 0 samples",
       [] { metrics::gradient_norm_stats(Matrix<double>(2, 0)); }},

      // ---- core ----
      {"core", "an empty range to draw from", type<gantry::OptionError>(),
       "gantry::Rng::below: n must be >= 1 (the range [0, n) is empty), given 0", [] { Rng().below(0); }},
  };
  return rows;
}

}  // namespace

TEST_CASE("every rejected input throws the expected gantry error with a message naming it", "[validation]") {
  for (const Rejection& row : rejections()) {
    INFO(row.area << ": " << row.input);
    INFO("expected " << row.error->name() << " containing: " << row.message);
    bool threw_gantry_error = false;
    try {
      row.action();
    } catch (const gantry::Error& error) {
      threw_gantry_error = true;
      const std::exception& as_standard = error;  // gantry errors derive from the standard exceptions
      CHECK(typeid(error) == *row.error);
      CHECK_THAT(std::string(as_standard.what()), contains(row.message));
    } catch (const std::exception& other) {
      FAIL_CHECK("threw a non-gantry exception: " << other.what());
    }
    CHECK(threw_gantry_error);
  }
}

TEST_CASE("the table covers every area of the library", "[validation]") {
  std::map<std::string, int> per_area;
  for (const Rejection& row : rejections()) ++per_area[row.area];
  for (const char* area : {"nn", "optim", "loss", "data", "train", "io", "metrics", "core"}) {
    INFO(area);
    CHECK(per_area[area] >= 1);
  }
  std::set<std::string> inputs;
  for (const Rejection& row : rejections()) CHECK(inputs.insert(row.input).second);  // each input once
}
