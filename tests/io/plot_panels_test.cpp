// SPDX-License-Identifier: MIT
// Figures of several panels: well-formed XML (ours and python3's minidom), one group per panel at its place in the
// grid, log axes with decade ticks, bands and histograms drawn where their data says, bad sizes named.

#include <gantry/io/plot_panels.hpp>

#include <cmath>
#include <limits>
#include <regex>
#include <string>
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

TEST_CASE("panels: a log axis over five decades gets decade ticks; a band is one polygon", "[io][plot_panels]") {
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

TEST_CASE("panels: an empty panel is still a labelled figure; the file overload writes it", "[io][plot_panels]") {
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
