// SPDX-License-Identifier: MIT
#pragma once
/// The JSON reader: a strict parser (RFC 8259, UTF-8 checked, depth-limited) into JsonValue.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <locale>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gantry/core/error.hpp"
#include "gantry/core/quote.hpp"
#include "gantry/io/json_value.hpp"

namespace gantry::io {

/// Options of parse_json.
struct JsonParseOptions {
  /// Deepest nesting of arrays and objects accepted (the top-level container is depth 1); bounds recursion.
  std::size_t max_depth = 64;
  /// Names the text in error messages (a file path, "header of x.safetensors", ...).
  std::string source = "JSON text";
  /// Added to every byte offset in messages, for text embedded in a larger file.
  std::size_t byte_offset_base = 0;

  void validate() const {
    if (max_depth < 1)
      throw OptionError(gantry::detail::message("JsonParseOptions.max_depth must be at least 1, given ", max_depth));
  }
};

namespace detail {

inline void append_utf8(std::string& out, std::uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

/// Reads a double from a JSON number literal independently of the global C locale (strtod is not).
inline std::optional<double> parse_double(std::string_view literal) {
  std::istringstream in{std::string(literal)};
  in.imbue(std::locale::classic());
  double value = 0.0;
  in >> value;
  if (in.fail() || !std::isfinite(value)) return std::nullopt;
  return value;
}

inline std::string describe_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7F) return gantry::detail::message("'", c, "'");
  static const char* const hex = "0123456789abcdef";
  return gantry::detail::message("byte 0x", hex[u >> 4], hex[u & 0xF]);
}

/// Recursive-descent parser behind parse_json; recursion depth is bounded by JsonParseOptions::max_depth.
class JsonParser {
 public:
  JsonParser(std::string_view text, const JsonParseOptions& options) : text_(text), options_(options) {
    options_.validate();
  }

  JsonValue parse_document() {
    skip_whitespace();
    JsonValue value = parse_value(0);
    skip_whitespace();
    if (pos_ != text_.size()) fail(pos_, "unexpected ", detail::describe_byte(text_[pos_]), " after the JSON value");
    return value;
  }

 private:
  template <class... Parts>
  [[noreturn]] void fail(std::size_t at, Parts&&... parts) const {
    throw IoError(gantry::detail::message("gantry::io::parse_json: ", gantry::detail::escaped(options_.source, 4096),
                                          ": at byte ", options_.byte_offset_base + at, ": ",
                                          std::forward<Parts>(parts)...));
  }

  bool at_end() const { return pos_ >= text_.size(); }

  void skip_whitespace() {
    while (!at_end()) {
      const char c = text_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
      ++pos_;
    }
  }

  void expect_char(char wanted, const char* context) {
    if (at_end()) fail(pos_, "unexpected end of input, expected '", wanted, "' ", context);
    if (text_[pos_] != wanted)
      fail(pos_, "expected '", wanted, "' ", context, ", found ", detail::describe_byte(text_[pos_]));
    ++pos_;
  }

  JsonValue parse_value(std::size_t depth) {
    if (at_end()) fail(pos_, "unexpected end of input, expected a value");
    switch (text_[pos_]) {
      case '{': return parse_object(depth + 1);
      case '[': return parse_array(depth + 1);
      case '"': return JsonValue(parse_string());
      case 't': return parse_literal("true", JsonValue(true));
      case 'f': return parse_literal("false", JsonValue(false));
      case 'n': return parse_literal("null", JsonValue(nullptr));
      default:
        if (text_[pos_] == '-' || (text_[pos_] >= '0' && text_[pos_] <= '9')) return parse_number();
        fail(pos_, "unexpected ", detail::describe_byte(text_[pos_]), ", expected a value");
    }
  }

  JsonValue parse_literal(std::string_view word, JsonValue value) {
    if (text_.substr(pos_, word.size()) != word) fail(pos_, "invalid literal, expected '", word, "'");
    pos_ += word.size();
    return value;
  }

  void check_depth(std::size_t depth) const {
    if (depth > options_.max_depth) fail(pos_, "nesting deeper than the limit of ", options_.max_depth);
  }

  JsonValue parse_array(std::size_t depth) {
    check_depth(depth);
    ++pos_;  // '['
    JsonValue result = JsonValue::array();
    skip_whitespace();
    if (!at_end() && text_[pos_] == ']') {
      ++pos_;
      return result;
    }
    for (;;) {
      skip_whitespace();
      result.array_.push_back(parse_value(depth));
      skip_whitespace();
      if (!at_end() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      expect_char(']', "or ',' in an array");
      return result;
    }
  }

  JsonValue parse_object(std::size_t depth) {
    check_depth(depth);
    ++pos_;  // '{'
    JsonValue result = JsonValue::object();
    std::vector<std::size_t> key_offsets;
    skip_whitespace();
    if (!at_end() && text_[pos_] == '}') {
      ++pos_;
      return result;
    }
    for (;;) {
      skip_whitespace();
      if (at_end() || text_[pos_] != '"') {
        if (at_end()) fail(pos_, "unexpected end of input, expected an object key");
        fail(pos_, "expected an object key (a string), found ", detail::describe_byte(text_[pos_]));
      }
      key_offsets.push_back(pos_);
      std::string key = parse_string();
      skip_whitespace();
      expect_char(':', "after an object key");
      skip_whitespace();
      JsonValue value = parse_value(depth);
      result.members_.push_back(JsonMember{std::move(key), std::move(value)});
      skip_whitespace();
      if (!at_end() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      expect_char('}', "or ',' in an object");
      break;
    }
    reject_duplicate_keys(result.members_, key_offsets);
    return result;
  }

  // Sorting once keeps this O(n log n): a linear scan per key would let a hostile header of a million
  // keys cost 10^12 comparisons.
  void reject_duplicate_keys(const std::vector<JsonMember>& members, const std::vector<std::size_t>& offsets) const {
    if (members.size() < 2) return;
    std::vector<std::size_t> order(members.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return members[a].key != members[b].key ? members[a].key < members[b].key : a < b;
    });
    for (std::size_t i = 1; i < order.size(); ++i)
      if (members[order[i]].key == members[order[i - 1]].key)
        fail(offsets[order[i]], "duplicate object key ", gantry::detail::quoted(members[order[i]].key));
  }

  std::uint32_t parse_hex4() {
    if (text_.size() - pos_ < 4) fail(pos_, "unexpected end of input in a \\u escape");
    std::uint32_t code = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_ + static_cast<std::size_t>(i)];
      std::uint32_t digit = 0;
      if (c >= '0' && c <= '9') {
        digit = static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        digit = static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        digit = static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        fail(pos_ + static_cast<std::size_t>(i), "invalid hex digit ", detail::describe_byte(c), " in a \\u escape");
      }
      code = code * 16 + digit;
    }
    pos_ += 4;
    return code;
  }

  std::string parse_string() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (at_end()) fail(pos_, "unterminated string");
      const char c = text_[pos_];
      const auto u = static_cast<unsigned char>(c);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (u < 0x20) fail(pos_, "unescaped control character ", detail::describe_byte(c), " in a string");
      if (c == '\\') {
        parse_escape(out);
        continue;
      }
      if (u >= 0x80) {
        const std::size_t length = detail::utf8_sequence_length(text_, pos_);
        if (length == 0) fail(pos_, "invalid UTF-8 in a string");
        out.append(text_.substr(pos_, length));
        pos_ += length;
        continue;
      }
      out += c;
      ++pos_;
    }
  }

  void parse_escape(std::string& out) {
    const std::size_t escape_at = pos_;
    ++pos_;  // backslash
    if (at_end()) fail(pos_, "unterminated escape sequence");
    const char c = text_[pos_++];
    switch (c) {
      case '"': out += '"'; return;
      case '\\': out += '\\'; return;
      case '/': out += '/'; return;
      case 'b': out += '\b'; return;
      case 'f': out += '\f'; return;
      case 'n': out += '\n'; return;
      case 'r': out += '\r'; return;
      case 't': out += '\t'; return;
      case 'u': break;
      default: fail(escape_at, "invalid escape sequence: a backslash before ", detail::describe_byte(c));
    }
    std::uint32_t code = parse_hex4();
    if (code >= 0xDC00 && code <= 0xDFFF) fail(escape_at, "unpaired low surrogate in a \\u escape");
    if (code >= 0xD800 && code <= 0xDBFF) {
      // Characters beyond the BMP arrive as a UTF-16 pair; a lone half has no UTF-8 encoding.
      if (text_.substr(pos_, 2) != "\\u") fail(escape_at, "high surrogate not followed by a low surrogate");
      pos_ += 2;
      const std::uint32_t low = parse_hex4();
      if (low < 0xDC00 || low > 0xDFFF) fail(escape_at, "high surrogate not followed by a low surrogate");
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    detail::append_utf8(out, code);
  }

  // RFC 8259 grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  JsonValue parse_number() {
    const std::size_t start = pos_;
    const auto is_digit = [&] { return !at_end() && text_[pos_] >= '0' && text_[pos_] <= '9'; };
    const bool negative = text_[pos_] == '-';
    if (negative) ++pos_;
    if (!is_digit()) fail(pos_, "expected a digit in a number");
    bool fits_u64 = true;
    std::uint64_t magnitude = 0;
    if (text_[pos_] == '0') {
      ++pos_;
      if (is_digit()) fail(pos_, "leading zeros are not allowed in a number");
    } else {
      while (is_digit()) {
        const auto digit = static_cast<std::uint64_t>(text_[pos_] - '0');
        if (magnitude > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) fits_u64 = false;
        magnitude = magnitude * 10 + digit;
        ++pos_;
      }
    }
    bool integral = true;
    if (!at_end() && text_[pos_] == '.') {
      integral = false;
      ++pos_;
      if (!is_digit()) fail(pos_, "expected a digit after the decimal point");
      while (is_digit()) ++pos_;
    }
    if (!at_end() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      integral = false;
      ++pos_;
      if (!at_end() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (!is_digit()) fail(pos_, "expected a digit in the exponent");
      while (is_digit()) ++pos_;
    }
    const std::string_view literal = text_.substr(start, pos_ - start);
    const std::optional<double> value = detail::parse_double(literal);
    if (!value) fail(start, "number ", gantry::detail::escaped(literal), " is out of the range of a double");
    const bool exact = integral && fits_u64;
    return JsonValue::number_literal(*value, exact, negative, exact ? magnitude : 0);
  }

  std::string_view text_;
  JsonParseOptions options_;
  std::size_t pos_ = 0;
};

}  // namespace detail

/// Parses one JSON document (surrounding whitespace allowed, nothing else). Throws IoError naming
/// options.source and the byte offset of the first problem. Strict: no comments, trailing commas,
/// NaN/Infinity, leading zeros, duplicate keys, unpaired surrogates or malformed UTF-8.
inline JsonValue parse_json(std::string_view text, const JsonParseOptions& options = {}) {
  return detail::JsonParser(text, options).parse_document();
}

}  // namespace gantry::io
