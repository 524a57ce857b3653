// SPDX-License-Identifier: MIT
// Checkpoints: a resumed run continues bit for bit; the file opens in Python with json and struct only; a save
// that fails half-way (full disk) or dies half-way (crash) leaves the previous checkpoint intact; every
// truncated, corrupted or mismatched file is refused with a message naming the file and the problem, and the
// objects it was loaded into stay exactly as they were.

#include <gantry/gantry.hpp>
#include <gantry/train/checkpoint.hpp>
#include <gantry/train/ema.hpp>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "catch.hpp"
#include "support/namespaces.hpp"
#include "support/messages.hpp"
#include "support/scratch.hpp"

using gantry::Index;
using gantry::Rng;
using gantry::Vector;
using namespace gantry::test;  // NOLINT(google-build-using-namespace): test helpers only
namespace fs = std::filesystem;

namespace {

optim::AdamOptions gan_adam() {
  optim::AdamOptions adam;
  adam.learning_rate = 2e-3;
  adam.beta1 = 0.5;
  adam.beta2 = 0.9;
  return adam;
}

/// A small trainer whose initial parameters come from `init_seed`.
template <class Scalar, class Policy, class CriticOptimizer, class GeneratorOptimizer>
auto make_trainer(Policy policy, CriticOptimizer critic_optimizer, GeneratorOptimizer generator_optimizer,
                  train::TrainerOptions options, std::uint64_t init_seed,
                  std::vector<Index> critic_sizes = {2, 8, 8, 1}) {
  Rng rng(init_seed);
  nn::Mlp<Scalar> generator({2, 8, 2}, nn::Activation::relu());
  nn::Mlp<Scalar> critic(std::move(critic_sizes), nn::Activation::relu());
  generator.initialize(nn::InitScheme::torch_default, rng);
  critic.initialize(nn::InitScheme::torch_default, rng);
  return train::make_trainer(std::move(policy), generator, critic, data::EightGaussians<Scalar>(),
                             data::GaussianNoise<Scalar>(2), std::move(critic_optimizer),
                             std::move(generator_optimizer), options);
}

template <class Optimizer>
bool same_optimizer(const Optimizer& a, const Optimizer& b) {
  bool same = a.learning_rate() == b.learning_rate() && a.state().parameter_count == b.state().parameter_count &&
              a.state().step_count == b.state().step_count;
  std::vector<const gantry::Vector<typename Optimizer::Scalar>*> buffers_a, buffers_b;
  Optimizer::State::for_each_buffer(a.state(), [&](const char*, const auto& v) { buffers_a.push_back(&v); });
  Optimizer::State::for_each_buffer(b.state(), [&](const char*, const auto& v) { buffers_b.push_back(&v); });
  for (std::size_t i = 0; i < buffers_a.size(); ++i) same = same && *buffers_a[i] == *buffers_b[i];
  return same;
}

/// Everything a checkpoint restores, compared bit for bit.
template <class Trainer>
bool same_state(const Trainer& a, const Trainer& b) {
  const auto& ra = a.rng().state();
  const auto& rb = b.rng().state();
  return a.generator().parameters() == b.generator().parameters() &&
         a.critic().parameters() == b.critic().parameters() && same_optimizer(a.critic_optimizer(), b.critic_optimizer()) &&
         same_optimizer(a.generator_optimizer(), b.generator_optimizer()) && ra.words == rb.words &&
         ra.has_spare_normal == rb.has_spare_normal && ra.spare_normal == rb.spare_normal &&
         a.iteration() == b.iteration() && a.options().n_critic == b.options().n_critic &&
         a.options().batch_size == b.options().batch_size && a.options().schedule == b.options().schedule &&
         a.options().generator_first == b.options().generator_first && a.options().seed == b.options().seed &&
         train::detail::policy_settings(a.policy()) == train::detail::policy_settings(b.policy());
}

/// N iterations straight against N/2, save, load into fresh objects built differently (other initial
/// parameters, seed, options, policy settings, learning rates and EMA decay), N/2 more: bit-identical.
template <class Scalar, class Policy, class Optimizer>
void check_resume(const Policy& policy, const Policy& other_policy, const Optimizer& optimizer,
                  const Optimizer& other_optimizer, train::TrainerOptions options) {
  constexpr Index half = 3;
  ScratchDirectory dir("gantry_checkpoint_test");
  const std::string path = dir.file("run.safetensors");
  options.seed = 11;

  auto straight = make_trainer<Scalar>(policy, optimizer, optimizer, options, 1);
  train::EmaGenerator<Scalar> straight_ema(0.8);
  straight.fit(half, straight_ema);
  // A learning-rate schedule acts between chunks; the checkpoint must carry the changed rate.
  straight.critic_optimizer().set_learning_rate(straight.critic_optimizer().learning_rate() / 3);
  straight.fit(half, straight_ema);

  auto interrupted = make_trainer<Scalar>(policy, optimizer, optimizer, options, 1);
  train::EmaGenerator<Scalar> interrupted_ema(0.8);
  interrupted.fit(half, interrupted_ema);
  interrupted.critic_optimizer().set_learning_rate(interrupted.critic_optimizer().learning_rate() / 3);
  train::save_checkpoint(path, interrupted, interrupted_ema);

  train::TrainerOptions other_options;
  other_options.batch_size = 5;
  other_options.n_critic = 1;
  other_options.seed = 99;
  auto resumed = make_trainer<Scalar>(other_policy, other_optimizer, other_optimizer, other_options, 2);
  train::EmaGenerator<Scalar> resumed_ema(0.3);
  REQUIRE_FALSE(same_state(resumed, interrupted));
  train::load_checkpoint(path, resumed, resumed_ema);
  CHECK(same_state(resumed, interrupted));
  CHECK(resumed_ema.decay() == 0.8);
  CHECK(resumed_ema.updates() == interrupted_ema.updates());
  resumed.fit(half, resumed_ema);

  CHECK(resumed.iteration() == 2 * half);
  CHECK(same_state(resumed, straight));
  CHECK(resumed_ema.parameters() == straight_ema.parameters());
  CHECK(resumed.generator().parameters().allFinite());
}

}  // namespace

TEMPLATE_TEST_CASE("a resumed run continues bit-identically to the run never interrupted: WGAN-GP, Adam, EMA",
                   "[train][checkpoint]", float, double) {
  train::TrainerOptions options;
  options.batch_size = 16;
  options.n_critic = 3;
  check_resume<TestType>(gantry::WganGp{}, gantry::WganGp{loss::Wasserstein{}, loss::GradientPenalty{2.0, true}},
                         optim::Adam<TestType>(gan_adam()), optim::Adam<TestType>(gan_adam()), options);
}

// In double only: every policy and optimizer is a trainer type of its own, and compile time adds up.
TEST_CASE("a resumed run continues bit-identically under every optimizer, schedule and regularizer",
          "[train][checkpoint]") {
  using Scalar = double;
  train::TrainerOptions options;
  options.batch_size = 16;
  SECTION("R1 with instance noise, centred RMSprop with momentum, generator first") {
    using Policy = gantry::Policy<loss::NonSaturating, loss::ZeroCenteredPenalty, loss::InstanceNoise>;
    options.n_critic = 2;
    options.generator_first = true;
    optim::RmspropOptions rmsprop;
    rmsprop.learning_rate = 1e-3;
    rmsprop.centered = true;
    rmsprop.momentum = 0.5;
    optim::RmspropOptions other = rmsprop;
    other.learning_rate = 0.5;
    check_resume<Scalar>(Policy{}, Policy{loss::NonSaturating{}, loss::ZeroCenteredPenalty{1.0, loss::PenaltyPoints::fake},
                                          loss::InstanceNoise{0.7}},
                         optim::Rmsprop<Scalar>(rmsprop), optim::Rmsprop<Scalar>(other), options);
  }
  SECTION("consensus, SGD with Nesterov momentum, simultaneous") {
    options.n_critic = 1;
    options.schedule = train::Schedule::simultaneous;
    optim::SgdOptions sgd;
    sgd.learning_rate = 1e-2;
    sgd.momentum = 0.9;
    sgd.nesterov = true;
    optim::SgdOptions other = sgd;
    other.learning_rate = 3.0;
    check_resume<Scalar>(gantry::Consensus{}, gantry::Consensus{loss::NonSaturating{}, loss::Consensus{0.5}},
                         optim::Sgd<Scalar>(sgd), optim::Sgd<Scalar>(other), options);
  }
  SECTION("WGAN with clipping, AMSGrad") {
    options.n_critic = 2;
    optim::AdamOptions adam = gan_adam();
    adam.amsgrad = true;
    check_resume<Scalar>(gantry::WganClip{}, gantry::WganClip{loss::Wasserstein{}, loss::WeightClipping{0.5}},
                         optim::Adam<Scalar>(adam), optim::Adam<Scalar>(adam), options);
  }
}

TEST_CASE("a checkpoint taken before the first step resumes too", "[train][checkpoint]") {
  train::TrainerOptions options;
  options.batch_size = 8;
  options.n_critic = 2;
  auto original = make_trainer<double>(gantry::WganGp{}, optim::Adam<double>(gan_adam()),
                                       optim::Adam<double>(gan_adam()), options, 1);
  auto twin = make_trainer<double>(gantry::WganGp{}, optim::Adam<double>(gan_adam()), optim::Adam<double>(gan_adam()),
                                   options, 5);
  train::load_checkpoint_bytes(train::checkpoint_bytes(original), "memory", twin);
  CHECK(twin.critic_optimizer().state().parameter_count == 0);
  original.fit(2);
  twin.fit(2);
  CHECK(same_state(original, twin));
}

TEST_CASE("a checkpoint opens in Python with only json and struct, and holds the layout it claims",
          "[train][checkpoint][python]") {
  ScratchDirectory dir("gantry_checkpoint_test");
  const std::string path = dir.file("for_python.safetensors");
  const std::string expectations = dir.file("expectations.json");
  train::TrainerOptions options;
  options.batch_size = 8;
  options.n_critic = 2;
  options.seed = 42;
  auto trainer = make_trainer<double>(gantry::WganGp{}, optim::Adam<double>(gan_adam()),
                                      optim::Adam<double>(gan_adam()), options, 3);
  train::EmaGenerator<double> ema(0.9);
  trainer.fit(4, ema);
  train::save_checkpoint(path, trainer, ema);

  // The critic's output on two points, for the script's own forward pass through the saved weights.
  gantry::Matrix<double> x(2, 2);
  x << 0.5, -1.25, 2.0, 0.75;
  const gantry::Matrix<double> y = trainer.critic()(x);

  io::JsonValue values = io::JsonValue::array();
  const auto expect = [&](const std::string& tensor, std::vector<std::int64_t> index, double value) {
    io::JsonValue entry = io::JsonValue::object();
    io::JsonValue json_index = io::JsonValue::array();
    for (const std::int64_t i : index) json_index.push_back(i);
    entry.set("tensor", tensor);
    entry.set("index", std::move(json_index));
    entry.set("value", value);
    values.push_back(std::move(entry));
  };
  // W(i, j) of layer 1 is at row i, column j of a [outputs, inputs] row-major tensor: a transposition bug shows.
  expect("critic.layers.1.weight", {2, 5}, trainer.critic().weight(1)(2, 5));
  expect("critic.layers.1.weight", {5, 2}, trainer.critic().weight(1)(5, 2));
  expect("critic.layers.0.bias", {3}, trainer.critic().bias(0)(3));
  expect("generator.layers.0.weight", {7, 1}, trainer.generator().weight(0)(7, 1));
  expect("ema_generator.layers.1.weight", {1, 4}, ema.generator().weight(1)(1, 4));
  expect("critic_optimizer.second_moment", {10}, trainer.critic_optimizer().state().second_moment(10));
  expect("critic_optimizer.step_count", {}, static_cast<double>(trainer.critic_optimizer().state().step_count));
  expect("rng.spare_normal", {}, trainer.rng().state().spare_normal);

  io::JsonValue metadata = io::JsonValue::object();
  metadata.set("policy", "wasserstein+gradient_penalty");
  metadata.set("iteration", "4");
  metadata.set("n_critic", "2");
  metadata.set("batch_size", "8");
  metadata.set("schedule", "alternating");
  metadata.set("seed", "42");
  metadata.set("scalar", "F64");

  io::JsonValue forward = io::JsonValue::object();
  forward.set("network", "critic");
  io::JsonValue inputs = io::JsonValue::array(), outputs = io::JsonValue::array();
  for (Index j = 0; j < x.cols(); ++j) {
    inputs.push_back(io::JsonValue::array({x(0, j), x(1, j)}));
    outputs.push_back(io::JsonValue::array({y(0, j)}));
  }
  forward.set("inputs", std::move(inputs));
  forward.set("outputs", std::move(outputs));

  io::JsonValue all = io::JsonValue::object();
  all.set("metadata", std::move(metadata));
  all.set("values", std::move(values));
  all.set("forward", std::move(forward));
  spill(expectations, io::to_json(all));

  const fs::path script = fs::path(__FILE__).parent_path() / "read_checkpoint.py";
  REQUIRE(fs::exists(script));
  INFO("python3 must be on PATH for this test");
  const std::string command = "python3 '" + script.string() + "' '" + path + "' '" + expectations + "'";
  INFO("command: " << command);
  CHECK(std::system(command.c_str()) == 0);

  // The script must also fail when a value is wrong, or the check above proves nothing.
  expect("critic.layers.0.bias", {3}, trainer.critic().bias(0)(3) + 1.0);
  all.set("values", values);
  spill(expectations, io::to_json(all));
  const int status = std::system(command.c_str());
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
}

TEST_CASE("the metadata names the run in plain strings", "[train][checkpoint]") {
  train::TrainerOptions options;
  options.batch_size = 8;
  options.n_critic = 4;
  options.seed = 1234;
  auto trainer = make_trainer<float>(gantry::WganGp{loss::Wasserstein{}, loss::GradientPenalty{5.0}},
                                     optim::Adam<float>(gan_adam()), optim::Adam<float>(gan_adam()), options, 1);
  trainer.fit(1);
  const io::SafetensorsFile file = io::SafetensorsFile::parse(train::checkpoint_bytes(trainer), "bytes");
  const auto& m = file.metadata();
  CHECK(m.at("format") == "gantry.checkpoint");
  CHECK(m.at("format_version") == "1");
  CHECK(m.at("scalar") == "F32");
  CHECK(m.at("iteration") == "1");
  CHECK(m.at("n_critic") == "4");
  CHECK(m.at("batch_size") == "8");
  CHECK(m.at("seed") == "1234");
  CHECK(m.at("schedule") == "alternating");
  CHECK(m.at("policy") == "wasserstein+gradient_penalty");
  CHECK(m.at("policy_settings") ==
        R"({"objective":"wasserstein","regularizers":[{"type":"gradient_penalty","name":"gradient_penalty","lambda":5,"one_sided":false,"at":"interpolates","center":1}]})");
  CHECK(m.at("gantry_version") == gantry::detail::message(gantry::version_major, ".", gantry::version_minor, ".",
                                                          gantry::version_patch));
  CHECK(m.at("critic") == R"({"sizes":[2,8,8,1],"activation":"relu","bias":true})");
  CHECK(file.dtype("critic.layers.0.weight") == io::DType::F32);
  CHECK(file.shape("critic.layers.0.weight") == std::vector<std::int64_t>{8, 2});
  CHECK(file.to_vector<std::int64_t>("critic_optimizer.step_count") == std::vector<std::int64_t>{4});
  CHECK(file.to_vector<std::int64_t>("generator_optimizer.step_count") == std::vector<std::int64_t>{1});
}

namespace {

// Runs `body` in a child process limited to writing `limit` bytes per file, and returns its wait status.
int run_with_file_size_limit(rlim_t limit, bool crash_on_limit, const std::function<int()>& body) {
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    // Ignored, SIGXFSZ turns into write() failing with EFBIG: a disk that fills up. Left at its default, the
    // process is killed in the middle of write(): a crash.
    if (!crash_on_limit) std::signal(SIGXFSZ, SIG_IGN);
    rlimit size{limit, limit};
    if (::setrlimit(RLIMIT_FSIZE, &size) != 0) ::_exit(3);
    int code = 4;
    try {
      code = body();
    } catch (...) {
      code = 5;
    }
    ::_exit(code);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  return status;
}

}  // namespace

TEST_CASE("a save that fails or dies half-way leaves the previous checkpoint intact", "[train][checkpoint][atomic]") {
  ScratchDirectory dir("gantry_checkpoint_test");
  const std::string path = dir.file("run.safetensors");
  train::TrainerOptions options;
  options.batch_size = 8;
  options.n_critic = 1;
  auto trainer = make_trainer<double>(gantry::WganGp{}, optim::Adam<double>(gan_adam()),
                                      optim::Adam<double>(gan_adam()), options, 1);
  trainer.fit(2);
  train::save_checkpoint(path, trainer);
  const std::string previous = slurp(path);
  trainer.fit(2);
  const std::string next = train::checkpoint_bytes(trainer);
  REQUIRE((next != previous));
  const rlim_t half = static_cast<rlim_t>(next.size() / 2);

  SECTION("a full disk: the write fails with EFBIG, save_checkpoint throws IoError") {
    const int status = run_with_file_size_limit(half, false, [&] {
      try {
        train::save_checkpoint(path, trainer);
      } catch (const gantry::IoError& error) {
        const std::string message = error.what();
        return message.find(path) != std::string::npos && message.find("cannot write") != std::string::npos ? 0 : 6;
      }
      return 7;  // the save claimed success
    });
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(dir.entries() == std::vector<std::string>{"run.safetensors"});  // no temporary file left behind
  }
  SECTION("a crash: the process is killed in the middle of write()") {
    const int status = run_with_file_size_limit(half, true, [&] {
      train::save_checkpoint(path, trainer);
      return 7;
    });
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGXFSZ);
    // The half-written temporary file is all that the crash leaves besides the intact checkpoint...
    CHECK(dir.entries().size() == 2);
    // ... and the next save to the same path removes it (its process is gone).
    const std::string stale_path = dir.file("again.safetensors");
    REQUIRE(run_with_file_size_limit(half, true, [&] {
              train::save_checkpoint(stale_path, trainer);
              return 7;
            }) != 0);
    REQUIRE(dir.entries().size() == 3);
    train::save_checkpoint(stale_path, trainer);
    std::vector<std::string> names = dir.entries();
    std::sort(names.begin(), names.end());
    CHECK(names.size() == 3);  // run.safetensors's own temporary is removed by a save to run.safetensors only
    CHECK(std::count(names.begin(), names.end(), "again.safetensors") == 1);
    CHECK(std::none_of(names.begin(), names.end(), [](const std::string& n) { return n.rfind(".again", 0) == 0; }));
  }

  CHECK((slurp(path) == previous));  // parenthesised: no binary dump on failure
  auto fresh = make_trainer<double>(gantry::WganGp{}, optim::Adam<double>(gan_adam()), optim::Adam<double>(gan_adam()),
                                    options, 9);
  train::load_checkpoint(path, fresh);
  CHECK(fresh.iteration() == 2);
}

TEST_CASE("a diverged state is never written", "[train][checkpoint]") {
  ScratchDirectory dir("gantry_checkpoint_test");
  const std::string path = dir.file("run.safetensors");
  train::TrainerOptions options;
  options.batch_size = 8;
  auto trainer = make_trainer<double>(gantry::WganGp{}, optim::Adam<double>(gan_adam()),
                                      optim::Adam<double>(gan_adam()), options, 1);
  train::save_checkpoint(path, trainer);
  const std::string previous = slurp(path);
  trainer.critic().parameters()[20] = std::numeric_limits<double>::quiet_NaN();
  CHECK_THAT(message_of<gantry::DivergenceError>([&] { train::save_checkpoint(path, trainer); }),
             contains("gantry::train::save_checkpoint: '" + path +
                                  "': the critic parameters have a non-finite value nan at entry 20"));
  CHECK((slurp(path) == previous));  // parenthesised: no binary dump on failure
  CHECK(dir.entries() == std::vector<std::string>{"run.safetensors"});
}

namespace {

// Rebuilds a checkpoint with changes: `edit` may alter metadata and tensors (as raw host-order bytes).
struct EditableCheckpoint {
  struct Tensor {
    std::string name;
    io::DType dtype;
    std::vector<std::int64_t> shape;
    std::vector<std::uint8_t> bytes;
  };
  std::vector<Tensor> tensors;
  std::map<std::string, std::string> metadata;

  explicit EditableCheckpoint(const std::string& bytes) {
    const io::SafetensorsFile file = io::SafetensorsFile::parse(bytes, "original");
    metadata = file.metadata();
    for (const std::string& name : file.names()) {
      Tensor t{name, file.dtype(name), file.shape(name), {}};
      t.bytes.resize(file.element_count(name) * io::dtype_size(t.dtype));
      switch (t.dtype) {
        case io::DType::F32: file.copy_to(name, reinterpret_cast<float*>(t.bytes.data()), file.element_count(name)); break;
        case io::DType::F64: file.copy_to(name, reinterpret_cast<double*>(t.bytes.data()), file.element_count(name)); break;
        case io::DType::I64: file.copy_to(name, reinterpret_cast<std::int64_t*>(t.bytes.data()), file.element_count(name)); break;
        case io::DType::U64: file.copy_to(name, reinterpret_cast<std::uint64_t*>(t.bytes.data()), file.element_count(name)); break;
        case io::DType::U8: file.copy_to(name, t.bytes.data(), file.element_count(name)); break;
      }
      tensors.push_back(std::move(t));
    }
  }
  Tensor& tensor(const std::string& name) {
    for (Tensor& t : tensors)
      if (t.name == name) return t;
    FAIL("no tensor " << name);
    return tensors.front();
  }
  void remove(const std::string& name) {
    tensors.erase(std::remove_if(tensors.begin(), tensors.end(), [&](const Tensor& t) { return t.name == name; }),
                  tensors.end());
  }
  std::string bytes() const {
    io::SafetensorsWriter writer;
    for (const Tensor& t : tensors) writer.add(t.name, io::TensorView{t.dtype, t.shape, t.bytes.data(), t.bytes.size()});
    for (const auto& [key, value] : metadata) writer.set_metadata(key, value);
    return writer.to_bytes();
  }
};

template <class T>
void set_value(EditableCheckpoint::Tensor& t, std::size_t index, T value) {
  REQUIRE((index + 1) * sizeof(T) <= t.bytes.size());
  std::memcpy(t.bytes.data() + index * sizeof(T), &value, sizeof(T));
}

std::size_t header_length(const std::string& bytes) {
  std::uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = (length << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  return static_cast<std::size_t>(length);
}

// Replaces the first occurrence of `from` in `bytes` by `to` (same length, so offsets stay valid).
std::string patch(std::string bytes, const std::string& from, const std::string& to) {
  REQUIRE(from.size() == to.size());
  const std::size_t at = bytes.find(from);
  REQUIRE(at != std::string::npos);
  bytes.replace(at, from.size(), to);
  return bytes;
}

}  // namespace

TEST_CASE("a truncated, corrupted or mismatched checkpoint is refused and changes nothing",
          "[train][checkpoint][validation]") {
  ScratchDirectory dir("gantry_checkpoint_test");
  const std::string path = dir.file("bad.safetensors");
  train::TrainerOptions options;
  options.batch_size = 8;
  options.n_critic = 2;
  auto source = make_trainer<double>(gantry::WganGp{}, optim::Adam<double>(gan_adam()), optim::Adam<double>(gan_adam()),
                                     options, 1);
  train::EmaGenerator<double> source_ema(0.9);
  source.fit(2, source_ema);
  const std::string good = train::checkpoint_bytes(source, source_ema);

  train::TrainerOptions receiving_options;
  receiving_options.batch_size = 4;
  receiving_options.n_critic = 1;
  auto receiving = make_trainer<double>(gantry::WganGp{}, optim::Adam<double>(gan_adam()),
                                        optim::Adam<double>(gan_adam()), receiving_options, 2);
  receiving.fit(1);
  train::EmaGenerator<double> receiving_ema(0.5);
  receiving_ema.initialize(receiving.generator());
  const auto before = receiving;
  const Vector<double> ema_before = receiving_ema.parameters();

  // Loads `bytes` from a file and requires an IoError naming the file and containing `expected`.
  const auto refuse = [&](const std::string& bytes, const std::string& expected) {
    spill(path, bytes);
    INFO("expected: " << expected);
    const std::string message =
        message_of<gantry::IoError>([&] { train::load_checkpoint(path, receiving, receiving_ema); });
    CHECK_THAT(message, contains("gantry::train::load_checkpoint: '" + path + "'") && contains(expected));
    CHECK(same_state(receiving, before));
    CHECK(receiving_ema.parameters() == ema_before);
    CHECK(receiving_ema.decay() == 0.5);
  };
  const auto edited = [&](const std::function<void(EditableCheckpoint&)>& edit) {
    EditableCheckpoint checkpoint(good);
    edit(checkpoint);
    return checkpoint.bytes();
  };

  SECTION("truncated") {
    refuse("", "file is 0 bytes, shorter than the 8-byte header length");
    refuse(good.substr(0, 7), "shorter than the 8-byte header length");
    refuse(good.substr(0, 8 + header_length(good) / 2), "reaches beyond the end of the file");
    refuse(good.substr(0, good.size() / 2 + header_length(good) / 2), "reach beyond the data section");
    refuse(good.substr(0, good.size() - 1), "reach beyond the data section");
  }
  SECTION("corrupted bytes") {
    refuse(patch(good, "{\"", "[\""), "header is not a JSON object");
    refuse(patch(good, "\"dtype\"", "\"dtypf\""), "unknown field 'dtypf'");
    refuse(patch(good, "\"dtype\":\"F64\"", "\"dtype\":\"F16\""), "unknown or unsupported dtype 'F16'");
    refuse(patch(good, "\"data_offsets\":[0,", "\"data_offsets\":[8,"), "byte length mismatch");
    // The data section starts with the first tensor written, generator.layers.0.weight.
    std::string nan_weight = good;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::memcpy(&nan_weight[8 + header_length(good)], &nan, sizeof nan);
    refuse(nan_weight, "tensor 'generator.layers.0.weight' has a non-finite value nan at flat index 0");
  }
  SECTION("missing, malformed or out-of-range metadata") {
    refuse(edited([](auto& c) { c.metadata.erase("format"); }), "metadata has no 'format'");
    refuse(edited([](auto& c) { c.metadata["format"] = "pytorch"; }), "metadata 'format' is 'pytorch'");
    refuse(edited([](auto& c) { c.metadata["format_version"] = "2"; }), "format_version is 2, this gantry reads version 1");
    refuse(edited([](auto& c) { c.metadata["iteration"] = "-3"; }), "metadata 'iteration' must be a decimal integer");
    refuse(edited([](auto& c) { c.metadata["iteration"] = "99999999999999999999"; }), "must be a decimal integer");
    refuse(edited([](auto& c) { c.metadata["n_critic"] = "0"; }), "TrainerOptions.n_critic must be >= 1, given 0");
    refuse(edited([](auto& c) { c.metadata["batch_size"] = "9223372036854775807"; }),
           "TrainerOptions.batch_size must be in [1, 536870912], given 9223372036854775807");
    refuse(edited([](auto& c) { c.metadata["schedule"] = "zigzag"; }), "metadata 'schedule' is 'zigzag'");
    refuse(edited([](auto& c) { c.metadata["generator_first"] = "yes"; }), "must be 'true' or 'false', given 'yes'");
    refuse(edited([](auto& c) { c.metadata["policy_settings"] = "{\"objective\":"; }),
           "metadata 'policy_settings' is not valid JSON");
    refuse(edited([](auto& c) {
             c.metadata["policy_settings"] =
                 R"({"objective":"wasserstein","regularizers":[{"type":"gradient_penalty","name":"gradient_penalty","lambda":-1,"one_sided":false,"at":"interpolates"}]})";
           }),
           "GradientPenalty.lambda must be finite and >= 0, given -1");
    refuse(edited([](auto& c) {
             c.metadata["policy_settings"] =
                 R"({"objective":"wasserstein","regularizers":[{"type":"gradient_penalty","name":"gradient_penalty","lambda":1,"one_sided":false,"at":"nowhere"}]})";
           }),
           "field 'at' is 'nowhere'");
    refuse(edited([](auto& c) { c.metadata["ema"] = R"({"decay":1.5,"updates":2,"initialized":true})"; }),
           "EmaOptions.decay must be in [0, 1), given 1.5");
  }
  SECTION("tensors missing, extra, of the wrong dtype or shape, or with invalid values") {
    refuse(edited([](auto& c) { c.remove("critic.layers.2.bias"); }), "has no tensor 'critic.layers.2.bias'");
    refuse(edited([](auto& c) {
             c.tensors.push_back({"critic.layers.3.weight", io::DType::F64, {1}, std::vector<std::uint8_t>(8, 0)});
           }),
           "has a tensor 'critic.layers.3.weight' that belongs to no part of this trainer");
    refuse(edited([](auto& c) {
             auto& t = c.tensor("critic.layers.1.weight");
             t.shape = {4, 16};
           }),
           "tensor 'critic.layers.1.weight' has shape [4, 16], expected [8, 8]");
    refuse(edited([](auto& c) {
             auto& t = c.tensor("critic_optimizer.step_count");
             t.dtype = io::DType::U64;
           }),
           "tensor 'critic_optimizer.step_count' has dtype U64, expected I64");
    refuse(edited([](auto& c) { set_value<std::int64_t>(c.tensor("critic_optimizer.parameter_count"), 0, 17); }),
           "the critic_optimizer has state for 17 parameters, the receiving network has 105");
    refuse(edited([](auto& c) { set_value<std::int64_t>(c.tensor("generator_optimizer.step_count"), 0, -1); }),
           "step_count must be >= 0, given -1");
    refuse(edited([](auto& c) { set_value<double>(c.tensor("critic_optimizer.second_moment"), 4, -1.0); }),
           "second_moment must be >= 0, given -1 at entry 4");
    refuse(edited([](auto& c) {
             auto& t = c.tensor("generator_optimizer.first_moment");
             t.shape = {3};
             t.bytes.resize(24);
           }),
           "first_moment expects 42 entries, given 3");
    refuse(edited([](auto& c) {
             for (int i = 0; i < 4; ++i) set_value<std::uint64_t>(c.tensor("rng.state"), static_cast<std::size_t>(i), 0);
           }),
           "tensor 'rng.state' is all zero");
    refuse(edited([](auto& c) { set_value<std::uint8_t>(c.tensor("rng.has_spare_normal"), 0, 2); }),
           "tensor 'rng.has_spare_normal' must be 0 or 1, given 2");
  }
  SECTION("a checkpoint of another run shape") {
    auto other_critic = make_trainer<double>(gantry::WganGp{}, optim::Adam<double>(gan_adam()),
                                             optim::Adam<double>(gan_adam()), options, 1, {2, 16, 1});
    refuse(train::checkpoint_bytes(other_critic), "the saved critic has sizes [2,16,1], the receiving network has [2,8,8,1]");
    auto other_policy = make_trainer<double>(gantry::ZeroCenteredGp{}, optim::Adam<double>(gan_adam()),
                                             optim::Adam<double>(gan_adam()), options, 1);
    refuse(train::checkpoint_bytes(other_policy),
           "the checkpoint was saved by policy 'non_saturating+r1', the receiving trainer's is "
           "'wasserstein+gradient_penalty'");
    auto other_optimizer = make_trainer<double>(gantry::WganGp{}, optim::Sgd<double>(), optim::Sgd<double>(), options, 1);
    refuse(train::checkpoint_bytes(other_optimizer),
           "the critic_optimizer was saved as 'sgd', the receiving optimizer is 'adam'");
    optim::AdamOptions beta = gan_adam();
    beta.beta1 = 0.0;
    auto other_beta = make_trainer<double>(gantry::WganGp{}, optim::Adam<double>(gan_adam()), optim::Adam<double>(beta),
                                           options, 1);
    refuse(train::checkpoint_bytes(other_beta),
           "the generator_optimizer was saved with beta1 = 0, the receiving optimizer has 0.5");
    auto other_scalar = make_trainer<float>(gantry::WganGp{}, optim::Adam<float>(gan_adam()),
                                            optim::Adam<float>(gan_adam()), options, 1);
    refuse(train::checkpoint_bytes(other_scalar), "was saved with scalar 'F32', the receiving trainer's is F64");
    refuse(train::checkpoint_bytes(source), "holds no EMA generator (it was saved without one)");
  }
  SECTION("a file that does not exist") {
    const std::string missing = dir.file("missing.safetensors");
    CHECK_THAT(message_of<gantry::IoError>([&] { train::load_checkpoint(missing, receiving); }),
               contains("gantry::train::load_checkpoint: '" + missing + "'") && contains("cannot open"));
    CHECK(same_state(receiving, before));
  }
}

TEST_CASE("a checkpoint with an EMA loads into a trainer alone, skipping the average", "[train][checkpoint]") {
  train::TrainerOptions options;
  options.batch_size = 8;
  auto source = make_trainer<double>(gantry::WganGp{}, optim::Adam<double>(gan_adam()), optim::Adam<double>(gan_adam()),
                                     options, 1);
  train::EmaGenerator<double> ema(0.9);
  source.fit(1, ema);
  auto receiving = make_trainer<double>(gantry::WganGp{}, optim::Adam<double>(gan_adam()),
                                        optim::Adam<double>(gan_adam()), options, 2);
  train::load_checkpoint_bytes(train::checkpoint_bytes(source, ema), "bytes", receiving);
  CHECK(same_state(receiving, source));
}

TEST_CASE("counters near INT64_MAX in a checkpoint load, and training then refuses to overflow them",
          "[train][checkpoint][validation]") {
  constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
  train::TrainerOptions options;
  options.batch_size = 8;
  options.n_critic = 1;
  auto source = make_trainer<double>(gantry::WganGp{}, optim::Adam<double>(gan_adam()), optim::Adam<double>(gan_adam()),
                                     options, 1);
  source.fit(1);
  auto receiving = make_trainer<double>(gantry::WganGp{}, optim::Adam<double>(gan_adam()),
                                        optim::Adam<double>(gan_adam()), options, 2);

  SECTION("the iteration") {
    EditableCheckpoint checkpoint(train::checkpoint_bytes(source));
    checkpoint.metadata["iteration"] = std::to_string(max);
    train::load_checkpoint_bytes(checkpoint.bytes(), "edited", receiving);
    REQUIRE(receiving.iteration() == max);
    const auto loaded = receiving;
    CHECK_THAT(message_of<gantry::OptionError>([&] { receiving.fit(1); }),
               contains("iteration + iterations): 9223372036854775807 + 1 overflows a 64-bit index"));
    CHECK(same_state(receiving, loaded));
  }
  SECTION("an optimizer's step count") {
    EditableCheckpoint checkpoint(train::checkpoint_bytes(source));
    set_value<std::int64_t>(checkpoint.tensor("critic_optimizer.step_count"), 0, max);
    train::load_checkpoint_bytes(checkpoint.bytes(), "edited", receiving);
    const auto loaded = receiving;
    CHECK_THAT(message_of<gantry::OptionError>([&] { receiving.step(); }),
               contains("gantry::optim::Adam::step: step_count 9223372036854775807 is the largest 64-bit count"));
    CHECK(receiving.critic_optimizer().state().step_count == max);
    CHECK(receiving.critic().parameters() == loaded.critic().parameters());
  }
}

namespace {

/// WGAN-GP with Adam on batches of 8, initialised from `init_seed`.
auto wgan_gp_trainer(std::uint64_t init_seed) {
  train::TrainerOptions options;
  options.batch_size = 8;
  return make_trainer<double>(gantry::WganGp{}, optim::Adam<double>(gan_adam()), optim::Adam<double>(gan_adam()),
                              options, init_seed);
}

}  // namespace

TEST_CASE("messages quote at most a short prefix of what a checkpoint holds, control characters escaped",
          "[train][checkpoint][validation]") {
  auto trainer = wgan_gp_trainer(1);
  const auto before = trainer;
  const std::string escape = "\x1b]0;owned\x07\x1b[2J";  // sets the terminal's title, then clears it
  const auto message_for = [&](const std::function<void(EditableCheckpoint&)>& edit) {
    EditableCheckpoint checkpoint(train::checkpoint_bytes(trainer));
    edit(checkpoint);
    return message_of<gantry::IoError>([&] { train::load_checkpoint_bytes(checkpoint.bytes(), "edited", trainer); });
  };
  const std::vector<std::string> messages = {
      message_for([&](auto& c) { c.metadata["schedule"] = escape + std::string(10 * 1024 * 1024, 'z'); }),
      message_for([&](auto& c) { c.metadata["iteration"] = escape + std::string(10 * 1024 * 1024, '7'); }),
      message_for([&](auto& c) { c.metadata["policy"] = escape + std::string(10 * 1024 * 1024, 'p'); }),
      message_for([&](auto& c) {
        // JSON escapes the control characters; the decoded string holds them.
        c.metadata["critic_optimizer"] = R"({"type":"adam","learning_rate":1,"beta1":"\u001b]0;owned\u0007)" +
                                         std::string(10 * 1024 * 1024, 'b') + "\"}";
      }),
      message_for([&](auto& c) {
        c.tensors.push_back({escape + std::string(1024 * 1024, 't'), io::DType::U8, {1}, {0}});
      }),
  };
  for (const std::string& message : messages) {
    INFO(message.substr(0, 300));
    CHECK(message.size() < 600);
    CHECK(message.find('\x1b') == std::string::npos);
    CHECK(message.find('\x07') == std::string::npos);
    CHECK_THAT(message, contains("bytes)"));
  }
  CHECK_THAT(messages[0], contains("metadata 'schedule' is '\\x1b]0;owned\\x07\\x1b[2Jzzz"));
  CHECK(same_state(trainer, before));
}

TEST_CASE("a checkpoint is read from a regular file only: a device or a FIFO is refused without reading it",
          "[train][checkpoint][validation]") {
  ScratchDirectory dir("gantry_checkpoint_test");
  auto trainer = wgan_gp_trainer(1);
  const auto before = trainer;
  // Before, /dev/zero was read until memory ran out, and opening a FIFO waited forever for a writer.
  CHECK_THAT(message_of<gantry::IoError>([&] { train::load_checkpoint("/dev/zero", trainer); }),
             contains("gantry::train::load_checkpoint: '/dev/zero': ") &&
                 contains("'/dev/zero' is a character device, not a regular file"));
  const std::string fifo = dir.file("pipe.safetensors");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THAT(message_of<gantry::IoError>([&] { train::load_checkpoint(fifo, trainer); }),
             contains("'" + fifo + "' is a FIFO, not a regular file"));
  CHECK_THAT(message_of<gantry::IoError>([&] { train::load_checkpoint(dir.file(""), trainer); }),
             contains("is a directory, not a regular file"));
  CHECK(same_state(trainer, before));

  // A symbolic link to a regular file is followed when reading: `latest -> run-00500` loads run-00500.
  train::save_checkpoint(dir.file("run-00500.safetensors"), trainer);
  fs::create_symlink("run-00500.safetensors", dir.file("latest.safetensors"));
  auto other = wgan_gp_trainer(2);
  train::load_checkpoint(dir.file("latest.safetensors"), other);
  CHECK(same_state(other, trainer));
}

TEST_CASE("saving to a symbolic link is refused: neither the link nor the file it points to changes",
          "[train][checkpoint][atomic]") {
  ScratchDirectory dir("gantry_checkpoint_test");
  auto trainer = wgan_gp_trainer(1);
  const std::string run = dir.file("run-00500.safetensors"), latest = dir.file("latest");
  train::save_checkpoint(run, trainer);
  const std::string saved = slurp(run);
  fs::create_symlink("run-00500.safetensors", latest);
  trainer.fit(1);
  CHECK_THAT(message_of<gantry::IoError>([&] { train::save_checkpoint(latest, trainer); }),
             contains("'" + latest + "' is a symbolic link (to 'run-00500.safetensors')") &&
                 contains("save to the link's target, or save to a new file and repoint the link"));
  CHECK(fs::is_symlink(latest));
  CHECK(fs::read_symlink(latest) == "run-00500.safetensors");
  CHECK((slurp(run) == saved));
  CHECK(dir.entries().size() == 2);
}
