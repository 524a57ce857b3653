// SPDX-License-Identifier: MIT
#pragma once
/// Data marks every figure type shares: points inside the bounds, counted outside ones, decimated polylines.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/types.hpp"
#include "gantry/io/plot/axes.hpp"
#include "gantry/io/svg.hpp"

namespace gantry::io {

namespace detail {

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

}  // namespace gantry::io
