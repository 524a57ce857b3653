// SPDX-License-Identifier: MIT
#pragma once
/// Training curves: named series over iterations on shared axes, log y optional.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/io/plot/axes.hpp"
#include "gantry/io/plot/color.hpp"
#include "gantry/io/plot/layout.hpp"
#include "gantry/io/plot/legend.hpp"
#include "gantry/io/plot/marks.hpp"
#include "gantry/io/svg.hpp"

namespace gantry::io {

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

}  // namespace gantry::io
