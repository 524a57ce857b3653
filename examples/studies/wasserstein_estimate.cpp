// SPDX-License-Identifier: MIT
// studies wasserstein-estimate: Arjovsky, Chintala & Bottou 2017, figures 3-4. The WGAN critic's estimate
// E D(real) - E D(fake) falls as the samples improve and follows their quality; a standard GAN's discriminator loss
// does not. WGAN-GP, WGAN with clipping and a non-saturating GAN train on each dataset; every few iterations the
// study records, on fixed evaluation sets, the critic's estimate, its loss and the exact W1 between generated and
// real samples (next to the real-vs-real baseline), and ranks how well each follows the exact W1.

#include "cli.hpp"
#include "toy.hpp"

#include <gantry/io/plot_panels.hpp>
#include <gantry/metrics/rank_correlation.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include <fmt/core.h>

namespace studies {
namespace {

namespace train = gantry::train;
namespace io = gantry::io;
using Scalar = float;

struct Settings {
  std::vector<std::string> datasets{"8gaussians", "swissroll"};
  std::string dataset_flag = "both";
  Index iterations = 2000;
  Index width = 64;  // three methods on two datasets in a few minutes
  Index depth = 3;
  Index batch = 256;
  Index eval_every = 50;
  Index eval_samples = 500;
  double lambda = 0.1;  // gan_toy.py's weight for the toy problems
  double clip = 0.01;
  std::uint64_t seed = 1;
  std::string out = "studies-out/wasserstein-estimate";
  Index threads = 0;
  bool quick = false;
};

struct Curves {
  std::string method, dataset;
  bool estimates_wasserstein = false;
  std::vector<double> iteration, estimate, critic_loss, w1;
  double baseline = 0;
  double rho_estimate = 0, rho_loss = 0;  ///< Spearman's rho of the estimate and of the critic loss against W1
  /// The estimate's rho from its largest value on: a critic starts at 0 and must first learn to separate, so the
  /// estimate rises before it can follow W1 down (the WGAN reference code's 100 early critic steps hide this).
  double rho_estimate_after_peak = 0;
  double peak_iteration = 0;
};

template <class Policy, class Optimizer>
Curves train_method(const std::string& method, Policy policy, Optimizer critic_optimizer,
                    Optimizer generator_optimizer, Index n_critic, const std::string& dataset, const Settings& s,
                    std::uint64_t seed, StudyProgress& progress) {
  const ToyData<Scalar> data(dataset);
  gantry::Rng init(derive_seed(seed, 0));
  auto generator = relu_network<Scalar>(2, s.width, s.depth, 2, init);
  auto critic = relu_network<Scalar>(2, s.width, s.depth, 1, init);
  train::TrainerOptions options;
  options.batch_size = s.batch;
  options.n_critic = n_critic;
  options.seed = derive_seed(seed, 1);
  auto trainer = train::make_trainer(policy, std::move(generator), std::move(critic), data,
                                     gantry::data::GaussianNoise<Scalar>(2), critic_optimizer, generator_optimizer,
                                     options);
  gantry::Rng eval_rng(derive_seed(seed, 2));
  Matrix<Scalar> real(2, s.eval_samples), z(2, s.eval_samples);
  data.sample(real, eval_rng);
  trainer.noise_sampler().sample(z, eval_rng);

  Curves c;
  c.method = method;
  c.dataset = dataset;
  c.estimates_wasserstein = Policy::objective_type::estimates_wasserstein;
  {
    ToyData<Scalar> baseline_data = data;
    c.baseline = gantry::metrics::real_baseline_wasserstein1(baseline_data, s.eval_samples, eval_rng);
  }
  gantry::nn::Tape<Scalar> tape;
  const auto measure = [&](auto& t, Index iteration) {
    const Matrix<Scalar> fake = t.generator()(z);
    double real_sum = 0, fake_sum = 0, loss = 0;
    t.critic().forward(real, tape);
    for (Index j = 0; j < real.cols(); ++j) {
      const Scalar a = tape.output()(0, j);
      real_sum += static_cast<double>(a);
      loss += static_cast<double>(t.policy().objective.critic_real(a).value);
    }
    t.critic().forward(fake, tape);
    for (Index j = 0; j < fake.cols(); ++j) {
      const Scalar a = tape.output()(0, j);
      fake_sum += static_cast<double>(a);
      loss += static_cast<double>(t.policy().objective.critic_fake(a).value);
    }
    const double n = static_cast<double>(s.eval_samples);
    c.iteration.push_back(static_cast<double>(iteration));
    c.estimate.push_back((real_sum - fake_sum) / n);
    c.critic_loss.push_back(loss / n);
    c.w1.push_back(gantry::metrics::wasserstein1(fake, real));
  };
  measure(trainer, 0);
  EveryIterations<decltype(measure)> every{s.eval_every, measure};
  progress.set_units_per_iteration(n_critic + 1);  // in steps: a WGAN iteration is 6 of them, a GAN's 2
  trainer.fit(s.iterations, every, progress);
  c.rho_estimate = gantry::metrics::spearman_correlation(c.estimate, c.w1);
  c.rho_loss = gantry::metrics::spearman_correlation(c.critic_loss, c.w1);
  const auto peak = static_cast<std::size_t>(std::max_element(c.estimate.begin(), c.estimate.end()) - c.estimate.begin());
  c.peak_iteration = c.iteration[peak];
  c.rho_estimate_after_peak =
      c.estimate.size() - peak >= 3
          ? gantry::metrics::spearman_correlation(std::vector<double>(c.estimate.begin() + static_cast<std::ptrdiff_t>(peak), c.estimate.end()),
                                                  std::vector<double>(c.w1.begin() + static_cast<std::ptrdiff_t>(peak), c.w1.end()))
          : c.rho_estimate;
  return c;
}

std::vector<Curves> run_dataset(const std::string& dataset, const Settings& s, std::uint64_t seed,
                                StudyProgress& progress) {
  gantry::WganGp gp;
  gp.regularizer<gantry::loss::GradientPenalty>().lambda = s.lambda;
  gantry::WganClip clip;
  clip.regularizer<gantry::loss::WeightClipping>().clip = s.clip;
  gantry::optim::RmspropOptions rmsprop;
  rmsprop.learning_rate = 5e-5;  // Arjovsky et al. 2017, algorithm 1
  std::vector<Curves> curves;
  // The same initialization and batches for every method (one seed per dataset).
  curves.push_back(train_method("WGAN-GP", gp, toy_adam<Scalar>(1e-4), toy_adam<Scalar>(1e-4), 5, dataset, s, seed,
                                progress));
  curves.push_back(train_method("WGAN-clip", clip, gantry::optim::Rmsprop<Scalar>(rmsprop),
                                gantry::optim::Rmsprop<Scalar>(rmsprop), 5, dataset, s, seed, progress));
  curves.push_back(train_method("GAN (non-saturating)", gantry::NonSaturating{}, toy_adam<Scalar>(1e-4),
                                toy_adam<Scalar>(1e-4), 1, dataset, s, seed, progress));
  return curves;
}

io::Panel panel(std::string title, std::string y_label, bool log_y, const std::vector<Curves>& runs,
                const std::vector<double> Curves::*quantity) {
  io::Panel p;
  p.title = std::move(title);
  p.x_label = "generator iteration";
  p.y_label = std::move(y_label);
  p.log_y = log_y;
  for (const Curves& c : runs) p.series.push_back({c.method, c.iteration, c.*quantity, {}, {}, "", io::LineStyle::solid, false});
  return p;
}

void describe(Flags& flags, Settings& s) {
  flags.set_description(
      "On each dataset trains, from the same initialization and batches (3 hidden ReLU layers of --width):\n"
      "WGAN-GP (Adam 1e-4, betas (0.5, 0.9), 5 critic steps, --lambda), WGAN with clipping (RMSProp 5e-5, 5 critic\n"
      "steps, --clip) and a non-saturating GAN (Adam 1e-4, 1 step). Every --eval-every iterations, on --eval-samples\n"
      "fixed real and generated samples: the critic's estimate E D(real) - E D(fake), its loss, and the exact W1\n"
      "between the samples. The table ranks (Spearman) how each follows the exact W1. Writes into --out:\n"
      "  wasserstein_estimate.svg   exact W1, the WGAN critics' estimates and the GAN's loss, per dataset\n"
      "  wasserstein_estimate.json  settings, every curve, the correlations\n");
  flags.choice("--dataset", "8gaussians, 25gaussians, swissroll or both (8gaussians and swissroll; default both)",
               s.dataset_flag, {"8gaussians", "25gaussians", "swissroll", "both"});
  flags.integer("--iterations", "generator iterations of each run (default 2000)", s.iterations, 1, 100000000);
  flags.integer("--width", "units per hidden layer, both networks (default 64)", s.width, 1, 4096);
  flags.integer("--depth", "hidden layers of each network (default 3)", s.depth, 0, 64);
  flags.integer("--batch", "samples per batch (default 256)", s.batch, 1, 1000000);
  flags.integer("--eval-every", "iterations between two measurements (default 50)", s.eval_every, 1, 100000000);
  flags.integer("--eval-samples", "samples for the estimate and the exact W1, O(N^3) (default 500)", s.eval_samples, 2,
                5000);
  flags.number("--lambda", "WGAN-GP penalty weight (default 0.1, gan_toy.py's)", s.lambda, nonnegative,
               "a number >= 0");
  flags.number("--clip", "WGAN weight-clipping bound (default 0.01)", s.clip, positive, "a number > 0");
  flags.common(s.seed, s.out, s.threads, [&s] {
    s.quick = true;
    s.iterations = 40;
    s.width = 32;
    s.batch = 64;
    s.eval_every = 10;
    s.eval_samples = 100;
  }, "40 iterations at width 32, batch 64, measured every 10 on 100 samples: seconds (the ctest); flags after it "
     "still apply");
}

}  // namespace

int wasserstein_estimate_main(const std::vector<std::string>& args) {
  Settings s;
  Flags flags("wasserstein-estimate",
              "The WGAN critic's estimate follows sample quality, a GAN's loss does not (Arjovsky et al. 2017, fig. 3-4).");
  describe(flags, s);
  if (!flags.parse(args)) return 0;
  if (s.dataset_flag != "both") s.datasets = {s.dataset_flag};
  check_eval_every("wasserstein-estimate", s.eval_every, s.iterations);
  if (s.threads > 0) gantry::set_thread_count(static_cast<int>(s.threads));
  const OutputDirectory out(s.out);
  fmt::print(stderr, "studies wasserstein-estimate: {} dataset(s), 3 methods, {} iterations each, width {}, seed {}\n",
             s.datasets.size(), s.iterations, s.width, s.seed);
  // In training steps: 2 WGANs of 5 critic steps + 1 generator step, a GAN of 1 + 1.
  StudyProgress progress("wasserstein-estimate", static_cast<Index>(s.datasets.size()) * s.iterations * (6 + 6 + 2));
  std::vector<Curves> all;
  for (std::size_t d = 0; d < s.datasets.size(); ++d) {
    std::vector<Curves> curves = run_dataset(s.datasets[d], s, derive_seed(s.seed, 100 + d), progress);
    all.insert(all.end(), curves.begin(), curves.end());
  }
  progress.finish();
  const double seconds = progress.seconds();

  fmt::print("{:<12} {:<22} {:>9} {:>9} {:>9} {:>12} {:>12} {:>18}\n", "dataset", "method", "W1 start", "W1 end",
             "baseline", "rho(est,W1)", "rho(loss,W1)", "rho after peak (it)");
  for (const Curves& c : all)
    fmt::print("{:<12} {:<22} {:>9.4f} {:>9.4f} {:>9.4f} {:>12.3f} {:>12.3f} {:>11.3f} ({:>4g})\n", c.dataset, c.method,
               c.w1.front(), c.w1.back(), c.baseline, c.rho_estimate, c.rho_loss, c.rho_estimate_after_peak,
               c.peak_iteration);

  std::vector<io::Panel> panels;
  for (const std::string& dataset : s.datasets) {
    std::vector<Curves> here, wgans, gans;
    for (const Curves& c : all)
      if (c.dataset == dataset) {
        here.push_back(c);
        (c.estimates_wasserstein ? wgans : gans).push_back(c);
      }
    io::Panel w1 = panel(dataset + ": exact W1(generated, real)", "W1", true, here, &Curves::w1);
    w1.series.push_back({"real-vs-real baseline", {here.front().iteration.front(), here.front().iteration.back()},
                         {here.front().baseline, here.front().baseline}, {}, {}, "#7f7f7f", io::LineStyle::dashed,
                         false});
    panels.push_back(std::move(w1));
    for (const Curves& c : wgans)
      panels.push_back(panel(fmt::format("{}: {} critic's estimate", dataset, c.method), "E D(real) - E D(fake)",
                             false, {c}, &Curves::estimate));
    for (const Curves& c : gans)
      panels.push_back(panel(fmt::format("{}: {} discriminator loss", dataset, c.method), "loss", false, {c},
                             &Curves::critic_loss));
  }
  io::PanelFigureOptions figure;
  figure.columns = 4;
  figure.panel_width = 380;
  figure.panel_height = 300;
  figure.title = fmt::format("Does the critic's value follow the samples' exact W1? (seed {})", s.seed);
  io::panels_svg(out.file("wasserstein_estimate.svg"), panels, figure);

  io::JsonWriter json;
  begin_record(json, "wasserstein-estimate", s.seed, s.quick);
  json.field("seconds", seconds);
  json.key("settings").begin_object();
  json.field("datasets", s.datasets).field("iterations", s.iterations).field("width", s.width).field("depth", s.depth);
  json.field("batch", s.batch).field("eval_every", s.eval_every).field("eval_samples", s.eval_samples);
  json.field("lambda", s.lambda).field("clip", s.clip).field("scalar", "float");
  json.end_object();
  json.key("runs").begin_array();
  for (const Curves& c : all) {
    json.begin_object();
    json.field("dataset", c.dataset).field("method", c.method).field("estimates_wasserstein", c.estimates_wasserstein);
    json.field("iteration", c.iteration).field("estimate", c.estimate).field("critic_loss", c.critic_loss);
    json.field("w1", c.w1).field("real_baseline_w1", c.baseline);
    json.field("spearman_estimate_w1", c.rho_estimate).field("spearman_critic_loss_w1", c.rho_loss);
    json.field("estimate_peak_iteration", c.peak_iteration).field("spearman_estimate_w1_after_peak", c.rho_estimate_after_peak);
    json.end_object();
  }
  json.end_array();
  json.key("files").value(std::vector<std::string>{"wasserstein_estimate.svg", "wasserstein_estimate.json"});
  json.end_object();
  json.save(out.file("wasserstein_estimate.json"));
  fmt::print("{:.1f} s; wrote {}, {}\n", seconds, out.file("wasserstein_estimate.svg"),
             out.file("wasserstein_estimate.json"));
  return 0;
}

}  // namespace studies
