// SPDX-License-Identifier: MIT
// studies annealing: instance noise with annealing (Arjovsky & Bottou 2017, section 4; Sonderby et al. 2016). The
// same GAN is trained four times from the same initialization: without noise, with a fixed sigma, and with sigma
// annealed to 0 linearly and exponentially (train::ValueSchedule in InstanceNoise's sigma_schedule). Every few
// iterations: exact W1 to the data, mode coverage, and the norm of the gradient the generator trains with.

#include "cli.hpp"
#include "toy.hpp"

#include <gantry/io/plot_panels.hpp>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include <fmt/core.h>

namespace studies {
namespace {

namespace train = gantry::train;
namespace io = gantry::io;
namespace loss = gantry::loss;
using Scalar = float;

struct Settings {
  std::string dataset = "8gaussians";
  std::string generator_loss = "minimax";
  Index iterations = 3000;
  double sigma = 0.5;
  double anneal_fraction = 2.0 / 3.0;  ///< sigma reaches 0 (linear) or 1 % of sigma (exponential) at this share
  Index n_critic = 2;
  Index width = 128;
  Index depth = 3;
  Index batch = 256;
  double learning_rate = 1e-4;
  Index eval_every = 100;
  Index eval_samples = 500;
  std::uint64_t seed = 1;
  std::string out = "studies-out/annealing";
  Index threads = 0;
  bool quick = false;

  Index anneal_iterations() const {
    return std::max<Index>(1, static_cast<Index>(std::llround(anneal_fraction * static_cast<double>(iterations))));
  }
};

struct Run {
  std::string name;
  std::optional<train::ValueSchedule> noise;  ///< none: no instance noise at all
  std::vector<double> iteration, sigma, w1, high_quality, modes, gradient_norm;
  double final_w1 = 0, final_high_quality = 0;
  Index final_modes = 0, modes_total = 0;
};

/// The runs: the same GAN without noise, with fixed sigma, with sigma annealed linearly and exponentially.
std::vector<Run> plan(const Settings& s) {
  const Index t = s.anneal_iterations();
  // decay^t = 1 %: sigma is a hundredth of its start where the linear schedule reaches 0.
  const double decay = std::pow(0.01, 1.0 / static_cast<double>(t));
  return {{"no noise", std::nullopt, {}, {}, {}, {}, {}, {}, 0, 0, 0, 0},
          {fmt::format("fixed sigma {:g}", s.sigma), train::ValueSchedule::constant(s.sigma), {}, {}, {}, {}, {}, {}, 0,
           0, 0, 0},
          {fmt::format("linear {:g} -> 0 by {}", s.sigma, t), train::ValueSchedule::linear(s.sigma, 0.0, t), {}, {},
           {}, {}, {}, {}, 0, 0, 0, 0},
          {fmt::format("exponential {:g} x {:.5f}^t", s.sigma, decay), train::ValueSchedule::exponential(s.sigma, decay),
           {}, {}, {}, {}, {}, {}, 0, 0, 0, 0}};
}

template <class Objective>
void train_run(Run& run, const Settings& s, const ToyData<Scalar>& data, StudyProgress& progress) {
  // Always the noisy policy: sigma 0 draws zeros, so "no noise" is the same trainer with the noise off, and every
  // run sees the same batches.
  gantry::Policy<Objective, loss::InstanceNoise> policy;
  auto& noise = policy.template regularizer<loss::InstanceNoise>();
  noise.sigma = 0;
  noise.sigma_schedule = run.noise;
  gantry::Rng init(derive_seed(s.seed, 0));
  auto generator = relu_network<Scalar>(2, s.width, s.depth, 2, init);
  auto critic = relu_network<Scalar>(2, s.width, s.depth, 1, init);
  train::TrainerOptions options;
  options.batch_size = s.batch;
  options.n_critic = s.n_critic;
  options.seed = derive_seed(s.seed, 1);
  auto trainer = train::make_trainer(policy, std::move(generator), std::move(critic), data,
                                     gantry::data::GaussianNoise<Scalar>(2), toy_adam<Scalar>(s.learning_rate),
                                     toy_adam<Scalar>(s.learning_rate), options);

  // Fixed evaluation sets: the same real points and latent codes for every run and measurement.
  gantry::Rng eval_rng(derive_seed(s.seed, 2));
  Matrix<Scalar> real(2, s.eval_samples), z(2, s.eval_samples);
  data.sample(real, eval_rng);
  trainer.noise_sampler().sample(z, eval_rng);
  train::Batch<Scalar> batch;
  const auto measure = [&](auto& t, Index iteration) {
    const Matrix<Scalar> fake = t.generator()(z);
    run.iteration.push_back(static_cast<double>(iteration));
    // The sigma the last iteration trained with (the schedule at t = iteration - 1).
    run.sigma.push_back(run.noise ? run.noise->at(std::max<Index>(iteration - 1, 0)) : 0.0);
    run.w1.push_back(gantry::metrics::wasserstein1(fake, real));
    if (const auto* mixture = data.mixture()) {
      const auto coverage = gantry::metrics::mode_coverage(fake, mixture->centers(), mixture->stddev());
      run.high_quality.push_back(coverage.high_quality_fraction);
      run.modes.push_back(static_cast<double>(coverage.modes_covered));
      run.final_modes = coverage.modes_covered;
      run.modes_total = coverage.modes;
      run.final_high_quality = coverage.high_quality_fraction;
    }
    t.draw_batch(batch);  // with the noise of the iteration just trained
    run.gradient_norm.push_back(static_cast<double>(t.evaluate(batch).generator_gradient.norm()));
    run.final_w1 = run.w1.back();
  };
  measure(trainer, 0);
  EveryIterations<decltype(measure)> every{s.eval_every, measure};
  trainer.fit(s.iterations, every, progress);
}

io::Panel over_iterations(std::string title, std::string y_label, bool log_y, const std::vector<Run>& runs,
                          const std::vector<double> Run::*quantity) {
  io::Panel p;
  p.title = std::move(title);
  p.x_label = "generator iteration";
  p.y_label = std::move(y_label);
  p.log_y = log_y;
  for (const Run& r : runs) {
    io::PanelSeries series;
    series.name = r.name;
    series.x = r.iteration;
    series.y = r.*quantity;
    p.series.push_back(std::move(series));
  }
  return p;
}

void describe(Flags& flags, Settings& s) {
  flags.set_description(
      "Trains the same GAN (3 hidden ReLU layers of --width, Adam with betas (0.5, 0.9)) four times from the same\n"
      "initialization and batches: without instance noise, with a fixed --sigma, and with sigma annealed to 0 by\n"
      "--anneal-fraction of the run, linearly and exponentially (to 1 % of --sigma there). Every --eval-every\n"
      "iterations it measures the exact W1 to the data and the mode coverage on --eval-samples fixed samples, and\n"
      "the norm of the generator's gradient on a fresh batch. Writes into --out:\n"
      "  annealing.svg    sigma, W1, high-quality fraction and generator gradient norm over the iterations\n"
      "  annealing.json   settings, every curve and the final values\n");
  flags.choice("--dataset", "8gaussians, 25gaussians or swissroll (default 8gaussians)", s.dataset,
               {"8gaussians", "25gaussians", "swissroll"});
  flags.choice("--loss", "the generator's loss: minimax (E log(1 - D(G(z))), where noise matters most) or "
               "nonsaturating (default minimax)", s.generator_loss, {"minimax", "nonsaturating"});
  flags.integer("--iterations", "generator iterations of each run (default 3000)", s.iterations, 1, 100000000);
  flags.number("--sigma", "the noise's standard deviation at the start (default 0.5)", s.sigma, positive,
               "a number > 0");
  flags.number("--anneal-fraction", "share of the run after which annealed noise is gone (default 0.667)",
               s.anneal_fraction, [](double x) { return x > 0 && x <= 1; }, "a number in (0, 1]");
  flags.integer("--n-critic", "discriminator steps per generator step (default 2)", s.n_critic, 1, 1000);
  flags.integer("--width", "units per hidden layer, both networks (default 128)", s.width, 1, 4096);
  flags.integer("--depth", "hidden layers of each network (default 3)", s.depth, 0, 64);
  flags.integer("--batch", "samples per batch (default 256)", s.batch, 1, 1000000);
  flags.number("--lr", "Adam learning rate of both players (default 1e-4)", s.learning_rate, positive,
               "a number > 0");
  flags.integer("--eval-every", "iterations between two measurements (default 100)", s.eval_every, 1, 100000000);
  flags.integer("--eval-samples", "samples for W1 and coverage; exact W1 is O(N^3) (default 500)", s.eval_samples, 2,
                5000);
  flags.common(s.seed, s.out, s.threads, [&s] {
    s.quick = true;
    s.iterations = 100;
    s.width = 32;
    s.batch = 64;
    s.eval_every = 20;
    s.eval_samples = 200;
  }, "100 iterations at width 32, batch 64, measured every 20 on 200 samples: seconds (the ctest); flags after it "
     "still apply");
}

}  // namespace

int annealing_main(const std::vector<std::string>& args) {
  Settings s;
  Flags flags("annealing", "Instance noise, fixed or annealed to 0 with a schedule (Arjovsky & Bottou 2017, section 4).");
  describe(flags, s);
  if (!flags.parse(args)) return 0;
  check_eval_every("annealing", s.eval_every, s.iterations);
  if (s.threads > 0) gantry::set_thread_count(static_cast<int>(s.threads));
  const OutputDirectory out(s.out);
  const ToyData<Scalar> data(s.dataset);
  std::vector<Run> runs = plan(s);
  fmt::print(stderr, "studies annealing: {} GAN on {}, {} runs of {} iterations, sigma {:g}, width {}, seed {}\n",
             s.generator_loss, s.dataset, runs.size(), s.iterations, s.sigma, s.width, s.seed);
  StudyProgress progress("annealing", static_cast<Index>(runs.size()) * s.iterations);
  for (Run& run : runs) {
    if (s.generator_loss == "minimax") train_run<loss::Minimax>(run, s, data, progress);
    else train_run<loss::NonSaturating>(run, s, data, progress);
  }
  progress.finish();
  const double seconds = progress.seconds();

  // The table: final values, and the best W1 over the run.
  fmt::print("{:<34} {:>9} {:>9} {:>7} {:>7} {:>12}\n", "run", "final W1", "best W1", "modes", "hq", "|grad G| end");
  for (const Run& r : runs)
    fmt::print("{:<34} {:>9.4f} {:>9.4f} {:>7} {:>7.3f} {:>12}\n", r.name, r.final_w1,
               *std::min_element(r.w1.begin(), r.w1.end()),
               r.modes_total > 0 ? fmt::format("{}/{}", r.final_modes, r.modes_total) : "-", r.final_high_quality,
               sci(r.gradient_norm.back()));

  std::vector<io::Panel> panels{over_iterations("instance-noise sigma", "sigma", false, runs, &Run::sigma),
                                over_iterations("exact W1 to the data", "W1", true, runs, &Run::w1),
                                over_iterations("generator gradient norm |grad L_G|", "gradient norm", true, runs,
                                                &Run::gradient_norm)};
  if (data.mixture())
    panels.insert(panels.begin() + 2,
                  over_iterations("high-quality fraction (within 3 sd of a mode)", "fraction", false, runs,
                                  &Run::high_quality));
  io::PanelFigureOptions figure;
  figure.title = fmt::format("{} GAN on {}, n-critic {}: instance noise fixed and annealed (seed {})", s.generator_loss,
                             s.dataset, s.n_critic, s.seed);
  figure.panel_height = 360;
  io::panels_svg(out.file("annealing.svg"), panels, figure);

  io::JsonWriter json;
  begin_record(json, "annealing", s.seed, s.quick);
  json.field("seconds", seconds);
  json.key("settings").begin_object();
  json.field("dataset", s.dataset).field("generator_loss", s.generator_loss).field("iterations", s.iterations);
  json.field("sigma", s.sigma).field("anneal_iterations", s.anneal_iterations()).field("n_critic", s.n_critic);
  json.field("width", s.width).field("depth", s.depth).field("batch", s.batch).field("learning_rate", s.learning_rate);
  json.field("adam_beta1", 0.5).field("adam_beta2", 0.9).field("eval_every", s.eval_every);
  json.field("eval_samples", s.eval_samples).field("scalar", "float");
  json.end_object();
  json.key("runs").begin_array();
  for (const Run& r : runs) {
    json.begin_object();
    json.field("name", r.name).field("schedule", r.noise ? r.noise->describe() : std::string("none"));
    json.field("iteration", r.iteration).field("sigma", r.sigma).field("w1", r.w1);
    json.field("gradient_norm", r.gradient_norm);
    if (data.mixture()) json.field("high_quality_fraction", r.high_quality).field("modes_covered", r.modes);
    json.key("final").begin_object();
    json.field("w1", r.final_w1).field("best_w1", *std::min_element(r.w1.begin(), r.w1.end()));
    if (data.mixture())
      json.field("modes_covered", r.final_modes).field("modes", r.modes_total)
          .field("high_quality_fraction", r.final_high_quality);
    json.field("gradient_norm", r.gradient_norm.back());
    json.end_object();
    json.end_object();
  }
  json.end_array();
  json.key("files").value(std::vector<std::string>{"annealing.svg", "annealing.json"});
  json.end_object();
  json.save(out.file("annealing.json"));
  fmt::print("{:.1f} s; wrote {}, {}\n", seconds, out.file("annealing.svg"), out.file("annealing.json"));
  return 0;
}

}  // namespace studies
