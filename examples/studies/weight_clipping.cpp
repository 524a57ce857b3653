// SPDX-License-Identifier: MIT
// studies weight-clipping: Gulrajani et al. 2017, figure 1 and section 3. Every critic is trained against the reference
// toy code's "fixed generator" (real data plus unit Gaussian noise), once with weight clipping, once with the gradient
// penalty instead.
//  (a) value surfaces: a critic of gan_toy.py's size (3 hidden ReLU layers of 512) on 8 Gaussians, 25 Gaussians and
//      the swiss roll; the clipped one learns a much simpler function than the penalized one, which models the
//      distribution. Drawn on a grid, and measured: how well D ranks real above generated samples, how many of a
//      mixture's modes are peaks of D, how much of D a quadratic explains.
//  (b), (c) a deep critic (12 hidden ReLU layers) on the swiss roll per clipping bound c: the norm of the objective's
//      gradient with respect to each layer's weights (with clipping it explodes or vanishes through the layers, with
//      the penalty it stays level), and a histogram of the weights (clipping drives them to -c and c).

#include "cli.hpp"
#include "toy.hpp"

#include <gantry/io/plot_panels.hpp>
#include <gantry/metrics/rank_correlation.hpp>

#include <Eigen/QR>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
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
  std::string part = "all";  // all, surfaces (claim a) or layers (claims b, c)
  // (a) value surfaces: gan_toy.py's critic, clip and lambda
  std::vector<std::string> surface_datasets{"8gaussians", "25gaussians", "swissroll"};
  Index surface_steps = 1000;
  Index surface_width = 512;
  Index surface_depth = 3;
  double surface_clip = 0.01;
  double surface_range = 2;  // the three datasets lie within [-2, 2]^2 (gan_toy.py draws [-3, 3]^2)
  Index grid = 60;
  Index eval_samples = 500;
  Index shown_samples = 200;
  // (b), (c) a deep critic per clipping bound
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

// ---------------------------------------------------------------------------------------------------------------
// (a) Value surfaces

/// What every critic of one dataset is measured on: fixed real samples and fixed samples of the fixed generator.
struct SurfaceData {
  std::string dataset;
  Matrix<Scalar> real, fake;  ///< (2 x eval_samples) each
  double exact_w1 = 0;        ///< between the two sets: what a 1-Lipschitz critic's estimate can reach at most
  double real_baseline_w1 = 0;
  Matrix<Scalar> centers;  ///< the mixture's modes; empty for the swiss roll
};

SurfaceData surface_data(const std::string& dataset, const Settings& s) {
  const ToyData<Scalar> data(dataset);
  gantry::Rng rng(derive_seed(s.seed, 4));
  SurfaceData d;
  d.dataset = dataset;
  d.real.resize(2, s.eval_samples);
  data.sample(d.real, rng);
  Matrix<Scalar> z(4, s.eval_samples);
  RealPlusNoise(data).sample(z, rng);
  d.fake = fixed_generator()(z);
  d.exact_w1 = gantry::metrics::wasserstein1(d.real, d.fake);
  ToyData<Scalar> baseline = data;
  d.real_baseline_w1 = gantry::metrics::real_baseline_wasserstein1(baseline, s.eval_samples, rng);
  if (const auto* mixture = data.mixture()) d.centers = mixture->centers();
  return d;
}

struct Surface {
  std::string dataset, method;
  double clip = 0;         ///< 0: the gradient penalty
  Eigen::MatrixXd values;  ///< D on the grid (grid x grid), in io::grid_cell_centers' order
  double estimate = 0;     ///< E D(real) - E D(fake) on the evaluation sets
  double auc = 0;          ///< P(D(real) > D(fake)) over all (real, fake) pairs of the evaluation sets, ties half
  Index modes_peaked = 0;  ///< mixtures: modes whose centre is a peak of D (see modes_that_are_peaks)
  Index modes = 0;         ///< 0 for the swiss roll
  double quadratic_r2 = 0;  ///< share of D's variance over the evaluation points a quadratic in (x, y) explains
  std::vector<double> curve_step, curve_estimate;  ///< the estimate during training
  double last_half_change = 0;  ///< (estimate at the end - estimate half way) / |estimate at the end|
};

/// The area under the ROC curve of D as a classifier of real against generated samples (Mann-Whitney): 1 when D
/// ranks every real sample above every generated one, 0.5 when it cannot tell them apart. Scale-free, so a clipped
/// critic's tiny values compare with a penalized critic's.
double real_over_fake_auc(const Matrix<Scalar>& real_values, const Matrix<Scalar>& fake_values) {
  std::vector<double> all;
  for (Index j = 0; j < real_values.cols(); ++j) all.push_back(static_cast<double>(real_values(0, j)));
  for (Index j = 0; j < fake_values.cols(); ++j) all.push_back(static_cast<double>(fake_values(0, j)));
  const std::vector<double> ranks = gantry::metrics::average_ranks(all);
  const auto n_real = static_cast<double>(real_values.cols()), n_fake = static_cast<double>(fake_values.cols());
  double rank_sum = 0;
  for (Index j = 0; j < real_values.cols(); ++j) rank_sum += ranks[static_cast<std::size_t>(j)];
  return (rank_sum - n_real * (n_real + 1) / 2) / (n_real * n_fake);
}

/// A mode is a peak of D when D at its centre exceeds D at every one of 16 points on the circle around it of half
/// the distance to the nearest other mode: the critic then tells this mode from the gap towards each neighbour.
/// A critic that only learned "near the ring" or "near the square" (one bump over all modes) has no such peaks.
Index modes_that_are_peaks(const nn::Mlp<Scalar>& critic, const Matrix<Scalar>& centers) {
  constexpr Index directions = 16;
  const Index k = centers.cols();
  if (k < 2) return 0;
  Matrix<Scalar> points(2, k * (directions + 1));
  for (Index m = 0; m < k; ++m) {
    double nearest = std::numeric_limits<double>::infinity();
    for (Index o = 0; o < k; ++o)
      if (o != m) nearest = std::min(nearest, static_cast<double>((centers.col(o) - centers.col(m)).norm()));
    const double radius = 0.5 * nearest;
    points.col(m * (directions + 1)) = centers.col(m);
    for (Index d = 0; d < directions; ++d) {
      const double angle = 2 * 3.14159265358979323846 * static_cast<double>(d) / static_cast<double>(directions);
      points(0, m * (directions + 1) + 1 + d) = centers(0, m) + static_cast<Scalar>(radius * std::cos(angle));
      points(1, m * (directions + 1) + 1 + d) = centers(1, m) + static_cast<Scalar>(radius * std::sin(angle));
    }
  }
  const Matrix<Scalar> values = critic(points);
  Index peaks = 0;
  for (Index m = 0; m < k; ++m) {
    const Scalar centre = values(0, m * (directions + 1));
    const Scalar ring = values.block(0, m * (directions + 1) + 1, 1, directions).maxCoeff();
    if (centre > ring) ++peaks;
  }
  return peaks;
}

/// R^2 of the least-squares fit of D by a + b x + c y + d x^2 + e xy + f y^2 on `points`: near 1 when the critic
/// is hardly more than a bowl or a tilted plane ("overly simple"), lower when it has structure a quadratic misses.
double quadratic_r2(const Matrix<Scalar>& points, const Matrix<Scalar>& values) {
  const Index n = points.cols();
  Eigen::MatrixXd features(n, 6);
  Eigen::VectorXd target(n);
  for (Index j = 0; j < n; ++j) {
    const double x = static_cast<double>(points(0, j)), y = static_cast<double>(points(1, j));
    features.row(j) << 1, x, y, x * x, x * y, y * y;
    target(j) = static_cast<double>(values(0, j));
  }
  const Eigen::VectorXd coefficients = features.colPivHouseholderQr().solve(target);
  const double total = (target.array() - target.mean()).square().sum();
  if (!(total > 0)) return 1.0;  // a constant critic: a quadratic explains it all
  return 1.0 - (features * coefficients - target).squaredNorm() / total;
}

template <class Policy>
Surface train_surface(std::string method, Policy policy, double clip, const SurfaceData& eval, const Settings& s,
                      StudyProgress& progress) {
  const ToyData<Scalar> data(eval.dataset);
  gantry::Rng init(derive_seed(s.seed, 2));  // the same initial critic for both methods on every dataset
  auto critic = relu_network<Scalar>(2, s.surface_width, s.surface_depth, 1, init);
  train::TrainerOptions options;
  options.batch_size = s.batch;
  options.n_critic = 10;  // the generator is frozen; fewer of its (empty) steps
  options.seed = derive_seed(s.seed, 3);  // the same batches for both methods
  auto trainer = train::make_trainer(policy, fixed_generator(), std::move(critic), data, RealPlusNoise(data),
                                     toy_adam<Scalar>(s.learning_rate), Frozen<Scalar>(), options);
  Surface r;
  r.dataset = eval.dataset;
  r.method = std::move(method);
  r.clip = clip;
  const auto estimate = [&](const nn::Mlp<Scalar>& d) {
    return static_cast<double>(d(eval.real).mean()) - static_cast<double>(d(eval.fake).mean());
  };
  const auto measure = [&](auto& t, Index iteration) {
    r.curve_step.push_back(static_cast<double>(iteration * options.n_critic));
    r.curve_estimate.push_back(estimate(t.critic()));
  };
  const Index iterations = s.surface_steps / options.n_critic;
  measure(trainer, 0);
  EveryIterations<decltype(measure)> every{std::max<Index>(iterations / 20, 1), measure};
  progress.set_units_per_iteration(options.n_critic);
  trainer.fit(iterations, every, progress);

  const nn::Mlp<Scalar>& d = trainer.critic();
  const Matrix<Scalar> real_values = d(eval.real), fake_values = d(eval.fake);
  r.estimate = static_cast<double>(real_values.mean()) - static_cast<double>(fake_values.mean());
  r.auc = real_over_fake_auc(real_values, fake_values);
  Matrix<Scalar> points(2, eval.real.cols() + eval.fake.cols());
  points << eval.real, eval.fake;
  Matrix<Scalar> values(1, points.cols());
  values << real_values, fake_values;
  r.quadratic_r2 = quadratic_r2(points, values);
  r.modes = eval.centers.cols();
  r.modes_peaked = modes_that_are_peaks(d, eval.centers);
  // The estimate half way against the end: a small change says the critic is near its optimum.
  const double half = r.curve_estimate[r.curve_estimate.size() / 2];
  r.last_half_change = r.estimate != 0 ? (r.estimate - half) / std::fabs(r.estimate) : 0.0;

  const io::PlotBounds bounds{-s.surface_range, s.surface_range, -s.surface_range, s.surface_range};
  const Matrix<Scalar> grid_values = d(io::grid_cell_centers(bounds, s.grid, s.grid).cast<Scalar>());
  r.values = Eigen::Map<const Matrix<Scalar>>(grid_values.data(), s.grid, s.grid).cast<double>();
  return r;
}

std::string dataset_title(const std::string& dataset) {
  if (dataset == "8gaussians") return "8 Gaussians";
  if (dataset == "25gaussians") return "25 Gaussians";
  return "swiss roll";
}

/// Claim (a): on each dataset a clipped and a penalized critic from the same initialization and batches.
void train_surfaces(const Settings& s, std::vector<SurfaceData>& evaluation, std::vector<Surface>& surfaces,
                    StudyProgress& progress) {
  for (const std::string& dataset : s.surface_datasets) {
    evaluation.push_back(surface_data(dataset, s));
    gantry::WganClip clip;
    clip.regularizer<loss::WeightClipping>().clip = s.surface_clip;
    surfaces.push_back(
        train_surface(fmt::format("clipping c = {:g}", s.surface_clip), clip, s.surface_clip, evaluation.back(), s,
                      progress));
    gantry::WganGp gp;
    gp.regularizer<loss::GradientPenalty>().lambda = s.lambda;
    surfaces.push_back(
        train_surface(fmt::format("penalty lambda = {:g}", s.lambda), gp, 0.0, evaluation.back(), s, progress));
  }
}

void report_surfaces(const Settings& s, const std::vector<SurfaceData>& evaluation,
                     const std::vector<Surface>& surfaces, double seconds, const OutputDirectory& out,
                     io::JsonWriter& json) {
  fmt::print("(a) value surfaces: {} ReLU layers of {}, {} critic steps, {} evaluation samples of each\n",
             s.surface_depth, s.surface_width, s.surface_steps, s.eval_samples);
  fmt::print("{:<13} {:<20} {:>10} {:>16} {:>7} {:>7} {:>8} {:>11}\n", "dataset", "critic", "estimate",
             "exact W1 (base)", "AUC", "peaks", "quad R2", "last half");
  for (std::size_t k = 0; k < surfaces.size(); ++k) {
    const Surface& r = surfaces[k];
    const SurfaceData& e = evaluation[k / 2];
    fmt::print("{:<13} {:<20} {:>10} {:>16} {:>7.3f} {:>7} {:>8.3f} {:>10.1f}%\n", r.dataset, r.method,
               sci(r.estimate), fmt::format("{:.3f} ({:.3f})", e.exact_w1, e.real_baseline_w1), r.auc,
               r.modes > 0 ? fmt::format("{}/{}", r.modes_peaked, r.modes) : "-", r.quadratic_r2,
               100 * r.last_half_change);
  }

  // Rows: clipping, then the penalty; columns: the datasets.
  std::vector<io::Panel> panels;
  for (const std::size_t method : {std::size_t{0}, std::size_t{1}})
    for (std::size_t k = 0; k < evaluation.size(); ++k) {
      const Surface& r = surfaces[2 * k + method];
      io::Panel p;
      p.title = fmt::format("{}, {}", dataset_title(r.dataset), r.method);
      p.equal_aspect = true;
      io::PanelHeatmap h;
      // Equal-area bands: the colours show the order of D's values, its shape, in every part of the square;
      // equal-width bands would spend most colours on the steep far field (see docs/STUDIES.md, section 3).
      h.band_edges = io::equal_area_band_edges(r.values, 12);
      h.values = r.values;
      h.bounds = io::PlotBounds{-s.surface_range, s.surface_range, -s.surface_range, s.surface_range};
      p.heatmap = std::move(h);
      io::PanelPoints real;
      real.name = "real";
      real.color = "#ff7f0e";  // orange, as in the paper's figure
      real.radius = 1.5;
      for (Index j = 0; j < std::min(s.shown_samples, evaluation[k].real.cols()); ++j) {
        real.x.push_back(static_cast<double>(evaluation[k].real(0, j)));
        real.y.push_back(static_cast<double>(evaluation[k].real(1, j)));
      }
      p.points.push_back(std::move(real));
      panels.push_back(std::move(p));
    }
  io::PanelFigureOptions figure;
  figure.columns = static_cast<Index>(evaluation.size());
  figure.panel_width = 400;
  figure.panel_height = 370;
  figure.title = fmt::format("Critic value surfaces D(x) against a fixed generator (real + N(0, I)): clipping above, "
                             "penalty below; 12 bands of equal area (seed {})", s.seed);
  io::panels_svg(out.file("weight_clipping_surfaces.svg"), panels, figure);

  json.key("surfaces").begin_object();
  json.field("seconds", seconds);
  json.key("settings").begin_object();
  json.field("datasets", s.surface_datasets).field("critic_steps", s.surface_steps).field("depth", s.surface_depth);
  json.field("width", s.surface_width).field("clip", s.surface_clip).field("lambda", s.lambda);
  json.field("batch", s.batch).field("learning_rate", s.learning_rate).field("grid", s.grid);
  json.field("range", s.surface_range).field("eval_samples", s.eval_samples);
  json.end_object();
  json.key("datasets").begin_array();
  for (const SurfaceData& e : evaluation) {
    json.begin_object();
    json.field("dataset", e.dataset).field("exact_w1", e.exact_w1).field("real_baseline_w1", e.real_baseline_w1);
    json.end_object();
  }
  json.end_array();
  json.key("critics").begin_array();
  for (const Surface& r : surfaces) {
    json.begin_object();
    json.field("dataset", r.dataset).field("name", r.method).field("clip", r.clip);
    json.field("wasserstein_estimate", r.estimate).field("real_over_fake_auc", r.auc);
    json.field("quadratic_r2", r.quadratic_r2).field("last_half_relative_change", r.last_half_change);
    if (r.modes > 0) json.field("modes_that_are_peaks", r.modes_peaked).field("modes", r.modes);
    json.field("value_min", r.values.minCoeff()).field("value_max", r.values.maxCoeff());
    json.key("estimate_curve").begin_object();
    json.field("critic_step", r.curve_step).field("estimate", r.curve_estimate);
    json.end_object();
    json.end_object();
  }
  json.end_array();
  json.end_object();
}

void describe(Flags& flags, Settings& s) {
  flags.set_description(
      "Every critic trains (Adam with betas (0.5, 0.9)) against a fixed generator, real data plus unit Gaussian\n"
      "noise (gan_toy.py's 'fixed generator'), once with weight clipping and once with the gradient penalty.\n"
      "(a) surfaces: on 8 Gaussians, 25 Gaussians and the swiss roll, a critic of --surface-depth hidden ReLU\n"
      "    layers of --surface-width (gan_toy.py's 3 x 512) for --surface-steps steps, clipped at --surface-clip or\n"
      "    penalized with --lambda, from the same initialization and batches. Then D on a --grid square over\n"
      "    [-R, R]^2 (R = --surface-range), and on --eval-samples fixed real and generated samples: the estimate\n"
      "    E D(real) - E D(fake) against their exact W1, the AUC of D separating them, the mixtures' modes that are\n"
      "    peaks of D, and the share of D a quadratic explains.\n"
      "(b, c) layers: a deep critic (--depth hidden ReLU layers of --width) for --critic-steps steps on --dataset,\n"
      "    clipped at each of --clips, and penalized: the norm of the Wasserstein objective's gradient with respect\n"
      "    to each layer's weights, averaged over --measure-batches batches, and the weights' histograms.\n"
      "Writes into --out:\n"
      "  weight_clipping_surfaces.svg  (a) D over the plane with the real samples, clipping above, penalty below\n"
      "  weight_clipping.svg           (b, c) gradient norm against layer (log axis), one weight histogram per critic\n"
      "  weight_clipping.json          settings and every number of the tables\n");
  flags.choice("--part", "all, surfaces (claim a) or layers (claims b, c) (default all)", s.part,
               {"all", "surfaces", "layers"});
  flags.integer("--surface-steps", "(a) critic steps, a multiple of 10 (default 1000)", s.surface_steps, 10,
                100000000);
  flags.integer("--surface-width", "(a) units per hidden layer (default 512)", s.surface_width, 1, 4096);
  flags.integer("--surface-depth", "(a) hidden ReLU layers (default 3)", s.surface_depth, 1, 100);
  flags.number("--surface-clip", "(a) clipping bound c of the clipped critic (default 0.01)", s.surface_clip,
               positive, "a number > 0");
  flags.number("--surface-range", "(a) the grid spans [-R, R]^2 (default 2, the data's box; gan_toy.py draws 3)", s.surface_range,
               positive, "a number > 0");
  flags.integer("--grid", "(a) grid cells per side (default 60)", s.grid, 2, 1000);
  flags.integer("--eval-samples", "(a) real and generated samples measured, O(N^3) for W1 (default 500)",
                s.eval_samples, 2, 5000);
  flags.integer("--shown-samples", "(a) real samples drawn over each surface (default 200)", s.shown_samples, 0,
                100000);
  flags.choice("--dataset", "(b, c) 8gaussians, 25gaussians or swissroll (default swissroll)", s.dataset,
               {"8gaussians", "25gaussians", "swissroll"});
  flags.numbers("--clips", "(b, c) clipping bounds c, each a critic (default 0.1,0.01,0.001)", s.clips, positive,
                "numbers > 0", false);
  flags.number("--lambda", "gradient-penalty weight of the penalized critics (default 0.1, gan_toy.py's)", s.lambda,
               positive, "a number > 0");
  flags.integer("--critic-steps", "(b, c) critic steps, a multiple of 10 (default 2000)", s.critic_steps, 10,
                100000000);
  flags.integer("--depth", "(b, c) hidden ReLU layers of the critic (default 12)", s.depth, 1, 100);
  flags.integer("--width", "(b, c) units per hidden layer (default 64)", s.width, 1, 4096);
  flags.integer("--batch", "samples per batch (default 256)", s.batch, 1, 1000000);
  flags.number("--lr", "the critics' Adam learning rate (default 1e-4)", s.learning_rate, positive, "a number > 0");
  flags.integer("--measure-batches", "(b, c) batches the gradient norms average over (default 8)", s.measure_batches,
                1, 100000);
  flags.integer("--bins", "(b, c) histogram bins (default 40)", s.bins, 2, 1000);
  flags.common(s.seed, s.out, s.threads, [&s] {
    s.quick = true;
    s.critic_steps = 100;
    s.width = 16;
    s.batch = 64;
    s.measure_batches = 2;
    s.surface_steps = 100;
    s.surface_width = 32;
    s.grid = 20;
    s.eval_samples = 100;
    s.shown_samples = 50;
  }, "100 critic steps per critic, widths 32 (a) and 16 (b, c), batch 64, a 20 x 20 grid: seconds (the ctest); "
     "flags after it still apply");
}

/// Claims (b) and (c): the deep critics, one per clipping bound and one penalized.
std::vector<Result> train_layers(const Settings& s, StudyProgress& progress) {
  const ToyData<Scalar> data(s.dataset);
  std::vector<Result> results;
  for (const double c : s.clips) {
    gantry::WganClip policy;
    policy.regularizer<loss::WeightClipping>().clip = c;
    results.push_back(train_critic(fmt::format("weight clipping c = {:g}", c), policy, c, s, data, progress));
  }
  gantry::WganGp gp;
  gp.regularizer<loss::GradientPenalty>().lambda = s.lambda;
  results.push_back(train_critic(fmt::format("gradient penalty lambda = {:g}", s.lambda), gp, 0.0, s, data, progress));
  return results;
}

void report_layers(const Settings& s, const std::vector<Result>& results, const OutputDirectory& out,
                   io::JsonWriter& json) {
  // Layer 1 is next to the input, the last one the output: backpropagation reaches layer 1 last.
  fmt::print("(b, c) {} ReLU layers of {} on {}, {} critic steps\n", s.depth, s.width, s.dataset, s.critic_steps);
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
}

}  // namespace

int weight_clipping_main(const std::vector<std::string>& args) {
  Settings s;
  Flags flags("weight-clipping",
              "Weight clipping against the gradient penalty: value surfaces, and a deep critic's gradients and weights "
              "(Gulrajani et al. 2017, fig. 1).");
  describe(flags, s);
  if (!flags.parse(args)) return 0;
  for (const auto& [flag, steps] : {std::pair<const char*, Index>{"--critic-steps", s.critic_steps},
                                    std::pair<const char*, Index>{"--surface-steps", s.surface_steps}})
    if (steps % 10 != 0)
      throw UsageError{fmt::format("studies weight-clipping: bad value for {}: '{}' (expected a multiple of 10)", flag,
                                   steps)};
  const bool surfaces = s.part != "layers", layers = s.part != "surfaces";
  if (s.threads > 0) gantry::set_thread_count(static_cast<int>(s.threads));
  const OutputDirectory out(s.out);
  if (surfaces)
    fmt::print(stderr, "studies weight-clipping (a): {} critics of {} ReLU layers of {}, {} steps each, seed {}\n",
               2 * s.surface_datasets.size(), s.surface_depth, s.surface_width, s.surface_steps, s.seed);
  if (layers)
    fmt::print(stderr, "studies weight-clipping (b, c): {} critics of {} ReLU layers of {} on {}, {} steps each, seed {}\n",
               s.clips.size() + 1, s.depth, s.width, s.dataset, s.critic_steps, s.seed);
  const Index surface_units = surfaces ? 2 * static_cast<Index>(s.surface_datasets.size()) * s.surface_steps : 0;
  const Index layer_units = layers ? static_cast<Index>(s.clips.size() + 1) * s.critic_steps : 0;
  StudyProgress progress("weight-clipping", surface_units + layer_units);
  std::vector<SurfaceData> evaluation;
  std::vector<Surface> critics;
  if (surfaces) train_surfaces(s, evaluation, critics, progress);
  const double surface_seconds = progress.seconds();
  std::vector<Result> results;
  if (layers) results = train_layers(s, progress);
  progress.finish();
  const double seconds = progress.seconds();

  io::JsonWriter json;
  begin_record(json, "weight-clipping", s.seed, s.quick);
  json.field("seconds", seconds).field("part", s.part);
  std::vector<std::string> files;
  if (surfaces) {
    report_surfaces(s, evaluation, critics, surface_seconds, out, json);
    files.push_back("weight_clipping_surfaces.svg");
  }
  if (layers) {
    report_layers(s, results, out, json);
    files.push_back("weight_clipping.svg");
  }
  files.push_back("weight_clipping.json");
  json.key("files").value(files);
  json.end_object();
  json.save(out.file("weight_clipping.json"));
  fmt::print("{:.1f} s; wrote", seconds);
  for (const std::string& f : files) fmt::print(" {}", out.file(f));
  fmt::print("\n");
  return 0;
}

}  // namespace studies
