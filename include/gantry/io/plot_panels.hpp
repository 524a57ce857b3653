// SPDX-License-Identifier: MIT
#pragma once
/// Figures of several panels in one SVG: curves with spread bands, log axes on x and y, histograms, value surfaces
/// (heat maps) with points on top.

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/io/plots.hpp"
#include "gantry/io/svg.hpp"

namespace gantry::io {

enum class LineStyle { solid, dashed, dotted };

/// One curve of a panel. `x` may be empty (0, 1, 2, ...). `lower` and `upper`, when given (both, as long as
/// `y`), draw a shaded band behind the curve, e.g. mean +- one standard deviation. Non-finite points (and on a
/// log axis values <= 0) are skipped and break the line.
struct PanelSeries {
  std::string name;  ///< empty: not in the legend
  std::vector<double> x;
  std::vector<double> y;
  std::vector<double> lower;
  std::vector<double> upper;
  std::string color;  ///< empty: the panel's next palette colour
  LineStyle style = LineStyle::solid;
  bool markers = false;  ///< a dot at every point (for a few points, e.g. a grid of settings)
};

/// A histogram: bin k spans [edges[k], edges[k + 1]) with height counts[k] (edges has one more entry).
struct PanelBars {
  std::string name;
  std::vector<double> edges;
  std::vector<double> counts;
  std::string color;
  double opacity = 0.55;  ///< so that two histograms on one panel both stay visible
};

/// A value surface drawn under everything else of its panel, e.g. a critic's D(x) on a grid over the plane:
/// `values` is an (nx x ny) grid of cells tiling `bounds`, entry (i, j) at the i-th cell along x and the j-th along y
/// (the order of io::grid_cell_centers, so one batched forward pass on those centres reshapes into it). Coloured in
/// `levels` bands between value_min and value_max (default: the grid's finite range), with a colour bar at the
/// panel's right; non-finite cells are grey. The panel's axes span `bounds` unless their ends are fixed.
struct PanelHeatmap {
  Eigen::MatrixXd values;
  PlotBounds bounds;
  ColorMap color_map = ColorMap::viridis;
  int levels = 12;  ///< a few bands read like contours and keep the file small (a path per band)
  std::optional<double> value_min;
  std::optional<double> value_max;
  /// Explicit band boundaries, increasing (levels and value_min/max are then unused): band k is
  /// [band_edges[k], band_edges[k + 1]), values beyond the ends take the end bands. With equal_area_band_edges a
  /// surface whose far field spans most of its range still shows its shape near the data.
  std::vector<double> band_edges;
};

/// Boundaries of `levels` bands that each hold about as many of the finite `values` (their quantiles k / levels):
/// the colours then show the order of the values everywhere, as contour lines at quantiles would, rather than
/// spending most bands on a steep, uninteresting far field. Equal quantiles merge, so a surface of few distinct
/// values gets fewer bands; all values equal (or none finite) gives one band around them.
inline std::vector<double> equal_area_band_edges(const Eigen::Ref<const Eigen::MatrixXd>& values, int levels) {
  if (levels < 1 || levels > 256)
    throw OptionError(gantry::detail::message("gantry::io::equal_area_band_edges: levels is ", levels,
                                              "; expected in [1, 256]"));
  std::vector<double> finite;
  for (Index j = 0; j < values.cols(); ++j)
    for (Index i = 0; i < values.rows(); ++i)
      if (std::isfinite(values(i, j))) finite.push_back(values(i, j));
  std::sort(finite.begin(), finite.end());
  if (finite.empty() || finite.front() == finite.back()) {
    const double v = finite.empty() ? 0.0 : finite.front();
    const double pad = v == 0.0 ? 0.5 : 0.05 * std::fabs(v);
    return {v - pad, v + pad};
  }
  std::vector<double> edges{finite.front()};
  for (int k = 1; k < levels; ++k) {
    const auto at = static_cast<std::size_t>(static_cast<double>(k) / levels * static_cast<double>(finite.size()));
    if (finite[at] > edges.back()) edges.push_back(finite[at]);
  }
  if (finite.back() > edges.back()) edges.push_back(finite.back());
  return edges;
}

/// Points drawn as dots over the panel (e.g. samples over a value surface). Points outside the axes or not finite
/// are not drawn, and the legend says how many.
struct PanelPoints {
  std::string name;  ///< empty: not in the legend
  std::vector<double> x;
  std::vector<double> y;
  std::string color;  ///< empty: the panel's next palette colour
  double radius = 1.8;
};

struct Panel {
  std::string title;
  std::string x_label;
  std::string y_label;
  bool log_x = false;
  bool log_y = false;
  std::vector<PanelSeries> series;
  std::vector<PanelBars> bars;
  /// Fix an end of an axis (in data units); otherwise it is fitted to the data with a margin.
  std::optional<double> x_min, x_max, y_min, y_max;
  std::optional<PanelHeatmap> heatmap;
  std::vector<PanelPoints> points;
  bool equal_aspect = false;  ///< one unit of x as long as one of y (linear axes), as the plane deserves
};

struct PanelFigureOptions {
  std::string title;
  Index columns = 2;           ///< panels per row; rows follow from the panel count
  double panel_width = 440.0;  ///< each panel, in pixels
  double panel_height = 320.0;
  double line_width = 1.6;

  void validate() const {
    using gantry::detail::require;
    require(columns >= 1 && columns <= 12, "PanelFigureOptions", "columns", columns, "in [1, 12]");
    require(std::isfinite(panel_width) && panel_width >= 200.0, "PanelFigureOptions", "panel_width", panel_width,
            "finite and >= 200");
    require(std::isfinite(panel_height) && panel_height >= 160.0, "PanelFigureOptions", "panel_height", panel_height,
            "finite and >= 160");
    require(std::isfinite(line_width) && line_width > 0.0, "PanelFigureOptions", "line_width", line_width,
            "finite and > 0");
  }
};

namespace detail {

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return !(lo <= hi); }
};

inline void check_panel(std::string_view where, std::size_t p, const Panel& panel) {
  for (std::size_t s = 0; s < panel.series.size(); ++s) {
    const PanelSeries& series = panel.series[s];
    const auto fail = [&](std::string_view what, std::size_t size) {
      throw ShapeError(gantry::detail::message(where, ": panel ", p, " ('", panel.title, "') series ", s, " ('",
                                               series.name, "') has ", size, " ", what, " values for ",
                                               series.y.size(), " y values"));
    };
    if (!series.x.empty() && series.x.size() != series.y.size()) fail("x", series.x.size());
    if (series.lower.size() != series.upper.size() || (!series.lower.empty() && series.lower.size() != series.y.size()))
      fail(series.lower.size() != series.y.size() ? "lower" : "upper",
           series.lower.size() != series.y.size() ? series.lower.size() : series.upper.size());
  }
  for (std::size_t b = 0; b < panel.bars.size(); ++b) {
    const PanelBars& bars = panel.bars[b];
    if (bars.edges.size() != bars.counts.size() + 1)
      throw ShapeError(gantry::detail::message(where, ": panel ", p, " ('", panel.title, "') bars ", b, " ('",
                                               bars.name, "') have ", bars.edges.size(), " edges for ",
                                               bars.counts.size(), " counts; expected counts + 1 edges"));
    for (std::size_t k = 0; k + 1 < bars.edges.size(); ++k)
      if (!(bars.edges[k + 1] > bars.edges[k]))
        throw DataError(gantry::detail::message(where, ": panel ", p, " bars ", b, " ('", bars.name,
                                                "'): edges must increase, edge ", k + 1, " is ", bars.edges[k + 1],
                                                " after ", bars.edges[k]));
  }
  const auto check_fixed = [&](const char* field, const std::optional<double>& v, bool log) {
    if (v && (!std::isfinite(*v) || (log && *v <= 0.0)))
      throw OptionError(gantry::detail::message(where, ": panel ", p, " ('", panel.title, "') ", field, " is ", *v,
                                                log ? "; expected finite and > 0 on a log axis" : "; expected finite"));
  };
  for (std::size_t k = 0; k < panel.points.size(); ++k) {
    const PanelPoints& points = panel.points[k];
    if (points.x.size() != points.y.size())
      throw ShapeError(gantry::detail::message(where, ": panel ", p, " ('", panel.title, "') points ", k, " ('",
                                               points.name, "') have ", points.x.size(), " x values for ",
                                               points.y.size(), " y values"));
    if (!(std::isfinite(points.radius) && points.radius > 0.0))
      throw OptionError(gantry::detail::message(where, ": panel ", p, " ('", panel.title, "') points ", k, " ('",
                                                points.name, "') radius is ", points.radius,
                                                "; expected finite and > 0"));
  }
  if (panel.heatmap) {
    const PanelHeatmap& h = *panel.heatmap;
    const auto fail = [&](auto&&... what) {
      throw OptionError(gantry::detail::message(where, ": panel ", p, " ('", panel.title, "') heatmap ", what...));
    };
    if (h.values.rows() < 1 || h.values.cols() < 1)
      throw ShapeError(gantry::detail::message(where, ": panel ", p, " ('", panel.title, "') heatmap values is ",
                                               gantry::detail::shape_string(h.values.rows(), h.values.cols()),
                                               "; expected a grid of at least 1x1"));
    const PlotBounds& b = h.bounds;
    if (!(std::isfinite(b.x_min) && std::isfinite(b.x_max) && std::isfinite(b.y_min) && std::isfinite(b.y_max) &&
          b.x_max > b.x_min && b.y_max > b.y_min))
      fail("bounds are [", b.x_min, ", ", b.x_max, "] x [", b.y_min, ", ", b.y_max,
           "]; expected finite, x_max > x_min and y_max > y_min");
    if (h.band_edges.empty() && (h.levels < 1 || h.levels > 256)) fail("levels is ", h.levels, "; expected in [1, 256]");
    if (!h.band_edges.empty()) {
      if (h.band_edges.size() < 2 || h.band_edges.size() > 257)
        fail("band_edges has ", h.band_edges.size(), " values; expected 2 to 257");
      for (std::size_t k = 0; k < h.band_edges.size(); ++k) {
        if (!std::isfinite(h.band_edges[k])) fail("band_edges[", k, "] is ", h.band_edges[k], "; expected finite");
        if (k > 0 && !(h.band_edges[k] > h.band_edges[k - 1]))
          fail("band_edges must increase, band_edges[", k, "] is ", h.band_edges[k], " after ", h.band_edges[k - 1]);
      }
    }
    if (h.value_min && !std::isfinite(*h.value_min)) fail("value_min is ", *h.value_min, "; expected finite");
    if (h.value_max && !std::isfinite(*h.value_max)) fail("value_max is ", *h.value_max, "; expected finite");
    if (h.value_min && h.value_max && !(*h.value_max > *h.value_min))
      fail("value_max is ", *h.value_max, "; expected > value_min (", *h.value_min, ")");
    if (panel.log_x || panel.log_y) fail("needs linear axes; log_x or log_y is set");
  }
  if (panel.equal_aspect && (panel.log_x || panel.log_y))
    throw OptionError(gantry::detail::message(where, ": panel ", p, " ('", panel.title,
                                              "') equal_aspect needs linear axes; log_x or log_y is set"));
  check_fixed("x_min", panel.x_min, panel.log_x);
  check_fixed("x_max", panel.x_max, panel.log_x);
  check_fixed("y_min", panel.y_min, panel.log_y);
  check_fixed("y_max", panel.y_max, panel.log_y);
}

/// The axis range in transformed units (log10 when `log`): the data's with a 5 % margin, or the fixed ends.
inline Range axis_range(Range data, bool log, const std::optional<double>& fixed_lo,
                        const std::optional<double>& fixed_hi) {
  if (data.empty()) data = Range{0.0, 1.0};  // nothing to draw: still a labelled, well-formed panel
  if (data.hi == data.lo) {
    const double pad = log ? 0.5 : (data.lo == 0.0 ? 0.5 : 0.1 * std::fabs(data.lo));
    data.lo -= pad;
    data.hi += pad;
  } else {
    const double pad = 0.05 * (data.hi - data.lo);
    data.lo -= pad;
    data.hi += pad;
  }
  if (fixed_lo) data.lo = log ? std::log10(*fixed_lo) : *fixed_lo;
  if (fixed_hi) data.hi = log ? std::log10(*fixed_hi) : *fixed_hi;
  if (!(data.hi > data.lo)) data.hi = data.lo + 1.0;
  return data;
}

inline constexpr double colorbar_gap = 10.0;
inline constexpr double colorbar_width = 10.0;
inline constexpr const char* heatmap_non_finite_color = "#bdbdbd";

inline SvgAttributes stroke_style(const std::string& color, double width, LineStyle style) {
  SvgAttributes a;
  a.set("fill", "none").set("stroke", color).set("stroke-width", width).set("stroke-linejoin", "round");
  if (style == LineStyle::dashed) a.set("stroke-dasharray", "6 4");
  if (style == LineStyle::dotted) a.set("stroke-dasharray", "1.5 3").set("stroke-linecap", "round");
  return a;
}

/// The band boundaries of a heat map: its explicit band_edges, else `levels` equal bands between the fixed ends or
/// the grid's finite range (widened when the values are all equal).
inline std::vector<double> heatmap_band_edges(const PanelHeatmap& h) {
  if (!h.band_edges.empty()) return h.band_edges;
  Range r;
  for (Index j = 0; j < h.values.cols(); ++j)
    for (Index i = 0; i < h.values.rows(); ++i)
      if (std::isfinite(h.values(i, j))) r.add(h.values(i, j));
  if (r.empty()) r = Range{0.0, 1.0};
  if (h.value_min) r.lo = *h.value_min;
  if (h.value_max) r.hi = *h.value_max;
  if (!(r.hi > r.lo)) {  // a constant surface, or one fixed end beyond the data: still a colour bar
    const double pad = r.lo == 0.0 ? 0.5 : 0.05 * std::fabs(r.lo);
    if (h.value_max && !h.value_min) r.lo = r.hi - 2.0 * pad;
    else if (h.value_min && !h.value_max) r.hi = r.lo + 2.0 * pad;
    else {
      r.lo -= pad;
      r.hi += pad;
    }
  }
  std::vector<double> edges;
  for (int k = 0; k <= h.levels; ++k) edges.push_back(r.lo + (r.hi - r.lo) * k / h.levels);
  return edges;
}

/// The band of `v` (values beyond the ends take the end bands); -1 if not finite.
inline int heatmap_band(double v, const std::vector<double>& edges) {
  if (!std::isfinite(v)) return -1;
  const auto bands = static_cast<int>(edges.size()) - 1;
  const auto above = std::upper_bound(edges.begin() + 1, edges.end() - 1, v) - (edges.begin() + 1);
  return std::clamp(static_cast<int>(above), 0, bands - 1);
}

inline std::string band_color(const PanelHeatmap& h, int band, int bands) {
  return color_at(h.color_map, (band + 0.5) / bands);
}

/// A colour bar's labels: for equal bands round values on a linear scale; for explicit edges the edges themselves
/// (about six of them, the ends always), each at its boundary between two equal-height blocks.
struct ColorbarLabels {
  std::vector<double> positions;  ///< 0 (bottom) to 1 (top)
  std::vector<std::string> labels;
};

/// Three significant digits, or as many decimals as tell apart labels `gap` apart, locale-free: "0.0743", "-12.3",
/// "0.0099401" next to "0.0099412". Beyond 1e5 in magnitude, scientific.
inline std::string format_label(double v, double gap) {
  if (v == 0.0) return "0";
  if (std::fabs(v) >= 1e5) return format_scientific(v);
  const int magnitude = static_cast<int>(std::floor(std::log10(std::fabs(v))));
  int decimals = 2 - magnitude;
  if (gap > 0.0 && std::isfinite(gap)) decimals = std::max(decimals, 1 - static_cast<int>(std::floor(std::log10(gap))));
  return format_fixed(v, std::clamp(decimals, 0, 9));
}

inline ColorbarLabels colorbar_labels(const PanelHeatmap& h, const std::vector<double>& edges) {
  ColorbarLabels out;
  const double lo = edges.front(), hi = edges.back();
  if (h.band_edges.empty()) {
    const Ticks ticks = linear_ticks(lo, hi, 5);
    for (std::size_t k = 0; k < ticks.values.size(); ++k) {
      out.positions.push_back((ticks.values[k] - lo) / (hi - lo));
      out.labels.push_back(ticks.labels[k]);
    }
    return out;
  }
  const std::size_t bands = edges.size() - 1;
  const std::size_t stride = std::max<std::size_t>(1, (bands + 5) / 6);
  std::vector<std::size_t> labelled;
  for (std::size_t k = 0; k <= bands; k += stride)
    if (k == 0 || k == bands || 2 * (bands - k) >= stride) labelled.push_back(k);  // else it would crowd the top
  if (labelled.back() != bands) labelled.push_back(bands);
  double gap = std::numeric_limits<double>::infinity();
  for (std::size_t k = 1; k < labelled.size(); ++k) gap = std::min(gap, edges[labelled[k]] - edges[labelled[k - 1]]);
  for (const std::size_t k : labelled) {
    out.positions.push_back(static_cast<double>(k) / static_cast<double>(bands));
    out.labels.push_back(format_label(edges[k], gap));
  }
  return out;
}

/// The cells as one path per colour band: each row's runs of equal band are one rectangle, so a surface of a few
/// bands costs a few bytes per run rather than an element per cell. Crisp edges: no anti-aliased seams between
/// neighbouring bands.
inline void draw_heatmap_cells(SvgDocument& doc, const PanelHeatmap& h, const std::vector<double>& edges,
                               const AxisScale& x_scale, const AxisScale& y_scale, double left, double right,
                               double top, double bottom) {
  const Index nx = h.values.rows(), ny = h.values.cols();
  const int bands = static_cast<int>(edges.size()) - 1;
  const double dx = (h.bounds.x_max - h.bounds.x_min) / static_cast<double>(nx);
  const double dy = (h.bounds.y_max - h.bounds.y_min) / static_cast<double>(ny);
  // Corners rounded to the tenth of a pixel the file keeps before widths are taken, so that neighbouring runs share
  // their edge exactly: rounding x and width apart could leave a hairline gap, drawn as a white seam.
  constexpr int cell_decimals = 1;  // a tenth of a pixel is finer than any screen
  const auto snap = [](double v) { return std::round(v * 10.0) / 10.0; };
  const auto px = [&](double v) { return snap(std::clamp(x_scale(v), left, right)); };
  const auto py = [&](double v) { return snap(std::clamp(y_scale(v), top, bottom)); };
  std::vector<SvgPath> paths(static_cast<std::size_t>(bands) + 1, SvgPath(cell_decimals));  // last: non-finite
  for (Index j = 0; j < ny; ++j) {
    const double y0 = py(h.bounds.y_min + static_cast<double>(j + 1) * dy);
    const double y1 = py(h.bounds.y_min + static_cast<double>(j) * dy);
    Index begin = 0;
    while (begin < nx) {
      const int band = heatmap_band(h.values(begin, j), edges);
      Index end = begin + 1;
      while (end < nx && heatmap_band(h.values(end, j), edges) == band) ++end;
      const double x0 = px(h.bounds.x_min + static_cast<double>(begin) * dx);
      const double x1 = px(h.bounds.x_min + static_cast<double>(end) * dx);
      if (x1 > x0 && y1 > y0)
        paths[band < 0 ? paths.size() - 1 : static_cast<std::size_t>(band)].rectangle(x0, y0, x1 - x0, y1 - y0);
      begin = end;
    }
  }
  doc.begin_group(SvgAttributes().set("class", "heatmap").set("shape-rendering", "crispEdges").set("stroke", "none"));
  for (int k = 0; k < bands; ++k)
    doc.path(paths[static_cast<std::size_t>(k)], SvgAttributes().set("fill", band_color(h, k, bands)));
  doc.path(paths.back(), SvgAttributes().set("fill", heatmap_non_finite_color));
  doc.end_group();
}

/// Width the colour bar and its labels take at a panel's right.
inline double colorbar_extent(const ColorbarLabels& labels) {
  std::size_t widest = 0;
  for (const auto& label : labels.labels) widest = std::max(widest, label.size());
  return colorbar_gap + colorbar_width + 6.0 + 0.6 * tick_font_size * static_cast<double>(widest) + 6.0;
}

inline void draw_colorbar(SvgDocument& doc, const PanelHeatmap& h, const std::vector<double>& edges,
                          const ColorbarLabels& labels, const FigureLayout& layout) {
  const int bands = static_cast<int>(edges.size()) - 1;
  const double bar_left = layout.plot_right() + colorbar_gap;
  const double step = layout.plot_height / bands;
  doc.begin_group(SvgAttributes().set("class", "colorbar").set("shape-rendering", "crispEdges"));
  for (int k = 0; k < bands; ++k)
    doc.rect(bar_left, layout.plot_bottom() - static_cast<double>(k + 1) * step, colorbar_width, step,
             SvgAttributes().set("fill", band_color(h, k, bands)));
  doc.rect(bar_left, layout.plot_top, colorbar_width, layout.plot_height,
           SvgAttributes().set("fill", "none").set("stroke", "#333").set("stroke-width", 1.0));
  doc.end_group();
  doc.begin_group(SvgAttributes().set("font-size", tick_font_size).set("fill", "#333"));
  for (std::size_t k = 0; k < labels.labels.size(); ++k)
    doc.text(bar_left + colorbar_width + 4.0, layout.plot_bottom() - labels.positions[k] * layout.plot_height + 4.0,
             labels.labels[k]);
  doc.end_group();
}

inline void draw_panel(SvgDocument& doc, const Panel& panel, const PanelFigureOptions& options) {
  const auto usable_x = [&](double v) { return std::isfinite(v) && (!panel.log_x || v > 0.0); };
  const auto usable_y = [&](double v) { return std::isfinite(v) && (!panel.log_y || v > 0.0); };
  const auto tx = [&](double v) { return panel.log_x ? std::log10(v) : v; };
  const auto ty = [&](double v) { return panel.log_y ? std::log10(v) : v; };
  const auto x_at = [](const PanelSeries& s, std::size_t k) { return s.x.empty() ? static_cast<double>(k) : s.x[k]; };

  Range xr, yr;
  for (const auto& s : panel.series)
    for (std::size_t k = 0; k < s.y.size(); ++k) {
      const double x = x_at(s, k);
      if (!usable_x(x)) continue;
      bool any = false;
      for (const double y : {s.y[k], s.lower.empty() ? s.y[k] : s.lower[k], s.upper.empty() ? s.y[k] : s.upper[k]})
        if (usable_y(y)) {
          yr.add(ty(y));
          any = true;
        }
      if (any) xr.add(tx(x));
    }
  for (const auto& b : panel.bars) {
    for (std::size_t k = 0; k < b.counts.size(); ++k) {
      if (!std::isfinite(b.counts[k]) || !usable_x(b.edges[k]) || !usable_x(b.edges[k + 1])) continue;
      xr.add(tx(b.edges[k]));
      xr.add(tx(b.edges[k + 1]));
      if (usable_y(b.counts[k])) yr.add(ty(b.counts[k]));
    }
    if (!panel.log_y && !b.counts.empty()) yr.add(0.0);  // bars stand on zero
  }
  for (const auto& points : panel.points)
    for (std::size_t k = 0; k < points.x.size(); ++k)
      if (usable_x(points.x[k]) && usable_y(points.y[k])) {
        xr.add(tx(points.x[k]));
        yr.add(ty(points.y[k]));
      }
  Range x_axis = axis_range(xr, panel.log_x, panel.x_min, panel.x_max);
  Range y_axis = axis_range(yr, panel.log_y, panel.y_min, panel.y_max);
  if (panel.heatmap) {  // a surface fills the frame: its bounds are the axes (check_panel made them linear)
    const PlotBounds& b = panel.heatmap->bounds;
    x_axis = Range{panel.x_min.value_or(b.x_min), panel.x_max.value_or(b.x_max)};
    y_axis = Range{panel.y_min.value_or(b.y_min), panel.y_max.value_or(b.y_max)};
    if (!(x_axis.hi > x_axis.lo)) x_axis.hi = x_axis.lo + 1.0;
    if (!(y_axis.hi > y_axis.lo)) y_axis.hi = y_axis.lo + 1.0;
  }
  const auto on_axes = [&](double x, double y) {
    return usable_x(x) && usable_y(y) && tx(x) >= x_axis.lo && tx(x) <= x_axis.hi && ty(y) >= y_axis.lo &&
           ty(y) <= y_axis.hi;
  };

  std::vector<LegendEntry> legend;
  std::vector<std::string> series_colors, bar_colors;
  std::size_t next_color = 0;
  for (const auto& b : panel.bars) {
    bar_colors.push_back(b.color.empty() ? palette_color(next_color++) : b.color);
    if (!b.name.empty()) legend.push_back({b.name, bar_colors.back(), LegendMarker::swatch});
  }
  for (const auto& s : panel.series) {
    series_colors.push_back(s.color.empty() ? palette_color(next_color++) : s.color);
    if (!s.name.empty()) legend.push_back({s.name, series_colors.back(), LegendMarker::line});
  }
  std::vector<std::string> point_colors;
  for (const auto& points : panel.points) {
    point_colors.push_back(points.color.empty() ? palette_color(next_color++) : points.color);
    Index outside = 0;
    for (std::size_t k = 0; k < points.x.size(); ++k)
      if (!on_axes(points.x[k], points.y[k])) ++outside;
    if (!points.name.empty())
      legend.push_back({with_outside_note(points.name, outside), point_colors.back(), LegendMarker::dot});
  }
  std::vector<double> band_edges;
  ColorbarLabels value_labels;
  if (panel.heatmap) {
    band_edges = heatmap_band_edges(*panel.heatmap);
    value_labels = colorbar_labels(*panel.heatmap, band_edges);
  }
  std::optional<double> aspect;
  if (panel.equal_aspect) aspect = (x_axis.hi - x_axis.lo) / (y_axis.hi - y_axis.lo);
  const FigureLayout layout = layout_figure(options.panel_width, options.panel_height, !panel.title.empty(), legend,
                                            panel.heatmap ? colorbar_extent(value_labels) : 0.0, aspect);
  if (!panel.title.empty())
    doc.text(layout.width * 0.5, 22.0, panel.title,
             SvgAttributes().set("text-anchor", "middle").set("font-size", 13.0).set("font-weight", "bold"));
  draw_legend(doc, layout);

  const AxisScale x_scale{x_axis.lo, x_axis.hi, layout.plot_left, layout.plot_right(), panel.log_x};
  const AxisScale y_scale{y_axis.lo, y_axis.hi, layout.plot_bottom(), layout.plot_top, panel.log_y};
  const auto ticks = [](const Range& r, bool log) { return log ? log_ticks(r.lo, r.hi) : linear_ticks(r.lo, r.hi, 6); };
  // Everything drawn in data coordinates stays inside the plot area: a fixed axis end may cut a curve.
  const double left = layout.plot_left, right = layout.plot_right(), top = layout.plot_top,
               bottom = layout.plot_bottom();
  if (panel.heatmap) {
    draw_heatmap_cells(doc, *panel.heatmap, band_edges, x_scale, y_scale, left, right, top, bottom);
    draw_colorbar(doc, *panel.heatmap, band_edges, value_labels, layout);
  }
  draw_axes(doc, layout, x_scale, ticks(x_axis, panel.log_x), y_scale, ticks(y_axis, panel.log_y), panel.x_label,
            panel.y_label, !panel.heatmap);  // grid lines would only streak a surface
  const auto px = [&](double v) { return std::clamp(x_scale(v), left - 1.0, right + 1.0); };
  const auto py = [&](double v) { return std::clamp(y_scale(v), top - 1.0, bottom + 1.0); };

  for (std::size_t b = 0; b < panel.bars.size(); ++b) {
    const PanelBars& bars = panel.bars[b];
    doc.begin_group(SvgAttributes()
                        .set("class", "bars")
                        .set("fill", bar_colors[b])
                        .set("fill-opacity", std::clamp(bars.opacity, 0.05, 1.0))
                        .set("stroke", "none"));
    if (!bars.name.empty()) doc.title(bars.name);
    const double base = panel.log_y ? bottom : py(0.0);
    for (std::size_t k = 0; k < bars.counts.size(); ++k) {
      const double c = bars.counts[k];
      // An empty bin draws nothing (a rect of height 0 is invisible and only adds bytes).
      if (c == 0 || !std::isfinite(c) || !usable_x(bars.edges[k]) || !usable_x(bars.edges[k + 1]) || !usable_y(c))
        continue;
      const double x0 = px(bars.edges[k]), x1 = px(bars.edges[k + 1]), y = py(c);
      doc.rect(x0, std::min(y, base), std::max(x1 - x0, 0.0), std::fabs(base - y));
    }
    doc.end_group();
  }

  for (std::size_t s = 0; s < panel.series.size(); ++s) {
    const PanelSeries& series = panel.series[s];
    // Band: one polygon per run of usable points, upper edge forwards and lower edge back.
    if (!series.lower.empty()) {
      doc.begin_group(SvgAttributes().set("class", "band").set("fill", series_colors[s]).set("fill-opacity", 0.18)
                          .set("stroke", "none"));
      std::vector<SvgPoint> upper, lower;
      const auto flush = [&] {
        if (upper.size() >= 2) {
          std::vector<SvgPoint> polygon = upper;
          polygon.insert(polygon.end(), lower.rbegin(), lower.rend());
          doc.polygon(polygon);
        }
        upper.clear();
        lower.clear();
      };
      for (std::size_t k = 0; k < series.y.size(); ++k) {
        const double x = x_at(series, k);
        if (!usable_x(x) || !usable_y(series.lower[k]) || !usable_y(series.upper[k])) {
          flush();
          continue;
        }
        upper.push_back({px(x), py(series.upper[k])});
        lower.push_back({px(x), py(series.lower[k])});
      }
      flush();
      doc.end_group();
    }
    std::vector<std::vector<SvgPoint>> segments(1);
    for (std::size_t k = 0; k < series.y.size(); ++k) {
      const double x = x_at(series, k), y = series.y[k];
      if (!usable_x(x) || !usable_y(y)) {
        if (!segments.back().empty()) segments.emplace_back();
        continue;
      }
      segments.back().push_back({px(x), py(y)});
    }
    doc.begin_group(stroke_style(series_colors[s], options.line_width, series.style).set("class", "series"));
    if (!series.name.empty()) doc.title(series.name);
    draw_segments(doc, segments, series_colors[s], options.line_width);
    doc.end_group();
    if (series.markers) {
      doc.begin_group(SvgAttributes().set("class", "markers").set("fill", series_colors[s]).set("stroke", "none"));
      for (const auto& segment : segments)
        for (const SvgPoint& point : segment) doc.circle(point.x, point.y, options.line_width + 1.2);
      doc.end_group();
    }
  }

  for (std::size_t k = 0; k < panel.points.size(); ++k) {
    const PanelPoints& points = panel.points[k];
    doc.begin_group(SvgAttributes()
                        .set("class", "points")
                        .set("fill", point_colors[k])
                        .set("stroke", "#000")
                        .set("stroke-width", 0.3)
                        .set("stroke-opacity", 0.6));
    if (!points.name.empty()) doc.title(points.name);
    for (std::size_t j = 0; j < points.x.size(); ++j)
      if (on_axes(points.x[j], points.y[j])) doc.circle(x_scale(points.x[j]), y_scale(points.y[j]), points.radius);
    doc.end_group();
  }
}

}  // namespace detail

/// Panels laid out in rows of `options.columns`, each with its own axes (linear or log on either), legend and
/// title, under one figure title. Throws ShapeError when a series' or histogram's sizes disagree, naming the
/// panel and the series.
inline std::string panels_svg(const std::vector<Panel>& panels, const PanelFigureOptions& options = {}) {
  constexpr std::string_view where = "gantry::io::panels_svg";
  options.validate();
  if (panels.empty()) throw ShapeError(gantry::detail::message(where, ": a figure needs at least one panel"));
  for (std::size_t p = 0; p < panels.size(); ++p) detail::check_panel(where, p, panels[p]);

  const auto count = static_cast<Index>(panels.size());
  const Index columns = std::min(options.columns, count);
  const Index rows = (count + columns - 1) / columns;
  const double title_height = options.title.empty() ? 0.0 : 30.0;
  const double width = options.panel_width * static_cast<double>(columns);
  const double height = title_height + options.panel_height * static_cast<double>(rows);

  SvgDocument doc(width, height);
  if (!options.title.empty()) doc.title(options.title);
  doc.rect(0.0, 0.0, width, height, SvgAttributes().set("fill", "#fff"));
  doc.begin_group(SvgAttributes().set("font-family", "sans-serif").set("font-size", detail::font_size));
  if (!options.title.empty())
    doc.text(width * 0.5, 22.0, options.title,
             SvgAttributes()
                 .set("text-anchor", "middle")
                 .set("font-size", detail::title_font_size)
                 .set("font-weight", "bold"));
  for (Index p = 0; p < count; ++p) {
    const double x = options.panel_width * static_cast<double>(p % columns);
    const double y = title_height + options.panel_height * static_cast<double>(p / columns);
    const std::string translate =
        "translate(" + detail::format_fixed(x, doc.decimals()) + " " + detail::format_fixed(y, doc.decimals()) + ")";
    doc.begin_group(SvgAttributes().set("class", "panel").set("transform", translate));
    detail::draw_panel(doc, panels[static_cast<std::size_t>(p)], options);
    doc.end_group();
  }
  doc.end_group();
  return doc.str();
}

/// Writes the figure to `path`; throws IoError naming the path if it cannot be written.
inline void panels_svg(const std::string& path, const std::vector<Panel>& panels,
                       const PanelFigureOptions& options = {}) {
  const std::string text = panels_svg(panels, options);
  detail::write_svg_text("gantry::io::panels_svg", path, text);
}

}  // namespace gantry::io
