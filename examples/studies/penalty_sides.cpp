// SPDX-License-Identifier: MIT
// studies penalty-sides: Gulrajani et al. 2017, section 4 ("two-sided penalty"), claim (d) of the weight-clipping
// study. WGAN-GP pulls the critic's gradient norm at interpolates towards 1 from both sides, lambda (|g| - 1)^2; the
// one-sided variant lambda max(0, |g| - 1)^2 only stops it from exceeding 1. The paper chose two-sided because it
// "seems not to constrain the critic too much". The same GAN is trained with each, from the same initialization and
// batches, and compared by the exact W1 of its samples and, on the mixtures, its high-quality fraction and modes.

#include "cli.hpp"
#include "toy.hpp"

#include <gantry/io/plot_panels.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
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
  std::vector<std::string> datasets{"8gaussians", "25gaussians", "swissroll"};
  std::string dataset_flag = "all";
  std::vector<double> lambdas{0.1, 10};
  Index seeds = 2;
  Index iterations = 2000;
  Index width = 64;
  Index depth = 3;
  Index n_critic = 5;
  Index batch = 256;
  double learning_rate = 1e-4;
  Index eval_every = 100;
  Index eval_samples = 500;
  Index tail = 5;  // measurements the "late" W1 averages over
  std::uint64_t seed = 1;
  std::string out = "studies-out/penalty-sides";
  Index threads = 0;
  bool quick = false;
};

struct Run {
  std::string dataset;
  double lambda = 0;
  bool one_sided = false;
  Index seed_index = 0;
  std::vector<double> iteration, w1, high_quality, modes;
  double baseline = 0;       ///< W1 between two real sets of the evaluation size
  double late_w1 = 0;        ///< mean W1 of the last `tail` measurements: less noisy than the last alone
  Index modes_total = 0;     ///< 0 for the swiss roll
  std::vector<double> gradient_norm;  ///< |grad D| at the end, at interpolates of the evaluation sets
  double gradient_norm_mean = 0, below_one = 0;

  std::string side() const { return one_sided ? "one-sided" : "two-sided"; }
};

Run train_run(const std::string& dataset, double lambda, bool one_sided, Index seed_index, const Settings& s,
              StudyProgress& progress) {
  // Every (dataset, lambda) pair and both sides of one seed index start from the same networks and see the same
  // batches: the two runs differ only where some |g| < 1, where only the two-sided penalty acts.
  const std::uint64_t seed = derive_seed(s.seed, 100 + static_cast<std::uint64_t>(seed_index));
  const ToyData<Scalar> data(dataset);
  gantry::Rng init(derive_seed(seed, 0));
  auto generator = relu_network<Scalar>(2, s.width, s.depth, 2, init);
  auto critic = relu_network<Scalar>(2, s.width, s.depth, 1, init);
  gantry::WganGp policy;
  auto& penalty = policy.regularizer<loss::GradientPenalty>();
  penalty.lambda = lambda;
  penalty.one_sided = one_sided;
  train::TrainerOptions options;
  options.batch_size = s.batch;
  options.n_critic = s.n_critic;
  options.seed = derive_seed(seed, 1);
  auto trainer = train::make_trainer(policy, std::move(generator), std::move(critic), data,
                                     gantry::data::GaussianNoise<Scalar>(2), toy_adam<Scalar>(s.learning_rate),
                                     toy_adam<Scalar>(s.learning_rate), options);

  gantry::Rng eval_rng(derive_seed(seed, 2));
  Matrix<Scalar> real(2, s.eval_samples), z(2, s.eval_samples);
  data.sample(real, eval_rng);
  trainer.noise_sampler().sample(z, eval_rng);
  Run run;
  run.dataset = dataset;
  run.lambda = lambda;
  run.one_sided = one_sided;
  run.seed_index = seed_index;
  {
    ToyData<Scalar> baseline_data = data;
    run.baseline = gantry::metrics::real_baseline_wasserstein1(baseline_data, s.eval_samples, eval_rng);
  }
  const auto measure = [&](auto& t, Index iteration) {
    const Matrix<Scalar> fake = t.generator()(z);
    run.iteration.push_back(static_cast<double>(iteration));
    run.w1.push_back(gantry::metrics::wasserstein1(fake, real));
    if (const auto* mixture = data.mixture()) {
      const auto coverage = gantry::metrics::mode_coverage(fake, mixture->centers(), mixture->stddev());
      run.high_quality.push_back(coverage.high_quality_fraction);
      run.modes.push_back(static_cast<double>(coverage.modes_covered));
      run.modes_total = coverage.modes;
    }
  };
  measure(trainer, 0);
  EveryIterations<decltype(measure)> every{s.eval_every, measure};
  progress.set_units_per_iteration(s.n_critic + 1);
  trainer.fit(s.iterations, every, progress);
  if (run.iteration.back() != static_cast<double>(s.iterations)) measure(trainer, s.iterations);

  const std::size_t tail = std::min(run.w1.size(), static_cast<std::size_t>(s.tail));
  for (std::size_t k = run.w1.size() - tail; k < run.w1.size(); ++k) run.late_w1 += run.w1[k] / static_cast<double>(tail);

  // Where the two penalties differ: the critic's gradient norm at interpolates x = e real + (1 - e) fake.
  const Matrix<Scalar> fake = trainer.generator()(z);
  Matrix<Scalar> interpolates(2, s.eval_samples);
  for (Index j = 0; j < s.eval_samples; ++j) {
    const auto e = static_cast<Scalar>(eval_rng.uniform());
    interpolates.col(j) = e * real.col(j) + (1 - e) * fake.col(j);
  }
  const Matrix<Scalar> g = gantry::nn::input_gradient(trainer.critic(), interpolates);
  for (Index j = 0; j < g.cols(); ++j) {
    const double norm = static_cast<double>(g.col(j).norm());
    run.gradient_norm.push_back(norm);
    run.gradient_norm_mean += norm / static_cast<double>(g.cols());
    if (norm < 1) run.below_one += 1.0 / static_cast<double>(g.cols());
  }
  return run;
}

/// Mean, lowest and highest of one quantity over the seeds of a setting.
struct Spread {
  double mean = 0, lo = 0, hi = 0;
};

template <class Get>
Spread over_seeds(const std::vector<const Run*>& runs, Get get) {
  Spread s{0, get(*runs.front()), get(*runs.front())};
  for (const Run* r : runs) {
    const double v = get(*r);
    s.mean += v / static_cast<double>(runs.size());
    s.lo = std::min(s.lo, v);
    s.hi = std::max(s.hi, v);
  }
  return s;
}

std::string show(const Spread& s, int decimals, bool several) {
  return several ? fmt::format("{:.{}f} [{:.{}f}, {:.{}f}]", s.mean, decimals, s.lo, decimals, s.hi, decimals)
                 : fmt::format("{:.{}f}", s.mean, decimals);
}

void describe(Flags& flags, Settings& s) {
  flags.set_description(
      "Trains WGAN-GP (generator and critic --depth hidden ReLU layers of --width, Adam with betas (0.5, 0.9),\n"
      "--n-critic critic steps per generator step) with the two-sided penalty lambda (|g| - 1)^2 and the one-sided\n"
      "lambda max(0, |g| - 1)^2, for each of --lambdas, on each dataset, --seeds times: both sides of a seed from the\n"
      "same initialization and batches. Every --eval-every iterations, on --eval-samples fixed real samples and\n"
      "latent codes: the exact W1 between generated and real samples (next to the real-vs-real baseline) and, on the\n"
      "mixtures, the high-quality fraction and modes covered (within 3 standard deviations). At the end, the\n"
      "critic's gradient norm at interpolates, where the two penalties differ when it is below 1. Writes into --out:\n"
      "  penalty_sides.svg    W1 over the iterations per dataset; histograms of |grad D| at interpolates per lambda\n"
      "  penalty_sides.json   settings, every curve, the final numbers\n");
  flags.choice("--dataset", "8gaussians, 25gaussians, swissroll or all (default all)", s.dataset_flag,
               {"8gaussians", "25gaussians", "swissroll", "all"});
  flags.numbers("--lambdas", "penalty weights, each a pair of runs (default 0.1,10: gan_toy.py's and the paper's)",
                s.lambdas, positive, "numbers > 0", true);
  flags.integer("--seeds", "runs of each setting, seeds derived from --seed (default 2)", s.seeds, 1, 1000);
  flags.integer("--iterations", "generator iterations of each run (default 2000)", s.iterations, 1, 100000000);
  flags.integer("--width", "units per hidden layer, both networks (default 64)", s.width, 1, 4096);
  flags.integer("--depth", "hidden layers of each network (default 3)", s.depth, 1, 64);
  flags.integer("--n-critic", "critic steps per generator step (default 5)", s.n_critic, 1, 1000);
  flags.integer("--batch", "samples per batch (default 256)", s.batch, 1, 1000000);
  flags.number("--lr", "Adam learning rate of both networks (default 1e-4)", s.learning_rate, positive,
               "a number > 0");
  flags.integer("--eval-every", "iterations between two measurements (default 100)", s.eval_every, 1, 100000000);
  flags.integer("--eval-samples", "samples for the exact W1, O(N^3), and the coverage (default 500)", s.eval_samples,
                2, 5000);
  flags.integer("--tail", "last measurements the late W1 averages (default 5)", s.tail, 1, 100000);
  flags.common(s.seed, s.out, s.threads, [&s] {
    s.quick = true;
    s.iterations = 40;
    s.width = 32;
    s.batch = 64;
    s.eval_every = 10;
    s.eval_samples = 100;
    s.tail = 2;
  }, "40 iterations at width 32, batch 64, measured every 10 on 100 samples: seconds (the ctest); flags after it "
     "still apply");
}

}  // namespace

int penalty_sides_main(const std::vector<std::string>& args) {
  Settings s;
  Flags flags("penalty-sides",
              "The two-sided gradient penalty against the one-sided one (Gulrajani et al. 2017, section 4).");
  describe(flags, s);
  if (!flags.parse(args)) return 0;
  if (s.dataset_flag != "all") s.datasets = {s.dataset_flag};
  check_eval_every("penalty-sides", s.eval_every, s.iterations);
  if (s.threads > 0) gantry::set_thread_count(static_cast<int>(s.threads));
  const OutputDirectory out(s.out);
  const auto settings_count = static_cast<Index>(s.datasets.size() * s.lambdas.size());
  fmt::print(stderr, "studies penalty-sides: {} dataset(s) x {} lambda(s) x 2 sides x {} seed(s), {} iterations each, "
             "width {}, seed {}\n", s.datasets.size(), s.lambdas.size(), s.seeds, s.iterations, s.width, s.seed);
  StudyProgress progress("penalty-sides", settings_count * 2 * s.seeds * s.iterations * (s.n_critic + 1));
  std::vector<Run> runs;
  for (const std::string& dataset : s.datasets)
    for (const double lambda : s.lambdas)
      for (Index seed = 0; seed < s.seeds; ++seed)
        for (const bool one_sided : {false, true})
          runs.push_back(train_run(dataset, lambda, one_sided, seed, s, progress));
  progress.finish();
  const double seconds = progress.seconds();

  const auto select = [&](const std::string& dataset, double lambda, bool one_sided) {
    std::vector<const Run*> chosen;
    for (const Run& r : runs)
      if (r.dataset == dataset && r.lambda == lambda && r.one_sided == one_sided) chosen.push_back(&r);
    return chosen;
  };
  const bool several = s.seeds > 1;
  if (several) fmt::print("mean [lowest, highest] over {} seeds\n", s.seeds);
  fmt::print("{:<12} {:>6} {:<10} {:>24} {:>24} {:>8} {:>24} {:>6} {:>9} {:>9}\n", "dataset", "lambda", "penalty",
             "final W1", "late W1", "baseline", "high-quality", "modes", "|g| mean", "|g| < 1");
  struct Summary {
    std::string dataset;
    double lambda;
    double final_w1_difference, late_w1_difference, high_quality_difference;  // one-sided minus two-sided
    Index one_sided_lower_late_w1;  // seeds where the one-sided run ends closer to the data
    bool mixture;                   // whether the high-quality fraction means anything
  };
  std::vector<Summary> summaries;
  for (const std::string& dataset : s.datasets)
    for (const double lambda : s.lambdas) {
      Spread final_w1[2], late_w1[2], high_quality[2];
      for (const bool one_sided : {false, true}) {
        const std::vector<const Run*> chosen = select(dataset, lambda, one_sided);
        const Run& first = *chosen.front();
        const int k = one_sided ? 1 : 0;
        final_w1[k] = over_seeds(chosen, [](const Run& r) { return r.w1.back(); });
        late_w1[k] = over_seeds(chosen, [](const Run& r) { return r.late_w1; });
        const Spread baseline = over_seeds(chosen, [](const Run& r) { return r.baseline; });
        const Spread gradient = over_seeds(chosen, [](const Run& r) { return r.gradient_norm_mean; });
        const Spread below = over_seeds(chosen, [](const Run& r) { return r.below_one; });
        std::string quality = "-", modes = "-";
        if (first.modes_total > 0) {
          high_quality[k] = over_seeds(chosen, [](const Run& r) { return r.high_quality.back(); });
          quality = show(high_quality[k], 3, several);
          modes = fmt::format("{:.3g}/{}", over_seeds(chosen, [](const Run& r) { return r.modes.back(); }).mean,
                              first.modes_total);
        }
        fmt::print("{:<12} {:>6g} {:<10} {:>24} {:>24} {:>8.3f} {:>24} {:>6} {:>9.3f} {:>9.3f}\n", dataset, lambda,
                   first.side(), show(final_w1[k], 3, several), show(late_w1[k], 3, several), baseline.mean, quality,
                   modes, gradient.mean, below.mean);
      }
      Index lower = 0;
      const std::vector<const Run*> two = select(dataset, lambda, false), one = select(dataset, lambda, true);
      for (std::size_t k = 0; k < two.size(); ++k)
        if (one[k]->late_w1 < two[k]->late_w1) ++lower;
      summaries.push_back({dataset, lambda, final_w1[1].mean - final_w1[0].mean, late_w1[1].mean - late_w1[0].mean,
                           high_quality[1].mean - high_quality[0].mean, lower,
                           select(dataset, lambda, false).front()->modes_total > 0});
    }
  fmt::print("one-sided minus two-sided (mean over seeds):\n");
  for (const Summary& m : summaries)
    fmt::print("  {:<12} lambda {:<5g} final W1 {:+.3f}, late W1 {:+.3f}{}; one-sided lower late W1 in {} of {} "
               "seeds\n", m.dataset, m.lambda, m.final_w1_difference, m.late_w1_difference,
               m.mixture ? fmt::format(", high-quality {:+.3f}", m.high_quality_difference) : "",
               m.one_sided_lower_late_w1, s.seeds);

  // Columns: the datasets. Row 1: W1 over the iterations; then one row of gradient-norm histograms per lambda.
  // Blue two-sided, orange one-sided; the largest lambda dark, smaller ones light.
  const auto side_color = [&s](bool one_sided, std::size_t lambda_index) {
    const bool dark = lambda_index + 1 == s.lambdas.size();
    return std::string(one_sided ? (dark ? "#ff7f0e" : "#fdae6b") : (dark ? "#1f77b4" : "#9ecae1"));
  };
  std::vector<io::Panel> panels;
  for (const std::string& dataset : s.datasets) {
    io::Panel p;
    p.title = fmt::format("{}: exact W1(generated, real)", dataset);
    p.x_label = "generator iteration";
    p.y_label = "W1";
    p.log_y = true;
    for (std::size_t l = 0; l < s.lambdas.size(); ++l)
      for (const bool one_sided : {false, true}) {
        const std::vector<const Run*> chosen = select(dataset, s.lambdas[l], one_sided);
        io::PanelSeries series;
        series.name = fmt::format("{}, lambda {:g}", chosen.front()->side(), s.lambdas[l]);
        series.color = side_color(one_sided, l);
        series.x = chosen.front()->iteration;
        for (std::size_t k = 0; k < series.x.size(); ++k) {
          const Spread at = over_seeds(chosen, [k](const Run& r) { return r.w1[k]; });
          series.y.push_back(at.mean);
          if (several) {
            series.lower.push_back(at.lo);
            series.upper.push_back(at.hi);
          }
        }
        p.series.push_back(std::move(series));
      }
    const Run& any = runs.front();
    double baseline = 0;
    for (const Run& r : runs)
      if (r.dataset == dataset) baseline = r.baseline;
    p.series.push_back({"real-vs-real baseline", {any.iteration.front(), any.iteration.back()}, {baseline, baseline},
                        {}, {}, "#7f7f7f", io::LineStyle::dashed, false});
    panels.push_back(std::move(p));
  }
  constexpr Index bins = 40;
  constexpr double largest_norm = 2.5;
  for (std::size_t l = 0; l < s.lambdas.size(); ++l)
    for (const std::string& dataset : s.datasets) {
      const double lambda = s.lambdas[l];
      io::Panel p;
      p.title = fmt::format("{}, lambda {:g}: |grad D| at interpolates", dataset, lambda);
      p.x_label = fmt::format("|grad D(x)| (last bin: {:.3g} and above)", largest_norm * (bins - 1) / bins);
      p.y_label = "count";
      for (const bool one_sided : {false, true}) {
        io::PanelBars bars;
        const std::vector<const Run*> chosen = select(dataset, lambda, one_sided);
        bars.name = chosen.front()->side();
        bars.color = side_color(one_sided, l);
        for (Index k = 0; k <= bins; ++k) bars.edges.push_back(largest_norm * static_cast<double>(k) / bins);
        bars.counts.assign(static_cast<std::size_t>(bins), 0.0);
        for (const Run* r : chosen)
          for (const double norm : r->gradient_norm) {
            const auto k = std::min<Index>(static_cast<Index>(norm / largest_norm * bins), bins - 1);  // last: beyond
            bars.counts[static_cast<std::size_t>(k)] += 1;
          }
        p.bars.push_back(std::move(bars));
      }
      panels.push_back(std::move(p));
    }
  io::PanelFigureOptions figure;
  figure.columns = static_cast<Index>(s.datasets.size());
  figure.panel_width = 420;
  figure.panel_height = 320;
  figure.title = fmt::format("WGAN-GP with the two-sided and the one-sided penalty ({} seed(s) from {})", s.seeds,
                             s.seed);
  io::panels_svg(out.file("penalty_sides.svg"), panels, figure);

  io::JsonWriter json;
  begin_record(json, "penalty-sides", s.seed, s.quick);
  json.field("seconds", seconds);
  json.key("settings").begin_object();
  json.field("datasets", s.datasets).field("lambdas", s.lambdas).field("seeds", s.seeds);
  json.field("iterations", s.iterations).field("width", s.width).field("depth", s.depth).field("n_critic", s.n_critic);
  json.field("batch", s.batch).field("learning_rate", s.learning_rate).field("adam_beta1", 0.5).field("adam_beta2", 0.9);
  json.field("eval_every", s.eval_every).field("eval_samples", s.eval_samples).field("tail", s.tail);
  json.field("scalar", "float");
  json.end_object();
  json.key("runs").begin_array();
  for (const Run& r : runs) {
    json.begin_object();
    json.field("dataset", r.dataset).field("lambda", r.lambda).field("penalty", r.side()).field("seed_index", r.seed_index);
    json.field("iteration", r.iteration).field("w1", r.w1).field("real_baseline_w1", r.baseline);
    if (r.modes_total > 0) json.field("high_quality_fraction", r.high_quality).field("modes_covered", r.modes);
    json.key("final").begin_object();
    json.field("w1", r.w1.back()).field("late_w1", r.late_w1);
    if (r.modes_total > 0)
      json.field("high_quality_fraction", r.high_quality.back()).field("modes_covered", r.modes.back())
          .field("modes", r.modes_total);
    json.field("gradient_norm_mean", r.gradient_norm_mean).field("fraction_gradient_norm_below_one", r.below_one);
    json.end_object();
    json.end_object();
  }
  json.end_array();
  json.key("summary").begin_array();
  for (const Summary& m : summaries) {
    json.begin_object();
    json.field("dataset", m.dataset).field("lambda", m.lambda);
    json.field("final_w1_one_minus_two_sided", m.final_w1_difference);
    json.field("late_w1_one_minus_two_sided", m.late_w1_difference);
    if (m.mixture) json.field("high_quality_one_minus_two_sided", m.high_quality_difference);
    json.field("seeds_one_sided_lower_late_w1", m.one_sided_lower_late_w1);
    json.end_object();
  }
  json.end_array();
  json.key("files").value(std::vector<std::string>{"penalty_sides.svg", "penalty_sides.json"});
  json.end_object();
  json.save(out.file("penalty_sides.json"));
  fmt::print("{:.1f} s; wrote {}, {}\n", seconds, out.file("penalty_sides.svg"), out.file("penalty_sides.json"));
  return 0;
}

}  // namespace studies
