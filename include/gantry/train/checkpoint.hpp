// SPDX-License-Identifier: MIT
#pragma once
/// Checkpoints: the complete training state in one safetensors file, written atomically, validated in full before loading.

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/quote.hpp"
#include "gantry/core/rng.hpp"
#include "gantry/core/settings.hpp"
#include "gantry/core/types.hpp"
#include "gantry/io/json.hpp"
#include "gantry/io/safetensors.hpp"
#include "gantry/nn/activation.hpp"
#include "gantry/nn/mlp.hpp"
#include "gantry/train/checkpoint_reader.hpp"
#include "gantry/train/checkpoint_settings.hpp"
#include "gantry/train/ema.hpp"
#include "gantry/train/trainer.hpp"
#include "gantry/version.hpp"

namespace gantry::train {

// A checkpoint is a safetensors file (io/safetensors.hpp) that any safetensors reader opens without gantry.
// Tensors, F32 or F64 as the trainer's Scalar, row-major as the format requires:
//
//   generator.layers.{l}.weight       [outputs, inputs]   the layout of PyTorch's nn.Linear.weight
//   generator.layers.{l}.bias         [outputs]           (absent when the network has no bias)
//   generator.layers.{l}.layer_norm.gain / .shift  [outputs]  on a layer-normalized layer with gain and shift
//   critic.layers.{l}.weight / .bias
//   ema_generator.layers.{l}.weight / .bias               when an initialised EmaGenerator is saved
//   {critic,generator}_optimizer.parameter_count   I64 []   0 before the optimizer's first step
//   {critic,generator}_optimizer.step_count        I64 []
//   {critic,generator}_optimizer.<buffer>          [n]      flat, in the network's parameter layout
//                                                           (adam: first_moment, second_moment, max_second_moment)
//   rng.state U64 [4], rng.has_spare_normal U8 [], rng.spare_normal F64 []   the trainer's Rng, exactly
//
// Metadata (all strings; JSON where structured): format = "gantry.checkpoint", format_version = "1",
// gantry_version, scalar ("F32"/"F64"), iteration, schedule, n_critic, batch_size, generator_first, seed,
// policy (its name), policy_settings ({"objective", "regularizers": [{"type", "name", settings...}]}, and
// "objective_settings" after "objective" for an objective that has settings),
// generator / critic ({"sizes", "activation", "bias"}, and "layer_norm": {"layers", "gain_and_shift", "epsilon"}
// when some layer is normalized; a file without it holds networks without normalization), critic_optimizer /
// generator_optimizer ({"type", "learning_rate", settings...}), and ema ({"decay", "updates", "initialized"}) when
// an EmaGenerator is saved.
//
// Every part describes itself where it is defined (gantry/core/settings.hpp): its type key and its settings, which
// loading restores from the file or matches against it. This file names no objective, regularizer or optimizer:
// a part of your own is saved, checked and restored exactly as the library's are.
//
// Resuming: load into a trainer built like the saved one (same policy type, network sizes and activations,
// optimizer types and options), then train on; the run continues bit for bit as if never interrupted.
// The checkpoint restores the parameters, the optimizers' states and learning rates, the Rng, the iteration,
// the policy's settings and the schedule options; the divergence guard setting stays the receiving trainer's.

inline constexpr const char* checkpoint_format = "gantry.checkpoint";
inline constexpr int checkpoint_format_version = 1;

namespace detail {

template <class Optimizer>
using optimizer_type_name_t = decltype(static_cast<const char*>(Optimizer::type_name));
template <class Optimizer>
using optimizer_state_t = decltype(std::declval<Optimizer&>().set_state(std::declval<const Optimizer&>().state()));
template <class Optimizer>
using optimizer_state_counts_t = decltype(Index(std::declval<typename Optimizer::State&>().parameter_count),
                                          Index(std::declval<typename Optimizer::State&>().step_count));
struct BufferProbe {  // a visitor for detection only
  template <class Buffer>
  void operator()(const char*, Buffer&) const {}
};
template <class Optimizer>
using optimizer_buffers_t = decltype(Optimizer::State::for_each_buffer(std::declval<typename Optimizer::State&>(),
                                                                       BufferProbe{}));
template <class Optimizer>
using optimizer_options_t = decltype(std::declval<const Optimizer&>().options());

/// What an optimizer needs to be checkpointed (optim/optimizer.hpp lists it), one message per missing member.
template <class Optimizer>
constexpr bool check_checkpointable_optimizer() {
  using gantry::detail::is_detected_v;
  static_assert(is_detected_v<optimizer_type_name_t, Optimizer>,
                "gantry checkpoint: the optimizer has no member `static constexpr const char* type_name`");
  static_assert(is_detected_v<optimizer_state_t, Optimizer>,
                "gantry checkpoint: the optimizer has no members `const State& state() const` and "
                "`void set_state(State)`");
  if constexpr (is_detected_v<optimizer_state_t, Optimizer>) {
    static_assert(is_detected_v<optimizer_state_counts_t, Optimizer>,
                  "gantry checkpoint: the optimizer's State has no members `Index parameter_count` and "
                  "`Index step_count`");
    static_assert(is_detected_v<optimizer_buffers_t, Optimizer>,
                  "gantry checkpoint: the optimizer's State has no member `template <class Self, class F> static void "
                  "for_each_buffer(Self& state, F&& f)`");
  }
  if constexpr (is_detected_v<optimizer_options_t, Optimizer>)
    static_assert(check_settings_described<std::decay_t<optimizer_options_t<Optimizer>>>());
  return true;
}

template <class Trainer>
constexpr bool check_checkpointable() {
  static_assert(check_checkpointable_optimizer<typename Trainer::critic_optimizer_type>());
  static_assert(check_checkpointable_optimizer<typename Trainer::generator_optimizer_type>());
  return true;
}

template <class Scalar>
constexpr io::DType scalar_dtype() {
  static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>,
                "gantry checkpoint: the trainer's Scalar must be float or double");
  return std::is_same_v<Scalar, float> ? io::DType::F32 : io::DType::F64;
}

inline std::string layer_tensor(const std::string& network, Index layer, const char* part) {
  return gantry::detail::message(network, ".layers.", layer, ".", part);
}

inline io::JsonValue network_description(const std::vector<Index>& sizes, const nn::MlpOptions& options) {
  io::JsonValue json = io::JsonValue::object();
  io::JsonValue json_sizes = io::JsonValue::array();
  for (const Index size : sizes) json_sizes.push_back(io::JsonValue(static_cast<std::int64_t>(size)));
  json.set("sizes", std::move(json_sizes));
  json.set("activation", options.hidden_activation.name());
  json.set("bias", options.bias);
  if (options.layer_norm.enabled()) {  // the normalized layers by index, however the options named them
    const Index layer_count = static_cast<Index>(sizes.size()) - 1;
    io::JsonValue layers = io::JsonValue::array();
    for (Index l = 0; l < layer_count; ++l)
      if (options.layer_norm.normalizes(l, layer_count)) layers.push_back(io::JsonValue(static_cast<std::int64_t>(l)));
    io::JsonValue norm = io::JsonValue::object();
    norm.set("layers", std::move(layers));
    norm.set("gain_and_shift", options.layer_norm.gain_and_shift);
    norm.set("epsilon", options.layer_norm.epsilon);
    json.set("layer_norm", std::move(norm));
  }
  return json;
}

// ---------------------------------------------------------------------------------------------------------
// Writing

template <class Scalar>
void check_finite_before_save(const std::string& path, const char* what, const Vector<Scalar>& flat) {
  if (flat.allFinite()) return;
  for (Index i = 0; i < flat.size(); ++i)
    if (!std::isfinite(static_cast<double>(flat[i])))
      throw DivergenceError(gantry::detail::message("gantry::train::save_checkpoint: ", gantry::detail::quoted(path, 4096),
                                                    ": the ", what,
                                                    " have a non-finite value ", flat[i], " at entry ", i,
                                                    "; a diverged state is not saved (any previous file is kept)"));
}

template <class Scalar>
void add_network(io::SafetensorsWriter& writer, const std::string& name, const nn::Mlp<Scalar>& network,
                 const Vector<Scalar>& parameters) {
  using RowMajor = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  for (Index l = 0; l < network.layer_count(); ++l) {
    const nn::DenseLayer& layer = network.layer(l);
    // Eigen stores W column-major; the format is row-major: the copy transposes the storage order, not W.
    const RowMajor weight = layer.weight(parameters.data());
    writer.add(layer_tensor(name, l, "weight"), weight.data(), {layer.outputs, layer.inputs});
    if (layer.has_bias) writer.add(layer_tensor(name, l, "bias"), layer.bias(parameters.data()).data(), {layer.outputs});
    const nn::LayerNorm& norm = network.layer_norm(l);
    if (norm.has_gain_and_shift) {
      writer.add(layer_tensor(name, l, "layer_norm.gain"), norm.gain(parameters.data()).data(), {norm.features});
      writer.add(layer_tensor(name, l, "layer_norm.shift"), norm.shift(parameters.data()).data(), {norm.features});
    }
  }
}

template <class Optimizer>
void add_optimizer(io::SafetensorsWriter& writer, const std::string& name, const Optimizer& optimizer) {
  io::JsonValue description = io::JsonValue::object();
  description.set("type", Optimizer::type_name);
  description.set("learning_rate", optimizer.learning_rate());
  if constexpr (gantry::detail::is_detected_v<optimizer_options_t, Optimizer>)
    write_settings(optimizer.options(), description);
  writer.set_metadata(name, io::to_json(description));
  const auto& state = optimizer.state();
  const std::int64_t parameter_count = state.parameter_count, step_count = state.step_count;
  writer.add(name + ".parameter_count", &parameter_count, {});
  writer.add(name + ".step_count", &step_count, {});
  Optimizer::State::for_each_buffer(state, [&](const char* buffer, const auto& values) {
    writer.add(name + "." + buffer, values.data(), {static_cast<std::int64_t>(values.size())});
  });
}

template <class Policy>
io::JsonValue policy_settings(const Policy& policy) {
  io::JsonValue json = io::JsonValue::object();
  json.set("objective", policy.objective.name());
  using Objective = std::decay_t<decltype(policy.objective)>;
  // Only for an objective with settings: the library's have none, and their files stay as they were.
  if constexpr (has_settings_v<Objective>) {
    io::JsonValue objective_settings = io::JsonValue::object();
    write_settings(policy.objective, objective_settings);
    json.set("objective_settings", std::move(objective_settings));
  } else {
    static_assert(check_settings_described<Objective>());
  }
  io::JsonValue regularizers = io::JsonValue::array();
  policy.for_each_regularizer([&](const auto& r) {
    io::JsonValue entry = io::JsonValue::object();
    entry.set("type", part_type(r));
    entry.set("name", r.name());
    write_settings(r, entry);
    regularizers.push_back(std::move(entry));
  });
  json.set("regularizers", std::move(regularizers));
  return json;
}

template <class Trainer>
io::SafetensorsWriter checkpoint_writer(const std::string& path, const Trainer& trainer,
                                        const EmaGenerator<typename Trainer::scalar_type>* ema) {
  static_assert(check_checkpointable<Trainer>());
  using Scalar = typename Trainer::scalar_type;
  check_finite_before_save(path, "generator parameters", trainer.generator().parameters());
  check_finite_before_save(path, "critic parameters", trainer.critic().parameters());
  if (ema && ema->initialized()) check_finite_before_save(path, "EMA generator parameters", ema->parameters());

  io::SafetensorsWriter writer;
  const TrainerOptions& options = trainer.options();
  writer.set_metadata("format", checkpoint_format);
  writer.set_metadata("format_version", std::to_string(checkpoint_format_version));
  writer.set_metadata("gantry_version", gantry::detail::message(version_major, ".", version_minor, ".", version_patch));
  writer.set_metadata("scalar", io::dtype_name(scalar_dtype<Scalar>()));
  writer.set_metadata("iteration", std::to_string(trainer.iteration()));
  writer.set_metadata("schedule", schedule_name(options.schedule));
  writer.set_metadata("n_critic", std::to_string(options.n_critic));
  writer.set_metadata("batch_size", std::to_string(options.batch_size));
  writer.set_metadata("generator_first", options.generator_first ? "true" : "false");
  writer.set_metadata("seed", std::to_string(options.seed));
  writer.set_metadata("policy", trainer.policy().name());
  writer.set_metadata("policy_settings", io::to_json(policy_settings(trainer.policy())));
  writer.set_metadata("generator", io::to_json(network_description(trainer.generator().sizes(), trainer.generator().options())));
  writer.set_metadata("critic", io::to_json(network_description(trainer.critic().sizes(), trainer.critic().options())));

  add_network(writer, "generator", trainer.generator(), trainer.generator().parameters());
  add_network(writer, "critic", trainer.critic(), trainer.critic().parameters());
  add_optimizer(writer, "critic_optimizer", trainer.critic_optimizer());
  add_optimizer(writer, "generator_optimizer", trainer.generator_optimizer());

  const Rng::State& rng = trainer.rng().state();
  writer.add("rng.state", rng.words.data(), {4});
  const std::uint8_t has_spare = rng.has_spare_normal ? 1 : 0;
  writer.add("rng.has_spare_normal", &has_spare, {});
  writer.add("rng.spare_normal", &rng.spare_normal, {});

  if (ema) {
    io::JsonValue description = io::JsonValue::object();
    description.set("decay", ema->decay());
    description.set("updates", static_cast<std::int64_t>(ema->updates()));
    description.set("initialized", ema->initialized());
    writer.set_metadata("ema", io::to_json(description));
    if (ema->initialized()) add_network(writer, "ema_generator", ema->generator(), ema->parameters());
  }
  return writer;
}

// ---------------------------------------------------------------------------------------------------------
// Reading: everything is decoded into new objects first; the live ones change only once all of it is valid.

/// The saved network's layer normalization against the receiving one's, naming the first layer that differs.
template <class Scalar>
void check_layer_norm(const CheckpointReader& reader, const std::string& name, const char* description_key,
                      const io::JsonValue& saved, const nn::Mlp<Scalar>& receiving) {
  const std::string where = gantry::detail::message("metadata '", description_key, "' field 'layer_norm'");
  const io::JsonValue* norm = saved.find("layer_norm");
  std::vector<bool> saved_layers(static_cast<std::size_t>(receiving.layer_count()), false);
  if (norm) {
    if (!norm->is_object()) reader.fail(where, " must be an object, given ", CheckpointReader::shown(*norm));
    const io::JsonValue& layers = reader.field(*norm, "layers", where);
    if (!layers.is_array())
      reader.fail(where, " field 'layers' must be an array, given ", CheckpointReader::shown(layers));
    for (const io::JsonValue& layer : layers.as_array()) {
      const std::optional<std::int64_t> l = layer.as_int64();
      if (!l || *l < 0 || *l >= receiving.layer_count())
        reader.fail(where, " field 'layers' holds ", CheckpointReader::shown(layer), ", not a layer index of the receiving ",
                    name,
                    " (0..", receiving.layer_count() - 1, ")");
      saved_layers[static_cast<std::size_t>(*l)] = true;
    }
  }
  for (Index l = 0; l < receiving.layer_count(); ++l) {
    const bool saved_normalizes = saved_layers[static_cast<std::size_t>(l)];
    if (saved_normalizes != receiving.normalizes(l))
      reader.fail("the saved ", name, "'s layer ", l, saved_normalizes ? " has" : " has no",
                  " layer normalization, the receiving network's layer ", l, saved_normalizes ? " has none" : " has one",
                  " (MlpOptions::layer_norm)");
  }
  if (!norm) return;
  const nn::LayerNormOptions& options = receiving.options().layer_norm;
  const bool gain_and_shift = reader.boolean(*norm, "gain_and_shift", where);
  if (gain_and_shift != options.gain_and_shift)
    reader.fail("the saved ", name, "'s layer normalization has gain_and_shift ", gain_and_shift ? "true" : "false",
                ", the receiving network's ", options.gain_and_shift ? "true" : "false");
  const double epsilon = reader.number(*norm, "epsilon", where);
  if (epsilon != options.epsilon)
    reader.fail("the saved ", name, "'s layer normalization has epsilon ", epsilon, ", the receiving network's ",
                options.epsilon);
}

template <class Scalar>
Vector<Scalar> read_network(CheckpointReader& reader, const std::string& name, const char* description_key,
                            const nn::Mlp<Scalar>& receiving) {
  const io::JsonValue saved = reader.metadata_object(description_key);
  const io::JsonValue expected = network_description(receiving.sizes(), receiving.options());
  for (const char* key : {"sizes", "activation", "bias"}) {
    const io::JsonValue& value = reader.field(saved, key, gantry::detail::message("metadata '", description_key, "'"));
    if (value != *expected.find(key))
      reader.fail("the saved ", name, " has ", key, " ", CheckpointReader::shown(value), ", the receiving network has ",
                  io::to_json(*expected.find(key)));
  }
  check_layer_norm(reader, name, description_key, saved, receiving);
  using RowMajor = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Vector<Scalar> parameters(receiving.parameter_count());
  RowMajor weight;
  for (Index l = 0; l < receiving.layer_count(); ++l) {
    const nn::DenseLayer& layer = receiving.layer(l);
    weight.resize(layer.outputs, layer.inputs);
    reader.tensor(layer_tensor(name, l, "weight"), {layer.outputs, layer.inputs}, weight.data(),
                  gantry::detail::message("the ", name, "'s layer ", l, " weight, outputs x inputs"));
    layer.weight(parameters.data()) = weight;
    if (layer.has_bias)
      reader.tensor(layer_tensor(name, l, "bias"), {layer.outputs}, layer.bias(parameters.data()).data(),
                    gantry::detail::message("the ", name, "'s layer ", l, " bias"));
    const nn::LayerNorm& norm = receiving.layer_norm(l);
    if (norm.has_gain_and_shift) {
      reader.tensor(layer_tensor(name, l, "layer_norm.gain"), {norm.features}, norm.gain(parameters.data()).data(),
                    gantry::detail::message("the ", name, "'s layer ", l, " layer-norm gain"));
      reader.tensor(layer_tensor(name, l, "layer_norm.shift"), {norm.features}, norm.shift(parameters.data()).data(),
                    gantry::detail::message("the ", name, "'s layer ", l, " layer-norm shift"));
    }
  }
  return parameters;
}

/// A copy of `receiving` with the saved learning rate and state; refuses another type or other options.
template <class Optimizer, class Scalar>
Optimizer read_optimizer(CheckpointReader& reader, const std::string& name, const Optimizer& receiving,
                         const nn::Mlp<Scalar>& network) {
  const std::string where = gantry::detail::message("metadata '", name, "'");
  const io::JsonValue saved = reader.metadata_object(name);
  const std::string& type = reader.string(saved, "type", where);
  if (type != Optimizer::type_name)
    reader.fail("the ", name, " was saved as ", CheckpointReader::quoted(type), ", the receiving optimizer is '",
                Optimizer::type_name, "'");
  // Every option the optimizer describes must match (its settings say so): another beta or momentum would not
  // continue the run, it would start a different one. The learning rate is restored (schedules change it).
  if constexpr (gantry::detail::is_detected_v<optimizer_options_t, Optimizer>) {
    SettingsReader fields(reader, saved, where, "the " + name, "the receiving optimizer");
    read_settings(receiving.options(), fields);
  }
  const double learning_rate = reader.number(saved, "learning_rate", where);

  typename Optimizer::State state;
  const auto parameter_count = reader.scalar_tensor<std::int64_t>(name + ".parameter_count", "the optimizer's size");
  if (parameter_count != 0 && parameter_count != network.parameter_count())
    reader.fail("the ", name, " has state for ", parameter_count, " parameters, the receiving network has ",
                network.parameter_count());
  state.parameter_count = static_cast<Index>(parameter_count);
  state.step_count = static_cast<Index>(reader.scalar_tensor<std::int64_t>(name + ".step_count", "the step count"));
  Optimizer::State::for_each_buffer(state, [&](const char* buffer, auto& values) {
    values = reader.vector_tensor<Scalar>(name + "." + buffer, gantry::detail::message("the ", name, "'s ", buffer));
  });
  Optimizer optimizer = receiving;
  try {
    optimizer.set_learning_rate(learning_rate);
    optimizer.set_state(std::move(state));  // checks every buffer's size, finiteness and sign
  } catch (const Error& error) {
    reader.fail("the ", name, " state is invalid: ", error.what());
  }
  return optimizer;
}

/// A copy of `receiving` with the saved settings. The objective and the regularizers' types, in order, must
/// match; the settings then come from the file, and must give the policy name the file records.
template <class Policy>
Policy read_policy(CheckpointReader& reader, const Policy& receiving) {
  const std::string& saved_name = reader.metadata("policy");
  const io::JsonValue settings = reader.metadata_object("policy_settings");
  const std::string where = "metadata 'policy_settings'";
  const std::string& objective = reader.string(settings, "objective", where);
  const io::JsonValue& regularizers = reader.field(settings, "regularizers", where);
  if (!regularizers.is_array())
    reader.fail(where, " field 'regularizers' must be an array, given ", CheckpointReader::shown(regularizers));
  const std::vector<io::JsonValue>& saved = regularizers.as_array();

  // The structure first, so that another policy gets one plain message rather than a missing setting.
  bool same_structure = objective == receiving.objective.name();
  std::size_t count = 0;
  receiving.for_each_regularizer([&](const auto& r) {
    const std::size_t i = count++;
    const io::JsonValue* type = i < saved.size() && saved[i].is_object() ? saved[i].find("type") : nullptr;
    same_structure = same_structure && type != nullptr && type->is_string() && type->as_string() == part_type(r);
  });
  if (!same_structure || count != saved.size())
    reader.fail("the checkpoint was saved by policy ", CheckpointReader::quoted(saved_name),
                ", the receiving trainer's is '", receiving.name(), "'");

  Policy policy = receiving;
  if constexpr (has_settings_v<typename Policy::objective_type>) {
    const io::JsonValue& objective_settings = reader.field(settings, "objective_settings", where);
    if (!objective_settings.is_object())
      reader.fail(where, " field 'objective_settings' must be an object, given ",
                  CheckpointReader::shown(objective_settings));
    SettingsReader fields(reader, objective_settings, where + " field 'objective_settings'",
                          "the objective " + CheckpointReader::quoted(objective), "the receiving objective");
    read_settings(policy.objective, fields);
  }
  std::size_t i = 0;
  std::apply(
      [&](auto&... r) {
        (([&] {
           const std::string part = gantry::detail::message(where, " regularizer ", i);
           SettingsReader fields(reader, saved[i], part, "the " + part_type(r) + " regularizer",
                                 "the receiving regularizer");
           read_settings(r, fields);
           ++i;
         }()),
         ...);
      },
      policy.regularizers);
  try {
    policy.validate();
  } catch (const Error& error) {
    reader.fail("the saved policy settings are invalid: ", error.what());
  }
  if (policy.name() != saved_name)
    reader.fail("metadata 'policy' is ", CheckpointReader::quoted(saved_name), ", but the saved settings make '",
                policy.name(), "'");
  return policy;
}

inline Rng::State read_rng(CheckpointReader& reader) {
  Rng::State state;
  reader.tensor("rng.state", {4}, state.words.data(), "the xoshiro256** state");
  if (state.words[0] == 0 && state.words[1] == 0 && state.words[2] == 0 && state.words[3] == 0)
    reader.fail("tensor 'rng.state' is all zero, which xoshiro256** never reaches");
  const auto has_spare = reader.scalar_tensor<std::uint8_t>("rng.has_spare_normal", "a flag, 0 or 1");
  if (has_spare > 1) reader.fail("tensor 'rng.has_spare_normal' must be 0 or 1, given ", static_cast<int>(has_spare));
  state.has_spare_normal = has_spare == 1;
  state.spare_normal = reader.scalar_tensor<double>("rng.spare_normal", "the cached normal draw");
  return state;
}

template <class Scalar>
EmaGenerator<Scalar> read_ema(CheckpointReader& reader, const nn::Mlp<Scalar>& generator) {
  if (!reader.has_metadata("ema"))
    reader.fail("holds no EMA generator (it was saved without one), but one was given to load into");
  const io::JsonValue json = reader.metadata_object("ema");
  const std::string where = "metadata 'ema'";
  const double decay = reader.number(json, "decay", where);
  const bool initialized = reader.boolean(json, "initialized", where);
  const io::JsonValue& updates_json = reader.field(json, "updates", where);
  const std::optional<std::int64_t> updates = updates_json.as_int64();
  if (!updates || *updates < 0)
    reader.fail(where, " field 'updates' must be an integer >= 0, given ", CheckpointReader::shown(updates_json));
  std::optional<EmaGenerator<Scalar>> ema;
  try {
    ema.emplace(EmaOptions{decay});
  } catch (const Error& error) {
    reader.fail("the saved EMA settings are invalid: ", error.what());
  }
  if (initialized) {
    // The average has the generator's architecture, which read_network has already compared.
    const Vector<Scalar> parameters = read_network(reader, "ema_generator", "generator", generator);
    ema->restore(generator, parameters, static_cast<Index>(*updates));
  }
  return std::move(*ema);
}

template <class Trainer>
void load_into(const io::SafetensorsFile& file, const std::string& source, Trainer& trainer,
               EmaGenerator<typename Trainer::scalar_type>* ema) {
  static_assert(check_checkpointable<Trainer>());
  using Scalar = typename Trainer::scalar_type;
  CheckpointReader reader(file, source);
  if (reader.metadata("format") != checkpoint_format)
    reader.fail("metadata 'format' is ", CheckpointReader::quoted(reader.metadata("format")), ", expected '",
                checkpoint_format, "'");
  const std::uint64_t version = reader.metadata_unsigned("format_version", 1u << 30);
  if (version != static_cast<std::uint64_t>(checkpoint_format_version))
    reader.fail("format_version is ", version, ", this gantry reads version ", checkpoint_format_version);
  const std::string& scalar = reader.metadata("scalar");
  if (scalar != io::dtype_name(scalar_dtype<Scalar>()))
    reader.fail("was saved with scalar ", CheckpointReader::quoted(scalar), ", the receiving trainer's is ",
                io::dtype_name(scalar_dtype<Scalar>()));

  constexpr std::uint64_t max_index = static_cast<std::uint64_t>(std::numeric_limits<Index>::max());
  const auto iteration = static_cast<Index>(reader.metadata_unsigned("iteration", max_index));
  TrainerOptions options = trainer.options();  // keeps the receiving trainer's divergence_guard
  const std::string& schedule = reader.metadata("schedule");
  if (schedule != "alternating" && schedule != "simultaneous")
    reader.fail("metadata 'schedule' is ", CheckpointReader::quoted(schedule), ", expected alternating or simultaneous");
  options.schedule = schedule_from_name(schedule);
  options.n_critic = static_cast<Index>(reader.metadata_unsigned("n_critic", max_index));
  options.batch_size = static_cast<Index>(reader.metadata_unsigned("batch_size", max_index));
  options.generator_first = reader.metadata_bool("generator_first");
  options.seed = reader.metadata_unsigned("seed", ~std::uint64_t{0});
  try {
    options.validate();
  } catch (const Error& error) {
    reader.fail("the saved trainer options are invalid: ", error.what());
  }

  auto policy = read_policy(reader, trainer.policy());
  Vector<Scalar> generator_parameters = read_network(reader, "generator", "generator", trainer.generator());
  Vector<Scalar> critic_parameters = read_network(reader, "critic", "critic", trainer.critic());
  auto critic_optimizer = read_optimizer(reader, "critic_optimizer", trainer.critic_optimizer(), trainer.critic());
  auto generator_optimizer =
      read_optimizer(reader, "generator_optimizer", trainer.generator_optimizer(), trainer.generator());
  const Rng::State rng = read_rng(reader);
  std::optional<EmaGenerator<Scalar>> new_ema;
  if (ema) new_ema.emplace(read_ema(reader, trainer.generator()));
  // Without an EMA to load into, a saved average is skipped: resuming without it is a choice, not a mismatch.
  reader.check_all_used(ema ? std::string() : std::string("ema_generator."));

  // Commit. Nothing below throws: the options were validated, the vectors have the networks' sizes (swap),
  // and the rest are moves of validated objects.
  trainer.set_options(options);
  trainer.policy() = std::move(policy);
  trainer.generator().parameters().swap(generator_parameters);
  trainer.critic().parameters().swap(critic_parameters);
  trainer.critic_optimizer() = std::move(critic_optimizer);
  trainer.generator_optimizer() = std::move(generator_optimizer);
  trainer.rng().set_state(rng);
  trainer.set_iteration(iteration);
  if (ema) *ema = std::move(*new_ema);
}

template <class Trainer>
void load_from_bytes(std::string bytes, const std::string& source, Trainer& trainer,
                     EmaGenerator<typename Trainer::scalar_type>* ema) {
  std::optional<io::SafetensorsFile> file;
  try {
    file.emplace(io::SafetensorsFile::parse(std::move(bytes), source));
  } catch (const IoError& error) {
    throw IoError(gantry::detail::message("gantry::train::load_checkpoint: ", gantry::detail::quoted(source, 4096), ": ",
                                          error.what()));
  }
  load_into(*file, source, trainer, ema);
}

template <class Trainer>
void load_from_path(const std::string& path, Trainer& trainer, EmaGenerator<typename Trainer::scalar_type>* ema) {
  std::optional<io::SafetensorsFile> file;
  try {
    file.emplace(io::SafetensorsFile::read(path));
  } catch (const IoError& error) {
    throw IoError(gantry::detail::message("gantry::train::load_checkpoint: ", gantry::detail::quoted(path, 4096), ": ",
                                          error.what()));
  }
  load_into(*file, path, trainer, ema);
}

}  // namespace detail

// ---- public API ----

/// Writes the complete training state to `path` atomically: a crash, a full disk or an error part-way leaves
/// the previous file at `path` intact. Throws DivergenceError (and writes nothing) if a parameter is not finite.
template <class Trainer>
void save_checkpoint(const std::string& path, const Trainer& trainer) {
  detail::checkpoint_writer(path, trainer, nullptr).write_atomically(path);
}

/// The same, with the EMA generator's average.
template <class Trainer>
void save_checkpoint(const std::string& path, const Trainer& trainer,
                     const EmaGenerator<typename Trainer::scalar_type>& ema) {
  detail::checkpoint_writer(path, trainer, &ema).write_atomically(path);
}

/// The bytes save_checkpoint would write (for tests, or for storage that is not a file).
template <class Trainer>
std::string checkpoint_bytes(const Trainer& trainer) {
  return detail::checkpoint_writer("(in memory)", trainer, nullptr).to_bytes();
}
template <class Trainer>
std::string checkpoint_bytes(const Trainer& trainer, const EmaGenerator<typename Trainer::scalar_type>& ema) {
  return detail::checkpoint_writer("(in memory)", trainer, &ema).to_bytes();
}

/// Restores `trainer` from `path`. Everything is validated first (format, header, JSON, dtypes, shapes against
/// the receiving networks, optimizer types and options, offsets, finite values); on any problem an IoError
/// names the file and what is wrong, and `trainer` is left unchanged.
template <class Trainer>
void load_checkpoint(const std::string& path, Trainer& trainer) {
  detail::load_from_path(path, trainer, nullptr);
}

/// The same, restoring `ema` as well (the file must hold one); on error neither is changed.
template <class Trainer>
void load_checkpoint(const std::string& path, Trainer& trainer, EmaGenerator<typename Trainer::scalar_type>& ema) {
  detail::load_from_path(path, trainer, &ema);
}

/// Restores from the bytes of a checkpoint; `source` names them in messages.
template <class Trainer>
void load_checkpoint_bytes(std::string bytes, const std::string& source, Trainer& trainer) {
  detail::load_from_bytes(std::move(bytes), source, trainer, nullptr);
}
template <class Trainer>
void load_checkpoint_bytes(std::string bytes, const std::string& source, Trainer& trainer,
                           EmaGenerator<typename Trainer::scalar_type>& ema) {
  detail::load_from_bytes(std::move(bytes), source, trainer, &ema);
}

}  // namespace gantry::train
