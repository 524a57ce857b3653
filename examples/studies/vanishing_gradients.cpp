// SPDX-License-Identifier: MIT
// studies vanishing-gradients: Arjovsky & Bottou 2017, "Towards principled methods for training GANs", figures 1-3.
// A non-saturating GAN is trained on a toy distribution; its generator is saved at several stages. For each stage
// the generator is frozen, a discriminator is re-initialized and trained alone from scratch, and every few of its
// steps the study measures on fresh batches: the discriminator's loss and accuracy, and the norm of the
// generator's parameter gradient under the minimax loss E log(1 - D(G(z))) and under the non-saturating loss
// -E log D(G(z)), both from the trainer's own evaluator. Then the same with instance noise (the paper's remedy,
// section 4): the discriminator trains on noisy samples and the generator's gradients are taken through them.

#include "cli.hpp"
#include "toy.hpp"

#include <gantry/io/plot_panels.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/core.h>

namespace studies {
namespace {

namespace nn = gantry::nn;
namespace train = gantry::train;
namespace io = gantry::io;
namespace loss = gantry::loss;
using Scalar = float;

struct Settings {
  std::string dataset = "8gaussians";
  std::vector<Index> stages{0, 500, 2000};
  Index discriminator_steps = 4000;
  Index record_every = 20;
  Index width = 128;
  Index depth = 3;
  Index batch = 256;
  double lr_pretrain = 1e-4;
  double lr_discriminator = 1e-4;
  Index measure_batches = 4;
  std::vector<double> noise_sigmas{0.2, 1.0};
  std::uint64_t seed = 1;
  std::string out = "studies-out/vanishing-gradients";
  Index threads = 0;
  bool quick = false;
};

using Data = ToyData<Scalar>;

nn::Mlp<Scalar> network(const Settings& s, Index inputs, Index outputs, gantry::Rng& rng) {
  return relu_network<Scalar>(inputs, s.width, s.depth, outputs, rng);
}

/// Mean, standard deviation, smallest and largest of the measurements at one discriminator step.
struct Spread {
  double mean = 0, stddev = 0, min = 0, max = 0;
  static Spread of(const std::vector<double>& v) {
    Spread s;
    s.min = *std::min_element(v.begin(), v.end());
    s.max = *std::max_element(v.begin(), v.end());
    for (const double x : v) s.mean += x;
    s.mean /= static_cast<double>(v.size());
    for (const double x : v) s.stddev += (x - s.mean) * (x - s.mean);
    s.stddev = std::sqrt(s.stddev / static_cast<double>(v.size()));
    return s;
  }
};

/// What one run (one generator stage, one noise level) records at every measured discriminator step.
struct Curves {
  Index stage = 0;
  double sigma = 0;  ///< instance noise; 0 = none
  double generator_w1 = 0;
  std::optional<gantry::metrics::ModeCoverage> coverage;  ///< of the frozen generator, on 8 Gaussians
  std::vector<double> step;
  std::vector<Spread> minimax, non_saturating;  ///< |grad_theta L_G| under each generator loss
  std::vector<double> loss, accuracy, accuracy_real, accuracy_fake;
};

/// Freezes `generator`, trains a fresh discriminator for s.discriminator_steps steps and measures every
/// s.record_every steps (and before the first). With `sigma` > 0 the discriminator sees instance noise.
template <bool Noisy>
Curves train_discriminator(const nn::Mlp<Scalar>& generator, const Data& data, double sigma, const Settings& s,
                           std::uint64_t seed, StudyProgress& progress) {
  using Minimax = std::conditional_t<Noisy, gantry::Policy<loss::Minimax, loss::InstanceNoise>, gantry::Vanilla>;
  using NonSaturating =
      std::conditional_t<Noisy, gantry::Policy<loss::NonSaturating, loss::InstanceNoise>, gantry::NonSaturating>;
  Minimax minimax;
  NonSaturating non_saturating;
  if constexpr (Noisy) {
    minimax.template regularizer<loss::InstanceNoise>().sigma = sigma;
    non_saturating.template regularizer<loss::InstanceNoise>().sigma = sigma;
  }
  gantry::Rng init(derive_seed(seed, 0));
  train::TrainerOptions options;
  options.batch_size = s.batch;
  options.n_critic = s.record_every;  // one trainer iteration = the steps between two measurements
  options.seed = derive_seed(seed, 1);
  // The discriminator's loss is the same under both generator losses: train it under the non-saturating policy.
  auto trainer = train::make_trainer(non_saturating, generator, network(s, 2, 1, init), data,
                                     gantry::data::GaussianNoise<Scalar>(generator.input_size()),
                                     toy_adam<Scalar>(s.lr_discriminator), Frozen<Scalar>(), options);

  train::Evaluator<Minimax, Scalar> minimax_evaluator;
  train::Evaluator<NonSaturating, Scalar> non_saturating_evaluator;
  train::Batch<Scalar> batch;
  gantry::Vector<Scalar> gradient;
  nn::Tape<Scalar> tape;
  Matrix<Scalar> fake;
  Curves c;
  c.sigma = sigma;
  // Trainer iteration i ends at discriminator step i * record_every.
  const auto measure = [&](const auto&, Index iteration) {
    const Index step = iteration * s.record_every;
    std::vector<double> mm, ns, losses, real_right, fake_right;
    for (Index k = 0; k < s.measure_batches; ++k) {
      trainer.draw_batch(batch);  // as training draws it: with instance noise on both real and fake
      minimax_evaluator.generator_gradient(minimax, trainer.generator(), trainer.critic(), batch, gradient);
      mm.push_back(static_cast<double>(gradient.norm()));
      non_saturating_evaluator.generator_gradient(non_saturating, trainer.generator(), trainer.critic(), batch,
                                                  gradient);
      ns.push_back(static_cast<double>(gradient.norm()));
      // The discriminator's loss and accuracy on the same samples it would be trained on.
      fake = trainer.generator()(batch.z);
      if (batch.fake_noise.size() != 0) fake += batch.fake_noise;
      double l = 0, right_real = 0, right_fake = 0;
      trainer.critic().forward(batch.real, tape);
      for (Index j = 0; j < batch.real.cols(); ++j) {
        const Scalar a = tape.output()(0, j);
        l += static_cast<double>(non_saturating.objective.critic_real(a).value);
        right_real += a > 0 ? 1 : 0;
      }
      trainer.critic().forward(fake, tape);
      for (Index j = 0; j < fake.cols(); ++j) {
        const Scalar a = tape.output()(0, j);
        l += static_cast<double>(non_saturating.objective.critic_fake(a).value);
        right_fake += a < 0 ? 1 : 0;
      }
      const double b = static_cast<double>(batch.real.cols());
      losses.push_back(l / b);
      real_right.push_back(right_real / b);
      fake_right.push_back(right_fake / b);
    }
    c.step.push_back(static_cast<double>(step));
    c.minimax.push_back(Spread::of(mm));
    c.non_saturating.push_back(Spread::of(ns));
    c.loss.push_back(Spread::of(losses).mean);
    c.accuracy_real.push_back(Spread::of(real_right).mean);
    c.accuracy_fake.push_back(Spread::of(fake_right).mean);
    c.accuracy.push_back((c.accuracy_real.back() + c.accuracy_fake.back()) / 2);
  };
  EveryIterations<decltype(measure)> each{1, measure};
  measure(trainer, 0);
  trainer.fit(s.discriminator_steps / s.record_every, each, progress);
  return c;
}

// ---------------------------------------------------------------------------------------------------------------
// The summary the table and the docs quote.

/// The first measured step from which the accuracy stays >= 0.99 to the end; -1 if never.
double settled_step(const Curves& c) {
  double step = -1;
  for (std::size_t k = c.accuracy.size(); k-- > 0;) {
    if (c.accuracy[k] < 0.99) break;
    step = c.step[k];
  }
  return step;
}

/// Orders of magnitude the mean minimax gradient fell from step 0 to the last step (positive: it fell).
double decades_fallen(const std::vector<Spread>& v) { return std::log10(v.front().mean / v.back().mean); }

double largest_mean(const std::vector<Spread>& v) {
  double m = 0;
  for (const Spread& x : v) m = std::max(m, x.mean);
  return m;
}

void write_curves(io::JsonWriter& json, const Curves& c) {
  json.begin_object();
  json.field("stage", c.stage).field("sigma", c.sigma).field("generator_w1", c.generator_w1);
  if (c.coverage)
    json.field("generator_modes_covered", c.coverage->modes_covered)
        .field("generator_high_quality_fraction", c.coverage->high_quality_fraction);
  json.field("step", c.step);
  const auto spread = [&](const char* name, const std::vector<Spread>& v) {
    std::vector<double> mean, stddev, lo, hi;
    for (const Spread& x : v) {
      mean.push_back(x.mean);
      stddev.push_back(x.stddev);
      lo.push_back(x.min);
      hi.push_back(x.max);
    }
    json.key(name).begin_object();
    json.field("mean", mean).field("stddev", stddev).field("min", lo).field("max", hi);
    json.end_object();
  };
  spread("minimax_gradient_norm", c.minimax);
  spread("non_saturating_gradient_norm", c.non_saturating);
  json.field("discriminator_loss", c.loss).field("accuracy", c.accuracy);
  json.field("accuracy_real", c.accuracy_real).field("accuracy_fake", c.accuracy_fake);
  json.key("summary").begin_object();
  json.field("minimax_first", c.minimax.front().mean).field("minimax_last", c.minimax.back().mean);
  json.field("minimax_decades_fallen", decades_fallen(c.minimax));
  json.field("non_saturating_first", c.non_saturating.front().mean);
  json.field("non_saturating_last", c.non_saturating.back().mean);
  json.field("non_saturating_max", largest_mean(c.non_saturating));
  json.field("accuracy_last", c.accuracy.back()).field("loss_last", c.loss.back());
  json.field("accuracy_settled_step", settled_step(c));
  json.end_object();
  json.end_object();
}

/// One panel of a quantity over discriminator steps, one curve per run, the min-max band over batches.
io::Panel spread_panel(std::string title, std::string y_label, const std::vector<Curves>& runs,
                       const std::vector<Spread> Curves::*quantity, const std::vector<std::string>& names) {
  io::Panel p;
  p.title = std::move(title);
  p.x_label = "discriminator step";
  p.y_label = std::move(y_label);
  p.log_y = true;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    io::PanelSeries series;
    series.name = names[r];
    series.x = runs[r].step;
    for (const Spread& x : runs[r].*quantity) {
      series.y.push_back(x.mean);
      series.lower.push_back(x.min);
      series.upper.push_back(x.max);
    }
    p.series.push_back(std::move(series));
  }
  return p;
}

io::Panel line_panel(std::string title, std::string y_label, bool log_y, const std::vector<Curves>& runs,
                     const std::vector<double> Curves::*quantity, const std::vector<std::string>& names) {
  io::Panel p;
  p.title = std::move(title);
  p.x_label = "discriminator step";
  p.y_label = std::move(y_label);
  p.log_y = log_y;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    io::PanelSeries series;
    series.name = names[r];
    series.x = runs[r].step;
    series.y = runs[r].*quantity;
    p.series.push_back(std::move(series));
  }
  return p;
}

void print_table(const std::vector<Curves>& runs) {
  fmt::print("{:>6} {:>6} {:>8} {:>5} | {:>9} {:>9} {:>7} | {:>9} {:>9} {:>9} | {:>8} {:>9} {:>8}\n", "stage",
             "sigma", "G W1", "modes", "mm first", "mm last", "decades", "ns first", "ns last", "ns max", "D acc", "D loss", "acc>=.99");
  for (const Curves& c : runs)
    fmt::print("{:>6} {:>6g} {:>8.4f} {:>5} | {:>9} {:>9} {:>7.2f} | {:>9} {:>9} {:>9} | {:>8.4f} {:>9} {:>8g}\n",
               c.stage, c.sigma, c.generator_w1,
               c.coverage ? fmt::format("{}/{}", c.coverage->modes_covered, c.coverage->modes) : "-", sci(c.minimax.front().mean), sci(c.minimax.back().mean),
               decades_fallen(c.minimax), sci(c.non_saturating.front().mean), sci(c.non_saturating.back().mean),
               sci(largest_mean(c.non_saturating)), c.accuracy.back(), sci(c.loss.back()), settled_step(c));
}

void describe(Flags& flags, Settings& s) {
  flags.set_description(
      "Trains a non-saturating GAN (Adam, betas (0.5, 0.9), one discriminator step per generator step) and keeps its\n"
      "generator at each of --stages iterations. For each stage: freezes it, trains a freshly initialized\n"
      "discriminator alone for --discriminator-steps steps, and every --record-every steps measures on\n"
      "--measure-batches fresh batches the discriminator's loss and accuracy and the norm of the generator's\n"
      "gradient under the minimax and the non-saturating generator loss. Then the same with instance noise of\n"
      "each --noise-sigmas. Writes into --out:\n"
      "  vanishing_gradients.svg       gradient norms (log axis) and accuracy over discriminator steps, per stage\n"
      "  instance_noise.svg            the same with instance noise, one row per sigma\n"
      "  vanishing_gradients.json      settings, every curve, and the summary the docs quote\n");
  flags.choice("--dataset", "8gaussians or swissroll (default 8gaussians)", s.dataset, {"8gaussians", "swissroll"});
  flags.integers("--stages", "generator iterations of the GAN before each freeze (default 0,500,2000)", s.stages, 0,
                 10000000);
  flags.integer("--discriminator-steps", "discriminator steps from scratch per stage, a multiple of --record-every "
                "(default 4000)", s.discriminator_steps, 1, 10000000);
  flags.integer("--record-every", "discriminator steps between two measurements (default 20)", s.record_every, 1,
                1000000);
  flags.integer("--width", "units per hidden layer, generator and discriminator (default 128)", s.width, 1, 4096);
  flags.integer("--depth", "hidden ReLU layers of each network (default 3)", s.depth, 0, 64);
  flags.integer("--batch", "samples per batch (default 256)", s.batch, 1, 1000000);
  flags.number("--lr-pretrain", "Adam learning rate of both players while the GAN trains (default 1e-4)",
               s.lr_pretrain, positive, "a number > 0");
  flags.number("--lr-discriminator", "Adam learning rate of the discriminator trained from scratch (default 1e-4)",
               s.lr_discriminator, positive, "a number > 0");
  flags.integer("--measure-batches", "fresh batches per measurement, for the mean and the spread (default 4)",
                s.measure_batches, 1, 100000);
  flags.numbers("--noise-sigmas", "instance-noise standard deviations of the remedy; 0 alone = no remedy runs "
                "(default 0.2,1)", s.noise_sigmas, nonnegative, "numbers >= 0", true);
  flags.common(s.seed, s.out, s.threads, [&s] {
    s.quick = true;
    s.stages = {0, 100};
    s.discriminator_steps = 200;
    s.record_every = 10;
    s.lr_discriminator = 1e-3;  // so that even this short run shows the minimax gradient falling
    s.width = 32;
    s.batch = 64;
    s.measure_batches = 2;
    s.noise_sigmas = {1.0};
  }, "stages 0,100, 200 discriminator steps at learning rate 1e-3, width 32, batch 64, one noise level: seconds (the ctest); flags "
     "after it still apply");
}

}  // namespace

int vanishing_gradients_main(const std::vector<std::string>& args) {
  Settings s;
  Flags flags("vanishing-gradients",
              "Vanishing and unstable generator gradients against a better and better discriminator\n"
              "(Arjovsky & Bottou 2017, figures 1-3), and instance noise as the remedy.");
  describe(flags, s);
  if (!flags.parse(args)) return 0;
  if (s.discriminator_steps % s.record_every != 0)
    throw UsageError{fmt::format("studies vanishing-gradients: bad value for --discriminator-steps: '{}' (expected a "
                                 "multiple of --record-every {})", s.discriminator_steps, s.record_every)};
  std::vector<double> sigmas;
  for (const double sigma : s.noise_sigmas)
    if (sigma > 0) sigmas.push_back(sigma);
  if (s.threads > 0) gantry::set_thread_count(static_cast<int>(s.threads));
  const OutputDirectory out(s.out);

  const Data data(s.dataset);
  constexpr Index noise_dimension = 2;
  const Index runs_per_stage = 1 + static_cast<Index>(sigmas.size());
  // Progress in discriminator steps (a GAN iteration is one discriminator and one generator step).
  const Index total = s.stages.back() + static_cast<Index>(s.stages.size()) * runs_per_stage * s.discriminator_steps;
  fmt::print(stderr,
             "studies vanishing-gradients: {} stages up to {} GAN iterations, {} discriminator steps each, {} noise "
             "level(s), width {}, depth {}, batch {}, seed {}\n",
             s.stages.size(), s.stages.back(), s.discriminator_steps, sigmas.size(), s.width, s.depth, s.batch, s.seed);
  StudyProgress progress("vanishing-gradients", total);

  // The GAN whose generator is frozen at each stage.
  gantry::Rng init(derive_seed(s.seed, 0));
  train::TrainerOptions options;
  options.batch_size = s.batch;
  options.n_critic = 1;
  options.seed = derive_seed(s.seed, 1);
  auto gan = train::make_trainer(gantry::NonSaturating{}, network(s, noise_dimension, 2, init), network(s, 2, 1, init),
                                 data, gantry::data::GaussianNoise<Scalar>(noise_dimension), toy_adam<Scalar>(s.lr_pretrain),
                                 toy_adam<Scalar>(s.lr_pretrain), options);
  gantry::Rng eval_rng(derive_seed(s.seed, 2));
  constexpr Index w1_samples = 500;
  Matrix<Scalar> real(2, w1_samples), z(noise_dimension, w1_samples);
  data.sample(real, eval_rng);
  gan.noise_sampler().sample(z, eval_rng);

  std::vector<Curves> plain, noisy;
  for (std::size_t k = 0; k < s.stages.size(); ++k) {
    progress.set_units_per_iteration(1);
    gan.fit(s.stages[k] - gan.iteration(), progress);
    progress.set_units_per_iteration(s.record_every);
    const Matrix<Scalar> fake = gan.generator()(z);
    const double w1 = gantry::metrics::wasserstein1(fake, real);
    std::optional<gantry::metrics::ModeCoverage> coverage;
    if (const auto* mixture = data.mixture())
      coverage = gantry::metrics::mode_coverage(fake, mixture->centers(), mixture->stddev());
    const std::uint64_t stage_seed = derive_seed(s.seed, 100 + k);
    plain.push_back(train_discriminator<false>(gan.generator(), data, 0.0, s, stage_seed, progress));
    plain.back().stage = s.stages[k];
    plain.back().generator_w1 = w1;
    plain.back().coverage = coverage;
    for (const double sigma : sigmas) {
      noisy.push_back(train_discriminator<true>(gan.generator(), data, sigma, s, stage_seed, progress));
      noisy.back().stage = s.stages[k];
      noisy.back().generator_w1 = w1;
      noisy.back().coverage = coverage;
    }
  }
  progress.finish();
  const double seconds = progress.seconds();

  std::vector<Curves> all = plain;
  all.insert(all.end(), noisy.begin(), noisy.end());
  print_table(all);

  std::vector<std::string> stage_names;
  for (const Curves& c : plain) stage_names.push_back(fmt::format("G after {} iterations", c.stage));
  io::PanelFigureOptions figure;
  figure.columns = 2;
  figure.panel_height = 360;
  figure.title = fmt::format("{}: discriminator trained from scratch against a frozen generator (seed {})", s.dataset,
                             s.seed);
  io::panels_svg(out.file("vanishing_gradients.svg"),
                 {spread_panel("minimax: |grad L_G|, L_G = E log(1 - D(G(z)))", "gradient norm", plain,
                               &Curves::minimax, stage_names),
                  spread_panel("non-saturating: |grad L_G|, L_G = -E log D(G(z))", "gradient norm", plain,
                               &Curves::non_saturating, stage_names),
                  line_panel("discriminator accuracy (real and fake)", "accuracy", false, plain, &Curves::accuracy,
                             stage_names),
                  line_panel("discriminator loss", "loss", true, plain, &Curves::loss, stage_names)},
                 figure);
  if (!sigmas.empty()) {
    std::vector<io::Panel> panels;
    for (std::size_t n = 0; n < sigmas.size(); ++n) {
      std::vector<Curves> runs;
      for (std::size_t k = 0; k < s.stages.size(); ++k) runs.push_back(noisy[k * sigmas.size() + n]);
      // The noiseless minimax curves dotted beside the noisy ones: the remedy against what it remedies.
      io::Panel mm = spread_panel(fmt::format("minimax |grad L_G|, instance noise sigma {:g}", sigmas[n]),
                                  "gradient norm", runs, &Curves::minimax, stage_names);
      for (std::size_t k = 0; k < plain.size(); ++k) {
        io::PanelSeries without{k == 0 ? "dotted: the same stage without noise" : "", plain[k].step, {}, {}, {},
                                io::detail::palette_color(k), io::LineStyle::dotted, false};
        for (const Spread& x : plain[k].minimax) without.y.push_back(x.mean);
        mm.series.push_back(std::move(without));
      }
      panels.push_back(std::move(mm));
      panels.push_back(line_panel(fmt::format("discriminator accuracy, sigma {:g}", sigmas[n]), "accuracy", false,
                                  runs, &Curves::accuracy, stage_names));
    }
    figure.title = fmt::format("{}: the same with instance noise on real and fake samples (seed {})", s.dataset,
                               s.seed);
    io::panels_svg(out.file("instance_noise.svg"), panels, figure);
  }

  io::JsonWriter json;
  begin_record(json, "vanishing-gradients", s.seed, s.quick);
  json.field("seconds", seconds);
  json.key("settings").begin_object();
  json.field("dataset", s.dataset).field("stages", s.stages).field("discriminator_steps", s.discriminator_steps);
  json.field("record_every", s.record_every).field("width", s.width).field("depth", s.depth);
  json.field("batch", s.batch).field("lr_pretrain", s.lr_pretrain).field("lr_discriminator", s.lr_discriminator);
  json.field("adam_beta1", 0.5).field("adam_beta2", 0.9).field("measure_batches", s.measure_batches);
  json.field("noise_sigmas", sigmas).field("scalar", "float").field("w1_samples", w1_samples);
  json.end_object();
  json.key("runs").begin_array();
  for (const Curves& c : plain) write_curves(json, c);
  json.end_array();
  json.key("instance_noise_runs").begin_array();
  for (const Curves& c : noisy) write_curves(json, c);
  json.end_array();
  json.key("files").value(sigmas.empty() ? std::vector<std::string>{"vanishing_gradients.svg",
                                                                    "vanishing_gradients.json"}
                                         : std::vector<std::string>{"vanishing_gradients.svg", "instance_noise.svg",
                                                                    "vanishing_gradients.json"});
  json.end_object();
  json.save(out.file("vanishing_gradients.json"));
  fmt::print("{:.1f} s; wrote {}{}, {}\n", seconds, out.file("vanishing_gradients.svg"),
             sigmas.empty() ? "" : ", " + out.file("instance_noise.svg"), out.file("vanishing_gradients.json"));
  return 0;
}

}  // namespace studies
