// SPDX-License-Identifier: MIT
#pragma once
/// Axes and scales: data bounds, round tick values and labels (linear and log), the map from data to pixels, the frame.

#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/io/plot/layout.hpp"
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

namespace detail {

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

}  // namespace detail

}  // namespace gantry::io
