// SPDX-License-Identifier: MIT
#pragma once
/// What the tests of SVG figures share: a small XML well-formedness check, python3's minidom as a second
/// parser, counting, and a temporary directory.

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "catch.hpp"

namespace gantry::test {

namespace fs = std::filesystem;

bool starts_with(const std::string& text, std::size_t pos, const char* prefix) {
  return text.compare(pos, std::char_traits<char>::length(prefix), prefix) == 0;
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == ':' || c == '.';
}

/// At text[pos] == '&': true when a known entity or a numeric character reference follows.
bool valid_entity(const std::string& text, std::size_t pos) {
  const std::size_t end = text.find(';', pos);
  if (end == std::string::npos || end - pos > 10) return false;
  const std::string name = text.substr(pos + 1, end - pos - 1);
  if (name == "amp" || name == "lt" || name == "gt" || name == "quot" || name == "apos") return true;
  if (name.size() >= 2 && name[0] == '#') {
    const bool hex = name[1] == 'x';
    const std::string digits = name.substr(hex ? 2 : 1);
    if (digits.empty()) return false;
    for (const char c : digits)
      if (!(std::isdigit(static_cast<unsigned char>(c)) || (hex && std::isxdigit(static_cast<unsigned char>(c)))))
        return false;
    return true;
  }
  return false;
}

/// A small well-formedness check: balanced tags (a stack), quoted and unique attributes, no raw '<'
/// or stray '&' in text or attribute values, the root an <svg> with the SVG namespace. Returns what
/// is wrong, or "" when nothing is.
std::string xml_problem(const std::string& text) {
  std::size_t pos = 0;
  const auto skip_space = [&] {
    while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
  };
  const auto where = [&] { return " at offset " + std::to_string(pos); };
  skip_space();
  if (starts_with(text, pos, "<?xml")) {
    const std::size_t end = text.find("?>", pos);
    if (end == std::string::npos) return "unterminated XML declaration";
    pos = end + 2;
  }
  std::vector<std::string> stack;
  bool root_seen = false;
  bool root_closed = false;
  while (pos < text.size()) {
    const char c = text[pos];
    if (c == '<') {
      if (starts_with(text, pos, "<!--")) {
        const std::size_t end = text.find("-->", pos);
        if (end == std::string::npos) return "unterminated comment" + where();
        pos = end + 3;
        continue;
      }
      if (starts_with(text, pos, "</")) {
        pos += 2;
        const std::size_t begin = pos;
        while (pos < text.size() && is_name_char(text[pos])) ++pos;
        const std::string name = text.substr(begin, pos - begin);
        skip_space();
        if (pos >= text.size() || text[pos] != '>') return "malformed end tag </" + name + where();
        ++pos;
        if (stack.empty() || stack.back() != name)
          return "end tag </" + name + "> does not match " + (stack.empty() ? "anything" : "<" + stack.back() + ">") +
                 where();
        stack.pop_back();
        if (stack.empty()) root_closed = true;
        continue;
      }
      if (root_closed) return "a second root element" + where();
      ++pos;
      const std::size_t begin = pos;
      if (pos >= text.size() || !(std::isalpha(static_cast<unsigned char>(text[pos])) || text[pos] == '_'))
        return "raw '<' not starting a tag" + where();
      while (pos < text.size() && is_name_char(text[pos])) ++pos;
      const std::string name = text.substr(begin, pos - begin);
      std::set<std::string> attributes;
      bool has_svg_namespace = false;
      bool self_closing = false;
      for (;;) {
        const std::size_t before_space = pos;
        skip_space();
        if (pos >= text.size()) return "unterminated tag <" + name;
        if (starts_with(text, pos, "/>")) {
          pos += 2;
          self_closing = true;
          break;
        }
        if (text[pos] == '>') {
          ++pos;
          break;
        }
        if (pos == before_space) return "attributes of <" + name + "> not separated by space" + where();
        const std::size_t attribute_begin = pos;
        while (pos < text.size() && is_name_char(text[pos])) ++pos;
        const std::string attribute = text.substr(attribute_begin, pos - attribute_begin);
        if (attribute.empty()) return "bad character in tag <" + name + ">" + where();
        if (!attributes.insert(attribute).second) return "duplicate attribute " + attribute + where();
        skip_space();
        if (pos >= text.size() || text[pos] != '=') return "attribute " + attribute + " without '='" + where();
        ++pos;
        skip_space();
        if (pos >= text.size() || (text[pos] != '"' && text[pos] != '\''))
          return "attribute " + attribute + " is not quoted" + where();
        const char quote = text[pos++];
        const std::size_t value_begin = pos;
        while (pos < text.size() && text[pos] != quote) {
          if (text[pos] == '<') return "raw '<' in attribute " + attribute + where();
          if (text[pos] == '&' && !valid_entity(text, pos)) return "raw '&' in attribute " + attribute + where();
          ++pos;
        }
        if (pos >= text.size()) return "unterminated attribute " + attribute;
        const std::string value = text.substr(value_begin, pos - value_begin);
        ++pos;
        if (attribute == "xmlns" && value == "http://www.w3.org/2000/svg") has_svg_namespace = true;
      }
      if (!root_seen) {
        root_seen = true;
        if (name != "svg") return "the root element is <" + name + ">, not <svg>";
        if (!has_svg_namespace) return "the root <svg> lacks xmlns=\"http://www.w3.org/2000/svg\"";
        if (self_closing) root_closed = true;
      }
      if (!self_closing) stack.push_back(name);
      continue;
    }
    if (stack.empty() && !std::isspace(static_cast<unsigned char>(c))) return "text outside the root" + where();
    if (c == '&' && !valid_entity(text, pos)) return "raw '&' in text" + where();
    if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\r' && c != '\t')
      return "control character in text" + where();
    ++pos;
  }
  if (!root_seen) return "no root element";
  if (!stack.empty()) return "element <" + stack.back() + "> is never closed";
  return "";
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + what.size())) ++n;
  return n;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// A fresh directory under the system's temporary directory, removed with everything in it.
struct TempDir {
  fs::path path;
  explicit TempDir(const char* prefix = "gantry_svg_test_") {
    std::random_device seed;
    path = fs::temp_directory_path() / (std::string(prefix) + std::to_string(seed()) + std::to_string(seed()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

/// python3's minidom must parse the file (an independent XML parser checking ours).
void require_python_parses(const fs::path& file) {
  INFO("python3 must be on PATH for this test: it cross-checks the SVG with xml.dom.minidom");
  REQUIRE(std::system("python3 -c \"import xml.dom.minidom\"") == 0);
  const std::string command =
      "python3 -c \"import xml.dom.minidom,sys; xml.dom.minidom.parse(sys.argv[1])\" '" + file.string() + "'";
  INFO("command: " << command);
  REQUIRE(std::system(command.c_str()) == 0);
}

void require_well_formed(const std::string& svg) {
  const std::string problem = xml_problem(svg);
  INFO("XML problem: " << problem);
  REQUIRE(problem.empty());
}

void require_no_non_finite_text(const std::string& svg) {
  CHECK(svg.find("nan") == std::string::npos);
  CHECK(svg.find("inf") == std::string::npos);
}

/// Throws `call` an IoError whose message names `path`?
template <class Call>
void require_io_error_naming(const std::string& path, Call&& call) {
  bool thrown = false;
  try {
    call();
  } catch (const gantry::IoError& e) {
    thrown = true;
    const std::string message = e.what();
    INFO("message: " << message);
    CHECK(message.find(path) != std::string::npos);
  }
  REQUIRE(thrown);
}

}  // namespace gantry::test
