// SPDX-License-Identifier: MIT
// toy2d: trains a GAN on a 2-D toy distribution from the command line, shows its progress, and writes the
// critic's heat map, the training curves, a CSV log and a JSON summary with exact metrics.
//
//   toy2d                                   WGAN-GP on 8 Gaussians with the reference settings
//   toy2d --preset r1 --dataset 25gaussians --iterations 5000 --ema 0.999 --out r1-25
//   toy2d --seeds 1-10 --out demo-seeds        the same over 10 seeds: each seed's run, then the spread
//   toy2d --help

#include <gantry/gantry.hpp>
#include <gantry/train/csv_logger.hpp>
#include <gantry/train/ema.hpp>
#include <gantry/train/progress_bar.hpp>

#include "seeds.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/core.h>

namespace {

using gantry::Index;
using gantry::Matrix;
namespace nn = gantry::nn;
namespace optim = gantry::optim;
namespace train = gantry::train;
namespace data = gantry::data;
namespace metrics = gantry::metrics;
namespace io = gantry::io;

// The README's demo: WGAN-GP on 8 Gaussians at the reference width 512, 500 iterations (about 1.5 minutes on an idle
// 2-core machine), reporting the EMA generator. The raw generator's coverage still flickers at 400-500 iterations
// (6/8 at 400 on seed 1, 7/8 at 450 on seed 11); an average over about the last 100 iterations (decay 0.99) damps
// that flicker, covering 8/8 from 450 iterations on every seed of 1-11, with a higher high-quality fraction
// (median 0.28 against 0.22 over seeds 1-10, docs/RESULTS.md). A longer average (0.999)
// would still carry the initial generator at 500 iterations (0.999^500 = 0.61 of its weight).
constexpr Index default_iterations = 500;
constexpr double default_ema = 0.99;

// ---------------------------------------------------------------------------------------------------------------
// Presets: the reference settings of each paper's toy experiments.

enum class Preset { vanilla, nonsaturating, wgan_clip, wgan_gp, r1, consensus };
enum class OptimizerKind { adam, rmsprop };

struct PresetInfo {
  Preset preset;
  const char* name;
  const char* objective;
  const char* regularizer;
  OptimizerKind optimizer;
  double learning_rate;  // both players
  Index n_critic;
  train::Schedule schedule;
  const char* source;
};

// WGAN-GP: gan_toy.py of Gulrajani et al. 2017 (Adam 1e-4, betas (0.5, 0.9), 5 critic steps, lambda 0.1 for the
// toy problems). WGAN: Arjovsky et al. 2017, algorithm 1 (RMSProp 5e-5, clip 0.01, 5 critic steps). Consensus:
// Mescheder et al. 2017 train their mixture of Gaussians with RMSProp 1e-4, simultaneous steps, gamma 10. The others
// use the WGAN-GP toy optimizer with one critic step, the usual setting for a discriminator with a sigmoid loss.
const PresetInfo presets[] = {
    {Preset::vanilla, "vanilla", "minimax (Goodfellow et al. 2014)", "none", OptimizerKind::adam, 1e-4, 1,
     train::Schedule::alternating, "Goodfellow et al. 2014"},
    {Preset::nonsaturating, "nonsaturating", "non-saturating", "none", OptimizerKind::adam, 1e-4, 1,
     train::Schedule::alternating, "Goodfellow et al. 2014, sec. 3"},
    {Preset::wgan_clip, "wgan-clip", "Wasserstein", "weight clipping, --clip 0.01", OptimizerKind::rmsprop, 5e-5, 5,
     train::Schedule::alternating, "Arjovsky et al. 2017"},
    {Preset::wgan_gp, "wgan-gp", "Wasserstein", "gradient penalty, --lambda 0.1", OptimizerKind::adam, 1e-4, 5,
     train::Schedule::alternating, "Gulrajani et al. 2017 (gan_toy.py)"},
    {Preset::r1, "r1", "non-saturating", "R1 penalty at real data, --gamma 10", OptimizerKind::adam, 1e-4, 1,
     train::Schedule::alternating, "Mescheder et al. 2018"},
    {Preset::consensus, "consensus", "non-saturating", "consensus, --gamma 10", OptimizerKind::rmsprop, 1e-4, 1,
     train::Schedule::simultaneous, "Mescheder et al. 2017"},
};

const PresetInfo& preset_info(Preset p) {
  for (const PresetInfo& info : presets)
    if (info.preset == p) return info;
  return presets[3];
}

constexpr double adam_beta1 = 0.5, adam_beta2 = 0.9;  // gan_toy.py
constexpr double default_lambda = 0.1, default_gamma = 10.0, default_clip = 0.01;

// ---------------------------------------------------------------------------------------------------------------
// Settings and their parsing. A bad flag or value is a UsageError: one line on stderr, exit status 2.

struct UsageError {
  std::string message;
};

struct Settings {
  Preset preset = Preset::wgan_gp;
  std::string dataset = "8gaussians";
  std::string data_csv;
  Index iterations = default_iterations;
  Index batch = 256;
  Index width = 512;
  Index depth = 3;
  std::string activation = "relu";
  std::string layer_norm = "none";  // which networks normalize every hidden layer: none, critic, generator, both
  std::optional<Index> n_critic;
  std::optional<double> lr_critic, lr_generator, lambda, gamma, clip;
  std::optional<train::Schedule> schedule;
  double ema = default_ema;
  Index noise_dim = 2;
  std::uint64_t seed = 1;
  std::string out = "toy2d-out";
  bool use_double = false;
  Index eval_samples = 2000;
  std::optional<Index> log_every;
  Index plot_every = 0;
  Index eval_every = 0;
  std::string init = "torch_default";
  Index threads = 0;  // 0: gantry::thread_count()'s default (OMP_NUM_THREADS, else every core)
  std::vector<std::uint64_t> seeds;  // --seeds: train each as a child run, then report the spread
  bool seed_given = false;
  Index jobs = 1;

  // Resolved from the preset and the flags.
  const PresetInfo& info() const { return preset_info(preset); }
  Index resolved_n_critic() const {
    if (n_critic) return *n_critic;
    return resolved_schedule() == train::Schedule::simultaneous ? 1 : info().n_critic;
  }
  train::Schedule resolved_schedule() const { return schedule ? *schedule : info().schedule; }
  double resolved_lr_critic() const { return lr_critic ? *lr_critic : info().learning_rate; }
  double resolved_lr_generator() const { return lr_generator ? *lr_generator : info().learning_rate; }
  double resolved_lambda() const { return lambda ? *lambda : default_lambda; }
  double resolved_gamma() const { return gamma ? *gamma : default_gamma; }
  double resolved_clip() const { return clip ? *clip : default_clip; }
  Index resolved_log_every() const { return log_every ? *log_every : std::max<Index>(1, iterations / 500); }
};

std::string bad_value(std::string_view flag, std::string_view value, std::string_view expected) {
  return fmt::format("toy2d: bad value for {}: {} (expected {})", flag, gantry::detail::quoted(value), expected);
}

Index parse_index(std::string_view flag, std::string_view text, Index minimum, Index maximum = INT32_MAX) {
  long long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < minimum || value > maximum)
    throw UsageError{bad_value(flag, text, fmt::format("an integer in [{}, {}]", minimum, maximum))};
  return static_cast<Index>(value);
}

std::uint64_t parse_seed(std::string_view flag, std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size())
    throw UsageError{bad_value(flag, text, "an integer in [0, 2^64)")};
  return value;
}

/// `ok` says whether a finite value is acceptable; `expected` says so in words.
template <class Predicate>
double parse_number(std::string_view flag, std::string_view text, Predicate ok, std::string_view expected) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(value) || !ok(value))
    throw UsageError{bad_value(flag, text, expected)};
  return value;
}

/// "1e-4" rather than "0.0001" or "1e-04".
std::string short_number(double x) {
  std::string text = fmt::format("{:.0e}", x);
  if (const auto at = text.find("e-0"); at != std::string::npos) text.erase(at + 2, 1);
  return text;
}

void print_help() {
  fmt::print(
      "usage: toy2d [flags]\n"
      "\n"
      "Trains a GAN on a 2-D toy distribution, showing its progress, and writes into --out:\n"
      "  critic.svg    the critic over the plane with real (orange) and generated (green) samples\n"
      "  curves.svg    losses and the Wasserstein estimate over the iterations\n"
      "  log.csv       one row per --log-every iterations\n"
      "  summary.json  settings and final metrics: mode coverage (mixtures), exact W1 to real data and its\n"
      "                real-vs-real baseline, with the EMA generator's too when --ema > 0\n"
      "Without flags: WGAN-GP on 8 Gaussians with the reference settings of Gulrajani et al. 2017 (gan_toy.py).\n"
      "\n"
      "flags (--flag VALUE or --flag=VALUE):\n"
      "  --preset NAME       vanilla, nonsaturating, wgan-clip, wgan-gp, r1 or consensus (default wgan-gp)\n"
      "  --dataset NAME      8gaussians, 25gaussians, swissroll or ring (default 8gaussians)\n"
      "  --data-csv PATH     train on the points of a CSV file instead (one 2-D point per row)\n"
      "  --iterations N      generator iterations (default {})\n"
      "  --batch N           samples per batch (default 256)\n"
      "  --width N           units per hidden layer, generator and critic (default 512)\n"
      "  --depth N           hidden layers of each network (default 3)\n"
      "  --activation NAME   hidden activation: relu, leaky_relu[:slope], elu[:alpha], tanh, softplus, sigmoid\n"
      "                      (default relu)\n"
      "  --layer-norm WHICH  layer normalization on every hidden layer of: none, critic, generator or both\n"
      "                      (gain and shift learnable, epsilon 1e-5; Gulrajani et al. 2017's critic) (default none)\n"
      "  --n-critic N        critic steps per generator step, alternating schedule only (default: the preset's)\n"
      "  --lr-critic X       critic learning rate (default: the preset's)\n"
      "  --lr-generator X    generator learning rate (default: the preset's)\n"
      "  --lambda X          gradient-penalty weight, wgan-gp only (default 0.1)\n"
      "  --gamma X           R1 or consensus weight, r1 and consensus only (default 10)\n"
      "  --clip X            weight-clipping bound, wgan-clip only (default 0.01)\n"
      "  --schedule NAME     alternating or simultaneous (default: the preset's)\n"
      "  --ema DECAY         keep an exponential moving average of the generator, decay in [0, 1), over about\n"
      "                      1 / (1 - DECAY) iterations; its samples are the ones plotted and summary.json's\n"
      "                      metrics.reported is \"ema\"; 0 = off, metrics.reported \"raw\" (default {})\n"
      "  --noise-dim N       dimension of the N(0, I) latent noise (default 2)\n"
      "  --seed N            seeds initialisation, batches and evaluation (default 1)\n"
      "  --out DIR           output directory, created if missing (default toy2d-out)\n"
      "  --float, --double   scalar type of the networks (default --float)\n"
      "  --eval-samples N    samples for the final metrics; exact W1 costs O(N^3) time, 8 N^2 bytes (default 2000)\n"
      "  --log-every N       a CSV row and curve point every N iterations (default iterations / 500, at least 1)\n"
      "  --plot-every N      also write critic_<iteration>.svg every N iterations; 0 = off (default 0)\n"
      "  --init NAME         initialisation: torch_default (PyTorch's nn.Linear, as the reference code),\n"
      "                      he_uniform, he_normal, glorot_uniform, glorot_normal (default torch_default)\n"
      "  --eval-every N      also measure coverage and W1 (on 500 samples) every N iterations, into\n"
      "                      summary.json's \"evaluations\"; 0 = off (default 0)\n"
      "  --threads N         threads each pass splits the batch over; 0 = OMP_NUM_THREADS, else every core\n"
      "                      (default 0)\n"
      "  --seeds LIST        train once per seed (1-10, 1,4,7 or 1-5,9), each seed as its own process running\n"
      "                      'toy2d <the other flags> --seed K --out DIR/seed-K'; then print the table of final\n"
      "                      metrics with their median and range (min-max) over the seeds, also written to\n"
      "                      DIR/summary.json (DIR: --out)\n"
      "  --jobs N            with --seeds: seeds trained at a time (default 1, in sequence); without --threads,\n"
      "                      each gets cores / N threads\n"
      "  --help              this text\n"
      "\n"
      "preset defaults (both players use the same optimizer; Adam has betas (0.5, 0.9)):\n"
      "  preset         objective        regularizer                           optimizer       n-critic  schedule\n",
      default_iterations, default_ema);
  for (const PresetInfo& p : presets)
    fmt::print("  {:<14} {:<16} {:<37} {:<7} {:<7} {:<9} {}\n", p.name,
               std::string_view(p.objective).substr(0, std::string_view(p.objective).find(" (")), p.regularizer,
               p.optimizer == OptimizerKind::adam ? "Adam" : "RMSProp", short_number(p.learning_rate),
               p.n_critic, train::schedule_name(p.schedule));
  fmt::print(
      "\n"
      "exit status: 0 on success, 1 when training or writing fails, 2 on a bad flag or value.\n");
}

/// Refuses a run whose networks and batches cannot fit in this machine's memory, before allocating any of it
/// (an allocation of terabytes would throw std::bad_alloc, or be granted and then kill the process).
void check_memory(const Settings& s) {
  const auto parameters = [&](double inputs, double outputs) {
    double count = 0, previous = inputs;
    for (Index l = 0; l < s.depth; ++l, previous = static_cast<double>(s.width))
      count += (previous + 1) * static_cast<double>(s.width);
    return count + (previous + 1) * outputs;
  };
  const double scalar = s.use_double ? 8 : 4;
  const double parameter_count = parameters(static_cast<double>(s.noise_dim), 2) + parameters(2, 1);
  // Per parameter: itself, its gradient, Adam's buffers, the divergence guard's copies (about 10 vectors).
  // Per hidden unit and sample: the tapes' values, adjoints and tangents over up to 4 critic columns (about 36).
  const double hidden_units = static_cast<double>(s.width) * static_cast<double>(s.depth);
  const double bytes = scalar * (10 * parameter_count + 36 * hidden_units * static_cast<double>(s.batch)) +
                       8.0 * static_cast<double>(s.eval_samples) * static_cast<double>(s.eval_samples);
  const long pages = ::sysconf(_SC_PHYS_PAGES), page_size = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return;
  const double memory = static_cast<double>(pages) * static_cast<double>(page_size);
  const auto size = [](double b) {
    return b >= 1e12 ? fmt::format("{:.1f} TB", b / 1e12) : b >= 1e9 ? fmt::format("{:.1f} GB", b / 1e9)
                                                                     : fmt::format("{:.0f} MB", b / 1e6);
  };
  if (bytes > memory)
    throw UsageError{fmt::format(
        "toy2d: --width {} --depth {} --batch {} need about {} of memory ({:.3g} parameters), more than this "
        "machine's {}: lower --width, --depth or --batch",
        s.width, s.depth, s.batch, size(bytes), parameter_count, size(memory))};
}

/// Returns nullopt when --help was asked.
std::optional<Settings> parse_arguments(int argc, char** argv) {
  Settings s;
  bool dataset_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") return std::nullopt;
    if (arg.rfind("--", 0) != 0)
      throw UsageError{fmt::format("toy2d: unexpected argument {} (flags start with --; see --help)",
                                   gantry::detail::quoted(arg))};
    std::string flag = arg, value;
    bool has_value = false;
    if (const auto equals = arg.find('='); equals != std::string::npos) {
      flag = arg.substr(0, equals);
      value = arg.substr(equals + 1);
      has_value = true;
    }
    if (flag == "--float" || flag == "--double") {
      if (has_value)
        throw UsageError{fmt::format("toy2d: {} takes no value, given {}", flag, gantry::detail::quoted(value))};
      s.use_double = flag == "--double";
      continue;
    }
    static const char* const valued[] = {
        "--preset",   "--dataset",  "--data-csv", "--iterations", "--batch",     "--width",        "--depth",
        "--activation", "--n-critic", "--lr-critic", "--lr-generator", "--lambda", "--gamma",      "--clip",
        "--schedule", "--ema",      "--noise-dim", "--seed",      "--out",        "--eval-samples", "--log-every",
        "--plot-every", "--eval-every", "--init", "--threads", "--layer-norm", "--seeds", "--jobs"};
    if (std::find(std::begin(valued), std::end(valued), flag) == std::end(valued))
      throw UsageError{fmt::format("toy2d: unknown flag {} (see --help)", gantry::detail::quoted(flag))};
    if (!has_value) {
      if (i + 1 >= argc) throw UsageError{fmt::format("toy2d: {} needs a value (see --help)", flag)};
      value = argv[++i];
    }

    const auto positive = [](double x) { return x > 0; };
    const auto nonnegative = [](double x) { return x >= 0; };
    if (flag == "--preset") {
      bool found = false;
      for (const PresetInfo& p : presets)
        if (value == p.name) {
          s.preset = p.preset;
          found = true;
        }
      if (!found)
        throw UsageError{bad_value(flag, value, "vanilla, nonsaturating, wgan-clip, wgan-gp, r1 or consensus")};
    } else if (flag == "--dataset") {
      if (value != "8gaussians" && value != "25gaussians" && value != "swissroll" && value != "ring")
        throw UsageError{bad_value(flag, value, "8gaussians, 25gaussians, swissroll or ring; a file goes with --data-csv")};
      s.dataset = value;
      dataset_given = true;
    } else if (flag == "--data-csv") {
      if (value.empty()) throw UsageError{bad_value(flag, value, "a path to a CSV file")};
      s.data_csv = value;
    } else if (flag == "--iterations") {
      s.iterations = parse_index(flag, value, 1, 100000000);
    } else if (flag == "--batch") {
      s.batch = parse_index(flag, value, 1, 1000000);
    } else if (flag == "--width") {
      s.width = parse_index(flag, value, 1, 100000);
    } else if (flag == "--depth") {
      s.depth = parse_index(flag, value, 0, 100);
    } else if (flag == "--activation") {
      try {
        (void)nn::Activation::from_name(value);
      } catch (const gantry::Error&) {
        throw UsageError{bad_value(flag, value, "relu, leaky_relu[:slope], elu[:alpha], tanh, softplus or sigmoid")};
      }
      s.activation = value;
    } else if (flag == "--n-critic") {
      s.n_critic = parse_index(flag, value, 1, 1000);
    } else if (flag == "--lr-critic") {
      s.lr_critic = parse_number(flag, value, positive, "a number > 0");
    } else if (flag == "--lr-generator") {
      s.lr_generator = parse_number(flag, value, positive, "a number > 0");
    } else if (flag == "--lambda") {
      s.lambda = parse_number(flag, value, nonnegative, "a number >= 0");
    } else if (flag == "--gamma") {
      s.gamma = parse_number(flag, value, nonnegative, "a number >= 0");
    } else if (flag == "--clip") {
      s.clip = parse_number(flag, value, positive, "a number > 0");
    } else if (flag == "--schedule") {
      if (value == "alternating") s.schedule = train::Schedule::alternating;
      else if (value == "simultaneous") s.schedule = train::Schedule::simultaneous;
      else throw UsageError{bad_value(flag, value, "alternating or simultaneous")};
    } else if (flag == "--ema") {
      s.ema = parse_number(flag, value, [](double x) { return x >= 0 && x < 1; }, "a decay in [0, 1), 0 = off");
    } else if (flag == "--noise-dim") {
      s.noise_dim = parse_index(flag, value, 1, 10000);
    } else if (flag == "--seed") {
      s.seed = parse_seed(flag, value);
      s.seed_given = true;
    } else if (flag == "--seeds") {
      try {
        s.seeds = toy2d::parse_seed_list(value);
      } catch (const toy2d::SeedListError& e) {
        throw UsageError{fmt::format("toy2d: bad value for --seeds: {}: {}", gantry::detail::quoted(value), e.what())};
      }
    } else if (flag == "--jobs") {
      s.jobs = parse_index(flag, value, 1, 64);
    } else if (flag == "--out") {
      if (value.empty()) throw UsageError{bad_value(flag, value, "a directory")};
      s.out = value;
    } else if (flag == "--eval-samples") {
      s.eval_samples = parse_index(flag, value, 2, 10000);
    } else if (flag == "--log-every") {
      s.log_every = parse_index(flag, value, 1, 100000000);
    } else if (flag == "--plot-every") {
      s.plot_every = parse_index(flag, value, 0, 100000000);
    } else if (flag == "--eval-every") {
      s.eval_every = parse_index(flag, value, 0, 100000000);
    } else if (flag == "--threads") {
      s.threads = parse_index(flag, value, 0, 1024);
    } else if (flag == "--layer-norm") {
      if (value != "none" && value != "critic" && value != "generator" && value != "both")
        throw UsageError{bad_value(flag, value, "none, critic, generator or both")};
      s.layer_norm = value;
    } else if (flag == "--init") {
      try {
        (void)nn::init_scheme_from_name(value);
      } catch (const gantry::Error&) {
        throw UsageError{bad_value(flag, value, "torch_default, he_uniform, he_normal, glorot_uniform or glorot_normal")};
      }
      s.init = value;
    }
  }

  // Combinations: a knob the chosen preset does not have is an error rather than silently ignored.
  const char* preset_name = s.info().name;
  if (!s.data_csv.empty() && dataset_given)
    throw UsageError{fmt::format("toy2d: --dataset {} conflicts with --data-csv {} (give one of them)", s.dataset,
                                 gantry::detail::quoted(s.data_csv, 4096))};
  if (!s.data_csv.empty()) s.dataset = "csv";
  if (s.lambda && s.preset != Preset::wgan_gp)
    throw UsageError{fmt::format("toy2d: --lambda {} applies to --preset wgan-gp only, not {}", *s.lambda, preset_name)};
  if (s.gamma && s.preset != Preset::r1 && s.preset != Preset::consensus)
    throw UsageError{
        fmt::format("toy2d: --gamma {} applies to --preset r1 or consensus only, not {}", *s.gamma, preset_name)};
  if (s.clip && s.preset != Preset::wgan_clip)
    throw UsageError{fmt::format("toy2d: --clip {} applies to --preset wgan-clip only, not {}", *s.clip, preset_name)};
  if (s.resolved_schedule() == train::Schedule::simultaneous && s.resolved_n_critic() != 1)
    throw UsageError{fmt::format("toy2d: --n-critic {} needs --schedule alternating (a simultaneous step updates "
                                 "both players once)",
                                 s.resolved_n_critic())};
  if (s.seed_given && !s.seeds.empty())
    throw UsageError{fmt::format("toy2d: --seed {} conflicts with --seeds {} (give one of them)", s.seed,
                                 toy2d::format_seed_list(s.seeds))};
  if (s.jobs > 1 && s.seeds.empty())
    throw UsageError{fmt::format("toy2d: --jobs {} needs --seeds (it runs that many seeds at a time)", s.jobs)};
  check_memory(s);
  if (s.log_every && *s.log_every > s.iterations)
    throw UsageError{bad_value("--log-every", std::to_string(*s.log_every),
                               fmt::format("at most --iterations ({})", s.iterations))};
  return s;
}

// ---------------------------------------------------------------------------------------------------------------
// Data: one sampler type for every dataset, so that each preset instantiates the trainer once per scalar.

template <class Scalar>
class ToyData {
 public:
  using Sampler = std::variant<data::GaussianMixture<Scalar>, data::SwissRoll<Scalar>, data::CsvSampler<Scalar>>;

  explicit ToyData(const Settings& s) : sampler_(make(s)) {
    if (dimension() != 2)
      throw gantry::DataError(gantry::detail::message(gantry::detail::quoted(s.data_csv, 4096), " has ", dimension(),
                                                      " columns; toy2d trains on 2-D points"));
  }

  Index dimension() const {
    return std::visit([](const auto& s) { return s.dimension(); }, sampler_);
  }
  void sample(Eigen::Ref<Matrix<Scalar>> out, gantry::Rng& rng) const {
    std::visit([&](const auto& s) { s.sample(out, rng); }, sampler_);
  }
  /// The mixture's centres and stddev for mode coverage; null for the swiss roll and CSV points.
  const data::GaussianMixture<Scalar>* mixture() const { return std::get_if<data::GaussianMixture<Scalar>>(&sampler_); }

 private:
  static Sampler make(const Settings& s) {
    if (s.dataset == "8gaussians") return data::GaussianMixture<Scalar>(data::EightGaussians<Scalar>());
    if (s.dataset == "25gaussians") return data::GaussianMixture<Scalar>(data::TwentyFiveGaussians<Scalar>());
    if (s.dataset == "ring") return data::GaussianMixture<Scalar>(data::Ring<Scalar>());
    if (s.dataset == "swissroll") return data::SwissRoll<Scalar>();
    return data::CsvSampler<Scalar>(s.data_csv);
  }

  Sampler sampler_;
};

// ---------------------------------------------------------------------------------------------------------------
// Callbacks of this program: the curve history, the optional EMA, periodic heat maps.

struct History {
  Index every = 1;
  std::vector<double> iteration, critic_loss, generator_loss, penalty, consensus, wasserstein;

  template <class Trainer, class Stats>
  void on_step_end(Trainer&, const Stats& stats) {
    if (stats.iteration % every != 0 && stats.iteration != stats.total_iterations) return;
    iteration.push_back(static_cast<double>(stats.iteration));
    critic_loss.push_back(static_cast<double>(stats.critic_loss));
    generator_loss.push_back(static_cast<double>(stats.generator_loss));
    penalty.push_back(static_cast<double>(stats.penalty));
    consensus.push_back(static_cast<double>(stats.consensus));
    wasserstein.push_back(static_cast<double>(stats.wasserstein_estimate));
  }
};

template <class Scalar>
struct MaybeEma {
  std::optional<train::EmaGenerator<Scalar>> ema;

  template <class Trainer>
  void on_train_begin(Trainer& trainer) {
    if (ema) ema->on_train_begin(trainer);
  }
  template <class Trainer, class Stats>
  void on_step_end(Trainer& trainer, const Stats& stats) {
    if (ema) ema->on_step_end(trainer, stats);
  }
};

/// Every `plot_every` iterations calls plot(iteration), every `eval_every` evaluate(iteration, training seconds).
/// Their own time is kept apart so that the training time reported next to an evaluation is training alone.
template <class Plot, class Evaluate>
struct Periodic {
  Index plot_every;
  Index eval_every;
  Plot plot;
  Evaluate evaluate;
  double overhead_seconds = 0;
  double overhead_before_last_step = 0;  // what StepStats::seconds of the last iteration includes

  template <class Trainer, class Stats>
  void on_step_end(Trainer&, const Stats& stats) {
    overhead_before_last_step = overhead_seconds;
    const bool plot_now = plot_every > 0 && stats.iteration % plot_every == 0;
    const bool evaluate_now = eval_every > 0 && stats.iteration % eval_every == 0;
    if (!plot_now && !evaluate_now) return;
    const auto start = std::chrono::steady_clock::now();
    if (plot_now) plot(stats.iteration);
    if (evaluate_now) evaluate(stats.iteration, stats.seconds - overhead_seconds);
    overhead_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
};

// ---------------------------------------------------------------------------------------------------------------
// Evaluation and pictures.

struct SampleMetrics {
  double w1 = 0;
  std::optional<metrics::ModeCoverage> coverage;
};

/// A measurement during training: coverage on every evaluation sample, W1 on the first `periodic_w1_samples`
/// (exact W1 is O(n^3): on 2000 points it takes seconds, on 500 a tenth of a second).
struct Evaluation {
  Index iteration = 0;
  double seconds = 0;  // training time alone
  SampleMetrics raw;
  std::optional<SampleMetrics> ema;
};
constexpr Index periodic_w1_samples = 500;

template <class Scalar>
SampleMetrics measure(const Matrix<Scalar>& fake, const Matrix<Scalar>& real, const ToyData<Scalar>& toy) {
  SampleMetrics m;
  m.w1 = metrics::wasserstein1(fake, real);
  if (const auto* mixture = toy.mixture()) m.coverage = metrics::mode_coverage(fake, mixture->centers(), mixture->stddev());
  return m;
}

/// A square around the real samples with a margin, so that the critic is seen beyond the data.
io::PlotBounds bounds_around(const Matrix<double>& real) {
  const Eigen::Vector2d lo = real.rowwise().minCoeff(), hi = real.rowwise().maxCoeff();
  const Eigen::Vector2d centre = (lo + hi) / 2;
  const double half = std::max(0.65 * (hi - lo).maxCoeff(), 0.5);
  return {centre.x() - half, centre.x() + half, centre.y() - half, centre.y() + half};
}

template <class Scalar>
Eigen::MatrixXd critic_grid(const nn::Mlp<Scalar>& critic, const io::PlotBounds& bounds, Index cells) {
  const Eigen::MatrixXd centres = io::grid_cell_centers(bounds, cells, cells);
  // In chunks: one tape for all 25,600 cells of a 512-wide critic would hold ~600 MB of activations.
  constexpr Index chunk = 1024;
  Matrix<double> values(1, centres.cols());
  nn::Tape<Scalar> tape;
  for (Index first = 0; first < centres.cols(); first += chunk) {
    const Index count = std::min(chunk, centres.cols() - first);
    critic.forward(centres.middleCols(first, count).template cast<Scalar>(), tape);
    values.middleCols(first, count) = tape.output().template cast<double>();
  }
  // (1 x cells^2) with x fastest is, column-major, the (cells x cells) grid the heat map takes.
  return Eigen::Map<const Eigen::MatrixXd>(values.data(), cells, cells);
}

std::string format_seconds(double s) { return s < 120 ? fmt::format("{:.1f} s", s) : fmt::format("{:.1f} min", s / 60); }

std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream) {
  // splitmix64 of (seed, stream): independent-looking seeds for initialisation, training and evaluation.
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

template <class Scalar, class Optimizer>
Optimizer make_optimizer(double learning_rate) {
  if constexpr (std::is_same_v<Optimizer, optim::Adam<Scalar>>) {
    optim::AdamOptions o;
    o.learning_rate = learning_rate;
    o.beta1 = adam_beta1;
    o.beta2 = adam_beta2;
    return Optimizer(o);
  } else {
    optim::RmspropOptions o;
    o.learning_rate = learning_rate;
    return Optimizer(o);
  }
}

template <class Policy>
void configure_policy(Policy& policy, const Settings& s) {
  if constexpr (std::is_same_v<Policy, gantry::WganGp>) policy.template regularizer<gantry::loss::GradientPenalty>().lambda = s.resolved_lambda();
  if constexpr (std::is_same_v<Policy, gantry::WganClip>) policy.template regularizer<gantry::loss::WeightClipping>().clip = s.resolved_clip();
  if constexpr (std::is_same_v<Policy, gantry::ZeroCenteredGp>) policy.template regularizer<gantry::loss::ZeroCenteredPenalty>().gamma = s.resolved_gamma();
  if constexpr (std::is_same_v<Policy, gantry::Consensus>) policy.template regularizer<gantry::loss::Consensus>().gamma = s.resolved_gamma();
}

void write_metrics(io::JsonWriter& json, const SampleMetrics& m, double baseline) {
  json.begin_object();
  json.field("w1", m.w1).field("w1_over_baseline", m.w1 / baseline);
  if (m.coverage) {
    json.field("modes_covered", m.coverage->modes_covered)
        .field("modes", m.coverage->modes)
        .field("high_quality_fraction", m.coverage->high_quality_fraction)
        .field("samples_per_mode", m.coverage->samples_per_mode);
  }
  json.end_object();
}

void write_periodic(io::JsonWriter& json, const SampleMetrics& m) {
  json.begin_object().field("w1", m.w1);
  if (m.coverage)
    json.field("modes_covered", m.coverage->modes_covered)
        .field("modes", m.coverage->modes)
        .field("high_quality_fraction", m.coverage->high_quality_fraction);
  json.end_object();
}

std::string describe_periodic(const SampleMetrics& m) {
  std::string text;
  if (m.coverage)
    text = fmt::format("modes {}/{} hq {:.3f} ", m.coverage->modes_covered, m.coverage->modes,
                       m.coverage->high_quality_fraction);
  return text + fmt::format("W1 {:.4f}", m.w1);
}

std::string describe(const SampleMetrics& m, double baseline) {
  std::string text;
  if (m.coverage)
    text = fmt::format("modes {}/{}, high-quality {:.3f}, ", m.coverage->modes_covered, m.coverage->modes,
                       m.coverage->high_quality_fraction);
  return text + fmt::format("W1 {:.4f} ({:.2f}x baseline)", m.w1, m.w1 / baseline);
}

// ---------------------------------------------------------------------------------------------------------------
// The run, one instantiation per (scalar, preset).

template <class Scalar, class Policy, class Optimizer>
int run(const Settings& s) {
  namespace fs = std::filesystem;
  const PresetInfo& info = s.info();
  const auto wall_start = std::chrono::steady_clock::now();

  std::error_code error;
  fs::create_directories(s.out, error);
  if (error || !fs::is_directory(s.out))
    throw gantry::IoError(gantry::detail::message("cannot create the output directory ",
                                                  gantry::detail::quoted(s.out, 4096), ": ",
                                                  error ? error.message() : "not a directory"));
  const auto out_path = [&](const char* name) { return (fs::path(s.out) / name).string(); };

  ToyData<Scalar> toy(s);
  const nn::Activation activation = nn::Activation::from_name(s.activation);
  std::vector<Index> generator_sizes{s.noise_dim}, critic_sizes{2};
  for (Index l = 0; l < s.depth; ++l) {
    generator_sizes.push_back(s.width);
    critic_sizes.push_back(s.width);
  }
  generator_sizes.push_back(2);
  critic_sizes.push_back(1);
  const auto options_for = [&](bool normalized) {
    nn::MlpOptions options(activation, true);
    options.layer_norm.every_hidden_layer = normalized;
    return options;
  };
  nn::Mlp<Scalar> generator(generator_sizes, options_for(s.layer_norm == "generator" || s.layer_norm == "both"));
  nn::Mlp<Scalar> critic(critic_sizes, options_for(s.layer_norm == "critic" || s.layer_norm == "both"));
  gantry::Rng init_rng(derive_seed(s.seed, 0));
  const nn::InitScheme init = nn::init_scheme_from_name(s.init);
  generator.initialize(init, init_rng);
  critic.initialize(init, init_rng);

  Policy policy;
  configure_policy(policy, s);
  train::TrainerOptions options;
  options.batch_size = s.batch;
  options.n_critic = s.resolved_n_critic();
  options.schedule = s.resolved_schedule();
  options.seed = derive_seed(s.seed, 1);
  // A diverging run (too high a learning rate) then stops at once, naming the iteration, the step and the value.
  options.divergence_guard = true;
  auto trainer = train::make_trainer(policy, std::move(generator), std::move(critic), toy,
                                     data::GaussianNoise<Scalar>(s.noise_dim),
                                     make_optimizer<Scalar, Optimizer>(s.resolved_lr_critic()),
                                     make_optimizer<Scalar, Optimizer>(s.resolved_lr_generator()), options);

  // Fixed evaluation sets: the same real points and latent codes for every picture and for both generators.
  gantry::Rng eval_rng(derive_seed(s.seed, 2));
  const Index n = s.eval_samples;
  Matrix<Scalar> real(2, n), z(s.noise_dim, n);
  toy.sample(real, eval_rng);
  trainer.noise_sampler().sample(z, eval_rng);
  const Matrix<double> real_double = real.template cast<double>();
  const io::PlotBounds bounds = bounds_around(real_double);
  const Index plotted = std::min<Index>(n, 1000);  // enough to see the modes, few enough to see the critic

  MaybeEma<Scalar> ema;
  if (s.ema > 0) ema.ema.emplace(train::EmaOptions{s.ema});
  const auto sampling_generator = [&]() -> const nn::Mlp<Scalar>& {
    return ema.ema && ema.ema->initialized() ? ema.ema->generator() : trainer.generator();
  };
  const auto write_heatmap = [&](const std::string& path, Index iteration) {
    io::HeatmapOptions heatmap;
    heatmap.title = fmt::format("{} on {}, iteration {}", info.name, s.dataset, iteration);
    heatmap.fake_label = ema.ema ? "generated (EMA)" : "generated";
    heatmap.grid_size = 160;  // fine enough that the contour bands do not show the cells' staircase
    const Matrix<double> fake = sampling_generator()(z.leftCols(plotted)).template cast<double>();
    io::critic_heatmap_svg(path, critic_grid(trainer.critic(), bounds, heatmap.grid_size), bounds,
                           real_double.leftCols(plotted), fake, heatmap);
  };

  train::ProgressBarOptions progress;
  progress.label = info.name;
  train::ProgressBar bar(progress);
  train::CsvLoggerOptions csv_options;
  csv_options.every = s.resolved_log_every();
  train::CsvLogger csv(out_path("log.csv"), csv_options);
  History history{s.resolved_log_every(), {}, {}, {}, {}, {}, {}};
  std::vector<Evaluation> evaluations;
  const Index periodic_n = std::min(n, periodic_w1_samples);
  const auto measure_now = [&](const nn::Mlp<Scalar>& g) {
    const Matrix<Scalar> fake = g(z);
    SampleMetrics m;
    m.w1 = metrics::wasserstein1(fake.leftCols(periodic_n), real.leftCols(periodic_n));
    if (const auto* mixture = toy.mixture())
      m.coverage = metrics::mode_coverage(fake, mixture->centers(), mixture->stddev());
    return m;
  };
  const auto evaluate = [&](Index iteration, double seconds) {
    Evaluation e{iteration, seconds, measure_now(trainer.generator()), std::nullopt};
    if (ema.ema) e.ema = measure_now(ema.ema->generator());
    evaluations.push_back(std::move(e));
  };
  const auto plot = [&](Index iteration) {
    write_heatmap((fs::path(s.out) / fmt::format("critic_{:06}.svg", iteration)).string(), iteration);
  };
  Periodic<decltype(plot), decltype(evaluate)> periodic{s.plot_every, s.eval_every, plot, evaluate};

  fmt::print(stderr,
             "toy2d: {} ({}) on {}, {} iterations, {} hidden layers of {} {}{}, batch {}, n-critic {}, {}, seed {}, "
             "{} thread(s)\n",
             info.name, trainer.policy().name(), s.dataset, s.iterations, s.depth, s.width, s.activation,
             s.layer_norm == "none" ? "" : ", layer norm in " + s.layer_norm, s.batch, options.n_critic,
             s.use_double ? "double" : "float", s.seed, gantry::thread_count());
  const train::StepStats<Scalar> last = trainer.fit(s.iterations, ema, csv, history, periodic, bar);
  const double train_seconds = last.seconds - periodic.overhead_before_last_step;

  // Final metrics on the fixed evaluation sets; the baseline is W1 between two fresh real sets of the same size.
  const Matrix<Scalar> fake_raw = trainer.generator()(z);
  const SampleMetrics raw = measure(fake_raw, real, toy);
  std::optional<SampleMetrics> averaged;
  if (ema.ema) averaged = measure(Matrix<Scalar>(ema.ema->generator()(z)), real, toy);
  ToyData<Scalar> baseline_data = toy;
  const double baseline = metrics::real_baseline_wasserstein1(baseline_data, n, eval_rng);

  write_heatmap(out_path("critic.svg"), trainer.iteration());

  // Under a Wasserstein objective the critic loss is exactly minus the estimate, and the generator loss
  // -E D(G(z)) carries the critic's arbitrary offset: both stay in log.csv, the plot shows the estimate.
  std::vector<io::Series> series;
  if constexpr (!Policy::objective_type::estimates_wasserstein) {
    series.push_back({"critic loss", history.iteration, history.critic_loss, ""});
    series.push_back({"generator loss", history.iteration, history.generator_loss, ""});
  }
  if constexpr (Policy::has_penalty) series.push_back({"penalty", history.iteration, history.penalty, ""});
  if constexpr (Policy::has_consensus) series.push_back({"consensus", history.iteration, history.consensus, ""});
  if constexpr (Policy::objective_type::estimates_wasserstein)
    series.push_back({"Wasserstein estimate", history.iteration, history.wasserstein, ""});
  io::CurvesOptions curves;
  curves.title = fmt::format("{} on {}", info.name, s.dataset);
  curves.y_label = Policy::objective_type::estimates_wasserstein ? "value" : "loss";
  io::curves_svg(out_path("curves.svg"), series, curves);

  const double total_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  io::JsonWriter json;
  json.begin_object();
  json.field("program", "toy2d").field("gantry_version", fmt::format("{}.{}.{}", gantry::version_major,
                                                                    gantry::version_minor, gantry::version_patch));
  json.field("preset", info.name).field("policy", trainer.policy().name()).field("dataset", s.dataset);
  json.field("iterations", trainer.iteration()).field("seconds", train_seconds);
  json.field("iterations_per_second", train_seconds > 0 ? static_cast<double>(trainer.iteration()) / train_seconds : 0.0);
  json.field("evaluation_and_plot_seconds", periodic.overhead_seconds).field("total_seconds", total_seconds);
  json.field("seed", s.seed);
  json.key("settings").begin_object();
  json.field("preset", info.name).field("dataset", s.dataset);
  if (!s.data_csv.empty()) json.field("data_csv", s.data_csv);
  json.field("iterations", s.iterations).field("batch", s.batch).field("width", s.width).field("depth", s.depth);
  json.field("activation", s.activation).field("layer_norm", s.layer_norm).field("init", s.init);
  json.field("noise_dim", s.noise_dim);
  json.field("n_critic", options.n_critic).field("schedule", train::schedule_name(options.schedule));
  json.field("optimizer", info.optimizer == OptimizerKind::adam ? "adam" : "rmsprop");
  json.field("lr_critic", s.resolved_lr_critic()).field("lr_generator", s.resolved_lr_generator());
  if (info.optimizer == OptimizerKind::adam) json.field("adam_beta1", adam_beta1).field("adam_beta2", adam_beta2);
  if (s.preset == Preset::wgan_gp) json.field("lambda", s.resolved_lambda());
  if (s.preset == Preset::r1 || s.preset == Preset::consensus) json.field("gamma", s.resolved_gamma());
  if (s.preset == Preset::wgan_clip) json.field("clip", s.resolved_clip());
  json.field("ema", s.ema).field("seed", s.seed).field("scalar", s.use_double ? "double" : "float");
  json.field("threads", gantry::thread_count());
  json.field("eval_samples", s.eval_samples).field("log_every", s.resolved_log_every());
  json.field("plot_every", s.plot_every).field("eval_every", s.eval_every);
  json.end_object();
  json.key("final_losses").begin_object();
  json.field("critic_loss", last.critic_loss).field("generator_loss", last.generator_loss);
  json.field("penalty", last.penalty).field("consensus", last.consensus);
  json.field("wasserstein_estimate", last.wasserstein_estimate);
  json.end_object();
  json.key("metrics").begin_object();
  json.field("eval_samples", n).field("real_baseline_w1", baseline);
  // The generator whose samples are plotted, and whose figures the docs quote: the average when there is one.
  json.field("reported", averaged ? "ema" : "raw");
  if (const auto* mixture = toy.mixture())
    json.field("mode_radius", 3.0 * mixture->stddev()).field("mode_radius_in_stddevs", 3.0);
  json.key("raw");
  write_metrics(json, raw, baseline);
  json.key("ema");
  if (averaged) write_metrics(json, *averaged, baseline);
  else json.null();
  json.end_object();
  json.key("evaluations").begin_object();
  json.field("w1_samples", periodic_n).key("points").begin_array();
  for (const Evaluation& e : evaluations) {
    json.begin_object().field("iteration", e.iteration).field("seconds", e.seconds);
    json.key("raw");
    write_periodic(json, e.raw);
    json.key("ema");
    if (e.ema) write_periodic(json, *e.ema);
    else json.null();
    json.end_object();
  }
  json.end_array().end_object();
  json.key("files").value(std::vector<std::string>{"critic.svg", "curves.svg", "log.csv", "summary.json"});
  json.end_object();
  json.save(out_path("summary.json"));

  fmt::print("{} on {}: {} iterations in {} ({:.1f} it/s)\n", info.name, s.dataset, trainer.iteration(),
             format_seconds(train_seconds), train_seconds > 0 ? trainer.iteration() / train_seconds : 0.0);
  fmt::print("  generator: {}\n", describe(raw, baseline));
  if (averaged) fmt::print("  EMA {:g}:  {}\n", s.ema, describe(*averaged, baseline));
  fmt::print("  real-vs-real W1 baseline {:.4f} ({} samples each)\n", baseline, n);
  if (!evaluations.empty() && evaluations.size() <= 40) {
    fmt::print("  during training (W1 on {} samples, time is training alone):\n", periodic_n);
    for (const Evaluation& e : evaluations)
      fmt::print("    {:>7} it {:>8}  {}{}\n", e.iteration, format_seconds(e.seconds), describe_periodic(e.raw),
                 e.ema ? "  | EMA " + describe_periodic(*e.ema) : std::string());
  }
  fmt::print("wrote {}, {}, {}, {}\n", out_path("critic.svg"), out_path("curves.svg"), out_path("log.csv"),
             out_path("summary.json"));
  return 0;
}

template <class Scalar>
int dispatch(const Settings& s) {
  using Adam = optim::Adam<Scalar>;
  using Rmsprop = optim::Rmsprop<Scalar>;
  switch (s.preset) {
    case Preset::vanilla: return run<Scalar, gantry::Vanilla, Adam>(s);
    case Preset::nonsaturating: return run<Scalar, gantry::NonSaturating, Adam>(s);
    case Preset::wgan_clip: return run<Scalar, gantry::WganClip, Rmsprop>(s);
    case Preset::wgan_gp: return run<Scalar, gantry::WganGp, Adam>(s);
    case Preset::r1: return run<Scalar, gantry::ZeroCenteredGp, Adam>(s);
    case Preset::consensus: return run<Scalar, gantry::Consensus, Rmsprop>(s);
  }
  return 1;
}

/// toy2d --seeds: every seed's run is this program with the same flags but --seeds, --jobs and --out, plus its
/// own --seed and --out (seeds.cpp says why child processes).
int run_seeds(const Settings& s, int argc, char** argv) {
  toy2d::SeedsRun run;
  run.seeds = s.seeds;
  run.jobs = static_cast<int>(s.jobs);
  run.out = s.out;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const std::string_view flag = arg.substr(0, arg.find('='));
    if (flag == "--seeds" || flag == "--jobs" || flag == "--out") {
      if (flag.size() == arg.size()) ++i;  // its value is the next argument (parse_arguments checked it is there)
      continue;
    }
    run.arguments.emplace_back(arg);
  }
  if (s.jobs > 1 && s.threads == 0) {
    // Side by side, each run takes its share of the cores, and so does OpenBLAS, which threads a product by
    // itself outside gantry's split passes. Its thread count moves the last bits of some double products (W1 at
    // 1e-10), so the command each seed reproduces names it.
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    const unsigned threads = std::max(1u, cores / static_cast<unsigned>(s.jobs));
    run.arguments.insert(run.arguments.end(), {"--threads", std::to_string(threads)});
    if (!std::getenv("OPENBLAS_NUM_THREADS")) {
      ::setenv("OPENBLAS_NUM_THREADS", std::to_string(threads).c_str(), 1);
      run.environment = "OPENBLAS_NUM_THREADS=" + std::to_string(threads);
    }
  }
  std::error_code error;
  run.executable = std::filesystem::exists("/proc/self/exe", error) ? "/proc/self/exe" : argv[0];
  return toy2d::run_seeds(run);
}

/// An error thrown mid-training interrupts the progress bar's line on a terminal: start a fresh one.
const char* line_break() { return train::detail::is_terminal(stderr) ? "\n" : ""; }

}  // namespace

int main(int argc, char** argv) {
  std::optional<Settings> settings;
  try {
    settings = parse_arguments(argc, argv);
  } catch (const UsageError& e) {
    fmt::print(stderr, "{}\n", e.message);
    return 2;
  }
  if (!settings) {
    print_help();
    return 0;
  }
  try {
    if (!settings->seeds.empty()) return run_seeds(*settings, argc, argv);
    if (settings->threads > 0) gantry::set_thread_count(static_cast<int>(settings->threads));
    return settings->use_double ? dispatch<double>(*settings) : dispatch<float>(*settings);
  } catch (const gantry::Error& e) {
    fmt::print(stderr, "{}toy2d: {}\n", line_break(), e.what());
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "{}toy2d: out of memory: lower --width, --depth, --batch or --eval-samples\n", line_break());
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}toy2d: unexpected error: {}\n", line_break(), e.what());
  }
  return 1;
}
