// SPDX-License-Identifier: MIT
#pragma once
/// The critic heat map: its values on a grid as filled bands of a colour map, with real and generated samples.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/types.hpp"
#include "gantry/io/plot/axes.hpp"
#include "gantry/io/plot/color.hpp"
#include "gantry/io/plot/grid.hpp"
#include "gantry/io/plot/layout.hpp"
#include "gantry/io/plot/legend.hpp"
#include "gantry/io/plot/marks.hpp"
#include "gantry/io/svg.hpp"

namespace gantry::io {

struct HeatmapOptions {
  std::string title = "critic";
  std::string x_label = "x";
  std::string y_label = "y";
  std::string value_label = "critic value";  ///< beside the colour bar
  std::string real_label = "real";
  std::string fake_label = "generated";
  std::string real_color = "#ff7f0e";  ///< orange and green, as in Gulrajani et al. 2017, fig. 1
  std::string fake_color = "#2ca02c";
  double width = 640.0;  ///< the whole figure, in pixels
  double height = 580.0;
  int levels = 12;  ///< filled contour bands (quantised values); 0: near-continuous, 64 fine bands
  ColorMap color_map = ColorMap::viridis;
  std::optional<double> value_min;  ///< fixes the colour range (e.g. the same for every frame of a run)
  std::optional<double> value_max;
  double point_radius = 2.0;
  bool equal_aspect = true;  ///< one unit of x as long as one unit of y, as the plane deserves
  Index grid_size = 80;      ///< cells per side when the heat map evaluates a callable

  void validate() const {
    using gantry::detail::require;
    require(std::isfinite(width) && width >= 200.0, "HeatmapOptions", "width", width, "finite and >= 200");
    require(std::isfinite(height) && height >= 200.0, "HeatmapOptions", "height", height, "finite and >= 200");
    require(levels >= 0 && levels <= 256, "HeatmapOptions", "levels", levels, "in [0, 256]");
    require(std::isfinite(point_radius) && point_radius > 0.0, "HeatmapOptions", "point_radius", point_radius,
            "finite and > 0");
    require(grid_size >= 2 && grid_size <= 1000, "HeatmapOptions", "grid_size", grid_size, "in [2, 1000]");
    if (value_min) require(std::isfinite(*value_min), "HeatmapOptions", "value_min", *value_min, "finite");
    if (value_max) require(std::isfinite(*value_max), "HeatmapOptions", "value_max", *value_max, "finite");
    if (value_min && value_max)
      require(*value_max > *value_min, "HeatmapOptions", "value_max", *value_max,
              gantry::detail::message("> value_min (", *value_min, ")"));
    require(!real_color.empty(), "HeatmapOptions", "real_color", "\"\"", "a colour such as \"#ff7f0e\"");
    require(!fake_color.empty(), "HeatmapOptions", "fake_color", "\"\"", "a colour such as \"#2ca02c\"");
  }
};

// ----------------------------------------------------------------------------------------------------------------
// 1. Critic heat map (the style of the toy figures of Gulrajani et al. 2017, "Improved Training of Wasserstein GANs")

/// The critic's values on an (nx x ny) grid of cells tiling `bounds` (entry (i, j) at the i-th cell
/// centre along x and the j-th along y, see `grid_cell_centers`), real and generated samples as
/// (2 x n) matrices on top. Samples outside `bounds` or not finite are not drawn, and the legend
/// says how many; non-finite grid values are drawn grey and listed in the legend.
inline std::string critic_heatmap_svg(const Eigen::Ref<const Eigen::MatrixXd>& values, const PlotBounds& bounds,
                                      const Eigen::Ref<const Eigen::MatrixXd>& real,
                                      const Eigen::Ref<const Eigen::MatrixXd>& fake,
                                      const HeatmapOptions& options = {}) {
  constexpr std::string_view where = "gantry::io::critic_heatmap_svg";
  bounds.validate();
  options.validate();
  if (values.rows() < 1 || values.cols() < 1)
    throw ShapeError(gantry::detail::message(where, ": values expects a grid of at least 1x1, given ",
                                             gantry::detail::shape_string(values.rows(), values.cols())));
  detail::check_points(where, "real", real);
  detail::check_points(where, "fake", fake);

  const Index nx = values.rows();
  const Index ny = values.cols();
  bool any_non_finite = false;
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  for (Index j = 0; j < ny; ++j)
    for (Index i = 0; i < nx; ++i) {
      const double v = values(i, j);
      if (!std::isfinite(v)) {
        any_non_finite = true;
        continue;
      }
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  if (!(lo <= hi)) {
    lo = 0.0;
    hi = 1.0;
  }
  if (options.value_min) lo = *options.value_min;
  if (options.value_max) hi = *options.value_max;
  if (!(hi > lo)) {  // a constant critic (or a fixed bound on one side only) still needs a colour bar
    const double pad = lo == 0.0 ? 0.5 : 0.05 * std::fabs(lo);
    if (options.value_max && !options.value_min) lo = hi - 2.0 * pad;
    else if (options.value_min && !options.value_max) hi = lo + 2.0 * pad;
    else {
      lo -= pad;
      hi += pad;
    }
  }

  // Every cell gets one of n_colors colours, that of its band's middle. "Continuous" is 64 bands:
  // finer steps are invisible, and equal neighbours merge into one <rect>, keeping the file small.
  const int n_colors = options.levels > 0 ? options.levels : 64;
  std::vector<std::string> colors(static_cast<std::size_t>(n_colors));
  for (int k = 0; k < n_colors; ++k)
    colors[static_cast<std::size_t>(k)] = detail::color_at(options.color_map, (k + 0.5) / n_colors);
  const auto color_index = [&](double v) -> int {
    if (!std::isfinite(v)) return -1;
    const double t = (v - lo) / (hi - lo);
    return std::clamp(static_cast<int>(std::floor(t * n_colors)), 0, n_colors - 1);
  };
  const std::string non_finite_color = "#bdbdbd";

  const Index real_outside = detail::count_outside(bounds, real);
  const Index fake_outside = detail::count_outside(bounds, fake);
  std::vector<detail::LegendEntry> legend;
  if (real.cols() > 0)
    legend.push_back({detail::with_outside_note(options.real_label, real_outside), options.real_color,
                      detail::LegendMarker::dot});
  if (fake.cols() > 0)
    legend.push_back({detail::with_outside_note(options.fake_label, fake_outside), options.fake_color,
                      detail::LegendMarker::dot});
  if (any_non_finite)
    legend.push_back({"critic value not finite", non_finite_color, detail::LegendMarker::swatch});

  const detail::Ticks value_ticks = detail::linear_ticks(lo, hi, 6);
  std::size_t widest_label = 0;
  for (const auto& label : value_ticks.labels) widest_label = std::max(widest_label, label.size());
  constexpr double bar_gap = 16.0;
  constexpr double bar_width = 14.0;
  const double extra_right =
      bar_gap + bar_width + 8.0 + 0.6 * detail::tick_font_size * static_cast<double>(widest_label) + 26.0;
  const double x_range = bounds.x_max - bounds.x_min;
  const double y_range = bounds.y_max - bounds.y_min;
  const detail::FigureLayout layout =
      detail::layout_figure(options.width, options.height, !options.title.empty(), legend, extra_right,
                            options.equal_aspect ? std::optional<double>(x_range / y_range) : std::nullopt);

  SvgDocument doc = detail::begin_figure(layout, options.title);
  detail::draw_title(doc, layout, options.title);
  detail::draw_legend(doc, layout);

  const double left = layout.plot_left;
  const double top = layout.plot_top;
  const double cell_width = layout.plot_width / static_cast<double>(nx);
  const double cell_height = layout.plot_height / static_cast<double>(ny);
  // Each run overlaps its right and lower neighbour by a pixel, which is painted over next:
  // anti-aliased edges at fractional pixels would otherwise let the background show as hairlines.
  constexpr double overlap = 1.0;
  doc.begin_group(SvgAttributes().set("class", "heatmap"));
  for (Index j = ny - 1; j >= 0; --j) {
    const double y = top + static_cast<double>(ny - 1 - j) * cell_height;
    const double height = cell_height + (j > 0 ? overlap : 0.0);
    Index run_begin = 0;
    while (run_begin < nx) {
      const int index = color_index(values(run_begin, j));
      Index run_end = run_begin + 1;
      while (run_end < nx && color_index(values(run_end, j)) == index) ++run_end;
      const double x = left + static_cast<double>(run_begin) * cell_width;
      const double width = static_cast<double>(run_end - run_begin) * cell_width + (run_end < nx ? overlap : 0.0);
      doc.rect(x, y, width, height,
               SvgAttributes().set("fill", index < 0 ? non_finite_color : colors[static_cast<std::size_t>(index)]));
      run_begin = run_end;
    }
  }
  doc.end_group();

  const detail::AxisScale x_scale{bounds.x_min, bounds.x_max, left, layout.plot_right(), false};
  const detail::AxisScale y_scale{bounds.y_min, bounds.y_max, layout.plot_bottom(), top, false};
  detail::draw_axes(doc, layout, x_scale, detail::linear_ticks(bounds.x_min, bounds.x_max),
                    y_scale, detail::linear_ticks(bounds.y_min, bounds.y_max), options.x_label, options.y_label,
                    false);

  // Colour bar: one rect per band, low values at the bottom.
  const double bar_left = layout.plot_right() + bar_gap;
  const double step_height = layout.plot_height / n_colors;
  doc.begin_group(SvgAttributes().set("class", "colorbar"));
  for (int k = 0; k < n_colors; ++k) {
    const double y = layout.plot_bottom() - static_cast<double>(k + 1) * step_height;
    doc.rect(bar_left, y, bar_width, step_height + (k > 0 ? overlap : 0.0),
             SvgAttributes().set("fill", colors[static_cast<std::size_t>(k)]));
  }
  doc.rect(bar_left, top, bar_width, layout.plot_height,
           SvgAttributes().set("fill", "none").set("stroke", "#333").set("stroke-width", 1.0));
  const detail::AxisScale value_scale{lo, hi, layout.plot_bottom(), top, false};
  SvgPath marks(doc.decimals());
  for (const double v : value_ticks.values)
    marks.move_to(bar_left + bar_width, value_scale(v)).line_to(bar_left + bar_width + 4.0, value_scale(v));
  doc.path(marks, SvgAttributes().set("stroke", "#333").set("stroke-width", 1.0).set("fill", "none"));
  doc.begin_group(SvgAttributes().set("font-size", detail::tick_font_size).set("fill", "#333"));
  for (std::size_t k = 0; k < value_ticks.values.size(); ++k)
    doc.text(bar_left + bar_width + 7.0, value_scale(value_ticks.values[k]) + 4.0, value_ticks.labels[k]);
  doc.end_group();
  if (!options.value_label.empty()) {
    const double x = layout.width - 10.0;
    const double y = 0.5 * (top + layout.plot_bottom());
    const std::string rotation =
        "rotate(-90 " + detail::format_fixed(x, doc.decimals()) + " " + detail::format_fixed(y, doc.decimals()) + ")";
    doc.text(x, y, options.value_label, SvgAttributes().set("text-anchor", "middle").set("transform", rotation));
  }
  doc.end_group();

  const auto draw_points = [&](const Eigen::Ref<const Eigen::MatrixXd>& points, const std::string& color,
                               const char* name) {
    if (points.cols() == 0) return;
    doc.begin_group(SvgAttributes()
                        .set("class", name)
                        .set("fill", color)
                        .set("stroke", "#000")
                        .set("stroke-width", 0.35)
                        .set("stroke-opacity", 0.6));
    for (Index k = 0; k < points.cols(); ++k)
      if (detail::inside(bounds, points(0, k), points(1, k)))
        doc.circle(x_scale(points(0, k)), y_scale(points(1, k)), options.point_radius);
    doc.end_group();
  };
  draw_points(real, options.real_color, "real-samples");
  draw_points(fake, options.fake_color, "generated-samples");

  doc.end_group();
  return doc.str();
}

/// Writes the heat map to `path`; throws IoError naming the path if it cannot be written.
inline void critic_heatmap_svg(const std::string& path, const Eigen::Ref<const Eigen::MatrixXd>& values,
                               const PlotBounds& bounds, const Eigen::Ref<const Eigen::MatrixXd>& real,
                               const Eigen::Ref<const Eigen::MatrixXd>& fake, const HeatmapOptions& options = {}) {
  const std::string text = critic_heatmap_svg(values, bounds, real, fake, options);
  detail::write_svg_text("gantry::io::critic_heatmap_svg", path, text);
}

/// Convenience for a critic given as a function of (x, y): evaluated on an options.grid_size square
/// grid. A network is faster through `grid_cell_centers` and one batched forward pass.
inline std::string critic_heatmap_svg(const std::function<double(double, double)>& critic, const PlotBounds& bounds,
                                      const Eigen::Ref<const Eigen::MatrixXd>& real,
                                      const Eigen::Ref<const Eigen::MatrixXd>& fake,
                                      const HeatmapOptions& options = {}) {
  options.validate();
  const Eigen::MatrixXd values = evaluate_on_grid(critic, bounds, options.grid_size, options.grid_size);
  return critic_heatmap_svg(values, bounds, real, fake, options);
}

inline void critic_heatmap_svg(const std::string& path, const std::function<double(double, double)>& critic,
                               const PlotBounds& bounds, const Eigen::Ref<const Eigen::MatrixXd>& real,
                               const Eigen::Ref<const Eigen::MatrixXd>& fake, const HeatmapOptions& options = {}) {
  const std::string text = critic_heatmap_svg(critic, bounds, real, fake, options);
  detail::write_svg_text("gantry::io::critic_heatmap_svg", path, text);
}

}  // namespace gantry::io
