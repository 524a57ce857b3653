// SPDX-License-Identifier: MIT
// studies continuity: Arjovsky, Chintala & Bottou 2017, example 1 and figure 1. Two distributions on parallel
// lines, P_0 = (0, Z) and P_theta = (theta, Z) with Z ~ U[0, 1]: W1(P_0, P_theta) = |theta| is continuous in
// theta, JS(P_0, P_theta) = log 2 for every theta != 0 (and 0 at 0). For each theta on a grid a discriminator
// (minimax GAN) and a WGAN-GP critic are trained from scratch against the fixed generator x = (theta, z); the
// discriminator's loss gives the JS estimate log 2 - L_D / 2, the critic's E D(real) - E D(fake) the W1 estimate,
// and the generator's gradient with respect to theta is read from the trainer's evaluation API.

#include "cli.hpp"
#include "toy.hpp"

#include <gantry/io/plot_panels.hpp>

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
using Scalar = double;  // the gradients near theta = 0 are small differences; double keeps them clean
constexpr double log2 = 0.69314718055994530942;

struct Settings {
  double theta_max = 1.0;
  Index thetas = 41;
  Index critic_steps = 1000;
  Index width = 64;
  Index batch = 256;
  double learning_rate = 1e-3;
  double lambda = 10.0;
  Index eval_batches = 8;
  std::uint64_t seed = 1;
  std::string out = "studies-out/continuity";
  Index threads = 0;
  bool quick = false;
};

/// P_offset = (offset, Z), Z ~ U[0, 1]: one of the two parallel lines.
class ParallelLine {
 public:
  using Scalar = studies::Scalar;
  explicit ParallelLine(double offset) : offset_(offset) {}
  Index dimension() const { return 2; }
  void sample(Eigen::Ref<Matrix<Scalar>> out, gantry::Rng& rng) const {
    out.row(0).setConstant(static_cast<Scalar>(offset_));
    rng.fill_uniform(out.row(1), 0.0, 1.0);
  }

 private:
  double offset_;
};

/// The generator x = (theta, z): a linear layer z -> W z + b with W = (0, 1)^T and b = (theta, 0), so that theta
/// is the bias b_0 and the trainer's generator gradient holds dL_G / dtheta at that entry.
nn::Mlp<Scalar> line_generator(double theta) {
  nn::Mlp<Scalar> g({1, 2}, nn::MlpOptions{nn::Activation::identity(), true});
  g.weight(0) << 0, 1;
  g.bias(0) << static_cast<Scalar>(theta), 0;
  return g;
}

nn::Mlp<Scalar> fresh_critic(const Settings& s, std::uint64_t seed) {
  gantry::Rng rng(seed);
  return relu_network<Scalar>(2, s.width, 2, 1, rng);
}

// Critic steps per trainer iteration: the trainer runs the (frozen) generator's step once per iteration, so
// several critic steps per iteration keep that overhead small.
constexpr Index critic_steps_per_iteration = 5;

struct Measured {
  double critic_loss = 0, wasserstein_estimate = 0;
  double gradient = 0, gradient_spread = 0;  ///< dL_G/dtheta of the policy's generator loss: mean, stddev over batches
  double non_saturating_gradient = 0;        ///< the GAN only: dL_G/dtheta under -E log D(G(z)), same critic
};

/// Trains the critic of `policy` for s.critic_steps steps against the fixed generator at theta, then averages
/// the critic's loss, E D(real) - E D(fake) and dL_G/dtheta over s.eval_batches fresh batches.
template <class Policy>
Measured train_and_measure(const Policy& policy, double theta, const Settings& s, std::uint64_t seed,
                           StudyProgress& progress) {
  train::TrainerOptions options;
  options.batch_size = s.batch;
  options.n_critic = critic_steps_per_iteration;
  options.seed = derive_seed(seed, 1);
  auto trainer = train::make_trainer(policy, line_generator(theta), fresh_critic(s, derive_seed(seed, 0)),
                                     ParallelLine(0.0), gantry::data::UniformNoise<Scalar>(1, 0.0, 1.0),
                                     toy_adam<Scalar>(s.learning_rate), Frozen<Scalar>(), options);
  trainer.fit(s.critic_steps / critic_steps_per_iteration, progress);
  Measured m;
  double gradient_squares = 0;
  train::Batch<Scalar> batch;
  train::Evaluator<gantry::NonSaturating, Scalar> non_saturating;
  gantry::Vector<Scalar> non_saturating_gradient;
  for (Index k = 0; k < s.eval_batches; ++k) {
    trainer.draw_batch(batch);
    train::Evaluation<Scalar> e = trainer.evaluate(batch);
    const double g = static_cast<double>(trainer.generator().bias_in(e.generator_gradient, 0)(0));
    m.critic_loss += static_cast<double>(e.critic_loss);
    m.wasserstein_estimate += static_cast<double>(e.wasserstein_estimate);
    m.gradient += g;
    gradient_squares += g * g;
    if constexpr (!Policy::objective_type::estimates_wasserstein) {
      non_saturating.generator_gradient(gantry::NonSaturating{}, trainer.generator(), trainer.critic(), batch,
                                        non_saturating_gradient);
      m.non_saturating_gradient +=
          static_cast<double>(trainer.generator().bias_in(non_saturating_gradient, 0)(0));
    }
  }
  const double n = static_cast<double>(s.eval_batches);
  m.critic_loss /= n;
  m.wasserstein_estimate /= n;
  m.gradient /= n;
  m.non_saturating_gradient /= n;
  m.gradient_spread = std::sqrt(std::max(0.0, gradient_squares / n - m.gradient * m.gradient));
  return m;
}


std::vector<double> theta_grid(const Settings& s) {
  std::vector<double> thetas;
  for (Index k = 0; k < s.thetas; ++k) {
    double t = -s.theta_max + 2.0 * s.theta_max * static_cast<double>(k) / static_cast<double>(s.thetas - 1);
    if (std::fabs(t) < 1e-12 * s.theta_max) t = 0.0;  // an odd grid holds theta = 0 exactly
    thetas.push_back(t);
  }
  return thetas;
}

double sign(double x) { return x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0; }

/// With a finite penalty weight the optimal critic is not 1-Lipschitz: on the strip between the lines, where every
/// interpolate lies, a critic of slope g along x earns E D(real) - E D(fake) = g |theta| and pays
/// lambda (g - 1)^2, so the optimum is g = 1 + |theta| / (2 lambda): the estimate g |theta| exceeds W1 by that factor.
double penalized_slope(double theta, double lambda) {
  return lambda > 0 ? 1.0 + std::fabs(theta) / (2.0 * lambda) : std::numeric_limits<double>::infinity();
}

/// The closed forms on a fine grid, with the jump of JS at 0 drawn as a gap and a dot.
void closed_form_series(const Settings& s, std::vector<io::PanelSeries>& estimates,
                        std::vector<io::PanelSeries>& gradients) {
  io::PanelSeries js{"JS closed form, dashed: log 2 off 0", {}, {}, {}, {}, "#1f77b4", io::LineStyle::dashed, false};
  io::PanelSeries w1{"W1 closed form, dashed: |theta|", {}, {}, {}, {}, "#d62728", io::LineStyle::dashed, false};
  io::PanelSeries djs{"dJS/dtheta closed form, dashed: 0", {}, {}, {}, {}, "#1f77b4", io::LineStyle::dashed, false};
  io::PanelSeries dw1{"dW1/dtheta closed form, dashed: sign(theta)", {}, {}, {}, {}, "#d62728", io::LineStyle::dashed, false};
  io::PanelSeries dw1_lambda{"dotted: slope 1 + |theta|/(2 lambda), the penalized optimum", {}, {}, {}, {},
                             "#ff9896", io::LineStyle::dotted, false};
  constexpr Index fine = 401;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (Index k = 0; k < fine; ++k) {
    const double t = -s.theta_max + 2.0 * s.theta_max * static_cast<double>(k) / static_cast<double>(fine - 1);
    const bool at_zero = k == fine / 2;
    js.x.push_back(t);
    js.y.push_back(at_zero ? nan : log2);
    w1.x.push_back(t);
    w1.y.push_back(std::fabs(t));
    djs.x.push_back(t);
    djs.y.push_back(0.0);
    dw1.x.push_back(t);
    dw1.y.push_back(at_zero ? nan : sign(t));
    dw1_lambda.x.push_back(t);
    dw1_lambda.y.push_back(at_zero ? nan : sign(t) * penalized_slope(t, s.lambda));
  }
  estimates.push_back(js);
  estimates.push_back({"JS(P_0, P_0) = 0", {0.0}, {0.0}, {}, {}, "#1f77b4", io::LineStyle::solid, true});
  estimates.push_back(w1);
  gradients.push_back(djs);
  gradients.push_back(dw1);
  gradients.push_back(dw1_lambda);
}

void describe(Flags& flags, Settings& s) {
  flags.set_description(
      "For theta on a grid in [-theta-max, theta-max], trains from scratch (Adam, betas (0.5, 0.9)) a GAN\n"
      "discriminator and a WGAN-GP critic between P_0 = (0, Z) and P_theta = (theta, Z), Z ~ U[0, 1], against the\n"
      "fixed generator x = (theta, z), and measures on fresh batches: the JS estimate log 2 - L_D/2, the W1\n"
      "estimate E D(real) - E D(fake), and the gradient each gives theta. Writes into --out:\n"
      "  continuity.svg   the estimates and the gradients against theta, closed forms dashed\n"
      "  continuity.json  settings, every measurement, the closed forms and the summary the docs quote\n");
  flags.integer("--thetas", "points on the theta grid, odd to hold 0 (default 41)", s.thetas, 3, 100001);
  flags.number("--theta-max", "the grid spans [-X, X] (default 1)", s.theta_max, positive, "a number > 0");
  flags.integer("--critic-steps", "critic steps from scratch at every theta, a multiple of 5 (default 1000)",
                s.critic_steps, critic_steps_per_iteration, 10000000);
  flags.integer("--width", "units of each of the critics' two hidden ReLU layers (default 64)", s.width, 1, 4096);
  flags.integer("--batch", "samples per batch (default 256)", s.batch, 1, 1000000);
  flags.number("--lr", "the critics' Adam learning rate (default 1e-3)", s.learning_rate, positive, "a number > 0");
  flags.number("--lambda", "WGAN-GP penalty weight (default 10, the paper's)", s.lambda, nonnegative, "a number >= 0");
  flags.integer("--eval-batches", "fresh batches each measurement averages over (default 8)", s.eval_batches, 1,
                100000);
  flags.common(s.seed, s.out, s.threads, [&s] {
    s.quick = true;
    s.thetas = 9;
    s.critic_steps = 150;
    s.width = 32;
    s.batch = 128;
    s.eval_batches = 2;
  }, "9 thetas, 150 critic steps of width 32, batch 128: a few seconds (the ctest); flags after it still apply");
}

}  // namespace

int continuity_main(const std::vector<std::string>& args) {
  Settings s;
  Flags flags("continuity", "Continuity of JS and W1 between two parallel lines (Arjovsky et al. 2017, example 1, fig. 1).");
  describe(flags, s);
  if (!flags.parse(args)) return 0;
  if (s.thetas % 2 == 0)
    throw UsageError{fmt::format("studies continuity: bad value for --thetas: '{}' (expected an odd number, so that "
                                 "the grid holds theta = 0)", s.thetas)};
  if (s.critic_steps % critic_steps_per_iteration != 0)
    throw UsageError{fmt::format("studies continuity: bad value for --critic-steps: '{}' (expected a multiple of {})",
                                 s.critic_steps, critic_steps_per_iteration)};
  if (s.threads > 0) gantry::set_thread_count(static_cast<int>(s.threads));
  const OutputDirectory out(s.out);

  gantry::Vanilla gan;  // minimax: its generator loss E log(1 - D(G(z))) is the one whose value is the JS
  gantry::WganGp wgan;
  wgan.regularizer<gantry::loss::GradientPenalty>().lambda = s.lambda;
  const std::vector<double> thetas = theta_grid(s);
  fmt::print(stderr, "studies continuity: {} thetas in [{}, {}], {} critic steps each, width {}, batch {}, seed {}\n",
             s.thetas, -s.theta_max, s.theta_max, s.critic_steps, s.width, s.batch, s.seed);
  StudyProgress progress("continuity", 2 * s.thetas * s.critic_steps);  // in critic steps
  progress.set_units_per_iteration(critic_steps_per_iteration);
  std::vector<Measured> gan_results, wgan_results;
  for (std::size_t k = 0; k < thetas.size(); ++k) {
    // The same critic initialisation and batches for both critics at one theta, different ones per theta.
    const std::uint64_t seed = derive_seed(s.seed, 100 + k);
    gan_results.push_back(train_and_measure(gan, thetas[k], s, seed, progress));
    wgan_results.push_back(train_and_measure(wgan, thetas[k], s, seed, progress));
  }
  progress.finish();
  const double seconds = progress.seconds();

  // The table, and the summary over the grid off theta = 0.
  fmt::print("{:>8} | {:>9} {:>9} {:>10} {:>10} | {:>9} {:>9} {:>10} {:>9}\n", "theta", "JS est.", "JS", "dJS/dth",
             "NS dLG/dth", "W1 est.", "|theta|", "dW1/dth", "sign");
  double js_sum = 0, js_gradient_sum = 0, ns_gradient_sum = 0, w1_error_max = 0, w1_gradient_error_max = 0;
  Index off_zero = 0;
  for (std::size_t k = 0; k < thetas.size(); ++k) {
    const double t = thetas[k];
    const double js = log2 - gan_results[k].critic_loss / 2;
    // At a fixed discriminator, dJS_est/dtheta = -(1/2) dL_D/dtheta = (1/2) dL_G/dtheta under minimax.
    const double djs = gan_results[k].gradient / 2;
    fmt::print("{:>8.3f} | {:>9.4f} {:>9.4f} {:>10} {:>10} | {:>9.4f} {:>9.4f} {:>10.4f} {:>9.0f}\n", t, js,
               t == 0 ? 0.0 : log2, sci(djs), sci(gan_results[k].non_saturating_gradient),
               wgan_results[k].wasserstein_estimate, std::fabs(t), wgan_results[k].gradient, sign(t));
    w1_error_max = std::max(w1_error_max, std::fabs(wgan_results[k].wasserstein_estimate - std::fabs(t)));
    if (t != 0) {
      ++off_zero;
      js_sum += js;
      js_gradient_sum += std::fabs(djs);
      ns_gradient_sum += std::fabs(gan_results[k].non_saturating_gradient);
      w1_gradient_error_max = std::max(w1_gradient_error_max, std::fabs(wgan_results[k].gradient - sign(t)));
    }
  }
  const double n_off = static_cast<double>(std::max<Index>(off_zero, 1));
  // A critic whose ReLUs all died is constant: its estimate and gradient are exactly 0. Counted apart, and left
  // out of the median error against the optimum of the penalized objective.
  Index dead_critics = 0;
  std::vector<double> penalized_errors;
  for (std::size_t k = 0; k < thetas.size(); ++k) {
    if (thetas[k] == 0) continue;
    if (wgan_results[k].gradient == 0 && wgan_results[k].gradient_spread == 0) {
      ++dead_critics;
      continue;
    }
    penalized_errors.push_back(std::fabs(wgan_results[k].gradient - sign(thetas[k]) * penalized_slope(thetas[k], s.lambda)));
  }
  std::sort(penalized_errors.begin(), penalized_errors.end());
  const double w1_gradient_median_error_penalized =
      penalized_errors.empty() ? 0.0 : penalized_errors[penalized_errors.size() / 2];
  // Near 0 a finite discriminator cannot yet separate the lines; from |theta| >= theta_max / 4 on it can.
  double js_far_min = log2, js_gradient_far_max = 0;
  for (std::size_t k = 0; k < thetas.size(); ++k)
    if (std::fabs(thetas[k]) >= s.theta_max / 4) {
      js_far_min = std::min(js_far_min, log2 - gan_results[k].critic_loss / 2);
      js_gradient_far_max = std::max(js_gradient_far_max, std::fabs(gan_results[k].gradient / 2));
    }
  fmt::print("summary: JS estimate off 0: mean {:.4f} (log 2 = {:.4f}), at |theta| >= {:g}: min {:.4f}, |dJS/dtheta| "
             "max {}; W1 estimate: max |error| {:.4f}, gradient max |error| vs sign(theta) {:.4f}, median |error| vs "
             "the penalized optimum {:.4f}; dead critics {}; {:.1f} s\n",
             js_sum / n_off, log2, s.theta_max / 4, js_far_min, sci(js_gradient_far_max), w1_error_max,
             w1_gradient_error_max, w1_gradient_median_error_penalized, dead_critics, seconds);

  // The figure: estimates and gradients against theta, closed forms dashed.
  std::vector<io::PanelSeries> estimates, gradients;
  io::PanelSeries js_measured{"JS estimate log 2 - L_D/2 (GAN discriminator)", thetas, {}, {}, {}, "#1f77b4",
                              io::LineStyle::solid, true};
  io::PanelSeries w1_measured{"W1 estimate E D(real) - E D(fake) (WGAN-GP critic)", thetas, {}, {}, {}, "#d62728",
                              io::LineStyle::solid, true};
  io::PanelSeries djs_measured{"dJS_est/dtheta = (1/2) dL_G/dtheta, minimax", thetas, {}, {}, {}, "#1f77b4",
                               io::LineStyle::solid, true};
  io::PanelSeries dw1_measured{"dW1_est/dtheta = dL_G/dtheta, WGAN-GP", thetas, {}, {}, {}, "#d62728",
                               io::LineStyle::solid, true};
  for (std::size_t k = 0; k < thetas.size(); ++k) {
    js_measured.y.push_back(log2 - gan_results[k].critic_loss / 2);
    w1_measured.y.push_back(wgan_results[k].wasserstein_estimate);
    djs_measured.y.push_back(gan_results[k].gradient / 2);
    const double spread = gan_results[k].gradient_spread / 2;
    djs_measured.lower.push_back(djs_measured.y.back() - spread);
    djs_measured.upper.push_back(djs_measured.y.back() + spread);
    dw1_measured.y.push_back(wgan_results[k].gradient);
    dw1_measured.lower.push_back(wgan_results[k].gradient - wgan_results[k].gradient_spread);
    dw1_measured.upper.push_back(wgan_results[k].gradient + wgan_results[k].gradient_spread);
  }
  estimates.push_back(js_measured);
  estimates.push_back(w1_measured);
  gradients.push_back(djs_measured);
  gradients.push_back(dw1_measured);
  closed_form_series(s, estimates, gradients);  // on top of the measurements
  const auto panel = [](std::string title, std::string y_label, std::vector<io::PanelSeries> series) {
    io::Panel p;
    p.title = std::move(title);
    p.x_label = "theta";
    p.y_label = std::move(y_label);
    p.series = std::move(series);
    return p;
  };
  const io::Panel estimate_panel = panel("distance between P_0 and P_theta", "distance", estimates);
  const io::Panel gradient_panel = panel("gradient the generator's theta receives", "d estimate / d theta", gradients);
  io::PanelFigureOptions figure;
  figure.title = fmt::format("Parallel lines: critics trained {} steps at each theta (seed {})", s.critic_steps, s.seed);
  figure.panel_height = 400;
  figure.panel_width = 520;
  io::panels_svg(out.file("continuity.svg"), {estimate_panel, gradient_panel}, figure);

  io::JsonWriter json;
  begin_record(json, "continuity", s.seed, s.quick);
  json.field("seconds", seconds);
  json.key("settings").begin_object();
  json.field("thetas", s.thetas).field("theta_max", s.theta_max).field("critic_steps", s.critic_steps);
  json.field("width", s.width).field("depth", 2).field("batch", s.batch).field("learning_rate", s.learning_rate);
  json.field("adam_beta1", 0.5).field("adam_beta2", 0.9).field("lambda", s.lambda);
  json.field("eval_batches", s.eval_batches).field("scalar", "double");
  json.end_object();
  json.key("theta").value(thetas);
  std::vector<double> js, djs, ns, w1, dw1, w1_closed, dw1_closed, js_closed, w1_penalized, dw1_penalized;
  for (std::size_t k = 0; k < thetas.size(); ++k) {
    js.push_back(log2 - gan_results[k].critic_loss / 2);
    djs.push_back(gan_results[k].gradient / 2);
    ns.push_back(gan_results[k].non_saturating_gradient);
    w1.push_back(wgan_results[k].wasserstein_estimate);
    dw1.push_back(wgan_results[k].gradient);
    js_closed.push_back(thetas[k] == 0 ? 0.0 : log2);
    w1_closed.push_back(std::fabs(thetas[k]));
    dw1_closed.push_back(sign(thetas[k]));
    w1_penalized.push_back(std::fabs(thetas[k]) * penalized_slope(thetas[k], s.lambda));
    dw1_penalized.push_back(sign(thetas[k]) * penalized_slope(thetas[k], s.lambda));
  }
  json.key("gan").begin_object();
  json.field("policy", gan.name()).field("js_estimate", js).field("js_gradient", djs);
  json.field("non_saturating_gradient", ns);
  json.end_object();
  json.key("wgan_gp").begin_object();
  json.field("policy", wgan.name()).field("w1_estimate", w1).field("w1_gradient", dw1);
  json.end_object();
  json.key("closed_form").begin_object();
  json.field("js", js_closed).field("w1", w1_closed).field("w1_gradient", dw1_closed);
  json.field("w1_estimate_at_penalized_optimum", w1_penalized).field("w1_gradient_at_penalized_optimum", dw1_penalized);
  json.end_object();
  json.key("summary").begin_object();
  json.field("js_mean_off_zero", js_sum / n_off).field("js_min_far", js_far_min);
  json.field("js_gradient_mean_abs_off_zero", js_gradient_sum / n_off).field("js_gradient_max_abs_far", js_gradient_far_max);
  json.field("non_saturating_gradient_mean_abs_off_zero", ns_gradient_sum / n_off);
  json.field("w1_max_abs_error", w1_error_max).field("w1_gradient_max_abs_error", w1_gradient_error_max);
  json.field("w1_gradient_median_abs_error_vs_penalized_optimum", w1_gradient_median_error_penalized);
  json.field("dead_critics", dead_critics);
  json.field("far_means_abs_theta_at_least", s.theta_max / 4);
  json.end_object();
  json.key("files").value(std::vector<std::string>{"continuity.svg", "continuity.json"});
  json.end_object();
  json.save(out.file("continuity.json"));
  fmt::print("wrote {}, {}\n", out.file("continuity.svg"), out.file("continuity.json"));
  return 0;
}

}  // namespace studies
