// SPDX-License-Identifier: MIT
// Every figure type, drawn for small fixed inputs, is byte for byte the SVG committed under tests/io/data/: the
// plotting code may be reorganised, its output may not change unnoticed. The inputs are exact (no random draws).
// After an intended change of the drawing, rewrite the references and look at them:
//   GANTRY_WRITE_PLOT_REFERENCES=1 ./build/tests/io_plot_reference_test

#include <gantry/io/plot/curves.hpp>
#include <gantry/io/plot/eigenvalues.hpp>
#include <gantry/io/plot/heatmap.hpp>
#include <gantry/io/plot/vector_field.hpp>
#include <gantry/io/plot_panels.hpp>

#include <complex>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "catch.hpp"
#include "support/scratch.hpp"

namespace {

namespace io = gantry::io;
using gantry::Index;

constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();

// tests/io/data/ sits next to this file; CMake compiles sources by absolute path.
std::string reference_path(const std::string& name) {
  const std::string here = __FILE__;
  return here.substr(0, here.find_last_of('/') + 1) + "data/" + name;
}

void check_against_reference(const std::string& name, const std::string& svg) {
  const std::string path = reference_path(name);
  if (std::getenv("GANTRY_WRITE_PLOT_REFERENCES") != nullptr) {
    gantry::test::spill(path, svg);
    WARN("rewrote " << path);
    return;
  }
  const std::string reference = gantry::test::slurp(path);
  INFO(name << ": " << svg.size() << " bytes drawn, " << reference.size() << " in the reference");
  CHECK(svg == reference);
}

/// (2 x n) points on a grid of eighths, two of them outside [-2, 2]^2 and one not finite.
Eigen::MatrixXd samples(Index n, double shift) {
  Eigen::MatrixXd points(2, n);
  for (Index k = 0; k < n; ++k) {
    points(0, k) = -1.5 + 0.375 * static_cast<double>(k % 8) + shift;
    points(1, k) = 1.25 - 0.5 * static_cast<double>(k / 8) - shift;
  }
  return points;
}

}  // namespace

TEST_CASE("the critic heat map is byte for byte its reference", "[io][plots][reference]") {
  const io::PlotBounds bounds{-2.0, 2.0, -2.0, 2.0};
  Eigen::MatrixXd values(8, 6);
  for (Index j = 0; j < values.cols(); ++j)
    for (Index i = 0; i < values.rows(); ++i) values(i, j) = 0.25 * static_cast<double>(i) - 0.5 * static_cast<double>(j);
  values(3, 2) = not_a_number;
  Eigen::MatrixXd fake = samples(16, 0.125);
  fake(0, 3) = 5.0;
  fake(1, 7) = not_a_number;
  io::HeatmapOptions options;
  options.title = "WGAN-GP <critic> & samples";
  check_against_reference("heatmap_viridis.svg", io::critic_heatmap_svg(values, bounds, samples(16, 0.0), fake, options));
  options.color_map = io::ColorMap::diverging;
  options.levels = 0;
  options.value_min = -3.0;
  options.value_max = 3.0;
  options.equal_aspect = false;
  check_against_reference("heatmap_diverging.svg",
                          io::critic_heatmap_svg(values, bounds, samples(8, 0.0), samples(8, 0.25), options));
}

TEST_CASE("training curves are byte for byte their reference", "[io][plots][reference]") {
  io::Series loss{"critic loss", {}, {}, ""};
  io::Series other{"generator loss", {}, {}, "#d62728"};
  for (int t = 0; t < 40; ++t) {
    loss.y.push_back(1.0 / (1.0 + t) - 0.25);
    other.x.push_back(2.0 * t);
    other.y.push_back(t == 17 ? not_a_number : 0.0625 * t);
  }
  io::CurvesOptions options;
  options.title = "losses";
  options.y_label = "loss";
  check_against_reference("curves_linear.svg", io::curves_svg({loss, other, io::Series{"empty", {}, {}, ""}}, options));
  options.log_y = true;
  options.title = "losses, log y";
  check_against_reference("curves_log.svg", io::curves_svg({loss, other}, options));
}

TEST_CASE("the Dirac-GAN vector field is byte for byte its reference", "[io][plots][reference]") {
  const io::PlotBounds bounds{-1.0, 1.0, -1.0, 1.0};
  const Index n = 7;
  Eigen::MatrixXd theta(n, n), psi(n, n);
  const Eigen::MatrixXd centers = io::grid_cell_centers(bounds, n, n);
  for (Index j = 0; j < n; ++j)
    for (Index i = 0; i < n; ++i) {
      theta(i, j) = -centers(1, i + n * j);  // the minimax field rotates about the equilibrium
      psi(i, j) = centers(0, i + n * j) - 0.125 * centers(1, i + n * j);
    }
  Eigen::MatrixXd path(2, 5);
  path << 0.75, 0.5, 0.0, -0.5, -0.25,  //
      0.0, 0.5, 0.75, 0.25, -0.125;
  io::VectorFieldOptions options;
  options.title = "Dirac-GAN, gradient descent";
  check_against_reference("vector_field.svg",
                          io::vector_field_svg(theta, psi, bounds, {io::Trajectory{"simultaneous", path, ""}}, options));
}

TEST_CASE("a figure of panels is byte for byte its reference", "[io][plot_panels][reference]") {
  io::Panel curves;
  curves.title = "gradient norm";
  curves.x_label = "step";
  curves.y_label = "|grad|";
  curves.log_x = true;
  curves.log_y = true;
  io::PanelSeries mean{"mean", {}, {}, {}, {}, "", io::LineStyle::solid, false};
  for (int k = 1; k <= 12; ++k) {
    mean.x.push_back(10.0 * k * k);
    mean.y.push_back(1e-3 * k * k * k);
    mean.lower.push_back(0.5e-3 * k * k * k);
    mean.upper.push_back(2e-3 * k * k * k);
  }
  io::PanelSeries dashed{"reference", {1.0, 1e3}, {1e-3, 1.0}, {}, {}, "#d62728", io::LineStyle::dashed, true};
  curves.series = {mean, dashed};
  io::Panel histogram;
  histogram.title = "critic outputs";
  histogram.x_label = "D(x)";
  histogram.y_label = "count";
  histogram.bars.push_back(io::PanelBars{"real", {-1.0, -0.5, 0.0, 0.5, 1.0}, {2.0, 5.0, 0.0, 3.0}, "", 0.55});
  histogram.bars.push_back(io::PanelBars{"fake", {-0.75, 0.0, 0.75}, {4.0, 6.0}, "#2ca02c", 0.55});
  histogram.y_min = 0.0;
  io::PanelFigureOptions options;
  options.title = "two panels";
  options.columns = 2;
  check_against_reference("panels.svg", io::panels_svg({curves, histogram, io::Panel{}}, options));
}

TEST_CASE("eigenvalues in the complex plane are byte for byte their reference", "[io][spectrum_plot][reference]") {
  std::vector<io::EigenvaluePanel> panels(2);
  panels[0].title = "iteration 0";
  panels[1].title = "iteration 100";
  for (int k = 0; k < 6; ++k) {
    panels[0].eigenvalues.emplace_back(-0.25 * k, k % 2 == 0 ? 0.5 * k : -0.5 * k);
    panels[1].eigenvalues.emplace_back(-0.125 * k - 0.5, 0.25 * k);
  }
  panels[1].eigenvalues.emplace_back(not_a_number, 1.0);
  io::EigenvaluePanelsOptions options;
  options.title = "spectrum";
  check_against_reference("eigenvalues_shared.svg", io::eigenvalue_panels_svg(panels, options));
  options.shared_axes = false;
  check_against_reference("eigenvalues_own.svg", io::eigenvalue_panels_svg(panels, options));
}
