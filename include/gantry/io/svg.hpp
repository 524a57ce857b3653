// SPDX-License-Identifier: MIT
#pragma once
/// A small SVG document builder: escaped text, locale-free fixed-point numbers, balanced elements.

#include <cmath>
#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <locale>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "gantry/core/error.hpp"

namespace gantry::io {

namespace detail {

inline constexpr int max_svg_decimals = 9;

/// Appends `value` rounded to `decimals` places with trailing zeros removed ("12.5", "3", "-0.25").
/// Written by hand rather than with printf or iostreams so that a global C or C++ locale with a
/// decimal comma can never leak into the file; "-0" is written as "0".
inline void append_fixed(std::string& out, double value, int decimals) {
  if (decimals < 0) decimals = 0;
  if (decimals > max_svg_decimals) decimals = max_svg_decimals;
  std::uint64_t unit = 1;
  for (int k = 0; k < decimals; ++k) unit *= 10;
  const double scaled = std::round(value * static_cast<double>(unit));
  if (!(std::fabs(scaled) < 9.0e15)) {
    // Beyond the exact integer range of a double: no fraction is left to print.
    std::ostringstream stream;
    stream.imbue(std::locale::classic());
    stream.setf(std::ios::fixed, std::ios::floatfield);
    stream.precision(0);
    stream << value;
    out += stream.str();
    return;
  }
  const bool negative = scaled < 0.0;
  const auto magnitude = static_cast<std::uint64_t>(std::fabs(scaled));
  if (magnitude == 0) {
    out += '0';
    return;
  }
  if (negative) out += '-';
  out += std::to_string(magnitude / unit);
  std::uint64_t fraction = magnitude % unit;
  if (fraction == 0) return;
  int digits = decimals;
  while (fraction % 10 == 0) {
    fraction /= 10;
    --digits;
  }
  std::string fraction_text = std::to_string(fraction);
  out += '.';
  out.append(static_cast<std::size_t>(digits) - fraction_text.size(), '0');
  out += fraction_text;
}

inline std::string format_fixed(double value, int decimals) {
  std::string out;
  append_fixed(out, value, decimals);
  return out;
}

/// XML 1.0 forbids C0 control characters other than tab, newline and carriage return even as
/// character references, so they become spaces; the five markup characters become entities.
inline void append_escaped(std::string& out, std::string_view text) {
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r')
          out += ' ';
        else
          out += c;
    }
  }
}

/// An ASCII subset of XML names (enough for SVG element and attribute names such as "stroke-width"
/// or "xlink:href").
inline bool is_xml_name(std::string_view name) {
  if (name.empty()) return false;
  const auto is_start = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; };
  if (!is_start(name.front())) return false;
  for (const char c : name)
    if (!is_start(c) && !(c >= '0' && c <= '9') && c != '-' && c != '.') return false;
  return true;
}

inline void require_xml_name(std::string_view where, std::string_view what, std::string_view name) {
  if (!is_xml_name(name))
    throw OptionError(gantry::detail::message(where, ": ", what, " must be an XML name ([A-Za-z_:][A-Za-z0-9_:.-]*), given '",
                                              name, "'"));
}

inline void require_finite_number(std::string_view where, std::string_view what, double value) {
  if (!std::isfinite(value))
    throw DataError(gantry::detail::message(where, ": ", what, " must be finite, given ", value));
}

/// Writes a finished document; `where` names the public function in the IoError that names the path.
inline void write_svg_text(std::string_view where, const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) throw IoError(gantry::detail::message(where, ": cannot open '", path, "' for writing"));
  file.write(text.data(), static_cast<std::streamsize>(text.size()));
  file.close();
  if (!file) throw IoError(gantry::detail::message(where, ": writing '", path, "' failed"));
}

}  // namespace detail

/// Escapes text for XML content or a quoted attribute value.
inline std::string escape_xml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  detail::append_escaped(out, text);
  return out;
}

/// The attributes of one element, already escaped and quoted: `SvgAttributes().set("fill", "#fff")`.
/// Numbers are written with `decimals` places (3 by default); a non-finite number throws DataError,
/// so no "nan" can reach a file.
class SvgAttributes {
 public:
  SvgAttributes& set(std::string_view name, std::string_view value) {
    begin(name);
    detail::append_escaped(text_, value);
    text_ += '"';
    return *this;
  }

  SvgAttributes& set(std::string_view name, const char* value) { return set(name, std::string_view(value)); }

  SvgAttributes& set(std::string_view name, double value, int decimals = 3) {
    detail::require_finite_number("gantry::io::SvgAttributes::set", name, value);
    begin(name);
    detail::append_fixed(text_, value, decimals);
    text_ += '"';
    return *this;
  }

  template <class Integer, std::enable_if_t<std::is_integral_v<Integer> && !std::is_same_v<Integer, bool>, int> = 0>
  SvgAttributes& set(std::string_view name, Integer value) {
    begin(name);
    text_ += std::to_string(value);
    text_ += '"';
    return *this;
  }

  bool has(std::string_view name) const {
    for (const auto& n : names_)
      if (n == name) return true;
    return false;
  }

  bool empty() const { return text_.empty(); }

  /// The attributes as written in a start tag, each preceded by a space.
  const std::string& text() const { return text_; }

 private:
  void begin(std::string_view name) {
    detail::require_xml_name("gantry::io::SvgAttributes::set", "attribute name", name);
    // A repeated attribute makes the document ill-formed XML.
    if (has(name))
      throw OptionError(gantry::detail::message("gantry::io::SvgAttributes::set: attribute '", name,
                                                "' is already set"));
    names_.emplace_back(name);
    text_ += ' ';
    text_ += name;
    text_ += "=\"";
  }

  std::string text_;
  std::vector<std::string> names_;
};

/// A point in SVG user units (pixels, y downwards).
struct SvgPoint {
  double x = 0.0;
  double y = 0.0;
};

/// Path data ("M x y L x y Z"); coordinates are written with the same decimals as the document.
class SvgPath {
 public:
  explicit SvgPath(int decimals = 2) : decimals_(decimals) {}

  SvgPath& move_to(double x, double y) { return command('M', x, y); }
  SvgPath& line_to(double x, double y) { return command('L', x, y); }
  SvgPath& close() {
    data_ += 'Z';
    return *this;
  }
  /// An axis-aligned rectangle as one closed subpath, "M x y h w v h h -w Z": about half the bytes of four
  /// absolute corners, which matters for a heat map of thousands of cells.
  SvgPath& rectangle(double x, double y, double width, double height) {
    detail::require_finite_number("gantry::io::SvgPath", "width", width);
    detail::require_finite_number("gantry::io::SvgPath", "height", height);
    command('M', x, y);
    data_ += 'h';
    detail::append_fixed(data_, width, decimals_);
    data_ += 'v';
    detail::append_fixed(data_, height, decimals_);
    data_ += 'h';
    detail::append_fixed(data_, -width, decimals_);
    data_ += 'Z';
    return *this;
  }

  bool empty() const { return data_.empty(); }
  const std::string& data() const { return data_; }

 private:
  SvgPath& command(char letter, double x, double y) {
    detail::require_finite_number("gantry::io::SvgPath", "x", x);
    detail::require_finite_number("gantry::io::SvgPath", "y", y);
    data_ += letter;
    detail::append_fixed(data_, x, decimals_);
    data_ += ' ';
    detail::append_fixed(data_, y, decimals_);
    return *this;
  }

  int decimals_;
  std::string data_;
};

/// Builds one standalone SVG document in memory. Geometry is in user units with `decimals` places
/// (2 by default: a hundredth of a pixel is finer than any screen and keeps files small).
/// Elements opened with `open` must be closed with `close` before `str()` or `save()`.
class SvgDocument {
 public:
  SvgDocument(double width, double height, int decimals = 2) : decimals_(decimals) {
    constexpr std::string_view where = "gantry::io::SvgDocument";
    if (!(std::isfinite(width) && width > 0.0))
      throw OptionError(gantry::detail::message(where, ": width must be finite and > 0, given ", width));
    if (!(std::isfinite(height) && height > 0.0))
      throw OptionError(gantry::detail::message(where, ": height must be finite and > 0, given ", height));
    if (decimals < 0 || decimals > detail::max_svg_decimals)
      throw OptionError(gantry::detail::message(where, ": decimals must be in [0, ", detail::max_svg_decimals,
                                                "], given ", decimals));
    body_ += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"";
    detail::append_fixed(body_, width, decimals_);
    body_ += "\" height=\"";
    detail::append_fixed(body_, height, decimals_);
    body_ += "\" viewBox=\"0 0 ";
    detail::append_fixed(body_, width, decimals_);
    body_ += ' ';
    detail::append_fixed(body_, height, decimals_);
    body_ += "\">\n";
  }

  int decimals() const { return decimals_; }

  /// Opens `<name attributes>`; children follow until the matching `close()`.
  SvgDocument& open(std::string_view name, const SvgAttributes& attributes = {}) {
    detail::require_xml_name("gantry::io::SvgDocument::open", "element name", name);
    body_ += '<';
    body_ += name;
    body_ += attributes.text();
    body_ += ">\n";
    open_.emplace_back(name);
    return *this;
  }

  SvgDocument& close() {
    if (open_.empty())
      throw OptionError("gantry::io::SvgDocument::close: no element is open");
    body_ += "</";
    body_ += open_.back();
    body_ += ">\n";
    open_.pop_back();
    return *this;
  }

  /// An empty element `<name attributes/>`.
  SvgDocument& element(std::string_view name, const SvgAttributes& attributes = {}) {
    detail::require_xml_name("gantry::io::SvgDocument::element", "element name", name);
    body_ += '<';
    body_ += name;
    body_ += attributes.text();
    body_ += "/>\n";
    return *this;
  }

  SvgDocument& begin_group(const SvgAttributes& attributes = {}) { return open("g", attributes); }
  SvgDocument& end_group() { return close(); }

  SvgDocument& rect(double x, double y, double width, double height, const SvgAttributes& attributes = {}) {
    constexpr std::string_view where = "gantry::io::SvgDocument::rect";
    // SVG makes a negative width or height an error, so it is refused here rather than in a viewer.
    if (!(width >= 0.0) || !(height >= 0.0))
      throw OptionError(gantry::detail::message(where, ": width and height must be >= 0, given ", width, " and ",
                                                height));
    return geometry("rect", where, {{"x", x}, {"y", y}, {"width", width}, {"height", height}}, attributes);
  }

  SvgDocument& circle(double cx, double cy, double r, const SvgAttributes& attributes = {}) {
    constexpr std::string_view where = "gantry::io::SvgDocument::circle";
    if (!(r >= 0.0)) throw OptionError(gantry::detail::message(where, ": r must be >= 0, given ", r));
    return geometry("circle", where, {{"cx", cx}, {"cy", cy}, {"r", r}}, attributes);
  }

  SvgDocument& line(double x1, double y1, double x2, double y2, const SvgAttributes& attributes = {}) {
    return geometry("line", "gantry::io::SvgDocument::line", {{"x1", x1}, {"y1", y1}, {"x2", x2}, {"y2", y2}},
                    attributes);
  }

  SvgDocument& polyline(const std::vector<SvgPoint>& points, const SvgAttributes& attributes = {}) {
    return poly("polyline", "gantry::io::SvgDocument::polyline", points, attributes);
  }

  SvgDocument& polygon(const std::vector<SvgPoint>& points, const SvgAttributes& attributes = {}) {
    return poly("polygon", "gantry::io::SvgDocument::polygon", points, attributes);
  }

  SvgDocument& path(const SvgPath& data, const SvgAttributes& attributes = {}) {
    if (data.empty()) return *this;  // "d" must not be empty; an empty path draws nothing anyway
    body_ += "<path d=\"";
    body_ += data.data();
    body_ += '"';
    body_ += attributes.text();
    body_ += "/>\n";
    return *this;
  }

  /// `<text x y attributes>content</text>` with the content escaped.
  SvgDocument& text(double x, double y, std::string_view content, const SvgAttributes& attributes = {}) {
    constexpr std::string_view where = "gantry::io::SvgDocument::text";
    detail::require_finite_number(where, "x", x);
    detail::require_finite_number(where, "y", y);
    body_ += "<text x=\"";
    detail::append_fixed(body_, x, decimals_);
    body_ += "\" y=\"";
    detail::append_fixed(body_, y, decimals_);
    body_ += '"';
    body_ += attributes.text();
    body_ += '>';
    detail::append_escaped(body_, content);
    body_ += "</text>\n";
    return *this;
  }

  /// A `<title>` child: viewers show it as the document's (or the enclosing group's) name.
  SvgDocument& title(std::string_view content) {
    body_ += "<title>";
    detail::append_escaped(body_, content);
    body_ += "</title>\n";
    return *this;
  }

  /// The complete document; throws OptionError if an element opened with `open` is still open.
  std::string str() const {
    if (!open_.empty())
      throw OptionError(gantry::detail::message("gantry::io::SvgDocument::str: element <", open_.back(),
                                                "> is still open (", open_.size(), " open in all)"));
    std::string out;
    out.reserve(body_.size() + 64);
    out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out += body_;
    out += "</svg>\n";
    return out;
  }

  /// Writes `str()` to `path`; throws IoError naming the path if it cannot be opened or written.
  void save(const std::string& path) const { detail::write_svg_text("gantry::io::SvgDocument::save", path, str()); }

 private:
  struct Coordinate {
    std::string_view name;
    double value;
  };

  SvgDocument& geometry(std::string_view element_name, std::string_view where,
                        std::initializer_list<Coordinate> coordinates, const SvgAttributes& attributes) {
    for (const auto& c : coordinates) detail::require_finite_number(where, c.name, c.value);
    body_ += '<';
    body_ += element_name;
    for (const auto& c : coordinates) {
      body_ += ' ';
      body_ += c.name;
      body_ += "=\"";
      detail::append_fixed(body_, c.value, decimals_);
      body_ += '"';
    }
    body_ += attributes.text();
    body_ += "/>\n";
    return *this;
  }

  SvgDocument& poly(std::string_view element_name, std::string_view where, const std::vector<SvgPoint>& points,
                    const SvgAttributes& attributes) {
    for (const auto& p : points) {
      detail::require_finite_number(where, "point x", p.x);
      detail::require_finite_number(where, "point y", p.y);
    }
    body_ += '<';
    body_ += element_name;
    body_ += " points=\"";
    for (std::size_t k = 0; k < points.size(); ++k) {
      if (k > 0) body_ += ' ';
      detail::append_fixed(body_, points[k].x, decimals_);
      body_ += ',';
      detail::append_fixed(body_, points[k].y, decimals_);
    }
    body_ += '"';
    body_ += attributes.text();
    body_ += "/>\n";
    return *this;
  }

  int decimals_;
  std::string body_;
  std::vector<std::string> open_;
};

}  // namespace gantry::io
