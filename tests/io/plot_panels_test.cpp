// SPDX-License-Identifier: MIT
// Figures of several panels: well-formed XML (ours and python3's minidom), one group per panel at its place in the
// grid, log axes with decade ticks, bands and histograms drawn where their data says, bad sizes named.

#include <gantry/io/plot_panels.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "catch.hpp"
#include "support/svg_check.hpp"

namespace {

using namespace gantry::test;
namespace io = gantry::io;

io::Panel decaying_panel(const std::string& title) {
  io::Panel p;
  p.title = title;
  p.x_label = "step";
  p.y_label = "norm";
  p.log_y = true;
  io::PanelSeries s;
  s.name = "minimax";
  for (int k = 0; k <= 40; ++k) {
    s.x.push_back(k * 100.0);
    s.y.push_back(std::pow(10.0, -k / 8.0));  // 1 down to 1e-5
    s.lower.push_back(s.y.back() / 2);
    s.upper.push_back(s.y.back() * 2);
  }
  p.series.push_back(s);
  return p;
}

std::vector<std::string> matches(const std::string& text, const std::string& pattern) {
  std::vector<std::string> found;
  const std::regex re(pattern);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it)
    found.push_back((*it)[1].str());
  return found;
}

}  // namespace

TEST_CASE("panels: one translated group per panel, in rows of `columns`", "[io][plot_panels]") {
  io::PanelFigureOptions options;
  options.title = "three panels & a title";
  options.columns = 2;
  options.panel_width = 400;
  options.panel_height = 300;
  const std::string svg =
      io::panels_svg({decaying_panel("a"), decaying_panel("b"), decaying_panel("c <3>")}, options);
  require_well_formed(svg);
  require_no_non_finite_text(svg);
  // Two columns of 400 px, two rows of 300 px under a 30 px title.
  CHECK(svg.find("width=\"800\" height=\"630\"") != std::string::npos);
  const std::vector<std::string> places = matches(svg, "class=\"panel\" transform=\"translate\\(([^)]*)\\)\"");
  REQUIRE(places == std::vector<std::string>{"0 30", "400 30", "0 330"});
  CHECK(svg.find("c &lt;3&gt;") != std::string::npos);
  CHECK(svg.find("three panels &amp; a title") != std::string::npos);
}

TEST_CASE("panels: a log axis over five decades gets decade ticks, and a band is one polygon", "[io][plot_panels]") {
  const std::string svg = io::panels_svg({decaying_panel("decay")});
  require_well_formed(svg);
  for (const char* tick : {">1e-5<", ">1e-4<", ">0.001<", ">0.01<", ">0.1<", ">1<"}) {
    INFO("tick " << tick);
    CHECK(svg.find(tick) != std::string::npos);
  }
  CHECK(count(svg, "class=\"band\"") == 1);
  CHECK(count(svg, "<polygon") == 1);
  CHECK(count(svg, "class=\"series\"") == 1);
}

TEST_CASE("panels: values a log axis cannot show break the line and the band", "[io][plot_panels]") {
  io::Panel p = decaying_panel("gaps");
  p.series[0].y[10] = 0.0;                                       // not on a log axis
  p.series[0].y[20] = std::numeric_limits<double>::quiet_NaN();  // not anywhere
  p.series[0].lower[30] = -1.0;                                  // the band breaks here
  const std::string svg = io::panels_svg({p});
  require_well_formed(svg);
  require_no_non_finite_text(svg);
  CHECK(count(svg, "<polyline") == 3);  // three pieces of line
  CHECK(count(svg, "<polygon") == 2);   // two pieces of band
}

TEST_CASE("panels: a histogram is one rect per non-empty bin, standing on zero", "[io][plot_panels]") {
  io::Panel p;
  p.title = "weights";
  io::PanelBars bars;
  bars.name = "clipped";
  bars.edges = {-0.01, -0.005, 0.0, 0.005, 0.01};
  bars.counts = {40, 0, 2, 38};
  p.bars.push_back(bars);
  const std::string svg = io::panels_svg({p});
  require_well_formed(svg);
  const std::size_t group = svg.find("class=\"bars\"");
  REQUIRE(group != std::string::npos);
  const std::string inside = svg.substr(group, svg.find("</g>", group) - group);
  CHECK(count(inside, "<rect") == 3);  // the empty bin draws nothing (height 0 would be invisible anyway)
  // The tallest bar's top is the highest rect: every bar's bottom is the same y (the zero line).
  const std::vector<std::string> bottoms = matches(inside, "<rect x=\"[^\"]*\" y=\"([^\"]*)\"");
  REQUIRE(bottoms.size() == 3);
  const std::vector<std::string> heights = matches(inside, "height=\"([^\"]*)\"");
  REQUIRE(heights.size() == 3);
  const double bottom0 = std::stod(bottoms[0]) + std::stod(heights[0]);
  for (std::size_t k = 1; k < 3; ++k)  // to the 2 decimals of the file
    CHECK(std::stod(bottoms[k]) + std::stod(heights[k]) == Approx(bottom0).margin(0.02));
  CHECK(std::stod(heights[0]) > std::stod(heights[1]) * 10);  // 40 against 2
}

TEST_CASE("panels: fixed axis ends are used, and curves beyond them stay inside the frame", "[io][plot_panels]") {
  io::Panel p = decaying_panel("cut");
  p.y_min = 1e-2;
  p.y_max = 1.0;
  const std::string svg = io::panels_svg({p});
  require_well_formed(svg);
  CHECK(svg.find(">1e-5<") == std::string::npos);
  CHECK(svg.find(">0.01<") != std::string::npos);
}

TEST_CASE("panels: an empty panel is still a labelled figure, and the file overload writes it", "[io][plot_panels]") {
  io::Panel empty;
  empty.title = "nothing yet";
  const std::string svg = io::panels_svg({empty});
  require_well_formed(svg);
  CHECK(svg.find("nothing yet") != std::string::npos);

  TempDir dir("gantry_plot_panels_test_");
  const std::string path = (dir.path / "panels.svg").string();
  io::panels_svg(path, {decaying_panel("file")});
  require_python_parses(path);
  CHECK(read_file(path) == io::panels_svg({decaying_panel("file")}));
}

TEST_CASE("panels: bad sizes and options throw, naming the panel, series and field", "[io][plot_panels]") {
  const auto message_of = [](auto&& call) -> std::string {
    try {
      call();
    } catch (const gantry::Error& e) {
      return e.what();
    }
    return "";
  };
  io::Panel p = decaying_panel("bad");
  p.series[0].x.pop_back();
  std::string m = message_of([&] { io::panels_svg({p}); });
  CHECK(m.find("panel 0 ('bad') series 0 ('minimax') has 40 x values for 41 y values") != std::string::npos);

  p = decaying_panel("bad");
  p.series[0].upper.pop_back();
  m = message_of([&] { io::panels_svg({p}); });
  CHECK(m.find("upper") != std::string::npos);

  io::Panel h;
  h.bars.push_back({"h", {0.0, 1.0}, {1.0, 2.0}, "", 0.5});
  m = message_of([&] { io::panels_svg({h}); });
  CHECK(m.find("have 2 edges for 2 counts") != std::string::npos);
  h.bars[0] = {"h", {0.0, 1.0, 1.0}, {1.0, 2.0}, "", 0.5};
  m = message_of([&] { io::panels_svg({h}); });
  CHECK(m.find("edges must increase") != std::string::npos);

  p = decaying_panel("fixed");
  p.y_min = 0.0;
  m = message_of([&] { io::panels_svg({p}); });
  CHECK(m.find("y_min is 0; expected finite and > 0 on a log axis") != std::string::npos);

  io::PanelFigureOptions options;
  options.columns = 0;
  m = message_of([&] { io::panels_svg({p}, options); });
  CHECK(m.find("columns") != std::string::npos);
  CHECK_THROWS_AS(io::panels_svg(std::vector<io::Panel>{}), gantry::ShapeError);
}

namespace {

using gantry::Index;

/// A surface over [-2, 2] x [-1, 1] whose value is the cell's column index i (rises along x).
io::Panel surface_panel(Index nx, Index ny, int levels) {
  io::Panel p;
  p.title = "surface";
  io::PanelHeatmap h;
  h.values.resize(nx, ny);
  for (Index j = 0; j < ny; ++j)
    for (Index i = 0; i < nx; ++i) h.values(i, j) = static_cast<double>(i);
  h.bounds = io::PlotBounds{-2.0, 2.0, -1.0, 1.0};
  h.levels = levels;
  p.heatmap = h;
  return p;
}

/// The text of the first group of class `name`, up to its first closing tag.
std::string group_text(const std::string& svg, const std::string& name) {
  const std::size_t at = svg.find("class=\"" + name + "\"");
  REQUIRE(at != std::string::npos);
  return svg.substr(at, svg.find("</g>", at) - at);
}

}  // namespace

TEST_CASE("panels: a heat map is one path per colour band, each row's runs one rectangle", "[io][plot_panels]") {
  // 6 columns in 2 bands (values 0-2 and 3-5): every row is two runs, so each band's path has ny rectangles.
  const Index nx = 6, ny = 5;
  const std::string svg = io::panels_svg({surface_panel(nx, ny, 2)});
  require_well_formed(svg);
  require_no_non_finite_text(svg);
  const std::string cells = group_text(svg, "heatmap");
  CHECK(count(cells, "<path") == 2);
  CHECK(count(cells, "Z") == 2 * ny);
  // The low band has the colour map's colour at 1/4, the high band at 3/4, in that order.
  const std::vector<std::string> fills = matches(cells, "fill=\"(#[0-9a-f]{6})\"");
  REQUIRE(fills.size() == 2);
  CHECK(fills[0] == io::detail::color_at(io::ColorMap::viridis, 0.25));
  CHECK(fills[1] == io::detail::color_at(io::ColorMap::viridis, 0.75));
  // The low band sits left of the high one: its first rectangle starts at a smaller x.
  const std::vector<std::string> starts = matches(cells, "d=\"M([0-9.]+) ");
  REQUIRE(starts.size() == 2);
  CHECK(std::stod(starts[0]) < std::stod(starts[1]));
  // The axes are the surface's bounds, not padded: their ends are ticks, and no grid lines streak the surface.
  for (const char* tick : {">-2<", ">2<", ">-1<", ">1<"}) {
    INFO("tick " << tick);
    CHECK(svg.find(tick) != std::string::npos);
  }
  CHECK(svg.find("#e3e3e3") == std::string::npos);
  // The colour bar: one rect per band and a frame, labelled with the value range 0..5.
  const std::string bar = group_text(svg, "colorbar");
  CHECK(count(bar, "<rect") == 3);
  CHECK(svg.find(">5<") != std::string::npos);
}

TEST_CASE("panels: a surface's rows run bottom to top, and equal_aspect makes data units square", "[io][plot_panels]") {
  io::Panel p = surface_panel(4, 2, 4);
  p.heatmap->values << 0, 9, 0, 9, 0, 9, 0, 9;  // column j = 1 (the upper row) is high everywhere
  p.heatmap->levels = 2;
  p.equal_aspect = true;
  const std::string svg = io::panels_svg({p});
  require_well_formed(svg);
  const std::string cells = group_text(svg, "heatmap");
  // One run per row: the low band is row 0, at the bottom, the high band row 1 above it.
  const std::vector<std::string> paths = matches(cells, "d=\"([^\"]*)\"");
  REQUIRE(paths.size() == 2);
  const auto corners = [](const std::string& d) {
    std::vector<double> v;
    const std::regex number("-?[0-9.]+");
    for (auto it = std::sregex_iterator(d.begin(), d.end(), number); it != std::sregex_iterator(); ++it)
      v.push_back(std::stod(it->str()));
    return v;  // "M x y h width v height h -width Z"
  };
  const std::vector<double> low = corners(paths[0]), high = corners(paths[1]);
  REQUIRE(low.size() == 5);
  REQUIRE(high.size() == 5);
  CHECK(low[4] == -low[2]);                                // the rectangle closes on itself
  CHECK(high[1] + high[3] == Approx(low[1]).margin(0.1));  // the high row's bottom edge is the low row's top edge
  CHECK(high[1] < low[1]);                                 // SVG's y grows downwards
  // [-2, 2] x [-1, 1] with square units: the plot is twice as wide as high.
  CHECK(low[2] == Approx(2.0 * (low[3] + high[3])).margin(0.3));
}

TEST_CASE("panels: equal-area band edges are the values' quantiles, and explicit edges set the bands", "[io][plot_panels]") {
  Eigen::MatrixXd values(10, 10);
  for (Index k = 0; k < 100; ++k) values(k) = static_cast<double>(k + 1);  // 1 .. 100
  CHECK(io::equal_area_band_edges(values, 4) == std::vector<double>{1, 26, 51, 76, 100});
  // A surface that is mostly one value: equal quantiles merge into one band instead of repeating an edge.
  values.setConstant(3.0);
  values(0, 0) = 1.0;
  values(9, 9) = 7.0;
  CHECK(io::equal_area_band_edges(values, 8) == std::vector<double>{1, 3, 7});
  values.setConstant(2.0);
  CHECK(io::equal_area_band_edges(values, 8) == std::vector<double>{1.9, 2.1});
  CHECK_THROWS_AS(io::equal_area_band_edges(values, 0), gantry::OptionError);

  // Columns hold 0 .. 5; edges {0, 0.5, 5}: column 0 alone in the low band, the other five in the high one.
  io::Panel p = surface_panel(6, 3, 12);
  p.heatmap->band_edges = {0.0, 0.5, 5.0};
  const std::string svg = io::panels_svg({p});
  require_well_formed(svg);
  const std::vector<std::string> paths = matches(group_text(svg, "heatmap"), "d=\"([^\"]*)\"");
  REQUIRE(paths.size() == 2);
  const std::vector<std::string> low_widths = matches(paths[0], "h([0-9.]+)v");
  const std::vector<std::string> high_widths = matches(paths[1], "h([0-9.]+)v");
  REQUIRE(low_widths.size() == 3);
  REQUIRE(high_widths.size() == 3);
  CHECK(std::stod(high_widths[0]) == Approx(5.0 * std::stod(low_widths[0])).margin(0.3));

  // The colour bar is two blocks labelled with the edges.
  CHECK(count(group_text(svg, "colorbar"), "<rect") == 3);
  for (const char* label : {">0<", ">0.5<", ">5<"}) {
    INFO("label " << label);
    CHECK(svg.find(label) != std::string::npos);
  }
  // Edges close together relative to their size get the decimals that tell them apart.
  p.heatmap->band_edges = {0.0099401, 0.0099412, 0.0099423};
  const std::string narrow = io::panels_svg({p});
  for (const char* label : {">0.0099401<", ">0.0099412<", ">0.0099423<"}) {
    INFO("label " << label);
    CHECK(narrow.find(label) != std::string::npos);
  }
}

TEST_CASE("panels: neighbouring cells share their edge to the digit, leaving no hairline", "[io][plot_panels]") {
  // 37 columns alternating between two bands: every cell is its own run, at widths that are no round number.
  io::Panel p = surface_panel(37, 1, 2);
  for (Index i = 0; i < 37; ++i) p.heatmap->values(i, 0) = static_cast<double>(i % 2);
  const std::string svg = io::panels_svg({p});
  require_well_formed(svg);
  std::vector<std::pair<double, double>> runs;  // (left edge, width), both bands
  const std::regex rectangle("M([0-9.]+) [0-9.]+h([0-9.]+)v");
  const std::string cells = group_text(svg, "heatmap");
  for (auto it = std::sregex_iterator(cells.begin(), cells.end(), rectangle); it != std::sregex_iterator(); ++it)
    runs.emplace_back(std::stod((*it)[1].str()), std::stod((*it)[2].str()));
  REQUIRE(runs.size() == 37);
  std::sort(runs.begin(), runs.end());
  for (std::size_t k = 0; k + 1 < runs.size(); ++k) {
    INFO("run " << k << " at " << runs[k].first << " width " << runs[k].second);
    CHECK(runs[k].first + runs[k].second == Approx(runs[k + 1].first).margin(1e-9));
  }
}

TEST_CASE("panels: points over a surface, and those outside it are counted in the legend", "[io][plot_panels]") {
  io::Panel p = surface_panel(10, 10, 8);
  io::PanelPoints real;
  real.name = "real";
  real.color = "#ff7f0e";
  real.x = {0.0, 1.0, -1.5, 3.0, std::numeric_limits<double>::quiet_NaN()};  // the last two are not drawn
  real.y = {0.0, 0.5, -0.5, 0.0, 0.0};
  p.points.push_back(real);
  const std::string svg = io::panels_svg({p});
  require_well_formed(svg);
  require_no_non_finite_text(svg);
  CHECK(count(group_text(svg, "points"), "<circle") == 3);
  CHECK(svg.find("real (2 outside the plot or not finite)") != std::string::npos);

  // Without a surface, points set the axes like curves do, and a non-finite value is the only one left out.
  io::Panel alone;
  alone.points.push_back(real);
  const std::string scatter = io::panels_svg({alone});
  require_well_formed(scatter);
  CHECK(count(group_text(scatter, "points"), "<circle") == 4);
}

TEST_CASE("panels: a non-finite cell is grey, and a constant surface still gets a colour bar", "[io][plot_panels]") {
  io::Panel p = surface_panel(3, 3, 4);
  p.heatmap->values(1, 1) = std::numeric_limits<double>::infinity();
  std::string svg = io::panels_svg({p});
  require_well_formed(svg);
  require_no_non_finite_text(svg);
  CHECK(group_text(svg, "heatmap").find("fill=\"#bdbdbd\"") != std::string::npos);

  p.heatmap->values.setConstant(0.25);
  svg = io::panels_svg({p});
  require_well_formed(svg);
  CHECK(count(group_text(svg, "colorbar"), "<rect") == 5);
}

TEST_CASE("panels: a bad surface or bad points throw, naming the panel and the field", "[io][plot_panels]") {
  const auto message_of = [](auto&& call) -> std::string {
    try {
      call();
    } catch (const gantry::Error& e) {
      return e.what();
    }
    return "";
  };
  io::Panel p = surface_panel(3, 3, 4);
  p.heatmap->values.resize(0, 3);
  CHECK(message_of([&] { io::panels_svg({p}); }).find("panel 0 ('surface') heatmap values is 0x3") !=
        std::string::npos);
  p = surface_panel(3, 3, 0);
  CHECK(message_of([&] { io::panels_svg({p}); }).find("heatmap levels is 0; expected in [1, 256]") !=
        std::string::npos);
  p = surface_panel(3, 3, 4);
  p.heatmap->bounds.x_max = -3.0;
  CHECK(message_of([&] { io::panels_svg({p}); }).find("heatmap bounds are [-2, -3] x [-1, 1]") != std::string::npos);
  p = surface_panel(3, 3, 4);
  p.heatmap->value_min = 1.0;
  p.heatmap->value_max = 1.0;
  CHECK(message_of([&] { io::panels_svg({p}); }).find("value_max is 1; expected > value_min (1)") !=
        std::string::npos);
  p = surface_panel(3, 3, 4);
  p.heatmap->band_edges = {0.0, 2.0, 1.0};
  CHECK(message_of([&] { io::panels_svg({p}); }).find("band_edges must increase, band_edges[2] is 1 after 2") !=
        std::string::npos);
  p.heatmap->band_edges = {0.0};
  CHECK(message_of([&] { io::panels_svg({p}); }).find("band_edges has 1 values; expected 2 to 257") !=
        std::string::npos);
  p = surface_panel(3, 3, 4);
  p.log_y = true;
  CHECK(message_of([&] { io::panels_svg({p}); }).find("heatmap needs linear axes") != std::string::npos);
  p = surface_panel(3, 3, 4);
  p.points.push_back({"real", {0.0, 1.0}, {0.0}, "", 1.8});
  CHECK(message_of([&] { io::panels_svg({p}); }).find("points 0 ('real') have 2 x values for 1 y values") !=
        std::string::npos);
  p.points[0] = {"real", {0.0}, {0.0}, "", 0.0};
  CHECK(message_of([&] { io::panels_svg({p}); }).find("points 0 ('real') radius is 0") != std::string::npos);
  io::Panel curve = decaying_panel("log");
  curve.equal_aspect = true;
  CHECK(message_of([&] { io::panels_svg({curve}); }).find("equal_aspect needs linear axes") != std::string::npos);
}
