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
#include "gantry/core/types.hpp"
#include "gantry/io/json.hpp"
#include "gantry/io/safetensors.hpp"
#include "gantry/loss/consensus.hpp"
#include "gantry/loss/gradient_penalty.hpp"
#include "gantry/loss/instance_noise.hpp"
#include "gantry/loss/regularizer.hpp"
#include "gantry/loss/weight_clipping.hpp"
#include "gantry/nn/activation.hpp"
#include "gantry/nn/mlp.hpp"
#include "gantry/optim/adam.hpp"
#include "gantry/optim/rmsprop.hpp"
#include "gantry/optim/sgd.hpp"
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
// policy (its name), policy_settings ({"objective", "regularizers": [{"name", settings...}]}),
// generator / critic ({"sizes", "activation", "bias"}, and "layer_norm": {"layers", "gain_and_shift", "epsilon"}
// when some layer is normalized; a file without it holds networks without normalization), critic_optimizer / generator_optimizer ({"type",
// options...}), and ema ({"decay", "updates", "initialized"}) when an EmaGenerator is saved.
//
// Resuming: load into a trainer built like the saved one (same policy type, network sizes and activations,
// optimizer types and options), then train on; the run continues bit for bit as if never interrupted.
// The checkpoint restores the parameters, the optimizers' states and learning rates, the Rng, the iteration,
// the policy's settings and the schedule options; the divergence guard setting stays the receiving trainer's.

inline constexpr const char* checkpoint_format = "gantry.checkpoint";
inline constexpr int checkpoint_format_version = 1;

/// How an optimizer type is checkpointed; the customization point for an optimizer of your own.
/// A specialization provides:
///
///   static constexpr const char* type;                    // "adam": refuses a file saved by another optimizer
///   static io::JsonValue options(const Optimizer&);       // an object of every option, including learning_rate
///   template <class State, class F>
///   static void for_each_buffer(State& state, F&& f);     // f("name", state.buffer) for each Vector buffer
///
/// and the optimizer must have `State` (with Index parameter_count and step_count), `state()`,
/// `set_state(State)` (which validates) and `set_learning_rate(double)`.
template <class Optimizer>
struct OptimizerCheckpoint;

template <class Scalar>
struct OptimizerCheckpoint<optim::Sgd<Scalar>> {
  static constexpr const char* type = "sgd";
  static io::JsonValue options(const optim::Sgd<Scalar>& optimizer) {
    const optim::SgdOptions& o = optimizer.options();
    io::JsonValue json = io::JsonValue::object();
    json.set("learning_rate", o.learning_rate);
    json.set("momentum", o.momentum);
    json.set("dampening", o.dampening);
    json.set("nesterov", o.nesterov);
    json.set("weight_decay", o.weight_decay);
    return json;
  }
  template <class State, class F>
  static void for_each_buffer(State& state, F&& f) {
    f("momentum_buffer", state.momentum_buffer);
  }
};

template <class Scalar>
struct OptimizerCheckpoint<optim::Rmsprop<Scalar>> {
  static constexpr const char* type = "rmsprop";
  static io::JsonValue options(const optim::Rmsprop<Scalar>& optimizer) {
    const optim::RmspropOptions& o = optimizer.options();
    io::JsonValue json = io::JsonValue::object();
    json.set("learning_rate", o.learning_rate);
    json.set("alpha", o.alpha);
    json.set("epsilon", o.epsilon);
    json.set("weight_decay", o.weight_decay);
    json.set("momentum", o.momentum);
    json.set("centered", o.centered);
    return json;
  }
  template <class State, class F>
  static void for_each_buffer(State& state, F&& f) {
    f("square_average", state.square_average);
    f("gradient_average", state.gradient_average);
    f("momentum_buffer", state.momentum_buffer);
  }
};

template <class Scalar>
struct OptimizerCheckpoint<optim::Adam<Scalar>> {
  static constexpr const char* type = "adam";
  static io::JsonValue options(const optim::Adam<Scalar>& optimizer) {
    const optim::AdamOptions& o = optimizer.options();
    io::JsonValue json = io::JsonValue::object();
    json.set("learning_rate", o.learning_rate);
    json.set("beta1", o.beta1);
    json.set("beta2", o.beta2);
    json.set("epsilon", o.epsilon);
    json.set("weight_decay", o.weight_decay);
    json.set("amsgrad", o.amsgrad);
    return json;
  }
  template <class State, class F>
  static void for_each_buffer(State& state, F&& f) {
    f("first_moment", state.first_moment);
    f("second_moment", state.second_moment);
    f("max_second_moment", state.max_second_moment);
  }
};

// ---- the library's regularizers: a type key that does not depend on the settings (unlike name(), which says
// "r2" or "one_sided_gradient_penalty"), and the settings. A regularizer of your own is keyed by its name and
// has no settings saved; overload both functions for it to save some.

inline const char* regularizer_type(const loss::GradientPenalty&) { return "gradient_penalty"; }
inline const char* regularizer_type(const loss::ZeroCenteredPenalty&) { return "zero_centered_penalty"; }
inline const char* regularizer_type(const loss::WeightClipping&) { return "weight_clipping"; }
inline const char* regularizer_type(const loss::InstanceNoise&) { return "instance_noise"; }
inline const char* regularizer_type(const loss::Consensus&) { return "consensus"; }
template <class Regularizer>
std::string regularizer_type(const Regularizer& r) {
  return r.name();
}


inline io::JsonValue regularizer_settings(const loss::GradientPenalty& r) {
  io::JsonValue json = io::JsonValue::object();
  json.set("lambda", r.lambda);
  json.set("one_sided", r.one_sided);
  json.set("at", loss::penalty_points_name(r.at));
  json.set("center", r.center);
  return json;
}
inline io::JsonValue regularizer_settings(const loss::ZeroCenteredPenalty& r) {
  io::JsonValue json = io::JsonValue::object();
  json.set("gamma", r.gamma);
  json.set("at", loss::penalty_points_name(r.at));
  return json;
}
inline io::JsonValue regularizer_settings(const loss::WeightClipping& r) {
  io::JsonValue json = io::JsonValue::object();
  json.set("clip", r.clip);
  return json;
}
inline io::JsonValue regularizer_settings(const loss::InstanceNoise& r) {
  io::JsonValue json = io::JsonValue::object();
  json.set("sigma", r.sigma);
  return json;
}
inline io::JsonValue regularizer_settings(const loss::Consensus& r) {
  io::JsonValue json = io::JsonValue::object();
  json.set("gamma", r.gamma);
  return json;
}
template <class Regularizer>
io::JsonValue regularizer_settings(const Regularizer&) {
  return io::JsonValue::object();
}

namespace detail {

template <class Optimizer, class = void>
struct has_optimizer_checkpoint : std::false_type {};
template <class Optimizer>
struct has_optimizer_checkpoint<Optimizer, std::void_t<decltype(OptimizerCheckpoint<Optimizer>::type)>>
    : std::true_type {};

template <class Trainer>
constexpr bool check_checkpointable() {
  static_assert(has_optimizer_checkpoint<typename Trainer::critic_optimizer_type>::value,
                "gantry checkpoint: the critic optimizer type has no OptimizerCheckpoint specialization "
                "(see gantry/train/checkpoint.hpp)");
  static_assert(has_optimizer_checkpoint<typename Trainer::generator_optimizer_type>::value,
                "gantry checkpoint: the generator optimizer type has no OptimizerCheckpoint specialization "
                "(see gantry/train/checkpoint.hpp)");
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
  using Codec = OptimizerCheckpoint<Optimizer>;
  io::JsonValue description = io::JsonValue::object();
  description.set("type", Codec::type);
  const io::JsonValue options = Codec::options(optimizer);  // a named object: members() refers into it
  for (const io::JsonMember& option : options.members()) description.set(option.key, option.value);
  writer.set_metadata(name, io::to_json(description));
  const auto& state = optimizer.state();
  const std::int64_t parameter_count = state.parameter_count, step_count = state.step_count;
  writer.add(name + ".parameter_count", &parameter_count, {});
  writer.add(name + ".step_count", &step_count, {});
  Codec::for_each_buffer(state, [&](const char* buffer, const auto& values) {
    writer.add(name + "." + buffer, values.data(), {static_cast<std::int64_t>(values.size())});
  });
}

template <class Policy>
io::JsonValue policy_settings(const Policy& policy) {
  io::JsonValue json = io::JsonValue::object();
  json.set("objective", policy.objective.name());
  io::JsonValue regularizers = io::JsonValue::array();
  policy.for_each_regularizer([&](const auto& r) {
    io::JsonValue entry = io::JsonValue::object();
    entry.set("type", regularizer_type(r));
    entry.set("name", r.name());
    const io::JsonValue settings = regularizer_settings(r);
    for (const io::JsonMember& setting : settings.members()) entry.set(setting.key, setting.value);
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

/// "123" -> 123; refuses signs, spaces, leading zeros and overflow (metadata is written by us, exactly so).
inline std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  if (text.empty() || text.size() > 20 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (~std::uint64_t{0} - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

class CheckpointReader {
 public:
  CheckpointReader(const io::SafetensorsFile& file, std::string source) : file_(file), source_(std::move(source)) {}

  template <class... Parts>
  [[noreturn]] void fail(Parts&&... parts) const {
    throw IoError(gantry::detail::message("gantry::train::load_checkpoint: ", gantry::detail::quoted(source_, 4096),
                                          ": ", std::forward<Parts>(parts)...));
  }

  // What the file holds, as messages show it: a short prefix with control characters escaped.
  static std::string quoted(const std::string& text) { return gantry::detail::quoted(text); }
  static std::string shown(const io::JsonValue& value) { return gantry::detail::escaped(io::to_json(value)); }

  const std::string& metadata(const std::string& key) const {
    const auto found = file_.metadata().find(key);
    if (found == file_.metadata().end()) fail("metadata has no '", key, "' (not a gantry checkpoint, or a damaged one)");
    return found->second;
  }
  bool has_metadata(const std::string& key) const { return file_.metadata().count(key) != 0; }

  std::uint64_t metadata_unsigned(const std::string& key, std::uint64_t max) const {
    const std::string& text = metadata(key);
    const std::optional<std::uint64_t> value = parse_decimal(text);
    if (!value || *value > max)
      fail("metadata '", key, "' must be a decimal integer in [0, ", max, "], given ", quoted(text));
    return *value;
  }

  bool metadata_bool(const std::string& key) const {
    const std::string& text = metadata(key);
    if (text != "true" && text != "false") fail("metadata '", key, "' must be 'true' or 'false', given ", quoted(text));
    return text == "true";
  }

  io::JsonValue metadata_object(const std::string& key) const {
    io::JsonParseOptions options;
    options.source = gantry::detail::message(source_, ": metadata '", key, "'");
    options.max_depth = 4;
    io::JsonValue json;
    try {
      json = io::parse_json(metadata(key), options);
    } catch (const IoError& error) {
      fail("metadata '", key, "' is not valid JSON: ", error.what());
    }
    if (!json.is_object()) fail("metadata '", key, "' must be a JSON object, given ", shown(json));
    return json;
  }

  // Fields of a JSON object from the metadata; `where` names it ("metadata 'critic_optimizer'").
  const io::JsonValue& field(const io::JsonValue& object, const std::string& key, const std::string& where) const {
    const io::JsonValue* value = object.find(key);
    if (value == nullptr) fail(where, " has no field '", key, "'");
    return *value;
  }
  double number(const io::JsonValue& object, const std::string& key, const std::string& where) const {
    const io::JsonValue& value = field(object, key, where);
    if (!value.is_number()) fail(where, " field '", key, "' must be a number, given ", shown(value));
    return value.as_double();
  }
  bool boolean(const io::JsonValue& object, const std::string& key, const std::string& where) const {
    const io::JsonValue& value = field(object, key, where);
    if (!value.is_bool()) fail(where, " field '", key, "' must be true or false, given ", shown(value));
    return value.as_bool();
  }
  const std::string& string(const io::JsonValue& object, const std::string& key, const std::string& where) const {
    const io::JsonValue& value = field(object, key, where);
    if (!value.is_string()) fail(where, " field '", key, "' must be a string, given ", shown(value));
    return value.as_string();
  }

  /// Copies tensor `name` into out[0, count) after checking dtype and shape.
  template <class T>
  void tensor(const std::string& name, const std::vector<std::int64_t>& shape, T* out, const std::string& what) {
    constexpr io::DType dtype = io::detail::DTypeOf<T>::value;
    if (!file_.contains(name)) fail("has no tensor '", name, "' (", what, ")");
    if (file_.dtype(name) != dtype)
      fail("tensor '", name, "' has dtype ", io::dtype_name(file_.dtype(name)), ", expected ", io::dtype_name(dtype),
           " (", what, ")");
    if (file_.shape(name) != shape)
      fail("tensor '", name, "' has shape ", io::detail::shape_text(file_.shape(name)), ", expected ",
           io::detail::shape_text(shape), " (", what, ")");
    std::size_t count = 1;
    for (const std::int64_t dim : shape) count *= static_cast<std::size_t>(dim);
    try {
      file_.copy_to(name, out, count);
    } catch (const IoError& error) {
      fail(error.what());
    }
    used_.insert(name);
  }

  template <class T>
  T scalar_tensor(const std::string& name, const std::string& what) {
    T value{};
    tensor(name, {}, &value, what);
    return value;
  }

  /// A 1-D tensor of any length (bounded by the file's size, which the format check has established).
  template <class Scalar>
  Vector<Scalar> vector_tensor(const std::string& name, const std::string& what) {
    if (!file_.contains(name)) fail("has no tensor '", name, "' (", what, ")");
    const std::vector<std::int64_t>& shape = file_.shape(name);
    if (shape.size() != 1)
      fail("tensor '", name, "' has shape ", io::detail::shape_text(shape), ", expected one dimension (", what, ")");
    Vector<Scalar> values(static_cast<Index>(shape[0]));
    tensor(name, shape, values.data(), what);
    return values;
  }

  /// Every tensor of the file must have been read, except those under `ignored_prefix` (if not empty).
  void check_all_used(const std::string& ignored_prefix) const {
    for (const std::string& name : file_.names()) {
      if (used_.count(name) != 0) continue;
      if (!ignored_prefix.empty() && name.compare(0, ignored_prefix.size(), ignored_prefix) == 0) continue;
      fail("has a tensor ", quoted(name), " that belongs to no part of this trainer");
    }
  }

  const std::string& source() const { return source_; }

 private:
  const io::SafetensorsFile& file_;
  std::string source_;
  std::set<std::string> used_;
};

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
  using Codec = OptimizerCheckpoint<Optimizer>;
  const std::string where = gantry::detail::message("metadata '", name, "'");
  const io::JsonValue saved = reader.metadata_object(name);
  const std::string& type = reader.string(saved, "type", where);
  if (type != Codec::type)
    reader.fail("the ", name, " was saved as ", CheckpointReader::quoted(type), ", the receiving optimizer is '",
                Codec::type, "'");
  // Every option but the learning rate (schedules change it) must match: another beta or momentum would
  // not continue the run, it would start a different one.
  const io::JsonValue options = Codec::options(receiving);
  for (const io::JsonMember& option : options.members()) {
    if (option.key == "learning_rate") continue;
    const io::JsonValue& value = reader.field(saved, option.key, where);
    const bool same = option.value.is_number() ? value.is_number() && value.as_double() == option.value.as_double()
                                               : value == option.value;
    if (!same)
      reader.fail("the ", name, " was saved with ", option.key, " = ", CheckpointReader::shown(value),
                  ", the receiving optimizer has ", io::to_json(option.value));
  }
  const double learning_rate = reader.number(saved, "learning_rate", where);

  typename Optimizer::State state;
  const auto parameter_count = reader.scalar_tensor<std::int64_t>(name + ".parameter_count", "the optimizer's size");
  if (parameter_count != 0 && parameter_count != network.parameter_count())
    reader.fail("the ", name, " has state for ", parameter_count, " parameters, the receiving network has ",
                network.parameter_count());
  state.parameter_count = static_cast<Index>(parameter_count);
  state.step_count = static_cast<Index>(reader.scalar_tensor<std::int64_t>(name + ".step_count", "the step count"));
  Codec::for_each_buffer(state, [&](const char* buffer, auto& values) {
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

inline loss::PenaltyPoints penalty_points_from_name(CheckpointReader& reader, const std::string& name,
                                                    const std::string& where) {
  for (const loss::PenaltyPoints points : {loss::PenaltyPoints::interpolates, loss::PenaltyPoints::real,
                                           loss::PenaltyPoints::fake, loss::PenaltyPoints::real_and_fake})
    if (name == loss::penalty_points_name(points)) return points;
  reader.fail(where, " field 'at' is ", CheckpointReader::quoted(name),
              ", expected interpolates, real, fake or real_and_fake");
}

inline void apply_regularizer_settings(CheckpointReader& reader, const io::JsonValue& json, const std::string& where,
                                       loss::GradientPenalty& r) {
  r.lambda = reader.number(json, "lambda", where);
  r.one_sided = reader.boolean(json, "one_sided", where);
  r.at = penalty_points_from_name(reader, reader.string(json, "at", where), where);
  // Checkpoints written before the center existed penalized toward 1.
  r.center = json.find("center") != nullptr ? reader.number(json, "center", where) : 1.0;
}
inline void apply_regularizer_settings(CheckpointReader& reader, const io::JsonValue& json, const std::string& where,
                                       loss::ZeroCenteredPenalty& r) {
  r.gamma = reader.number(json, "gamma", where);
  r.at = penalty_points_from_name(reader, reader.string(json, "at", where), where);
}
inline void apply_regularizer_settings(CheckpointReader& reader, const io::JsonValue& json, const std::string& where,
                                       loss::WeightClipping& r) {
  r.clip = reader.number(json, "clip", where);
}
inline void apply_regularizer_settings(CheckpointReader& reader, const io::JsonValue& json, const std::string& where,
                                       loss::InstanceNoise& r) {
  r.sigma = reader.number(json, "sigma", where);
}
inline void apply_regularizer_settings(CheckpointReader& reader, const io::JsonValue& json, const std::string& where,
                                       loss::Consensus& r) {
  r.gamma = reader.number(json, "gamma", where);
}
template <class Regularizer>
void apply_regularizer_settings(CheckpointReader&, const io::JsonValue&, const std::string&, Regularizer&) {}

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
    same_structure = same_structure && type != nullptr && type->is_string() && type->as_string() == regularizer_type(r);
  });
  if (!same_structure || count != saved.size())
    reader.fail("the checkpoint was saved by policy ", CheckpointReader::quoted(saved_name),
                ", the receiving trainer's is '", receiving.name(), "'");

  Policy policy = receiving;
  std::size_t i = 0;
  std::apply(
      [&](auto&... r) {
        ((apply_regularizer_settings(reader, saved[i], gantry::detail::message(where, " regularizer ", i), r), ++i),
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
