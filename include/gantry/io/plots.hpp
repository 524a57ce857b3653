// SPDX-License-Identifier: MIT
#pragma once
/// Standalone SVG figures: a critic heat map with samples, training curves, the Dirac-GAN vector field.

#include <algorithm>
#include <array>
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
#include "gantry/io/svg.hpp"

namespace gantry::io {

/// A rectangle of the plane, in data coordinates.
struct PlotBounds {
  double x_min = -1.0;
  double x_max = 1.0;
  double y_min = -1.0;
  double y_max = 1.0;

  void validate() const {
    using gantry::detail::require;
    require(std::isfinite(x_min), "PlotBounds", "x_min", x_min, "finite");
    require(std::isfinite(y_min), "PlotBounds", "y_min", y_min, "finite");
    require(std::isfinite(x_max) && x_max > x_min, "PlotBounds", "x_max", x_max,
            gantry::detail::message("finite and > x_min (", x_min, ")"));
    require(std::isfinite(y_max) && y_max > y_min, "PlotBounds", "y_max", y_max,
            gantry::detail::message("finite and > y_min (", y_min, ")"));
  }
};

/// `viridis` is perceptually uniform (low = purple, high = yellow); `diverging` runs blue - white - red,
/// which reads best with a range symmetric about a meaningful middle (set value_min = -value_max).
enum class ColorMap { viridis, diverging };

/// The centres of an (nx x ny) grid of cells tiling `bounds`, as a (2 x nx*ny) batch with x varying
/// fastest: one batched forward pass of a critic on it gives a (1 x nx*ny) row whose column-major
/// reshape `Eigen::Map<const Eigen::MatrixXd>(row.data(), nx, ny)` is the grid the heat map takes.
inline Eigen::MatrixXd grid_cell_centers(const PlotBounds& bounds, Index nx, Index ny) {
  bounds.validate();
  if (nx < 1 || ny < 1)
    throw OptionError(gantry::detail::message("gantry::io::grid_cell_centers: nx and ny must be >= 1, given ", nx,
                                              " and ", ny));
  Eigen::MatrixXd points(2, nx * ny);
  const double dx = (bounds.x_max - bounds.x_min) / static_cast<double>(nx);
  const double dy = (bounds.y_max - bounds.y_min) / static_cast<double>(ny);
  for (Index j = 0; j < ny; ++j)
    for (Index i = 0; i < nx; ++i) {
      points(0, i + nx * j) = bounds.x_min + (static_cast<double>(i) + 0.5) * dx;
      points(1, i + nx * j) = bounds.y_min + (static_cast<double>(j) + 0.5) * dy;
    }
  return points;
}

/// `f` at the cell centres of `grid_cell_centers`, as an (nx x ny) grid: entry (i, j) is f(x_i, y_j).
inline Eigen::MatrixXd evaluate_on_grid(const std::function<double(double, double)>& f, const PlotBounds& bounds,
                                        Index nx, Index ny) {
  if (!f) throw OptionError("gantry::io::evaluate_on_grid: the function is empty");
  const Eigen::MatrixXd points = grid_cell_centers(bounds, nx, ny);
  Eigen::MatrixXd values(nx, ny);
  for (Index j = 0; j < ny; ++j)
    for (Index i = 0; i < nx; ++i) values(i, j) = f(points(0, i + nx * j), points(1, i + nx * j));
  return values;
}

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

/// One named curve; `x` may be empty, meaning 0, 1, 2, ...; non-finite points are skipped and break the line.
struct Series {
  std::string name;
  std::vector<double> x;
  std::vector<double> y;
  std::string color;  ///< empty: the next colour of a ten-colour palette
};

struct CurvesOptions {
  std::string title;
  std::string x_label = "iteration";
  std::string y_label;
  double width = 720.0;
  double height = 440.0;
  bool log_y = false;  ///< values <= 0 are then skipped like NaN
  double line_width = 1.5;

  void validate() const {
    using gantry::detail::require;
    require(std::isfinite(width) && width >= 200.0, "CurvesOptions", "width", width, "finite and >= 200");
    require(std::isfinite(height) && height >= 200.0, "CurvesOptions", "height", height, "finite and >= 200");
    require(std::isfinite(line_width) && line_width > 0.0, "CurvesOptions", "line_width", line_width,
            "finite and > 0");
  }
};

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

namespace detail {

struct Rgb {
  double r, g, b;
};

// Colour tables as anchors linearly interpolated in sRGB: viridis (van der Walt & Smith, matplotlib)
// sampled at ten points, and ColorBrewer's 11-class RdBu reversed so that low is blue.
inline const std::vector<Rgb>& color_anchors(ColorMap map) {
  static const std::vector<Rgb> viridis = {{68, 1, 84},    {72, 40, 120},  {62, 74, 137},  {49, 104, 142},
                                           {38, 130, 142}, {31, 158, 137}, {53, 183, 121}, {109, 205, 89},
                                           {180, 222, 44}, {253, 231, 37}};
  static const std::vector<Rgb> diverging = {{5, 48, 97},     {33, 102, 172},  {67, 147, 195},  {146, 197, 222},
                                             {209, 229, 240}, {247, 247, 247}, {253, 219, 199}, {244, 165, 130},
                                             {214, 96, 77},   {178, 24, 43},   {103, 0, 31}};
  return map == ColorMap::diverging ? diverging : viridis;
}

inline std::string hex_color(const Rgb& c) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "#";
  for (const double channel : {c.r, c.g, c.b}) {
    const int v = std::clamp(static_cast<int>(std::lround(channel)), 0, 255);
    out += digits[v / 16];
    out += digits[v % 16];
  }
  return out;
}

/// The colour at t in [0, 1].
inline std::string color_at(ColorMap map, double t) {
  const auto& anchors = color_anchors(map);
  t = std::clamp(t, 0.0, 1.0);
  const double position = t * static_cast<double>(anchors.size() - 1);
  const std::size_t k = std::min(static_cast<std::size_t>(position), anchors.size() - 2);
  const double w = position - static_cast<double>(k);
  const Rgb& a = anchors[k];
  const Rgb& b = anchors[k + 1];
  return hex_color({a.r + w * (b.r - a.r), a.g + w * (b.g - a.g), a.b + w * (b.b - a.b)});
}

/// Matplotlib's "tab10": distinct hues for curves and trajectories.
inline std::string palette_color(std::size_t k) {
  static const std::array<const char*, 10> palette = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return palette[k % palette.size()];
}

/// "2.5e-7" style, locale-free, two decimals of mantissa at most.
inline std::string format_scientific(double value) {
  if (value == 0.0) return "0";
  int exponent = static_cast<int>(std::floor(std::log10(std::fabs(value))));
  double mantissa = value / std::pow(10.0, exponent);
  mantissa = std::round(mantissa * 100.0) / 100.0;
  if (std::fabs(mantissa) >= 10.0) {
    mantissa /= 10.0;
    ++exponent;
  }
  return format_fixed(mantissa, 2) + "e" + std::to_string(exponent);
}

/// A tick label with just the decimals that `step` needs ("0.2", "15", "1e6").
inline std::string format_tick(double value, double step) {
  if (value == 0.0) return "0";
  const double magnitude = std::fabs(value);
  if (magnitude >= 1.0e6 || step < 1.0e-5) return format_scientific(value);
  const int decimals = std::clamp(static_cast<int>(-std::floor(std::log10(step) + 1e-9)), 0, 9);
  return format_fixed(value, decimals);
}

/// 1, 2 or 5 times a power of ten, the nearest at or above `raw`.
inline double nice_step(double raw) {
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  const double fraction = raw / power;
  if (fraction <= 1.0 + 1e-9) return power;
  if (fraction <= 2.0 + 1e-9) return 2.0 * power;
  if (fraction <= 5.0 + 1e-9) return 5.0 * power;
  return 10.0 * power;
}

struct Ticks {
  std::vector<double> values;  ///< in data units
  std::vector<std::string> labels;
};

/// About `target` evenly spaced round values inside [lo, hi].
inline Ticks linear_ticks(double lo, double hi, int target = 5) {
  Ticks ticks;
  if (!(hi > lo)) return ticks;
  const double step = nice_step((hi - lo) / target);
  const double first = std::ceil(lo / step - 1e-9) * step;
  for (int k = 0; k < 1000; ++k) {
    double v = first + k * step;
    if (v > hi + 1e-9 * step) break;
    if (std::fabs(v) < 1e-9 * step) v = 0.0;
    ticks.values.push_back(v);
    ticks.labels.push_back(format_tick(v, step));
  }
  return ticks;
}

/// Ticks for a log axis spanning [10^log_lo, 10^log_hi]: decades, or 1-2-5 multiples when there
/// are fewer than two decades, or linear ticks when even those are too few.
inline Ticks log_ticks(double log_lo, double log_hi) {
  Ticks ticks;
  const auto label = [](double v) {
    return (v >= 1e-3 && v < 1e6) ? format_tick(v, std::pow(10.0, std::floor(std::log10(v)))) : format_scientific(v);
  };
  const int first = static_cast<int>(std::ceil(log_lo - 1e-9));
  const int last = static_cast<int>(std::floor(log_hi + 1e-9));
  if (last - first >= 1) {
    const int stride = std::max(1, (last - first) / 7 + 1);
    for (int e = first; e <= last; e += stride) {
      ticks.values.push_back(std::pow(10.0, e));
      ticks.labels.push_back(label(ticks.values.back()));
    }
    return ticks;
  }
  for (int e = static_cast<int>(std::floor(log_lo)); e <= static_cast<int>(std::ceil(log_hi)); ++e)
    for (const double m : {1.0, 2.0, 5.0}) {
      const double v = m * std::pow(10.0, e);
      const double lv = std::log10(v);
      if (lv >= log_lo - 1e-9 && lv <= log_hi + 1e-9) {
        ticks.values.push_back(v);
        ticks.labels.push_back(label(v));
      }
    }
  if (ticks.values.size() >= 2) return ticks;
  Ticks linear = linear_ticks(std::pow(10.0, log_lo), std::pow(10.0, log_hi), 4);
  Ticks positive;
  for (std::size_t k = 0; k < linear.values.size(); ++k)
    if (linear.values[k] > 0.0) {
      positive.values.push_back(linear.values[k]);
      positive.labels.push_back(linear.labels[k]);
    }
  return positive;
}

/// Maps data values to pixels along one axis (through log10 when `log`).
struct AxisScale {
  double lo = 0.0;  ///< in transformed units (log10 of the data when log)
  double hi = 1.0;
  double pixel_lo = 0.0;
  double pixel_hi = 1.0;
  bool log = false;

  double operator()(double value) const {
    const double v = log ? std::log10(value) : value;
    return pixel_lo + (v - lo) / (hi - lo) * (pixel_hi - pixel_lo);
  }
};

enum class LegendMarker { dot, line, diamond, swatch };

struct LegendEntry {
  std::string label;
  std::string color;
  LegendMarker marker = LegendMarker::dot;
};

/// Rough advance of proportional sans-serif text, counting UTF-8 code points, enough for layout.
inline double text_width(std::string_view text, double font_size) {
  std::size_t code_points = 0;
  for (const char c : text)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++code_points;
  return 0.6 * font_size * static_cast<double>(code_points);
}

struct PlacedLegendEntry {
  LegendEntry entry;
  double x;
  double y;  ///< baseline of the row's centre line
};

struct FigureLayout {
  double width = 0.0;
  double height = 0.0;
  double plot_left = 0.0;
  double plot_top = 0.0;
  double plot_width = 0.0;
  double plot_height = 0.0;
  std::vector<PlacedLegendEntry> legend;
  double plot_right() const { return plot_left + plot_width; }
  double plot_bottom() const { return plot_top + plot_height; }
};

inline constexpr double title_font_size = 15.0;
inline constexpr double font_size = 12.0;
inline constexpr double tick_font_size = 11.0;
inline constexpr double legend_row_height = 18.0;

/// Title on top, then the legend in rows (so it never hides data), then the plot area with room for
/// tick labels and axis labels. With an aspect ratio the plot area is narrowed (and centred) or the
/// figure made shorter so that data units are square.
inline FigureLayout layout_figure(double width, double height, bool has_title, const std::vector<LegendEntry>& legend,
                                  double extra_right, std::optional<double> data_aspect) {
  FigureLayout layout;
  layout.width = width;
  layout.height = height;
  constexpr double margin_left = 70.0;
  constexpr double margin_right = 20.0;
  constexpr double margin_bottom = 50.0;
  double y = has_title ? 34.0 : 10.0;
  if (!legend.empty()) {
    const double row_right = width - margin_right;
    double x = margin_left;
    y += legend_row_height * 0.5;
    for (const auto& entry : legend) {
      const double item = 22.0 + text_width(entry.label, font_size) + 18.0;
      if (x > margin_left && x + item > row_right) {
        x = margin_left;
        y += legend_row_height;
      }
      layout.legend.push_back({entry, x, y});
      x += item;
    }
    y += legend_row_height * 0.5;
  }
  layout.plot_top = y + 8.0;
  layout.plot_left = margin_left;
  layout.plot_width = std::max(40.0, width - margin_left - margin_right - extra_right);
  layout.plot_height = std::max(40.0, height - layout.plot_top - margin_bottom);
  if (data_aspect) {
    const double aspect = *data_aspect;  // plot_width / plot_height wanted
    if (layout.plot_width > aspect * layout.plot_height) {
      const double narrowed = aspect * layout.plot_height;
      layout.plot_left += 0.5 * (layout.plot_width - narrowed);
      layout.plot_width = narrowed;
    } else {
      const double shortened = layout.plot_width / aspect;
      layout.height -= layout.plot_height - shortened;
      layout.plot_height = shortened;
    }
  }
  return layout;
}

inline void draw_legend(SvgDocument& doc, const FigureLayout& layout) {
  if (layout.legend.empty()) return;
  doc.begin_group(SvgAttributes().set("class", "legend"));
  for (const auto& placed : layout.legend) {
    const auto& e = placed.entry;
    const double cx = placed.x + 8.0;
    const double cy = placed.y;
    switch (e.marker) {
      case LegendMarker::line:
        doc.line(placed.x, cy, placed.x + 16.0, cy,
                 SvgAttributes().set("stroke", e.color).set("stroke-width", 2.5));
        break;
      case LegendMarker::diamond:
        doc.polygon({{cx, cy - 6.0}, {cx + 6.0, cy}, {cx, cy + 6.0}, {cx - 6.0, cy}},
                    SvgAttributes().set("fill", e.color).set("stroke", "#000").set("stroke-width", 0.8));
        break;
      case LegendMarker::swatch:
        doc.rect(placed.x + 2.0, cy - 6.0, 12.0, 12.0,
                 SvgAttributes().set("fill", e.color).set("stroke", "#666").set("stroke-width", 0.6));
        break;
      case LegendMarker::dot:
        // A rounded square rather than a <circle>: every <circle> in a figure is a data point.
        doc.rect(cx - 4.5, cy - 4.5, 9.0, 9.0,
                 SvgAttributes().set("rx", 4.5).set("fill", e.color).set("stroke", "#000").set("stroke-width", 0.5));
        break;
    }
    doc.text(placed.x + 22.0, cy + 4.0, e.label);
  }
  doc.end_group();
}

inline void draw_title(SvgDocument& doc, const FigureLayout& layout, std::string_view title) {
  if (title.empty()) return;
  doc.text(layout.width * 0.5, 22.0, title,
           SvgAttributes().set("text-anchor", "middle").set("font-size", title_font_size).set("font-weight", "bold"));
}

/// Frame, ticks with labels, optional grid lines, and the two axis labels.
inline void draw_axes(SvgDocument& doc, const FigureLayout& layout, const AxisScale& x_scale, const Ticks& x_ticks,
                      const AxisScale& y_scale, const Ticks& y_ticks, std::string_view x_label,
                      std::string_view y_label, bool grid) {
  const double left = layout.plot_left;
  const double right = layout.plot_right();
  const double top = layout.plot_top;
  const double bottom = layout.plot_bottom();
  if (grid) {
    SvgPath lines(doc.decimals());
    for (const double v : x_ticks.values) lines.move_to(x_scale(v), top).line_to(x_scale(v), bottom);
    for (const double v : y_ticks.values) lines.move_to(left, y_scale(v)).line_to(right, y_scale(v));
    doc.path(lines, SvgAttributes().set("stroke", "#e3e3e3").set("stroke-width", 1.0).set("fill", "none"));
  }
  doc.rect(left, top, right - left, bottom - top,
           SvgAttributes().set("fill", "none").set("stroke", "#333").set("stroke-width", 1.0));
  SvgPath marks(doc.decimals());
  for (const double v : x_ticks.values) marks.move_to(x_scale(v), bottom).line_to(x_scale(v), bottom + 5.0);
  for (const double v : y_ticks.values) marks.move_to(left - 5.0, y_scale(v)).line_to(left, y_scale(v));
  doc.path(marks, SvgAttributes().set("stroke", "#333").set("stroke-width", 1.0).set("fill", "none"));

  doc.begin_group(SvgAttributes().set("font-size", tick_font_size).set("fill", "#333"));
  doc.begin_group(SvgAttributes().set("text-anchor", "middle"));
  for (std::size_t k = 0; k < x_ticks.values.size(); ++k)
    doc.text(x_scale(x_ticks.values[k]), bottom + 18.0, x_ticks.labels[k]);
  doc.end_group();
  doc.begin_group(SvgAttributes().set("text-anchor", "end"));
  for (std::size_t k = 0; k < y_ticks.values.size(); ++k)
    doc.text(left - 8.0, y_scale(y_ticks.values[k]) + 4.0, y_ticks.labels[k]);
  doc.end_group();
  doc.end_group();

  if (!x_label.empty())
    doc.text(0.5 * (left + right), bottom + 38.0, x_label, SvgAttributes().set("text-anchor", "middle"));
  if (!y_label.empty()) {
    const double x = 18.0;
    const double y = 0.5 * (top + bottom);
    const std::string rotation =
        "rotate(-90 " + format_fixed(x, doc.decimals()) + " " + format_fixed(y, doc.decimals()) + ")";
    doc.text(x, y, y_label, SvgAttributes().set("text-anchor", "middle").set("transform", rotation));
  }
}

/// Opens the root group that carries the font for every text below it.
inline SvgDocument begin_figure(const FigureLayout& layout, std::string_view title) {
  SvgDocument doc(layout.width, layout.height);
  if (!title.empty()) doc.title(title);
  doc.rect(0.0, 0.0, layout.width, layout.height, SvgAttributes().set("fill", "#fff"));
  doc.begin_group(SvgAttributes().set("font-family", "sans-serif").set("font-size", font_size));
  return doc;
}

inline void check_points(std::string_view where, std::string_view what, const Eigen::Ref<const Eigen::MatrixXd>& points) {
  if (points.cols() > 0) gantry::detail::check_shape(where, what, points, 2, -1);
}

inline bool inside(const PlotBounds& b, double x, double y) {
  return std::isfinite(x) && std::isfinite(y) && x >= b.x_min && x <= b.x_max && y >= b.y_min && y <= b.y_max;
}

inline Index count_outside(const PlotBounds& b, const Eigen::Ref<const Eigen::MatrixXd>& points) {
  Index outside = 0;
  for (Index k = 0; k < points.cols(); ++k)
    if (!inside(b, points(0, k), points(1, k))) ++outside;
  return outside;
}

inline std::string with_outside_note(const std::string& label, Index outside) {
  if (outside == 0) return label;
  return gantry::detail::message(label, " (", outside, " outside the plot or not finite)");
}

/// Keeps, of every run of consecutive points in the same pixel column, the first, last, lowest and
/// highest: a polyline of a million iterations stays a few thousand points and looks identical.
inline std::vector<SvgPoint> decimate(const std::vector<SvgPoint>& points) {
  if (points.size() <= 4) return points;
  std::vector<SvgPoint> kept;
  std::size_t begin = 0;
  while (begin < points.size()) {
    const double column = std::floor(points[begin].x);
    std::size_t end = begin + 1;
    while (end < points.size() && std::floor(points[end].x) == column) ++end;
    if (end - begin <= 4) {
      kept.insert(kept.end(), points.begin() + static_cast<std::ptrdiff_t>(begin),
                  points.begin() + static_cast<std::ptrdiff_t>(end));
    } else {
      std::size_t lowest = begin;
      std::size_t highest = begin;
      for (std::size_t k = begin; k < end; ++k) {
        if (points[k].y < points[lowest].y) lowest = k;
        if (points[k].y > points[highest].y) highest = k;
      }
      std::array<std::size_t, 4> chosen = {begin, lowest, highest, end - 1};
      std::sort(chosen.begin(), chosen.end());
      for (std::size_t k = 0; k < chosen.size(); ++k)
        if (k == 0 || chosen[k] != chosen[k - 1]) kept.push_back(points[chosen[k]]);
    }
    begin = end;
  }
  return kept;
}

/// Draws `polyline` pieces between non-finite points; lone points become small dots so they stay visible.
inline void draw_segments(SvgDocument& doc, const std::vector<std::vector<SvgPoint>>& segments, const std::string& color,
                          double line_width) {
  for (const auto& segment : segments) {
    if (segment.size() == 1)
      doc.circle(segment[0].x, segment[0].y, line_width, SvgAttributes().set("fill", color).set("stroke", "none"));
    else if (segment.size() > 1)
      doc.polyline(decimate(segment));
  }
}

}  // namespace detail

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

// ----------------------------------------------------------------------------------------------------------------
// 2. Training curves

/// Named series over iterations on shared linear axes (log y optional). Non-finite points (and, on a
/// log axis, values <= 0) are skipped and break the line; an empty series still appears in the legend.
inline std::string curves_svg(const std::vector<Series>& series, const CurvesOptions& options = {}) {
  constexpr std::string_view where = "gantry::io::curves_svg";
  options.validate();
  for (std::size_t s = 0; s < series.size(); ++s)
    if (!series[s].x.empty() && series[s].x.size() != series[s].y.size())
      throw ShapeError(gantry::detail::message(where, ": series ", s, " ('", series[s].name, "') has ",
                                               series[s].x.size(), " x values and ", series[s].y.size(),
                                               " y values; x must be empty or as long as y"));

  const auto x_at = [](const Series& s, std::size_t k) { return s.x.empty() ? static_cast<double>(k) : s.x[k]; };
  const auto usable = [&](double x, double y) {
    return std::isfinite(x) && std::isfinite(y) && (!options.log_y || y > 0.0);
  };
  double x_lo = std::numeric_limits<double>::infinity();
  double x_hi = -x_lo;
  double y_lo = x_lo;
  double y_hi = -x_lo;
  for (const auto& s : series)
    for (std::size_t k = 0; k < s.y.size(); ++k) {
      const double x = x_at(s, k);
      const double y = s.y[k];
      if (!usable(x, y)) continue;
      const double ty = options.log_y ? std::log10(y) : y;
      x_lo = std::min(x_lo, x);
      x_hi = std::max(x_hi, x);
      y_lo = std::min(y_lo, ty);
      y_hi = std::max(y_hi, ty);
    }
  if (!(x_lo <= x_hi)) {  // nothing to draw: still a well-formed, labelled empty plot
    x_lo = 0.0;
    x_hi = 1.0;
    y_lo = 0.0;
    y_hi = 1.0;
  }
  if (x_hi == x_lo) {
    x_lo -= 0.5;
    x_hi += 0.5;
  }
  if (y_hi == y_lo) {
    const double pad = options.log_y ? 0.5 : (y_lo == 0.0 ? 0.5 : 0.1 * std::fabs(y_lo));
    y_lo -= pad;
    y_hi += pad;
  } else {
    const double pad = 0.05 * (y_hi - y_lo);
    y_lo -= pad;
    y_hi += pad;
  }

  std::vector<detail::LegendEntry> legend;
  std::vector<std::string> colors;
  for (std::size_t s = 0; s < series.size(); ++s) {
    colors.push_back(series[s].color.empty() ? detail::palette_color(s) : series[s].color);
    legend.push_back({series[s].name.empty() ? gantry::detail::message("series ", s) : series[s].name, colors.back(),
                      detail::LegendMarker::line});
  }
  const detail::FigureLayout layout =
      detail::layout_figure(options.width, options.height, !options.title.empty(), legend, 0.0, std::nullopt);
  SvgDocument doc = detail::begin_figure(layout, options.title);
  detail::draw_title(doc, layout, options.title);
  detail::draw_legend(doc, layout);

  const detail::AxisScale x_scale{x_lo, x_hi, layout.plot_left, layout.plot_right(), false};
  const detail::AxisScale y_scale{y_lo, y_hi, layout.plot_bottom(), layout.plot_top, options.log_y};
  const detail::Ticks x_ticks = detail::linear_ticks(x_lo, x_hi, 6);
  const detail::Ticks y_ticks = options.log_y ? detail::log_ticks(y_lo, y_hi) : detail::linear_ticks(y_lo, y_hi, 6);
  detail::draw_axes(doc, layout, x_scale, x_ticks, y_scale, y_ticks, options.x_label, options.y_label, true);

  for (std::size_t s = 0; s < series.size(); ++s) {
    std::vector<std::vector<SvgPoint>> segments(1);
    for (std::size_t k = 0; k < series[s].y.size(); ++k) {
      const double x = x_at(series[s], k);
      const double y = series[s].y[k];
      if (!usable(x, y)) {
        if (!segments.back().empty()) segments.emplace_back();
        continue;
      }
      segments.back().push_back({x_scale(x), y_scale(y)});
    }
    doc.begin_group(SvgAttributes()
                        .set("class", "series")
                        .set("fill", "none")
                        .set("stroke", colors[s])
                        .set("stroke-width", options.line_width)
                        .set("stroke-linejoin", "round")
                        .set("stroke-linecap", "round"));
    doc.title(legend[s].label);
    detail::draw_segments(doc, segments, colors[s], options.line_width);
    doc.end_group();
  }
  doc.end_group();
  return doc.str();
}

inline void curves_svg(const std::string& path, const std::vector<Series>& series, const CurvesOptions& options = {}) {
  const std::string text = curves_svg(series, options);
  detail::write_svg_text("gantry::io::curves_svg", path, text);
}

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
