// SPDX-License-Identifier: MIT
#pragma once
/// Figures of several panels in one SVG: curves with spread bands, log axes on x and y, histograms.

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

inline SvgAttributes stroke_style(const std::string& color, double width, LineStyle style) {
  SvgAttributes a;
  a.set("fill", "none").set("stroke", color).set("stroke-width", width).set("stroke-linejoin", "round");
  if (style == LineStyle::dashed) a.set("stroke-dasharray", "6 4");
  if (style == LineStyle::dotted) a.set("stroke-dasharray", "1.5 3").set("stroke-linecap", "round");
  return a;
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
  const Range x_axis = axis_range(xr, panel.log_x, panel.x_min, panel.x_max);
  const Range y_axis = axis_range(yr, panel.log_y, panel.y_min, panel.y_max);

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
  const FigureLayout layout =
      layout_figure(options.panel_width, options.panel_height, !panel.title.empty(), legend, 0.0, std::nullopt);
  if (!panel.title.empty())
    doc.text(layout.width * 0.5, 22.0, panel.title,
             SvgAttributes().set("text-anchor", "middle").set("font-size", 13.0).set("font-weight", "bold"));
  draw_legend(doc, layout);

  const AxisScale x_scale{x_axis.lo, x_axis.hi, layout.plot_left, layout.plot_right(), panel.log_x};
  const AxisScale y_scale{y_axis.lo, y_axis.hi, layout.plot_bottom(), layout.plot_top, panel.log_y};
  const auto ticks = [](const Range& r, bool log) { return log ? log_ticks(r.lo, r.hi) : linear_ticks(r.lo, r.hi, 6); };
  draw_axes(doc, layout, x_scale, ticks(x_axis, panel.log_x), y_scale, ticks(y_axis, panel.log_y), panel.x_label,
            panel.y_label, true);

  // Everything drawn in data coordinates stays inside the plot area: a fixed axis end may cut a curve.
  const double left = layout.plot_left, right = layout.plot_right(), top = layout.plot_top,
               bottom = layout.plot_bottom();
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
