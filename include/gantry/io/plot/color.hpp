// SPDX-License-Identifier: MIT
#pragma once
/// Colour maps for values (viridis, diverging) and a palette of distinct hues for curves.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>


namespace gantry::io {

/// `viridis` is perceptually uniform (low = purple, high = yellow); `diverging` runs blue - white - red,
/// which reads best with a range symmetric about a meaningful middle (set value_min = -value_max).
enum class ColorMap { viridis, diverging };

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

}  // namespace detail

}  // namespace gantry::io
