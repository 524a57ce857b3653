// SPDX-License-Identifier: MIT
#pragma once
/// The Dirac-GAN vector field: arrows of equal length over (theta, psi), trajectories on top.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
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

/// A path through (theta, psi), one point per column of a (2 x steps) matrix.
struct Trajectory {
  std::string name;
  Eigen::MatrixXd points;
  std::string color;  ///< empty: the next colour of a ten-colour palette
};

struct VectorFieldOptions {
  std::string title = "Dirac-GAN";
  std::string x_label = "theta";
  std::string y_label = "psi";
  std::string equilibrium_label = "equilibrium (0, 0)";
  std::string arrow_color = "#8c8c8c";
  double width = 620.0;
  double height = 640.0;
  double arrow_length = 0.75;  ///< as a fraction of a grid cell: arrows show direction, all have this length
  bool mark_equilibrium = true;
  bool equal_aspect = true;
  Index grid_size = 21;  ///< arrows per side when the figure evaluates a callable (odd: one sits on 0)

  void validate() const {
    using gantry::detail::require;
    require(std::isfinite(width) && width >= 200.0, "VectorFieldOptions", "width", width, "finite and >= 200");
    require(std::isfinite(height) && height >= 200.0, "VectorFieldOptions", "height", height, "finite and >= 200");
    require(std::isfinite(arrow_length) && arrow_length > 0.0 && arrow_length <= 2.0, "VectorFieldOptions",
            "arrow_length", arrow_length, "in (0, 2]");
    require(grid_size >= 2 && grid_size <= 200, "VectorFieldOptions", "grid_size", grid_size, "in [2, 200]");
    require(!arrow_color.empty(), "VectorFieldOptions", "arrow_color", "\"\"", "a colour such as \"#8c8c8c\"");
  }
};

// ----------------------------------------------------------------------------------------------------------------
// 3. Dirac-GAN vector field (Mescheder, Geiger & Nowozin 2018, fig. 1-4)

/// The gradient vector field over (theta, psi) as two (nx x ny) grids of its components at the cell
/// centres of `grid_cell_centers(bounds, nx, ny)`; every arrow has the same length (its direction is
/// the information, magnitudes in the Dirac-GAN span orders of magnitude). Trajectories are drawn on
/// top in their own colours, clipped to the plot; the start is a hollow dot, the end a filled one.
inline std::string vector_field_svg(const Eigen::Ref<const Eigen::MatrixXd>& theta_component,
                                    const Eigen::Ref<const Eigen::MatrixXd>& psi_component, const PlotBounds& bounds,
                                    const std::vector<Trajectory>& trajectories = {},
                                    const VectorFieldOptions& options = {}) {
  constexpr std::string_view where = "gantry::io::vector_field_svg";
  bounds.validate();
  options.validate();
  if (theta_component.rows() < 1 || theta_component.cols() < 1)
    throw ShapeError(gantry::detail::message(where, ": theta_component expects a grid of at least 1x1, given ",
                                             gantry::detail::shape_string(theta_component.rows(),
                                                                          theta_component.cols())));
  gantry::detail::check_shape(where, "psi_component", psi_component, theta_component.rows(), theta_component.cols());
  for (std::size_t t = 0; t < trajectories.size(); ++t)
    detail::check_points(where, gantry::detail::message("trajectories[", t, "].points"), trajectories[t].points);

  std::vector<detail::LegendEntry> legend;
  std::vector<std::string> colors;
  for (std::size_t t = 0; t < trajectories.size(); ++t) {
    colors.push_back(trajectories[t].color.empty() ? detail::palette_color(t) : trajectories[t].color);
    legend.push_back({trajectories[t].name.empty() ? gantry::detail::message("trajectory ", t) : trajectories[t].name,
                      colors.back(), detail::LegendMarker::line});
  }
  const bool equilibrium_visible = options.mark_equilibrium && detail::inside(bounds, 0.0, 0.0);
  if (equilibrium_visible) legend.push_back({options.equilibrium_label, "#000", detail::LegendMarker::diamond});

  const double x_range = bounds.x_max - bounds.x_min;
  const double y_range = bounds.y_max - bounds.y_min;
  const detail::FigureLayout layout =
      detail::layout_figure(options.width, options.height, !options.title.empty(), legend, 0.0,
                            options.equal_aspect ? std::optional<double>(x_range / y_range) : std::nullopt);
  SvgDocument doc = detail::begin_figure(layout, options.title);
  detail::draw_title(doc, layout, options.title);
  detail::draw_legend(doc, layout);

  const detail::AxisScale x_scale{bounds.x_min, bounds.x_max, layout.plot_left, layout.plot_right(), false};
  const detail::AxisScale y_scale{bounds.y_min, bounds.y_max, layout.plot_bottom(), layout.plot_top, false};

  // The axes theta = 0 and psi = 0, faint, where they fall inside the plot.
  SvgPath zero_axes(doc.decimals());
  if (bounds.x_min < 0.0 && bounds.x_max > 0.0)
    zero_axes.move_to(x_scale(0.0), layout.plot_top).line_to(x_scale(0.0), layout.plot_bottom());
  if (bounds.y_min < 0.0 && bounds.y_max > 0.0)
    zero_axes.move_to(layout.plot_left, y_scale(0.0)).line_to(layout.plot_right(), y_scale(0.0));
  doc.path(zero_axes, SvgAttributes().set("stroke", "#d0d0d0").set("stroke-width", 1.0).set("fill", "none"));

  // All arrows are one path: shaft, then an open head of two strokes. Directions are taken in pixel
  // space so that arrows look equally long whatever the axes' scales.
  const Index nx = theta_component.rows();
  const Index ny = theta_component.cols();
  const Eigen::MatrixXd centers = grid_cell_centers(bounds, nx, ny);
  const double cell = std::min(layout.plot_width / static_cast<double>(nx), layout.plot_height / static_cast<double>(ny));
  const double length = options.arrow_length * cell;
  const double head = 0.3 * length;
  const double pixels_per_x = layout.plot_width / x_range;
  const double pixels_per_y = layout.plot_height / y_range;
  SvgPath arrows(doc.decimals());
  for (Index j = 0; j < ny; ++j)
    for (Index i = 0; i < nx; ++i) {
      const double dx = theta_component(i, j) * pixels_per_x;
      const double dy = -psi_component(i, j) * pixels_per_y;
      const double norm = std::hypot(dx, dy);
      if (!std::isfinite(norm) || norm == 0.0) continue;  // no direction to show
      const double ux = dx / norm;
      const double uy = dy / norm;
      const double cx = x_scale(centers(0, i + nx * j));
      const double cy = y_scale(centers(1, i + nx * j));
      const double tip_x = cx + 0.5 * length * ux;
      const double tip_y = cy + 0.5 * length * uy;
      // Head strokes at +-25 degrees from the reversed direction (cos 25 = 0.906, sin 25 = 0.423).
      const double bx = -ux * head;
      const double by = -uy * head;
      arrows.move_to(cx - 0.5 * length * ux, cy - 0.5 * length * uy)
          .line_to(tip_x, tip_y)
          .move_to(tip_x + 0.906 * bx - 0.423 * by, tip_y + 0.423 * bx + 0.906 * by)
          .line_to(tip_x, tip_y)
          .line_to(tip_x + 0.906 * bx + 0.423 * by, tip_y - 0.423 * bx + 0.906 * by);
    }
  doc.path(arrows, SvgAttributes()
                       .set("class", "field")
                       .set("stroke", options.arrow_color)
                       .set("stroke-width", 1.0)
                       .set("fill", "none")
                       .set("stroke-linecap", "round"));

  // Diverging trajectories leave the window: clip them to the plot area rather than let them cover the axes.
  constexpr std::string_view clip_id = "gantry-plot-area";
  doc.open("defs").open("clipPath", SvgAttributes().set("id", clip_id));
  doc.rect(layout.plot_left, layout.plot_top, layout.plot_width, layout.plot_height);
  doc.close().close();
  doc.begin_group(SvgAttributes().set("clip-path", "url(#" + std::string(clip_id) + ")"));
  for (std::size_t t = 0; t < trajectories.size(); ++t) {
    const Eigen::MatrixXd& points = trajectories[t].points;
    std::vector<std::vector<SvgPoint>> segments(1);
    // Far-away points are pulled in to a box a few times the window, which keeps the clipped
    // direction right and the numbers short.
    const auto clamp_x = [&](double v) { return std::clamp(v, bounds.x_min - 4.0 * x_range, bounds.x_max + 4.0 * x_range); };
    const auto clamp_y = [&](double v) { return std::clamp(v, bounds.y_min - 4.0 * y_range, bounds.y_max + 4.0 * y_range); };
    for (Index k = 0; k < points.cols(); ++k) {
      if (!std::isfinite(points(0, k)) || !std::isfinite(points(1, k))) {
        if (!segments.back().empty()) segments.emplace_back();
        continue;
      }
      segments.back().push_back({x_scale(clamp_x(points(0, k))), y_scale(clamp_y(points(1, k)))});
    }
    doc.begin_group(SvgAttributes()
                        .set("class", "trajectory")
                        .set("fill", "none")
                        .set("stroke", colors[t])
                        .set("stroke-width", 1.8)
                        .set("stroke-linejoin", "round"));
    doc.title(legend[t].label);
    detail::draw_segments(doc, segments, colors[t], 1.8);
    std::vector<SvgPoint> finite_points;
    for (const auto& segment : segments) finite_points.insert(finite_points.end(), segment.begin(), segment.end());
    if (!finite_points.empty()) {
      doc.circle(finite_points.front().x, finite_points.front().y, 3.5,
                 SvgAttributes().set("fill", "#fff").set("stroke-width", 1.5));
      doc.circle(finite_points.back().x, finite_points.back().y, 3.5,
                 SvgAttributes().set("fill", colors[t]).set("stroke", "#000").set("stroke-width", 0.6));
    }
    doc.end_group();
  }
  doc.end_group();

  if (equilibrium_visible) {
    const double ex = x_scale(0.0);
    const double ey = y_scale(0.0);
    doc.polygon({{ex, ey - 7.0}, {ex + 7.0, ey}, {ex, ey + 7.0}, {ex - 7.0, ey}},
                SvgAttributes().set("class", "equilibrium").set("fill", "#000").set("stroke", "#fff").set("stroke-width", 1.0));
  }

  detail::draw_axes(doc, layout, x_scale, detail::linear_ticks(bounds.x_min, bounds.x_max), y_scale,
                    detail::linear_ticks(bounds.y_min, bounds.y_max), options.x_label, options.y_label, false);
  doc.end_group();
  return doc.str();
}

inline void vector_field_svg(const std::string& path, const Eigen::Ref<const Eigen::MatrixXd>& theta_component,
                             const Eigen::Ref<const Eigen::MatrixXd>& psi_component, const PlotBounds& bounds,
                             const std::vector<Trajectory>& trajectories = {}, const VectorFieldOptions& options = {}) {
  const std::string text = vector_field_svg(theta_component, psi_component, bounds, trajectories, options);
  detail::write_svg_text("gantry::io::vector_field_svg", path, text);
}

/// Convenience for a field given as a function of (theta, psi), sampled on an options.grid_size square grid.
inline std::string vector_field_svg(const std::function<Eigen::Vector2d(double, double)>& field,
                                    const PlotBounds& bounds, const std::vector<Trajectory>& trajectories = {},
                                    const VectorFieldOptions& options = {}) {
  if (!field) throw OptionError("gantry::io::vector_field_svg: the field function is empty");
  options.validate();
  const Index n = options.grid_size;
  const Eigen::MatrixXd centers = grid_cell_centers(bounds, n, n);
  Eigen::MatrixXd theta_component(n, n);
  Eigen::MatrixXd psi_component(n, n);
  for (Index j = 0; j < n; ++j)
    for (Index i = 0; i < n; ++i) {
      const Eigen::Vector2d v = field(centers(0, i + n * j), centers(1, i + n * j));
      theta_component(i, j) = v(0);
      psi_component(i, j) = v(1);
    }
  return vector_field_svg(theta_component, psi_component, bounds, trajectories, options);
}

inline void vector_field_svg(const std::string& path, const std::function<Eigen::Vector2d(double, double)>& field,
                             const PlotBounds& bounds, const std::vector<Trajectory>& trajectories = {},
                             const VectorFieldOptions& options = {}) {
  const std::string text = vector_field_svg(field, bounds, trajectories, options);
  detail::write_svg_text("gantry::io::vector_field_svg", path, text);
}

}  // namespace gantry::io
