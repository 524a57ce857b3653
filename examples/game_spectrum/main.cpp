// SPDX-License-Identifier: MIT
// The eigenvalues of a GAN's Jacobian over training, in the setting of Mescheder, Nowozin & Geiger (2017), "The
// Numerics of GANs", section 5: 8 Gaussians on a circle, generator and critic MLPs of 4 hidden layers of 16 ReLU
// units, a 16-dimensional Gaussian latent, simultaneous RMSProp. Three methods from the same initialization: plain
// simultaneous gradient descent, consensus optimization and R1. A train::SpectrumLogger records every k iterations
// the leading eigenvalues (Spectra's Arnoldi on exact J w products) and, at the start, middle and end, the whole
// spectrum; the program writes the clouds as one SVG per method, the largest real part and largest |Im/Re| over
// training as curves, and prints a table with a convergence verdict.

#include <gantry/gantry.hpp>
#include <gantry/io/spectrum_plot.hpp>
#include <gantry/metrics/mode_coverage.hpp>
#include <gantry/train/spectrum_logger.hpp>

#include <fmt/core.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace {

namespace data = gantry::data;
namespace io = gantry::io;
namespace loss = gantry::loss;
namespace metrics = gantry::metrics;
namespace nn = gantry::nn;
namespace optim = gantry::optim;
namespace train = gantry::train;
using gantry::Index;

struct Settings {
  Index iterations = 20000;
  Index every = 1000;
  Index batch = 512;
  Index spectrum_batch = 256;
  Index hidden = 16;
  Index layers = 4;
  Index latent = 16;
  double learning_rate = 1e-4;
  double consensus_gamma = 10.0;
  double r1_gamma = 10.0;
  Index leading = 10;
  bool full = true;
  std::uint64_t seed = 1;
  std::string out = "game_spectrum_out";
  std::string only;  // run one method only: simgd, consensus or r1
};

const char* usage =
    "usage: game_spectrum [options]\n"
    "Trains the Numerics-of-GANs mixture of 8 Gaussians with simultaneous RMSProp (plain, consensus, R1) and logs the\n"
    "eigenvalues of the game's Jacobian.\n"
    "  --iterations N      generator iterations per run (default 20000)\n"
    "  --every K           leading eigenvalues every K iterations (default 1000)\n"
    "  --batch N           training batch (default 512)\n"
    "  --spectrum-batch N  the fixed batch the Jacobian is taken on (default 256)\n"
    "  --hidden N          units per hidden layer (default 16)\n"
    "  --layers N          hidden layers of both networks (default 4)\n"
    "  --latent N          latent dimension (default 16)\n"
    "  --lr X              RMSProp learning rate of both players (default 1e-4)\n"
    "  --consensus-gamma X (default 10)\n"
    "  --r1-gamma X        (default 10)\n"
    "  --leading N         eigenvalues of largest modulus and of largest real part per record (default 10)\n"
    "  --no-full           no whole spectra (else at the start, middle and end)\n"
    "  --only METHOD       simgd, consensus or r1\n"
    "  --seed N            initialization and trainer seed (default 1)\n"
    "  --out DIR           output directory (default game_spectrum_out)\n";

[[noreturn]] void fail(const std::string& text) {
  fmt::print(stderr, "game_spectrum: {} (see --help)\n", text);
  std::exit(2);
}

Settings parse(int argc, char** argv) {
  Settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const auto next = [&]() -> std::string {
      if (i + 1 >= argc) fail("flag " + flag + " needs a value");
      return argv[++i];
    };
    const auto count = [&](Index minimum) {
      const std::string text = next();
      char* end = nullptr;
      const long long v = std::strtoll(text.c_str(), &end, 10);
      if (end == text.c_str() || *end != '\0' || v < minimum)
        fail(fmt::format("{} needs an integer >= {}, given '{}'", flag, minimum, text));
      return static_cast<Index>(v);
    };
    const auto positive = [&]() {
      const std::string text = next();
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      if (end == text.c_str() || *end != '\0' || !(v > 0) || !std::isfinite(v))
        fail(fmt::format("{} needs a finite number > 0, given '{}'", flag, text));
      return v;
    };
    if (flag == "--help") {
      fmt::print("{}", usage);
      std::exit(0);
    } else if (flag == "--iterations") {
      s.iterations = count(1);
    } else if (flag == "--every") {
      s.every = count(1);
    } else if (flag == "--batch") {
      s.batch = count(1);
    } else if (flag == "--spectrum-batch") {
      s.spectrum_batch = count(1);
    } else if (flag == "--hidden") {
      s.hidden = count(1);
    } else if (flag == "--layers") {
      s.layers = count(0);
    } else if (flag == "--latent") {
      s.latent = count(1);
    } else if (flag == "--lr") {
      s.learning_rate = positive();
    } else if (flag == "--consensus-gamma") {
      s.consensus_gamma = positive();
    } else if (flag == "--r1-gamma") {
      s.r1_gamma = positive();
    } else if (flag == "--leading") {
      s.leading = count(0);
    } else if (flag == "--no-full") {
      s.full = false;
    } else if (flag == "--only") {
      s.only = next();
      if (s.only != "simgd" && s.only != "consensus" && s.only != "r1")
        fail("--only takes simgd, consensus or r1, given '" + s.only + "'");
    } else if (flag == "--seed") {
      s.seed = static_cast<std::uint64_t>(count(0));
    } else if (flag == "--out") {
      s.out = next();
    } else {
      fail("unknown flag '" + flag + "'");
    }
  }
  if (s.every > s.iterations) fail("--every must not exceed --iterations");
  return s;
}

struct Outcome {
  std::string method;
  std::vector<train::SpectrumRecord> records;
  /// Consensus at the end: the spectra of the objective's J, of J - gamma J^T J (the paper's matrix) and of the
  /// exact Jacobian of the consensus field, at the same networks and batch.
  std::vector<io::EigenvaluePanel> consensus_forms;
  metrics::ModeCoverage coverage;
  double seconds = 0;
};

std::vector<Index> sizes(const Settings& s, Index inputs, Index outputs) {
  std::vector<Index> v{inputs};
  for (Index l = 0; l < s.layers; ++l) v.push_back(s.hidden);
  v.push_back(outputs);
  return v;
}

template <class Policy>
Outcome run(const std::string& method, const Policy& policy, const Settings& s) {
  gantry::Rng rng(s.seed);
  nn::Mlp<double> generator(sizes(s, s.latent, 2), nn::Activation::relu());
  nn::Mlp<double> critic(sizes(s, 2, 1), nn::Activation::relu());
  generator.initialize(nn::InitScheme::torch_default, rng);
  critic.initialize(nn::InitScheme::torch_default, rng);
  optim::RmspropOptions rmsprop;
  rmsprop.learning_rate = s.learning_rate;
  train::TrainerOptions options;
  options.schedule = train::Schedule::simultaneous;
  options.n_critic = 1;
  options.batch_size = s.batch;
  options.seed = s.seed;
  const data::EightGaussians<double> mixture;
  auto trainer = train::make_trainer(policy, generator, critic, mixture, data::GaussianNoise<double>(s.latent),
                                     optim::Rmsprop<double>(rmsprop), optim::Rmsprop<double>(rmsprop), options);

  train::SpectrumLoggerOptions log;
  log.every = s.every;
  log.leading_count = s.leading;
  log.full_max_parameters = s.full ? 1 << 20 : 0;
  log.full_every = std::max<Index>(1, s.iterations / s.every / 2);  // records 0, R/2 and R: start, middle, end
  log.batch_size = s.spectrum_batch;
  log.arnoldi.max_restarts = 300;
  log.csv_path = s.out + "/spectrum_" + method + ".csv";
  log.json_path = s.out + "/spectrum_" + method + ".json";
  train::SpectrumLogger logger(log);
  const auto start = std::chrono::steady_clock::now();
  trainer.fit(s.iterations, logger);
  Outcome outcome;
  outcome.method = method;
  outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  outcome.records = logger.records();
  outcome.coverage = metrics::mode_coverage(trainer.generate(2000), mixture.centers(), mixture.stddev());
  if constexpr (Policy::has_consensus) {
    if (s.full) {
      const metrics::FullSpectrumOptions any_size{1 << 20};
      metrics::GameJacobian objective(gantry::Policy<typename Policy::objective_type>(policy.objective),
                                      trainer.generator(), trainer.critic(), logger.batch());
      metrics::GameJacobianOptions paper;
      paper.consensus = metrics::ConsensusJacobian::paper;
      metrics::GameJacobian paper_form(policy, trainer.generator(), trainer.critic(), logger.batch(), paper);
      outcome.consensus_forms = {
          {"J of the objective", metrics::full_spectrum(objective, any_size)},
          {"J - gamma J^T J", metrics::full_spectrum(paper_form, any_size)},
          {"exact J of the consensus field", outcome.records.back().full}};
      if (outcome.records.back().iteration != s.iterations || outcome.records.back().full.empty()) {
        metrics::GameJacobian exact(policy, trainer.generator(), trainer.critic(), logger.batch());
        outcome.consensus_forms.back().eigenvalues = metrics::full_spectrum(exact, any_size);
      }
    }
  }
  return outcome;
}

void write_figures(const std::vector<Outcome>& outcomes, const Settings& s) {
  for (const Outcome& o : outcomes) {
    std::vector<io::EigenvaluePanel> panels;
    for (const auto& r : o.records)
      if (!r.full.empty()) panels.push_back({fmt::format("iteration {}", r.iteration), r.full});
    if (panels.empty()) continue;
    io::EigenvaluePanelsOptions options;
    options.title = fmt::format("{}: eigenvalues of the Jacobian (n = {})", o.method, o.records.front().parameters);
    io::eigenvalue_panels_svg(s.out + "/eigenvalues_" + o.method + ".svg", panels, options);
  }
  for (const Outcome& o : outcomes) {
    if (o.consensus_forms.empty()) continue;
    io::EigenvaluePanelsOptions options;
    options.title = fmt::format("consensus, iteration {}: three matrices at the same point", s.iterations);
    options.shared_axes = false;
    io::eigenvalue_panels_svg(s.out + "/consensus_forms.svg", o.consensus_forms, options);
    for (const auto& panel : o.consensus_forms) {
      const metrics::SpectrumSummary summary = metrics::summarize_spectrum(panel.eigenvalues);
      fmt::print("consensus end, {:<31} max Re {:>10.3e}  max |l| {:>10.3e}  max |Im/Re| {:>10.3e}\n", panel.title,
                 summary.max_real, summary.max_modulus, summary.max_imag_over_real);
    }
  }
  std::vector<io::Series> real_part, ratio;
  for (const Outcome& o : outcomes) {
    io::Series re{o.method, {}, {}, ""}, im_re{o.method, {}, {}, ""};
    for (const auto& r : o.records) {
      double max_real = -INFINITY;
      for (const auto& e : r.largest_real) max_real = std::max(max_real, e.real());
      re.x.push_back(static_cast<double>(r.iteration));
      re.y.push_back(std::isfinite(max_real) ? max_real : NAN);
      im_re.x.push_back(static_cast<double>(r.iteration));
      im_re.y.push_back(metrics::summarize_spectrum(r.largest_modulus).max_imag_over_real);
    }
    real_part.push_back(re);
    ratio.push_back(im_re);
  }
  io::CurvesOptions re_options;
  re_options.title = "largest real part of an eigenvalue of J";
  re_options.x_label = "iteration";
  io::curves_svg(s.out + "/max_real.svg", real_part, re_options);
  io::CurvesOptions ratio_options;
  ratio_options.title = "largest |Im/Re| among the eigenvalues of largest modulus";
  ratio_options.x_label = "iteration";
  ratio_options.log_y = true;
  io::curves_svg(s.out + "/imag_over_real.svg", ratio, ratio_options);
}

}  // namespace

int main(int argc, char** argv) {
  const Settings s = parse(argc, argv);
  std::filesystem::create_directories(s.out);
  std::vector<Outcome> outcomes;
  const auto wanted = [&](const char* m) { return s.only.empty() || s.only == m; };
  if (wanted("simgd")) outcomes.push_back(run("simgd", gantry::NonSaturating{}, s));
  if (wanted("consensus"))
    outcomes.push_back(run("consensus", gantry::Consensus(loss::NonSaturating{}, loss::Consensus{s.consensus_gamma}), s));
  if (wanted("r1"))
    outcomes.push_back(
        run("r1", gantry::ZeroCenteredGp(loss::NonSaturating{}, loss::ZeroCenteredPenalty{s.r1_gamma}), s));
  write_figures(outcomes, s);

  fmt::print("{:<10} {:>6} {:>10} {:>12} {:>12} {:>12} {:>10} {:>7} {:>8}  {}\n", "method", "iter", "|v|",
             "max Re(full)", "max Re(lead)", "max|Im/Re|", "max |l|", "modes", "seconds", "verdict");
  for (const Outcome& o : outcomes) {
    for (const auto& r : o.records) {
      if (r.full.empty() && &r != &o.records.back()) continue;
      double lead_re = -INFINITY;
      for (const auto& e : r.largest_real) lead_re = std::max(lead_re, e.real());
      const metrics::SpectrumSummary lead = metrics::summarize_spectrum(r.largest_modulus);
      const bool last = &r == &o.records.back();
      const double v0 = o.records.front().field_norm;
      std::string verdict;
      if (last) {
        if (o.coverage.modes_covered < o.coverage.modes)
          verdict = fmt::format("{} of {} modes", o.coverage.modes_covered, o.coverage.modes);
        else if (r.field_norm <= 0.05 * v0)
          verdict = "converged (|v| <= 5% of start, all modes)";
        else
          verdict = "all modes, not converged (|v| > 5% of start)";
      }
      fmt::print("{:<10} {:>6} {:>10.3e} {:>12.3e} {:>12.3e} {:>12.3e} {:>10.3e} {:>7} {:>8.1f}  {}\n", o.method,
                 r.iteration, r.field_norm, r.full.empty() ? NAN : r.summary.max_real, lead_re,
                 lead.max_imag_over_real, lead.max_modulus,
                 last ? fmt::format("{}/{}", o.coverage.modes_covered, o.coverage.modes) : "", last ? o.seconds : NAN,
                 verdict);
    }
  }
  fmt::print("figures and logs in {}/\n", s.out);
  return 0;
}
