// SPDX-License-Identifier: MIT
#pragma once
/// A figure's frame: font sizes, the title, the legend's rows and the plot area, and the SVG they open.

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gantry/io/svg.hpp"

namespace gantry::io {

namespace detail {

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
                                  double extra_right, const std::optional<double>& data_aspect) {
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

inline void draw_title(SvgDocument& doc, const FigureLayout& layout, std::string_view title) {
  if (title.empty()) return;
  doc.text(layout.width * 0.5, 22.0, title,
           SvgAttributes().set("text-anchor", "middle").set("font-size", title_font_size).set("font-weight", "bold"));
}

/// Opens the root group that carries the font for every text below it.
inline SvgDocument begin_figure(const FigureLayout& layout, std::string_view title) {
  SvgDocument doc(layout.width, layout.height);
  if (!title.empty()) doc.title(title);
  doc.rect(0.0, 0.0, layout.width, layout.height, SvgAttributes().set("fill", "#fff"));
  doc.begin_group(SvgAttributes().set("font-family", "sans-serif").set("font-size", font_size));
  return doc;
}

}  // namespace detail

}  // namespace gantry::io
