// SPDX-License-Identifier: MIT
#pragma once
/// The legend: a marker and a label per entry, in the rows layout_figure placed them.


#include "gantry/io/plot/layout.hpp"
#include "gantry/io/svg.hpp"

namespace gantry::io {

namespace detail {

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

}  // namespace detail

}  // namespace gantry::io
