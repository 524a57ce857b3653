// SPDX-License-Identifier: MIT
// The SVG builder and the three figures: well-formed XML (checked here and by python3's minidom),
// one <circle> per drawn sample, escaped text, no "nan" in the output, IoError naming a bad path.

#include <gantry/io/plots.hpp>
#include <gantry/io/svg.hpp>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "catch.hpp"
#include "support/svg_check.hpp"

namespace {

namespace fs = std::filesystem;
using gantry::Index;
using namespace gantry::test;

Eigen::MatrixXd ring_samples(Index n, double radius, unsigned seed) {
  std::mt19937 engine(seed);
  std::normal_distribution<double> noise(0.0, 0.05);
  Eigen::MatrixXd points(2, n);
  for (Index k = 0; k < n; ++k) {
    const double angle = 6.283185307179586 * static_cast<double>(k % 8) / 8.0;
    points(0, k) = radius * std::cos(angle) + noise(engine);
    points(1, k) = radius * std::sin(angle) + noise(engine);
  }
  return points;
}

}  // namespace

TEST_CASE("svg numbers are fixed-point, locale-free and never -0", "[io][svg]") {
  using gantry::io::detail::format_fixed;
  CHECK(format_fixed(12.5, 2) == "12.5");
  CHECK(format_fixed(3.0, 2) == "3");
  CHECK(format_fixed(-0.25, 2) == "-0.25");
  CHECK(format_fixed(-0.001, 2) == "0");
  CHECK(format_fixed(0.05, 2) == "0.05");
  CHECK(format_fixed(1.005, 3) == "1.005");
  CHECK(format_fixed(123.456789, 2) == "123.46");
  CHECK(format_fixed(7.0, 0) == "7");
  CHECK(format_fixed(1.0e20, 2) == "100000000000000000000");
}

TEST_CASE("svg text and attribute values are escaped", "[io][svg]") {
  CHECK(gantry::io::escape_xml("a < b & \"c\" > 'd'") == "a &lt; b &amp; &quot;c&quot; &gt; &apos;d&apos;");
  // XML 1.0 forbids most control characters even as references.
  CHECK(gantry::io::escape_xml(std::string("x\x01y\tz")) == "x y\tz");

  gantry::io::SvgDocument doc(100, 50);
  doc.text(1, 2, "<script> & co", gantry::io::SvgAttributes().set("fill", "a\"b"));
  const std::string svg = doc.str();
  CHECK(svg.find("&lt;script&gt; &amp; co") != std::string::npos);
  CHECK(svg.find("fill=\"a&quot;b\"") != std::string::npos);
  require_well_formed(svg);
}

TEST_CASE("svg builder refuses what would make an invalid document", "[io][svg]") {
  using gantry::io::SvgAttributes;
  using gantry::io::SvgDocument;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  SvgDocument doc(100, 100);
  CHECK_THROWS_AS(doc.circle(nan, 1, 1), gantry::DataError);
  CHECK_THROWS_AS(doc.rect(0, 0, -1, 1), gantry::OptionError);
  CHECK_THROWS_AS(SvgAttributes().set("r", nan), gantry::DataError);
  CHECK_THROWS_AS(SvgAttributes().set("fill", "red").set("fill", "blue"), gantry::OptionError);
  CHECK_THROWS_AS(SvgAttributes().set("bad name", 1), gantry::OptionError);
  CHECK_THROWS_AS(doc.open("1g"), gantry::OptionError);
  CHECK_THROWS_AS(SvgDocument(0, 10), gantry::OptionError);
  CHECK_THROWS_AS(SvgDocument(10, 10, 12), gantry::OptionError);

  doc.begin_group();
  CHECK_THROWS_AS(doc.str(), gantry::OptionError);
  doc.end_group();
  CHECK_THROWS_AS(doc.close(), gantry::OptionError);
  require_well_formed(doc.str());
}

TEST_CASE("svg builder writes every element kind as well-formed XML", "[io][svg]") {
  using gantry::io::SvgAttributes;
  gantry::io::SvgDocument doc(200, 100);
  doc.title("a & b");
  doc.begin_group(SvgAttributes().set("stroke", "#000").set("stroke-width", 1.25));
  doc.rect(1, 2, 3, 4).circle(5, 6, 7).line(0, 0, 10.123, 20.456);
  doc.polyline({{0, 0}, {1, 1}, {2, 0.5}}).polygon({{0, 0}, {1, 0}, {0, 1}});
  doc.path(gantry::io::SvgPath().move_to(0, 0).line_to(1, 2).close());
  doc.path(gantry::io::SvgPath());  // empty: nothing written (an empty "d" is an error)
  doc.end_group();
  const std::string svg = doc.str();
  require_well_formed(svg);
  CHECK(count(svg, "<circle") == 1);
  CHECK(count(svg, "<path") == 1);
  CHECK(svg.find("x2=\"10.12\" y2=\"20.46\"") != std::string::npos);
  CHECK(svg.find("points=\"0,0 1,1 2,0.5\"") != std::string::npos);
  CHECK(svg.find("stroke-width=\"1.25\"") != std::string::npos);
  CHECK(svg.rfind("</svg>") != std::string::npos);

  // The checker itself must catch what it is meant to catch.
  CHECK_FALSE(xml_problem("<svg xmlns=\"http://www.w3.org/2000/svg\"><g></svg>").empty());
  CHECK_FALSE(xml_problem("<svg xmlns=\"http://www.w3.org/2000/svg\"><text>a < b</text></svg>").empty());
  CHECK_FALSE(xml_problem("<svg xmlns=\"http://www.w3.org/2000/svg\"><text>a & b</text></svg>").empty());
  CHECK_FALSE(xml_problem("<svg xmlns=\"http://www.w3.org/2000/svg\"><rect x=1/></svg>").empty());
  CHECK_FALSE(xml_problem("<svg><rect/></svg>").empty());
  CHECK(xml_problem("<svg xmlns=\"http://www.w3.org/2000/svg\"><text>a &amp; b</text></svg>").empty());
}

TEST_CASE("grid_cell_centers and evaluate_on_grid agree on the grid's layout", "[io][plots]") {
  const gantry::io::PlotBounds bounds{-2.0, 2.0, 0.0, 1.0};
  const Index nx = 4;
  const Index ny = 3;
  const Eigen::MatrixXd centers = gantry::io::grid_cell_centers(bounds, nx, ny);
  REQUIRE(centers.rows() == 2);
  REQUIRE(centers.cols() == nx * ny);
  CHECK(std::fabs(centers(0, 0) - (-1.5)) < 1e-12);
  CHECK(std::fabs(centers(1, 0) - (1.0 / 6.0)) < 1e-12);
  CHECK(std::fabs(centers(0, 1) - (-0.5)) < 1e-12);  // x varies fastest
  CHECK(std::fabs(centers(1, nx) - 0.5) < 1e-12);

  const auto f = [](double x, double y) { return 10.0 * x + y; };
  const Eigen::MatrixXd values = gantry::io::evaluate_on_grid(f, bounds, nx, ny);
  REQUIRE(values.rows() == nx);
  REQUIRE(values.cols() == ny);
  // A batched pass over the centers, reshaped column-major, is the same grid.
  Eigen::RowVectorXd batched(nx * ny);
  for (Index k = 0; k < nx * ny; ++k) batched(k) = f(centers(0, k), centers(1, k));
  const Eigen::MatrixXd reshaped = Eigen::Map<const Eigen::MatrixXd>(batched.data(), nx, ny);
  CHECK((reshaped - values).cwiseAbs().maxCoeff() < 1e-12);

  CHECK_THROWS_AS(gantry::io::grid_cell_centers(bounds, 0, 3), gantry::OptionError);
  CHECK_THROWS_AS(gantry::io::grid_cell_centers({1.0, 1.0, 0.0, 1.0}, 2, 2), gantry::OptionError);
}

TEST_CASE("critic heat map: well-formed, one circle per sample, escaped title, no nan", "[io][plots]") {
  const gantry::io::PlotBounds bounds{-2.0, 2.0, -2.0, 2.0};
  Eigen::MatrixXd values =
      gantry::io::evaluate_on_grid([](double x, double y) { return std::sin(x) * std::cos(y) - 0.3 * x * y; },
                                   bounds, 80, 80);
  values(3, 4) = std::numeric_limits<double>::quiet_NaN();
  values(5, 6) = std::numeric_limits<double>::infinity();
  const Eigen::MatrixXd real = ring_samples(64, 1.5, 1);
  const Eigen::MatrixXd fake = ring_samples(40, 0.7, 2);

  gantry::io::HeatmapOptions options;
  options.title = "WGAN-GP critic: a < b & c";
  const std::string svg = gantry::io::critic_heatmap_svg(values, bounds, real, fake, options);
  require_well_formed(svg);
  require_no_non_finite_text(svg);
  CHECK(count(svg, "<circle") == static_cast<std::size_t>(real.cols() + fake.cols()));
  CHECK(svg.find("a &lt; b &amp; c") != std::string::npos);
  CHECK(svg.find("a < b") == std::string::npos);
  CHECK(svg.find("critic value not finite") != std::string::npos);  // NaN cells are not silent
  CHECK(svg.find("<image") == std::string::npos);
  CHECK(count(svg, "<rect") > 12);

  // Bands: the heat map uses at most `levels` colours plus the grey of non-finite cells.
  const std::size_t begin = svg.find("class=\"heatmap\"");
  const std::size_t end = svg.find("</g>", begin);
  REQUIRE(begin != std::string::npos);
  std::set<std::string> fills;
  for (std::size_t pos = svg.find("fill=\"", begin); pos < end; pos = svg.find("fill=\"", pos + 1))
    fills.insert(svg.substr(pos + 6, 7));
  CHECK(fills.size() <= static_cast<std::size_t>(options.levels) + 1);
  CHECK(fills.size() >= 6);

  TempDir dir("gantry_plots_test_");
  const fs::path file = dir.path / "heatmap.svg";
  gantry::io::critic_heatmap_svg(file.string(), values, bounds, real, fake, options);
  CHECK(read_file(file) == svg);
  require_python_parses(file);
}

TEST_CASE("critic heat map: points outside or non-finite are counted, not drawn", "[io][plots]") {
  const gantry::io::PlotBounds bounds{-1.0, 1.0, -1.0, 1.0};
  const Eigen::MatrixXd values = Eigen::MatrixXd::Constant(10, 10, 0.25);  // a constant critic still plots
  Eigen::MatrixXd real(2, 4);
  real << 0.0, 5.0, 0.5, std::numeric_limits<double>::quiet_NaN(), 0.0, 0.0, -0.5, 0.0;
  const Eigen::MatrixXd no_fake(2, 0);
  gantry::io::HeatmapOptions options;
  options.levels = 0;  // continuous colours
  options.color_map = gantry::io::ColorMap::diverging;
  const std::string svg = gantry::io::critic_heatmap_svg(values, bounds, real, no_fake, options);
  require_well_formed(svg);
  require_no_non_finite_text(svg);
  CHECK(count(svg, "<circle") == 2);
  CHECK(svg.find("real (2 outside the plot or not finite)") != std::string::npos);
  CHECK(svg.find(options.fake_label) == std::string::npos);  // no legend entry for an empty set
}

TEST_CASE("critic heat map: the callable overload equals the grid overload", "[io][plots]") {
  const gantry::io::PlotBounds bounds{-1.0, 3.0, -1.0, 1.0};
  const auto critic = [](double x, double y) { return x * x - y; };
  gantry::io::HeatmapOptions options;
  options.grid_size = 30;
  const Eigen::MatrixXd real = ring_samples(16, 0.5, 3);
  const Eigen::MatrixXd fake = ring_samples(16, 0.25, 4);
  const std::string from_callable = gantry::io::critic_heatmap_svg(critic, bounds, real, fake, options);
  const Eigen::MatrixXd grid = gantry::io::evaluate_on_grid(critic, bounds, 30, 30);
  CHECK(from_callable == gantry::io::critic_heatmap_svg(grid, bounds, real, fake, options));
  require_well_formed(from_callable);
}

TEST_CASE("critic heat map: bad shapes and options throw", "[io][plots]") {
  const gantry::io::PlotBounds bounds;
  const Eigen::MatrixXd values = Eigen::MatrixXd::Zero(5, 5);
  const Eigen::MatrixXd points = Eigen::MatrixXd::Zero(2, 3);
  CHECK_THROWS_AS(gantry::io::critic_heatmap_svg(Eigen::MatrixXd(0, 0), bounds, points, points), gantry::ShapeError);
  CHECK_THROWS_AS(gantry::io::critic_heatmap_svg(values, bounds, Eigen::MatrixXd::Zero(3, 4), points),
                  gantry::ShapeError);
  gantry::io::HeatmapOptions options;
  options.levels = -1;
  CHECK_THROWS_AS(gantry::io::critic_heatmap_svg(values, bounds, points, points, options), gantry::OptionError);
  options = {};
  options.value_min = 1.0;
  options.value_max = 0.0;
  CHECK_THROWS_AS(gantry::io::critic_heatmap_svg(values, bounds, points, points, options), gantry::OptionError);
}

TEST_CASE("curves: NaN, inf and empty series are skipped gracefully", "[io][plots]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<gantry::io::Series> series(3);
  series[0].name = "critic loss";
  series[0].y = {1.0, 2.0, nan, 3.0, 4.0, inf, 5.0};  // pieces: [1, 2], [3, 4], [5]
  series[1].name = "generator <loss> & co";
  series[1].x = {0.0, 10.0, 20.0};
  series[1].y = {-1.0, -0.5, 0.25};
  series[2].name = "empty";

  gantry::io::CurvesOptions options;
  options.title = "losses";
  const std::string svg = gantry::io::curves_svg(series, options);
  require_well_formed(svg);
  require_no_non_finite_text(svg);
  CHECK(count(svg, "<polyline") == 3);
  CHECK(count(svg, "<circle") == 1);  // the lone point 5
  CHECK(svg.find("generator &lt;loss&gt; &amp; co") != std::string::npos);
  CHECK(svg.find(">empty<") != std::string::npos);

  SECTION("log y skips values <= 0") {
    options.log_y = true;
    const std::string log_svg = gantry::io::curves_svg(series, options);
    require_well_formed(log_svg);
    require_no_non_finite_text(log_svg);
    CHECK(count(log_svg, "<polyline") == 2);  // [1, 2], [3, 4]; series 1 keeps only 0.25
    CHECK(count(log_svg, "<circle") == 2);
  }

  SECTION("written file parses with python3") {
    TempDir dir("gantry_plots_test_");
    const fs::path file = dir.path / "curves.svg";
    gantry::io::curves_svg(file.string(), series, options);
    CHECK(read_file(file) == svg);
    require_python_parses(file);
  }
}

TEST_CASE("curves: no data at all still makes a labelled plot, and mismatched sizes throw", "[io][plots]") {
  const std::string empty = gantry::io::curves_svg({});
  require_well_formed(empty);
  CHECK(count(empty, "<polyline") == 0);

  std::vector<gantry::io::Series> all_nan(1);
  all_nan[0].name = "wasserstein estimate";
  all_nan[0].y = {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN()};
  const std::string svg = gantry::io::curves_svg(all_nan);
  require_well_formed(svg);
  require_no_non_finite_text(svg);

  std::vector<gantry::io::Series> bad(1);
  bad[0].x = {1.0, 2.0};
  bad[0].y = {1.0};
  CHECK_THROWS_AS(gantry::io::curves_svg(bad), gantry::ShapeError);
}

TEST_CASE("curves: a long series is decimated to a compact polyline", "[io][plots]") {
  std::vector<gantry::io::Series> series(1);
  series[0].name = "noisy";
  std::mt19937 engine(7);
  std::normal_distribution<double> noise(0.0, 1.0);
  for (int k = 0; k < 200000; ++k) series[0].y.push_back(std::exp(-k * 1e-5) + 0.1 * noise(engine));
  const std::string svg = gantry::io::curves_svg(series);
  require_well_formed(svg);
  CHECK(count(svg, "<polyline") == 1);
  CHECK(svg.size() < 100000);  // about four points per pixel column, not 200000 points
  // The envelope survives: the extreme values still set the axis range, and the polyline spans it.
  CHECK(svg.size() > 5000);
}

TEST_CASE("vector field: arrows, trajectories, equilibrium and axis names", "[io][plots]") {
  // Simultaneous gradient descent on the Dirac-GAN with a linear critic: v(theta, psi) = (-psi, theta).
  const auto field = [](double theta, double psi) { return Eigen::Vector2d(-psi, theta); };
  const gantry::io::PlotBounds bounds{-2.0, 2.0, -2.0, 2.0};
  std::vector<gantry::io::Trajectory> trajectories(2);
  trajectories[0].name = "simultaneous GD";
  trajectories[0].points.resize(2, 50);
  trajectories[1].name = "alternating GD";
  trajectories[1].points.resize(2, 30);
  for (Index k = 0; k < 50; ++k) {
    const double r = 1.0 + 0.05 * static_cast<double>(k);  // spirals out of the window
    trajectories[0].points.col(k) << r * std::cos(0.3 * k), r * std::sin(0.3 * k);
  }
  for (Index k = 0; k < 30; ++k) trajectories[1].points.col(k) << std::cos(0.2 * k), std::sin(0.2 * k);
  trajectories[1].points(0, 12) = std::numeric_limits<double>::quiet_NaN();  // diverged for a step

  gantry::io::VectorFieldOptions options;
  options.grid_size = 15;
  const std::string svg = gantry::io::vector_field_svg(field, bounds, trajectories, options);
  require_well_formed(svg);
  require_no_non_finite_text(svg);
  CHECK(svg.find(">theta</text>") != std::string::npos);
  CHECK(svg.find(">psi</text>") != std::string::npos);
  CHECK(svg.find("class=\"equilibrium\"") != std::string::npos);
  CHECK(svg.find(">simultaneous GD</text>") != std::string::npos);
  CHECK(svg.find(">alternating GD</text>") != std::string::npos);
  CHECK(count(svg, "class=\"trajectory\"") == 2);
  CHECK(count(svg, "<polyline") == 3);  // the NaN splits the second trajectory
  CHECK(svg.find("clip-path=\"url(#gantry-plot-area)\"") != std::string::npos);
  // 15 x 15 arrows in one path, each one "M..L.." shaft and "M..L..L.." head; none at the centre
  // cell, which sits on the equilibrium where the field has no direction.
  const std::size_t field_begin = svg.find("<path d=\"M", svg.find("stroke=\"#d0d0d0\""));
  REQUIRE(field_begin != std::string::npos);
  const std::string field_path = svg.substr(field_begin, svg.find("/>", field_begin) - field_begin);
  CHECK(field_path.find("class=\"field\"") != std::string::npos);
  CHECK(count(field_path, "M") == 2 * (15 * 15 - 1));

  TempDir dir("gantry_plots_test_");
  const fs::path file = dir.path / "dirac.svg";
  gantry::io::vector_field_svg(file.string(), field, bounds, trajectories, options);
  CHECK(read_file(file) == svg);
  require_python_parses(file);
}

TEST_CASE("vector field: a precomputed grid, zero vectors and bad shapes", "[io][plots]") {
  const gantry::io::PlotBounds bounds{-1.0, 1.0, -1.0, 1.0};
  Eigen::MatrixXd u = Eigen::MatrixXd::Ones(5, 5);
  Eigen::MatrixXd v = Eigen::MatrixXd::Zero(5, 5);
  u(2, 2) = 0.0;  // no direction: no arrow
  u(0, 0) = std::numeric_limits<double>::quiet_NaN();
  const std::string svg = gantry::io::vector_field_svg(u, v, bounds);
  require_well_formed(svg);
  require_no_non_finite_text(svg);
  const std::size_t field = svg.find("class=\"field\"");
  REQUIRE(field != std::string::npos);
  const std::size_t path_begin = svg.rfind("<path", field);
  CHECK(count(svg.substr(path_begin, field - path_begin), "M") == 2 * 23);

  CHECK_THROWS_AS(gantry::io::vector_field_svg(u, Eigen::MatrixXd::Zero(4, 5), bounds), gantry::ShapeError);
  std::vector<gantry::io::Trajectory> bad(1);
  bad[0].points = Eigen::MatrixXd::Zero(3, 2);
  CHECK_THROWS_AS(gantry::io::vector_field_svg(u, v, bounds, bad), gantry::ShapeError);
}

TEST_CASE("writing into a directory that does not exist throws IoError naming the path", "[io][plots]") {
  TempDir dir("gantry_plots_test_");
  const std::string path = (dir.path / "no_such_directory" / "figure.svg").string();
  const gantry::io::PlotBounds bounds;
  const Eigen::MatrixXd values = Eigen::MatrixXd::Zero(4, 4);
  const Eigen::MatrixXd points = Eigen::MatrixXd::Zero(2, 2);
  require_io_error_naming(path, [&] { gantry::io::critic_heatmap_svg(path, values, bounds, points, points); });
  require_io_error_naming(path, [&] {
    gantry::io::critic_heatmap_svg(path, [](double x, double) { return x; }, bounds, points, points);
  });
  require_io_error_naming(path, [&] { gantry::io::curves_svg(path, {}); });
  require_io_error_naming(path, [&] { gantry::io::vector_field_svg(path, values, values, bounds); });
  require_io_error_naming(path, [&] {
    gantry::io::vector_field_svg(path, [](double, double) { return Eigen::Vector2d(1.0, 0.0); }, bounds);
  });
  require_io_error_naming(path, [&] { gantry::io::SvgDocument(10, 10).save(path); });
  CHECK_FALSE(fs::exists(dir.path / "no_such_directory"));
}
