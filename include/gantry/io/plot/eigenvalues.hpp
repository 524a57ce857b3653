// SPDX-License-Identifier: MIT
#pragma once
/// Eigenvalue clouds in the complex plane, one panel per chosen iteration, as Mescheder, Nowozin & Geiger (2017,
/// figure 4) draw the spectrum of a GAN's Jacobian.

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <string>
#include <vector>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/io/plot/axes.hpp"
#include "gantry/io/plot/layout.hpp"
#include "gantry/io/svg.hpp"

namespace gantry::io {

struct EigenvaluePanel {
  std::string title;                              ///< e.g. "iteration 1000"
  std::vector<std::complex<double>> eigenvalues;  ///< drawn as dots; NaN or infinite ones are skipped and counted
};

struct EigenvaluePanelsOptions {
  std::string title;
  double panel_width = 300.0;   ///< pixels per panel (the plot area is square)
  double panel_height = 330.0;
  /// Every panel on the same axes (comparable clouds), or each fitted to its own eigenvalues.
  bool shared_axes = true;
  double dot_radius = 2.2;
  std::string color = "#1f77b4";

  void validate() const {
    constexpr const char* owner = "gantry::io::EigenvaluePanelsOptions";
    gantry::detail::require(std::isfinite(panel_width) && panel_width >= 120, owner, "panel_width", panel_width,
                            "finite and >= 120");
    gantry::detail::require(std::isfinite(panel_height) && panel_height >= 120, owner, "panel_height", panel_height,
                            "finite and >= 120");
    gantry::detail::require(std::isfinite(dot_radius) && dot_radius > 0, owner, "dot_radius", dot_radius,
                            "finite and > 0");
  }
};

namespace detail {
struct PlaneBounds {
  double re_lo = -1, re_hi = 1, im_lo = -1, im_hi = 1;
};

/// Square bounds around the origin and every finite eigenvalue, 5% padding: the imaginary axis (Re = 0, where
/// convergence is lost) always shows.
inline PlaneBounds plane_bounds(const std::vector<const EigenvaluePanel*>& panels) {
  double re_lo = 0, re_hi = 0, im_lo = 0, im_hi = 0;
  for (const EigenvaluePanel* p : panels)
    for (const auto& e : p->eigenvalues) {
      if (!std::isfinite(e.real()) || !std::isfinite(e.imag())) continue;
      re_lo = std::min(re_lo, e.real());
      re_hi = std::max(re_hi, e.real());
      im_lo = std::min(im_lo, e.imag());
      im_hi = std::max(im_hi, e.imag());
    }
  double half = 0.5 * std::max(re_hi - re_lo, im_hi - im_lo);
  if (!(half > 0)) half = 1;
  half *= 1.05;
  const double re_mid = 0.5 * (re_lo + re_hi), im_mid = 0.5 * (im_lo + im_hi);
  return {re_mid - half, re_mid + half, im_mid - half, im_mid + half};
}
}  // namespace detail

/// The panels side by side in one SVG: Re on x, Im on y, equal scales, the imaginary axis dashed.
inline std::string eigenvalue_panels_svg(const std::vector<EigenvaluePanel>& panels,
                                         const EigenvaluePanelsOptions& options = {}) {
  options.validate();
  if (panels.empty())
    throw OptionError("gantry::io::eigenvalue_panels_svg: no panels given (one per chosen iteration)");
  const double width = options.panel_width * static_cast<double>(panels.size());
  const double top = options.title.empty() ? 0.0 : 30.0;
  const double height = options.panel_height + top;
  detail::FigureLayout figure;
  figure.width = width;
  figure.height = height;
  SvgDocument doc = detail::begin_figure(figure, options.title);
  detail::draw_title(doc, figure, options.title);
  std::vector<const EigenvaluePanel*> all;
  for (const auto& p : panels) all.push_back(&p);
  const detail::PlaneBounds shared = detail::plane_bounds(all);
  for (std::size_t k = 0; k < panels.size(); ++k) {
    const EigenvaluePanel& panel = panels[k];
    const detail::PlaneBounds b = options.shared_axes ? shared : detail::plane_bounds({&panel});
    detail::FigureLayout layout;
    layout.width = width;
    layout.height = height;
    layout.plot_top = top + 28.0;
    const double side = std::max(40.0, std::min(options.panel_width - 80.0, options.panel_height - 80.0));
    layout.plot_left = options.panel_width * static_cast<double>(k) + 62.0;
    layout.plot_width = side;
    layout.plot_height = side;
    const detail::AxisScale x{b.re_lo, b.re_hi, layout.plot_left, layout.plot_right(), false};
    const detail::AxisScale y{b.im_lo, b.im_hi, layout.plot_bottom(), layout.plot_top, false};
    detail::draw_axes(doc, layout, x, detail::linear_ticks(b.re_lo, b.re_hi, 4), y,
                      detail::linear_ticks(b.im_lo, b.im_hi, 4), "Re", k == 0 ? "Im" : "", true);
    Index skipped = 0;
    doc.line(x(0.0), layout.plot_top, x(0.0), layout.plot_bottom(),
             SvgAttributes().set("stroke", "#d62728").set("stroke-width", 1.0).set("stroke-dasharray", "4 3"));
    doc.begin_group(SvgAttributes().set("class", "eigenvalues").set("fill", options.color).set("fill-opacity", 0.7));
    for (const auto& e : panel.eigenvalues) {
      if (!std::isfinite(e.real()) || !std::isfinite(e.imag())) {
        ++skipped;
        continue;
      }
      doc.circle(x(e.real()), y(e.imag()), options.dot_radius);
    }
    doc.end_group();
    std::string label = panel.title;
    if (skipped > 0) label += gantry::detail::message(" (", skipped, " non-finite not drawn)");
    doc.text(layout.plot_left + 0.5 * side, top + 18.0, label, SvgAttributes().set("text-anchor", "middle"));
  }
  doc.end_group();
  return doc.str();
}

inline void eigenvalue_panels_svg(const std::string& path, const std::vector<EigenvaluePanel>& panels,
                                  const EigenvaluePanelsOptions& options = {}) {
  detail::write_svg_text("gantry::io::eigenvalue_panels_svg", path, eigenvalue_panels_svg(panels, options));
}

}  // namespace gantry::io
