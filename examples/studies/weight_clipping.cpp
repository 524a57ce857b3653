// SPDX-License-Identifier: MIT
// studies weight-clipping: Gulrajani et al. 2017, figure 1 (b) and (c). A deep WGAN critic (12 hidden ReLU layers) is
// trained against the reference toy code's "fixed generator" (real data plus unit Gaussian noise) on the swiss roll,
// once per clipping bound c and once with the gradient penalty instead. Then: the norm of the critic objective's
// gradient with respect to each layer's weights (with clipping it explodes or vanishes through the layers, with the
// penalty it stays level), and a histogram of the critic's weights (clipping drives them to -c and c).

#include "cli.hpp"
#include "toy.hpp"

#include <gantry/io/plot_panels.hpp>

#include <algorithm>
#include <cmath>
#include <string>
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
  std::string dataset = "swissroll";
  std::vector<double> clips{0.1, 0.01, 0.001};
  double lambda = 0.1;  // gan_toy.py's weight for the toy problems
  Index critic_steps = 2000;
  Index depth = 12;
  Index width = 64;
  Index batch = 256;
  double learning_rate = 1e-4;
  Index measure_batches = 8;
  Index bins = 40;
  std::uint64_t seed = 1;
  std::string out = "studies-out/weight-clipping";
  Index threads = 0;
  bool quick = false;
};

/// The noise of the fixed generator: z = (a real sample, a N(0, I) sample), so that G(z) = z_real + z_noise through
/// a frozen linear generator W = [I I], b = 0: the reference toy code's real data plus unit Gaussian noise.
class RealPlusNoise {
 public:
  using Scalar = studies::Scalar;
  explicit RealPlusNoise(const ToyData<Scalar>& data) : data_(data) {}
  Index dimension() const { return 4; }
  void sample(Eigen::Ref<Matrix<Scalar>> out, gantry::Rng& rng) const {
    data_.sample(out.topRows(2), rng);
    rng.fill_normal(out.bottomRows(2), 0.0, 1.0);
  }

 private:
  ToyData<Scalar> data_;
};

nn::Mlp<Scalar> fixed_generator() {
  nn::Mlp<Scalar> g({4, 2}, nn::MlpOptions{nn::Activation::identity(), true});
  g.weight(0) << 1, 0, 1, 0, 0, 1, 0, 1;
  g.bias(0).setZero();
  return g;
}

struct Result {
  std::string name;
  double clip = 0;  ///< 0: the gradient penalty
  std::vector<double> layer_gradient;  ///< |d L / d W_l|, l = 1 (input) .. L (output), averaged over batches
  std::vector<double> weights;         ///< every weight of every layer (not the biases)
  double estimate = 0;                 ///< E D(real) - E D(fake) at the end
  double fraction_at_bound = 0;        ///< clipped critics: weights within 1 % of c of -c or c

  /// |dW_1| / |dW_L|: below 1 the gradient vanishes on its way back to the input, above 1 it explodes; 0 when
  /// even the output layer's gradient is 0 (nothing to compare).
  double input_over_output() const {
    return layer_gradient.back() > 0 ? layer_gradient.front() / layer_gradient.back() : 0.0;
  }
};

template <class Policy>
Result train_critic(std::string name, Policy policy, double clip, const Settings& s, const ToyData<Scalar>& data,
                    StudyProgress& progress) {
  gantry::Rng init(derive_seed(s.seed, 0));  // the same initial critic for every method
  auto critic = relu_network<Scalar>(2, s.width, s.depth, 1, init);
  train::TrainerOptions options;
  options.batch_size = s.batch;
  options.n_critic = 10;  // the generator is frozen; fewer of its (empty) steps
  options.seed = derive_seed(s.seed, 1);
  auto trainer = train::make_trainer(policy, fixed_generator(), std::move(critic), data, RealPlusNoise(data),
                                     toy_adam<Scalar>(s.learning_rate), Frozen<Scalar>(), options);
  progress.set_units_per_iteration(options.n_critic);
  trainer.fit(s.critic_steps / options.n_critic, progress);

  // The objective's gradient alone (Wasserstein, no penalty), the same quantity for every critic.
  using Objective = gantry::Policy<loss::Wasserstein>;
  train::Evaluator<Objective, Scalar> evaluator;
  train::Batch<Scalar> batch;
  gantry::Vector<Scalar> gradient;
  const nn::Mlp<Scalar>& d = trainer.critic();
  Result r;
  r.name = std::move(name);
  r.clip = clip;
  r.layer_gradient.assign(static_cast<std::size_t>(d.layer_count()), 0.0);
  for (Index k = 0; k < s.measure_batches; ++k) {
    trainer.draw_batch(batch);
    const auto values = evaluator.critic_gradient(Objective{}, trainer.generator(), d, batch, gradient);
    r.estimate += static_cast<double>(values.wasserstein_estimate) / static_cast<double>(s.measure_batches);
    for (Index l = 0; l < d.layer_count(); ++l)
      r.layer_gradient[static_cast<std::size_t>(l)] +=
          static_cast<double>(d.weight_in(gradient, l).norm()) / static_cast<double>(s.measure_batches);
  }
  Index at_bound = 0;
  for (Index l = 0; l < d.layer_count(); ++l) {
    const auto w = d.weight(l);
    for (Index i = 0; i < w.size(); ++i) {
      const double v = static_cast<double>(w.data()[i]);
      r.weights.push_back(v);
      if (clip > 0 && std::fabs(std::fabs(v) - clip) <= 0.01 * clip) ++at_bound;
    }
  }
  r.fraction_at_bound = static_cast<double>(at_bound) / static_cast<double>(r.weights.size());
  return r;
}

io::PanelBars histogram(const Result& r, Index bins, const std::string& color) {
  const auto [lo_it, hi_it] = std::minmax_element(r.weights.begin(), r.weights.end());
  double lo = *lo_it, hi = *hi_it;
  if (r.clip > 0) {  // the clipped range itself, so that the two ends show
    lo = -r.clip * 1.05;
    hi = r.clip * 1.05;
  }
  if (!(hi > lo)) hi = lo + 1;
  io::PanelBars bars;
  bars.name = r.name;
  bars.color = color;
  for (Index k = 0; k <= bins; ++k) bars.edges.push_back(lo + (hi - lo) * static_cast<double>(k) / static_cast<double>(bins));
  bars.counts.assign(static_cast<std::size_t>(bins), 0.0);
  for (const double v : r.weights) {
    const auto k = std::clamp<Index>(static_cast<Index>(std::floor((v - lo) / (hi - lo) * static_cast<double>(bins))),
                                     0, bins - 1);
    bars.counts[static_cast<std::size_t>(k)] += 1;
  }
  return bars;
}

void describe(Flags& flags, Settings& s) {
  flags.set_description(
      "Trains a deep WGAN critic (--depth hidden ReLU layers of --width, Adam with betas (0.5, 0.9)) for\n"
      "--critic-steps steps against a fixed generator, real data plus unit Gaussian noise (gan_toy.py's\n"
      "'fixed generator'): once with weight clipping at each of --clips, once with the gradient penalty. Then it\n"
      "measures the norm of the Wasserstein objective's gradient with respect to each layer's weights, averaged over\n"
      "--measure-batches batches, and histograms the weights. Writes into --out:\n"
      "  weight_clipping.svg    gradient norm against layer (log axis), and one weight histogram per critic\n"
      "  weight_clipping.json   settings, the per-layer norms, the ratios and the fractions of weights at +-c\n");
  flags.choice("--dataset", "8gaussians, 25gaussians or swissroll (default swissroll)", s.dataset,
               {"8gaussians", "25gaussians", "swissroll"});
  flags.numbers("--clips", "clipping bounds c, each a critic (default 0.1,0.01,0.001)", s.clips, positive,
                "numbers > 0", false);
  flags.number("--lambda", "gradient-penalty weight of the penalized critic (default 0.1)", s.lambda, positive,
               "a number > 0");
  flags.integer("--critic-steps", "critic steps, a multiple of 10 (default 2000)", s.critic_steps, 10, 100000000);
  flags.integer("--depth", "hidden ReLU layers of the critic (default 12)", s.depth, 1, 100);
  flags.integer("--width", "units per hidden layer (default 64)", s.width, 1, 4096);
  flags.integer("--batch", "samples per batch (default 256)", s.batch, 1, 1000000);
  flags.number("--lr", "the critics' Adam learning rate (default 1e-4)", s.learning_rate, positive, "a number > 0");
  flags.integer("--measure-batches", "batches the gradient norms average over (default 8)", s.measure_batches, 1,
                100000);
  flags.integer("--bins", "histogram bins (default 40)", s.bins, 2, 1000);
  flags.common(s.seed, s.out, s.threads, [&s] {
    s.quick = true;
    s.critic_steps = 100;
    s.width = 16;
    s.batch = 64;
    s.measure_batches = 2;
  }, "100 critic steps at width 16, batch 64: seconds (the ctest); flags after it still apply");
}

}  // namespace

int weight_clipping_main(const std::vector<std::string>& args) {
  Settings s;
  Flags flags("weight-clipping",
              "Weight clipping against the gradient penalty in a deep critic (Gulrajani et al. 2017, fig. 1 b, c).");
  describe(flags, s);
  if (!flags.parse(args)) return 0;
  if (s.critic_steps % 10 != 0)
    throw UsageError{fmt::format("studies weight-clipping: bad value for --critic-steps: '{}' (expected a multiple "
                                 "of 10)", s.critic_steps)};
  if (s.threads > 0) gantry::set_thread_count(static_cast<int>(s.threads));
  const OutputDirectory out(s.out);
  const ToyData<Scalar> data(s.dataset);
  fmt::print(stderr, "studies weight-clipping: {} critics of {} ReLU layers of {} on {}, {} steps each, seed {}\n",
             s.clips.size() + 1, s.depth, s.width, s.dataset, s.critic_steps, s.seed);
  StudyProgress progress("weight-clipping", static_cast<Index>(s.clips.size() + 1) * s.critic_steps);
  std::vector<Result> results;
  for (const double c : s.clips) {
    gantry::WganClip policy;
    policy.regularizer<loss::WeightClipping>().clip = c;
    results.push_back(train_critic(fmt::format("weight clipping c = {:g}", c), policy, c, s, data, progress));
  }
  gantry::WganGp gp;
  gp.regularizer<loss::GradientPenalty>().lambda = s.lambda;
  results.push_back(train_critic(fmt::format("gradient penalty lambda = {:g}", s.lambda), gp, 0.0, s, data, progress));
  progress.finish();
  const double seconds = progress.seconds();

  // Layer 1 is next to the input, the last one the output: backpropagation reaches layer 1 last.
  fmt::print("{:<34} {:>11} {:>11} {:>14} {:>10} {:>10}\n", "critic", "|dW_1|", "|dW_L|", "|dW_1|/|dW_L|",
             "at +-c", "estimate");
  for (const Result& r : results)
    fmt::print("{:<34} {:>11} {:>11} {:>14} {:>10} {:>10.4f}\n", r.name, sci(r.layer_gradient.front()),
               sci(r.layer_gradient.back()), sci(r.input_over_output()),
               r.clip > 0 ? fmt::format("{:.3f}", r.fraction_at_bound) : "-", r.estimate);

  io::Panel layers;
  layers.title = fmt::format("gradient norm per layer, {} ReLU layers on {}", s.depth, s.dataset);
  layers.x_label = "layer (1 = input side)";
  layers.y_label = "|dL/dW_l|";
  layers.log_y = true;
  for (const Result& r : results) {
    io::PanelSeries series;
    series.name = r.name;
    series.markers = true;
    for (std::size_t l = 0; l < r.layer_gradient.size(); ++l) {
      series.x.push_back(static_cast<double>(l + 1));
      series.y.push_back(r.layer_gradient[l]);
    }
    layers.series.push_back(std::move(series));
  }
  std::vector<io::Panel> panels{layers};
  for (std::size_t k = 0; k < results.size(); ++k) {
    io::Panel h;
    h.title = fmt::format("weights, {}", results[k].name);
    h.x_label = "weight";
    h.y_label = "count";
    h.bars.push_back(histogram(results[k], s.bins, io::detail::palette_color(k)));
    panels.push_back(std::move(h));
  }
  io::PanelFigureOptions figure;
  figure.columns = 3;
  figure.panel_width = 420;
  figure.panel_height = 320;
  figure.title = fmt::format("Deep WGAN critics against a fixed generator: clipping against the penalty (seed {})", s.seed);
  io::panels_svg(out.file("weight_clipping.svg"), panels, figure);

  io::JsonWriter json;
  begin_record(json, "weight-clipping", s.seed, s.quick);
  json.field("seconds", seconds);
  json.key("settings").begin_object();
  json.field("dataset", s.dataset).field("clips", s.clips).field("lambda", s.lambda);
  json.field("critic_steps", s.critic_steps).field("depth", s.depth).field("width", s.width).field("batch", s.batch);
  json.field("learning_rate", s.learning_rate).field("adam_beta1", 0.5).field("adam_beta2", 0.9);
  json.field("measure_batches", s.measure_batches).field("scalar", "float");
  json.end_object();
  json.key("critics").begin_array();
  for (const Result& r : results) {
    json.begin_object();
    json.field("name", r.name).field("clip", r.clip).field("layer_gradient_norm", r.layer_gradient);
    json.field("input_over_output_gradient_ratio", r.input_over_output());
    json.field("wasserstein_estimate", r.estimate);
    if (r.clip > 0) json.field("fraction_of_weights_at_bound", r.fraction_at_bound);
    json.end_object();
  }
  json.end_array();
  json.key("files").value(std::vector<std::string>{"weight_clipping.svg", "weight_clipping.json"});
  json.end_object();
  json.save(out.file("weight_clipping.json"));
  fmt::print("{:.1f} s; wrote {}, {}\n", seconds, out.file("weight_clipping.svg"), out.file("weight_clipping.json"));
  return 0;
}

}  // namespace studies
