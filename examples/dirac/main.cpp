// SPDX-License-Identifier: MIT
// The Dirac-GAN study of Mescheder, Geiger & Nowozin (2018), "Which Training Methods for GANs do actually
// Converge?", run through gantry's own trainer and policies: every method trains the generator x = theta
// (nn::Mlp {1, 1} fed z = 1) against the critic D(x) = psi x on the point mass at 0, with plain gradient descent
// (optim::Sgd), simultaneous and alternating (1 and 5 critic steps). For each run it prints where training ends,
// a verdict, and the eigenvalues of the field's Jacobian at the equilibrium as the library computes them
// (metrics::dirac_jacobian, exact second-order passes) next to the paper's closed forms.

#include <gantry/data/constant_noise.hpp>
#include <gantry/gantry.hpp>
#include <gantry/metrics/dirac.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace metrics = gantry::metrics;
namespace train = gantry::train;
namespace loss = gantry::loss;
using Complex = std::complex<double>;
using Pair = std::array<Complex, 2>;

// Judged on the distance d to (0, 0) over the first and the last tenth of the run, so that an orbit that is
// not a circle (alternating updates give ellipses) is not mistaken for growth or decay.
constexpr const char* verdict_rule =
    "with d the distance to (0, 0), d0 its start value, and the first and last tenth of the run (at least 10 "
    "iterations each): 'diverges' if a parameter is not finite; 'converges' if d <= tolerance x d0 over the whole last "
    "tenth; 'stalls' if the point moved less than 1e-3 x d0 in total over the last tenth; 'diverges' if the smallest d "
    "of the last tenth exceeds 1.25x the largest d of the first tenth; else 'oscillates'";

/// The sigmoid-loss objective of the regularized methods (--loss).
enum class LossChoice { non_saturating, minimax };

const char* const method_names[] = {"gan", "ns_gan", "wgan_clip", "wgan_gp", "consensus", "r1", "r2", "instance_noise"};

struct Settings {
  double learning_rate = 0.1;
  std::optional<double> lr_critic, lr_generator;  // per player; default learning_rate
  std::vector<std::string> methods;               // empty: every method
  LossChoice loss = LossChoice::non_saturating;
  bool generator_first = false;
  double critic_lr() const { return lr_critic ? *lr_critic : learning_rate; }
  double generator_lr() const { return lr_generator ? *lr_generator : learning_rate; }
  bool wants(const std::string& method) const {
    return methods.empty() || std::find(methods.begin(), methods.end(), method) != methods.end();
  }
  gantry::Index steps = 1000;
  double theta0 = 1.0;
  double psi0 = 1.0;
  double gamma = 0.3;   // R1, R2, consensus (the paper's Dirac-GAN figures use 0.3)
  double lambda = 1.0;  // WGAN-GP; with lr 0.1 the critic's own step is stable only for 2 lr lambda < 2
  double clip = 0.3;    // WGAN weight clipping
  double sigma = 1.0;   // instance noise
  gantry::Index batch = 256;
  double tolerance = 0.05;
  std::uint64_t seed = 1;
  std::string json_path;
  std::string svg_dir = "dirac_svg";
};

const char* usage =
    "usage: dirac [options]\n"
    "Trains the Dirac-GAN with every method and schedule through gantry::train::Trainer (gradient descent).\n"
    "  --lr X          learning rate of both players (default 0.1)\n"
    "  --lr-critic X   the critic's learning rate (default --lr)\n"
    "  --lr-generator X  the generator's learning rate (default --lr); with two rates rho(0,0) is n/a\n"
    "  --methods LIST  comma-separated methods to run: gan, ns_gan, wgan_clip, wgan_gp, consensus, r1, r2,\n"
    "                  instance_noise (default all)\n"
    "  --loss NAME     non-saturating or minimax: the objective of consensus, r1, r2 and instance_noise\n"
    "                  (default non-saturating; gan and ns_gan are the two unregularized losses themselves)\n"
    "  --generator-first  alternating runs take the generator step before the critic steps\n"
    "  --steps N       generator iterations per run (default 1000)\n"
    "  --theta X       start theta (default 1)\n"
    "  --psi X         start psi (default 1)\n"
    "  --gamma X       R1 / R2 / consensus weight (default 0.3)\n"
    "  --lambda X      WGAN-GP weight (default 1)\n"
    "  --clip X        WGAN clipping bound (default 0.3)\n"
    "  --sigma X       instance-noise standard deviation (default 1)\n"
    "  --batch N       batch size; only instance noise is random, the rest see identical samples (default 256)\n"
    "  --tolerance X   'converges' threshold, relative to the start distance (default 0.05)\n"
    "  --seed N        trainer seed (default 1)\n"
    "  --json PATH     also write the table and each run's trajectory as JSON\n"
    "  --svg-dir DIR   phase portraits, one SVG per method (default dirac_svg)\n"
    "  --help          this text\n";

[[noreturn]] void fail(const std::string& text) {
  fmt::print(stderr, "dirac: {} (see --help)\n", text);
  std::exit(2);
}

double parse_number(const std::string& flag, const std::string& text) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || !std::isfinite(value))
    fail(fmt::format("{} expects a number, given {}", flag, gantry::detail::quoted(text)));
  return value;
}

long long parse_integer(const std::string& flag, const std::string& text) {
  std::size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size())
    fail(fmt::format("{} expects an integer, given {}", flag, gantry::detail::quoted(text)));
  return value;
}

std::vector<std::string> parse_methods(const std::string& list) {
  std::vector<std::string> methods;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = list.find(',', start);
    const std::string name = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (std::find(std::begin(method_names), std::end(method_names), name) == std::end(method_names))
      fail(fmt::format("--methods: unknown method {} (expected gan, ns_gan, wgan_clip, wgan_gp, consensus, r1, r2 or "
                       "instance_noise)",
                       gantry::detail::quoted(name)));
    if (std::find(methods.begin(), methods.end(), name) == methods.end()) methods.push_back(name);
    if (comma == std::string::npos) return methods;
    start = comma + 1;
  }
}

Settings parse(int argc, char** argv) {
  Settings s;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    std::optional<std::string> value;
    if (const auto eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    }
    if (flag == "--help" || flag == "-h") {
      fmt::print("{}", usage);
      std::exit(0);
    }
    const auto next = [&]() -> std::string {
      if (value) return *value;
      if (i + 1 >= argc) fail(fmt::format("{} needs a value", flag));
      return argv[++i];
    };
    const auto positive = [&](double v) {
      if (!(v > 0)) fail(fmt::format("{} must be > 0, given {}", flag, v));
      return v;
    };
    const auto non_negative = [&](double v) {
      if (!(v >= 0)) fail(fmt::format("{} must be >= 0, given {}", flag, v));
      return v;
    };
    if (flag == "--lr") s.learning_rate = positive(parse_number(flag, next()));
    else if (flag == "--lr-critic") s.lr_critic = positive(parse_number(flag, next()));
    else if (flag == "--lr-generator") s.lr_generator = positive(parse_number(flag, next()));
    else if (flag == "--methods") s.methods = parse_methods(next());
    else if (flag == "--loss") {
      const std::string name = next();
      if (name == "non-saturating") s.loss = LossChoice::non_saturating;
      else if (name == "minimax") s.loss = LossChoice::minimax;
      else fail(fmt::format("--loss expects non-saturating or minimax, given {}", gantry::detail::quoted(name)));
    } else if (flag == "--generator-first") {
      if (value) fail(fmt::format("--generator-first takes no value, given {}", gantry::detail::quoted(*value)));
      s.generator_first = true;
    } else if (flag == "--steps") {
      // Each run keeps its whole path (16 bytes a step, 24 runs): beyond this it would not fit in memory.
      constexpr long long max_steps = 10000000;
      const long long steps = parse_integer(flag, next());
      if (steps < 1 || steps > max_steps) fail(fmt::format("--steps must be in [1, {}], given {}", max_steps, steps));
      s.steps = static_cast<gantry::Index>(steps);
    } else if (flag == "--theta") s.theta0 = parse_number(flag, next());
    else if (flag == "--psi") s.psi0 = parse_number(flag, next());
    else if (flag == "--gamma") s.gamma = non_negative(parse_number(flag, next()));
    else if (flag == "--lambda") s.lambda = non_negative(parse_number(flag, next()));
    else if (flag == "--clip") s.clip = positive(parse_number(flag, next()));
    else if (flag == "--sigma") s.sigma = non_negative(parse_number(flag, next()));
    else if (flag == "--batch") {
      const long long batch = parse_integer(flag, next());
      if (batch < 1 || batch > train::TrainerOptions::max_batch_size)
        fail(fmt::format("--batch must be in [1, {}], given {}", train::TrainerOptions::max_batch_size, batch));
      s.batch = static_cast<gantry::Index>(batch);
    } else if (flag == "--tolerance") s.tolerance = positive(parse_number(flag, next()));
    else if (flag == "--seed") {
      const long long seed = parse_integer(flag, next());  // not through a double, which rounds above 2^53
      if (seed < 0) fail(fmt::format("--seed must be >= 0, given {}", seed));
      s.seed = static_cast<std::uint64_t>(seed);
    } else if (flag == "--json") s.json_path = next();
    else if (flag == "--svg-dir") s.svg_dir = next();
    else fail(fmt::format("unknown option {}", gantry::detail::quoted(argv[i])));
  }
  if (s.theta0 == 0 && s.psi0 == 0) fail("the start point must differ from the equilibrium (0, 0)");
  return s;
}

/// The paper's closed form m +- sqrt(d), in the order metrics::eigenvalues_2x2 uses (principal root).
Pair closed_pair(double mean, double discriminant) {
  const Complex root = std::sqrt(Complex(discriminant, 0.0));
  return {Complex(mean, 0.0) + root, Complex(mean, 0.0) - root};
}

/// What one method contributes to the table besides its runs.
struct Method {
  std::string name;
  std::string closed_form_text;  ///< the formula, for the table's legend
  std::optional<Pair> closed_form;
  std::string no_jacobian_reason;  ///< when the field has no Jacobian at (0, 0)
};

struct Row {
  std::string method, policy, loss, schedule;
  gantry::Index n_critic = 1;
  double theta = 0, psi = 0, distance = 0;
  std::string verdict;
  std::optional<double> spectral_radius;  ///< of one iteration's Jacobian at (0, 0)
  std::optional<Pair> measured, closed;
  std::vector<std::array<double, 2>> trajectory;  ///< (theta, psi) at the start and after each iteration
};

struct Recorder {
  std::vector<std::array<double, 2>>* points;
  template <class Trainer, class Stats>
  void on_step_end(Trainer& trainer, const Stats&) {
    points->push_back({trainer.generator().parameters()(0), trainer.critic().parameters()(0)});
  }
};

std::string verdict_of(const std::vector<std::array<double, 2>>& path, double tolerance) {
  const auto distance = [](const std::array<double, 2>& p) { return std::hypot(p[0], p[1]); };
  for (const auto& p : path)
    if (!std::isfinite(p[0]) || !std::isfinite(p[1])) return "diverges";
  const double start = distance(path.front());
  const std::size_t n = path.size() - 1;  // iterations; path[k] is the point after iteration k
  const std::size_t window = std::min(n, std::max<std::size_t>(10, n / 10));
  double first_largest = 0;
  for (std::size_t k = 1; k <= window; ++k) first_largest = std::max(first_largest, distance(path[k]));
  double last_largest = 0, last_smallest = distance(path.back()), moved = 0;
  for (std::size_t k = path.size() - window; k < path.size(); ++k) {
    last_largest = std::max(last_largest, distance(path[k]));
    last_smallest = std::min(last_smallest, distance(path[k]));
    moved += std::hypot(path[k][0] - path[k - 1][0], path[k][1] - path[k - 1][1]);
  }
  if (last_largest <= tolerance * start) return "converges";
  if (moved < 1e-3 * start) return "stalls";
  if (last_smallest > 1.25 * first_largest) return "diverges";
  return "oscillates";
}

std::string format_pair(const std::optional<Pair>& pair) {
  if (!pair) return "none";
  const auto one = [](const Complex& z) {
    const double re = std::abs(z.real()) < 5e-13 ? 0.0 : z.real();
    const double im = std::abs(z.imag()) < 5e-13 ? 0.0 : z.imag();
    if (im == 0) return fmt::format("{:.4f}", re);
    return fmt::format("{:.4f}{:+.4f}i", re, im);
  };
  return one((*pair)[0]) + ", " + one((*pair)[1]);
}

std::optional<double> pair_difference(const std::optional<Pair>& a, const std::optional<Pair>& b) {
  if (!a || !b) return std::nullopt;
  return std::max(std::abs((*a)[0] - (*b)[0]), std::abs((*a)[1] - (*b)[1]));
}

struct Study {
  Settings settings;
  std::vector<Row> rows;
  std::vector<Method> methods;

  template <class Policy>
  void run(const Method& method, const Policy& policy) {
    if (!settings.wants(method.name)) return;
    methods.push_back(method);
    std::optional<Pair> measured;
    try {
      const auto at_equilibrium = metrics::dirac_jacobian(policy, 0.0, 0.0);
      measured = at_equilibrium.eigenvalues;
    } catch (const gantry::OptionError&) {
      // WGAN-GP: the field jumps across psi = 0 (method.no_jacobian_reason says why); nothing to measure.
    }

    struct Config {
      train::Schedule schedule;
      gantry::Index n_critic;
    };
    const Config configs[] = {{train::Schedule::simultaneous, 1}, {train::Schedule::alternating, 1},
                              {train::Schedule::alternating, 5}};
    std::vector<gantry::io::Trajectory> trajectories;
    for (const Config& config : configs) {
      train::TrainerOptions options;
      options.batch_size = settings.batch;
      options.n_critic = config.n_critic;
      options.schedule = config.schedule;
      options.seed = settings.seed;
      options.generator_first = settings.generator_first && config.schedule == train::Schedule::alternating;
      gantry::optim::SgdOptions critic_sgd, generator_sgd;
      critic_sgd.learning_rate = settings.critic_lr();
      generator_sgd.learning_rate = settings.generator_lr();
      auto trainer = train::make_trainer(policy, metrics::dirac_generator(settings.theta0),
                                         metrics::dirac_critic(settings.psi0), gantry::data::Dirac<double>(1),
                                         gantry::data::ConstantNoise<double>(1, 1.0),
                                         gantry::optim::Sgd<double>(critic_sgd),
                                         gantry::optim::Sgd<double>(generator_sgd), options);
      std::vector<std::array<double, 2>> path{{settings.theta0, settings.psi0}};
      path.reserve(static_cast<std::size_t>(settings.steps) + 1);
      try {
        trainer.fit(settings.steps, Recorder{&path});
      } catch (const gantry::Error&) {
        path.push_back({std::nan(""), std::nan("")});  // a non-finite gradient stopped the optimizer: diverged
      }

      Row row;
      row.method = method.name;
      row.policy = policy.name();
      row.loss = policy.objective.name();
      row.schedule = train::schedule_name(config.schedule);
      row.n_critic = config.n_critic;
      row.theta = path.back()[0];
      row.psi = path.back()[1];
      row.distance = std::hypot(row.theta, row.psi);
      row.verdict = verdict_of(path, settings.tolerance);
      // The update Jacobian takes one learning rate for both players: with two, there is none to show.
      if (settings.critic_lr() == settings.generator_lr()) {
        try {
          row.spectral_radius =
              metrics::dirac_update_jacobian(policy, options, settings.critic_lr(), 0.0, 0.0).spectral_radius;
        } catch (const gantry::OptionError&) {
        }
      }
      row.measured = measured;
      row.closed = method.closed_form;
      row.trajectory = path;
      rows.push_back(std::move(row));

      gantry::io::Trajectory trajectory;
      trajectory.name = config.schedule == train::Schedule::simultaneous
                            ? std::string("simultaneous")
                            : fmt::format("alternating, {} critic step{}", config.n_critic, config.n_critic > 1 ? "s" : "");
      trajectory.points.resize(2, static_cast<gantry::Index>(path.size()));
      for (std::size_t k = 0; k < path.size(); ++k) {
        trajectory.points(0, static_cast<gantry::Index>(k)) = path[k][0];
        trajectory.points(1, static_cast<gantry::Index>(k)) = path[k][1];
      }
      trajectories.push_back(std::move(trajectory));
    }

    if (!settings.svg_dir.empty()) {
      const double half = 2.5 * std::max({1.0, std::abs(settings.theta0), std::abs(settings.psi0)});
      gantry::io::PlotBounds bounds{-half, half, -half, half};
      gantry::io::VectorFieldOptions figure;
      figure.title = settings.critic_lr() == settings.generator_lr()
                         ? fmt::format("Dirac-GAN: {} ({}), lr {}", method.name, policy.name(), settings.critic_lr())
                         : fmt::format("Dirac-GAN: {} ({}), lr critic {}, generator {}", method.name, policy.name(),
                                       settings.critic_lr(), settings.generator_lr());
      figure.grid_size = 21;
      // The arrows are the field the trainer follows, evaluated by train::Evaluator (metrics::dirac_field).
      const auto field = [&](double theta, double psi) -> Eigen::Vector2d {
        return metrics::dirac_field(policy, theta, psi);
      };
      std::filesystem::create_directories(settings.svg_dir);
      gantry::io::vector_field_svg((std::filesystem::path(settings.svg_dir) / (method.name + ".svg")).string(), field,
                                   bounds, trajectories, figure);
    }
  }
};

void print_table(const Study& study) {
  const Settings& s = study.settings;
  const std::string rates = s.critic_lr() == s.generator_lr()
                                ? fmt::format("lr {}", s.critic_lr())
                                : fmt::format("lr critic {}, generator {}", s.critic_lr(), s.generator_lr());
  fmt::print("Dirac-GAN, gradient descent: {}, {} iterations from (theta, psi) = ({}, {}), batch {}, seed {}{}\n", rates,
             s.steps, s.theta0, s.psi0, s.batch, s.seed, s.generator_first ? ", generator first" : "");
  fmt::print("gamma {} (R1, R2, consensus), lambda {} (WGAN-GP), clip {} (WGAN), sigma {} (instance noise)\n\n",
             s.gamma, s.lambda, s.clip, s.sigma);
  fmt::print("{:<15} {:<15} {:<15} {:>9} {:>10} {:<11} {:>8}  {:<30} {:<30} {:>9}\n", "method", "loss", "schedule",
             "n_critic", "distance", "verdict", "rho(0,0)", "eigenvalues (library)", "closed form", "|diff|");
  for (const Row& r : study.rows) {
    const auto diff = pair_difference(r.measured, r.closed);
    fmt::print("{:<15} {:<15} {:<15} {:>9} {:>10.3e} {:<11} {:>8}  {:<30} {:<30} {:>9}\n", r.method, r.loss, r.schedule,
               r.n_critic,
               r.distance, r.verdict, r.spectral_radius ? fmt::format("{:.5f}", *r.spectral_radius) : "n/a",
               format_pair(r.measured), format_pair(r.closed), diff ? fmt::format("{:.1e}", *diff) : "n/a");
  }
  fmt::print("\nverdict: {} (tolerance {}).\n", verdict_rule, s.tolerance);
  fmt::print("rho(0,0): spectral radius of the Jacobian of one training iteration at the equilibrium "
             "(metrics::dirac_update_jacobian; < 1 converges locally, > 1 repels, = 1 neither{}).\n",
             s.critic_lr() == s.generator_lr() ? "" : "; n/a with two learning rates, which it does not take");
  fmt::print("closed forms (Mescheder et al. 2018, f'(0) = 1/2, f''(0) = -1/4 for f(t) = -log(1 + e^-t); f'(0) = 1 for "
             "WGAN):\n");
  for (const Method& m : study.methods)
    fmt::print("  {:<15} {}\n", m.name, m.closed_form ? m.closed_form_text : m.no_jacobian_reason);
}

void write_json(const Study& study, const std::string& path) {
  const Settings& s = study.settings;
  gantry::io::JsonWriter json;
  json.begin_object();
  json.key("settings").begin_object();
  json.field("learning_rate", s.learning_rate).field("steps", s.steps).field("theta0", s.theta0).field("psi0", s.psi0);
  json.field("lr_critic", s.critic_lr()).field("lr_generator", s.generator_lr());
  json.field("loss", s.loss == LossChoice::minimax ? "minimax" : "non-saturating");
  json.field("generator_first", s.generator_first);
  json.key("methods").begin_array();
  for (const Method& m : study.methods) json.value(m.name);
  json.end_array();
  json.field("gamma", s.gamma).field("lambda", s.lambda).field("clip", s.clip).field("sigma", s.sigma);
  json.field("batch", s.batch).field("tolerance", s.tolerance).field("seed", s.seed);
  json.end_object();
  json.field("verdict_rule", verdict_rule);
  const auto pair_value = [&](const std::optional<Pair>& pair) {
    if (!pair) {
      json.null();
      return;
    }
    json.begin_array();
    for (const Complex& z : *pair) json.begin_object().field("re", z.real()).field("im", z.imag()).end_object();
    json.end_array();
  };
  json.key("rows").begin_array();
  for (const Row& r : study.rows) {
    json.begin_object();
    json.field("method", r.method).field("policy", r.policy).field("loss", r.loss).field("schedule", r.schedule);
    json.field("n_critic", r.n_critic);
    json.field("theta", r.theta).field("psi", r.psi).field("distance", r.distance).field("verdict", r.verdict);
    json.key("spectral_radius");
    if (r.spectral_radius)
      json.value(*r.spectral_radius);
    else
      json.null();
    json.key("eigenvalues_library");
    pair_value(r.measured);
    json.key("eigenvalues_closed_form");
    pair_value(r.closed);
    json.key("eigenvalue_difference");
    if (const auto d = pair_difference(r.measured, r.closed))
      json.value(*d);
    else
      json.null();
    // [[theta, psi], ...]: the start, then the point after each iteration (non-finite entries as null).
    json.key("trajectory").begin_array();
    for (const auto& point : r.trajectory) {
      json.begin_array();
      for (const double x : point) {
        if (std::isfinite(x))
          json.value(x);
        else
          json.null();
      }
      json.end_array();
    }
    json.end_array();
    json.end_object();
  }
  json.end_array();
  json.end_object();
  json.save(path);
}

/// Every method; consensus, r1, r2 and instance_noise under the sigmoid-loss `Objective` (--loss).
template <class Objective>
void run_methods(Study& study) {
  const Settings& s = study.settings;
  const double fp = 0.5, fpp = -0.25;  // f'(0), f''(0) of f(t) = -log(1 + exp(-t))
  const double g = s.gamma;

  study.run({"gan", "+-i f'(0)", closed_pair(0.0, -fp * fp), ""}, gantry::Vanilla{});
  study.run({"ns_gan", "+-i f'(0)", closed_pair(0.0, -fp * fp), ""}, gantry::NonSaturating{});
  study.run({"wgan_clip", "+-i f'(0), f(t) = t (clipping is inactive near (0, 0))", closed_pair(0.0, -1.0), ""},
            gantry::WganClip(loss::Wasserstein{}, loss::WeightClipping{s.clip}));
  study.run({"wgan_gp", "", std::nullopt,
             "none: the penalty's gradient 2 lambda (|psi| - 1) sign(psi) jumps by 4 lambda across psi = 0; runs "
             "slide to (2 lambda, 0), where the one-sided field vanishes, until round-off pushes them across"},
            gantry::WganGp(loss::Wasserstein{}, loss::GradientPenalty{s.lambda}));
  study.run({"consensus", "-gamma f'(0)^2 +- i f'(0)", closed_pair(-g * fp * fp, -fp * fp), ""},
            gantry::Policy<Objective, loss::Consensus>(Objective{}, loss::Consensus{g}));
  study.run({"r1", "-gamma/2 +- sqrt(gamma^2/4 - f'(0)^2)", closed_pair(-g / 2, g * g / 4 - fp * fp), ""},
            gantry::Policy<Objective, loss::ZeroCenteredPenalty>(
                Objective{}, loss::ZeroCenteredPenalty{g, loss::PenaltyPoints::real}));
  study.run({"r2", "-gamma/2 +- sqrt(gamma^2/4 - f'(0)^2)", closed_pair(-g / 2, g * g / 4 - fp * fp), ""},
            gantry::Policy<Objective, loss::ZeroCenteredPenalty>(
                Objective{}, loss::ZeroCenteredPenalty{g, loss::PenaltyPoints::fake}));
  const double s2 = s.sigma * s.sigma;
  study.run({"instance_noise", "f''(0) sigma^2 +- sqrt(f''(0)^2 sigma^4 - f'(0)^2)",
             closed_pair(fpp * s2, fpp * fpp * s2 * s2 - fp * fp), ""},
            gantry::Policy<Objective, loss::InstanceNoise>(Objective{}, loss::InstanceNoise{s.sigma}));
}

}  // namespace

int main(int argc, char** argv) {
  const Settings s = parse(argc, argv);
  try {
    Study study{s, {}, {}};
    if (s.loss == LossChoice::minimax)
      run_methods<loss::Minimax>(study);
    else
      run_methods<loss::NonSaturating>(study);

    print_table(study);
    if (!s.json_path.empty()) {
      write_json(study, s.json_path);
      fmt::print("wrote {}\n", s.json_path);
    }
    if (!s.svg_dir.empty()) fmt::print("wrote {}/<method>.svg (phase portraits)\n", s.svg_dir);
  } catch (const gantry::OptionError& e) {
    fail(e.what());
  } catch (const gantry::Error& e) {
    fmt::print(stderr, "dirac: {}\n", e.what());
    return 1;
  } catch (const std::filesystem::filesystem_error& e) {
    fmt::print(stderr, "dirac: {}\n", e.what());
    return 1;
  }
  return 0;
}
