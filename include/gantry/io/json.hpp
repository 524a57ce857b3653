// SPDX-License-Identifier: MIT
#pragma once
/// A small, strict JSON value type with a parser (RFC 8259, UTF-8 checked, depth-limited) and a serialiser.

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
#include <type_traits>
#include <utility>
#include <vector>

#include "gantry/core/error.hpp"
#include "gantry/core/quote.hpp"
#include "gantry/io/json_writer.hpp"

namespace gantry::io {

struct JsonMember;
class JsonValue;
std::string to_json(const JsonValue& value);

namespace detail {
class JsonParser;
}  // namespace detail

/// One JSON value. Objects keep their members in document order (a safetensors header's order is the
/// order of the data), and the parser refuses duplicate keys, so order-preserving lookup is unambiguous.
class JsonValue {
 public:
  enum class Kind { Null, Boolean, Number, String, Array, Object };

  JsonValue() noexcept = default;
  JsonValue(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor): JSON literals read naturally
  JsonValue(bool value) : kind_(Kind::Boolean), boolean_(value) {}  // NOLINT
  JsonValue(double value) : kind_(Kind::Number), number_(value) {}  // NOLINT
  template <class Int, std::enable_if_t<std::is_integral_v<Int> && !std::is_same_v<Int, bool>, int> = 0>
  JsonValue(Int value)  // NOLINT
      : kind_(Kind::Number), number_(static_cast<double>(value)), integer_(true), negative_(value < 0) {
    // Kept exact: safetensors offsets are u64 and must not pass through a double.
    if constexpr (std::is_signed_v<Int>) {
      magnitude_ = value < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
    } else {
      magnitude_ = static_cast<std::uint64_t>(value);
    }
  }
  JsonValue(std::string value) : kind_(Kind::String), string_(std::move(value)) {}  // NOLINT
  JsonValue(std::string_view value) : kind_(Kind::String), string_(value) {}        // NOLINT
  JsonValue(const char* value) : kind_(Kind::String), string_(value) {}             // NOLINT

  static JsonValue array(std::vector<JsonValue> items = {}) {
    JsonValue v;
    v.kind_ = Kind::Array;
    v.array_ = std::move(items);
    return v;
  }
  static JsonValue object() {
    JsonValue v;
    v.kind_ = Kind::Object;
    return v;
  }
  Kind kind() const noexcept { return kind_; }
  bool is_null() const noexcept { return kind_ == Kind::Null; }
  bool is_bool() const noexcept { return kind_ == Kind::Boolean; }
  bool is_number() const noexcept { return kind_ == Kind::Number; }
  bool is_string() const noexcept { return kind_ == Kind::String; }
  bool is_array() const noexcept { return kind_ == Kind::Array; }
  bool is_object() const noexcept { return kind_ == Kind::Object; }

  bool as_bool() const {
    expect(Kind::Boolean, "as_bool");
    return boolean_;
  }
  double as_double() const {
    expect(Kind::Number, "as_double");
    return number_;
  }
  /// The exact value if this is an integer (no fraction, no exponent) in [0, 2^64); otherwise nothing.
  std::optional<std::uint64_t> as_uint64() const {
    if (kind_ != Kind::Number || !integer_) return std::nullopt;
    if (negative_ && magnitude_ != 0) return std::nullopt;
    return magnitude_;
  }
  /// The exact value if this is an integer (no fraction, no exponent) in [-2^63, 2^63); otherwise nothing.
  std::optional<std::int64_t> as_int64() const {
    if (kind_ != Kind::Number || !integer_) return std::nullopt;
    constexpr std::uint64_t max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (!negative_) {
      if (magnitude_ > max) return std::nullopt;
      return static_cast<std::int64_t>(magnitude_);
    }
    if (magnitude_ > max + 1) return std::nullopt;
    if (magnitude_ == max + 1) return std::numeric_limits<std::int64_t>::min();
    return -static_cast<std::int64_t>(magnitude_);
  }
  const std::string& as_string() const {
    expect(Kind::String, "as_string");
    return string_;
  }
  const std::vector<JsonValue>& as_array() const {
    expect(Kind::Array, "as_array");
    return array_;
  }
  std::vector<JsonValue>& as_array() {
    expect(Kind::Array, "as_array");
    return array_;
  }
  /// An object's members in document (or insertion) order.
  const std::vector<JsonMember>& members() const;
  /// The member named `key` of an object, or nullptr if there is none.
  const JsonValue* find(std::string_view key) const;
  /// Sets `key` of an object: replaces an existing member in place, else appends.
  JsonValue& set(std::string key, JsonValue value);
  /// Appends to an array.
  void push_back(JsonValue value) {
    expect(Kind::Array, "push_back");
    array_.push_back(std::move(value));
  }

  /// Integers compare exactly; other numbers as doubles; objects member by member, in order.
  friend bool operator==(const JsonValue& a, const JsonValue& b);
  friend bool operator!=(const JsonValue& a, const JsonValue& b) { return !(a == b); }

  static const char* kind_name(Kind kind) noexcept {
    switch (kind) {
      case Kind::Null: return "null";
      case Kind::Boolean: return "a boolean";
      case Kind::Number: return "a number";
      case Kind::String: return "a string";
      case Kind::Array: return "an array";
      case Kind::Object: return "an object";
    }
    return "?";
  }

 private:
  friend std::string to_json(const JsonValue& value);
  friend class detail::JsonParser;

  // A number from its literal: an integer literal of magnitude below 2^64 is kept exact.
  static JsonValue number_literal(double value, bool is_integer, bool negative, std::uint64_t magnitude) {
    JsonValue v(value);
    v.integer_ = is_integer;
    v.negative_ = negative;
    v.magnitude_ = magnitude;
    return v;
  }

  void write(std::string& out) const;

  void expect(Kind wanted, const char* what) const {
    if (kind_ != wanted)
      throw IoError(gantry::detail::message("gantry::io::JsonValue::", what, ": value is ", kind_name(kind_), ", not ",
                                    kind_name(wanted)));
  }

  Kind kind_ = Kind::Null;
  bool boolean_ = false;
  double number_ = 0.0;
  bool integer_ = false;   // an integer literal whose magnitude fits in u64: magnitude_ is exact
  bool negative_ = false;  // sign of an integer literal (distinguishes -0 only in output)
  std::uint64_t magnitude_ = 0;
  std::string string_;
  std::vector<JsonValue> array_;
  std::vector<JsonMember> members_;  // vector of an incomplete type: allowed since C++17
};

struct JsonMember {
  std::string key;
  JsonValue value;
};

inline const std::vector<JsonMember>& JsonValue::members() const {
  expect(Kind::Object, "members");
  return members_;
}

inline const JsonValue* JsonValue::find(std::string_view key) const {
  expect(Kind::Object, "find");
  for (const JsonMember& member : members_)
    if (member.key == key) return &member.value;
  return nullptr;
}

inline JsonValue& JsonValue::set(std::string key, JsonValue value) {
  expect(Kind::Object, "set");
  for (JsonMember& member : members_) {
    if (member.key == key) {
      member.value = std::move(value);
      return member.value;
    }
  }
  members_.push_back(JsonMember{std::move(key), std::move(value)});
  return members_.back().value;
}

inline bool operator==(const JsonValue& a, const JsonValue& b) {
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case JsonValue::Kind::Null: return true;
    case JsonValue::Kind::Boolean: return a.boolean_ == b.boolean_;
    case JsonValue::Kind::Number:
      if (a.integer_ && b.integer_)
        return a.magnitude_ == b.magnitude_ && (a.negative_ == b.negative_ || a.magnitude_ == 0);
      return a.number_ == b.number_;
    case JsonValue::Kind::String: return a.string_ == b.string_;
    case JsonValue::Kind::Array: return a.array_ == b.array_;
    case JsonValue::Kind::Object:
      return std::equal(a.members_.begin(), a.members_.end(), b.members_.begin(), b.members_.end(),
                        [](const JsonMember& x, const JsonMember& y) { return x.key == y.key && x.value == y.value; });
  }
  return false;
}

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

/// Length of the well-formed UTF-8 sequence starting at text[pos] (1..4), or 0 if it is malformed
/// (bad lead or continuation byte, truncated, overlong, a UTF-16 surrogate, or beyond U+10FFFF).
inline std::size_t utf8_sequence_length(std::string_view text, std::size_t pos) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  std::uint32_t code = 0;
  std::uint32_t min_code = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2, code = lead & 0x1Fu, min_code = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, code = lead & 0x0Fu, min_code = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, code = lead & 0x07u, min_code = 0x10000;
  } else {
    return 0;
  }
  if (text.size() - pos < length) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    const unsigned char next = byte(pos + i);
    if ((next & 0xC0) != 0x80) return 0;
    code = (code << 6) | (next & 0x3Fu);
  }
  if (code < min_code || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

/// Byte offset of the first malformed UTF-8 sequence in text, or nothing if it is all well formed.
inline std::optional<std::size_t> find_invalid_utf8(std::string_view text) noexcept {
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t length = utf8_sequence_length(text, pos);
    if (length == 0) return pos;
    pos += length;
  }
  return std::nullopt;
}

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

inline void JsonValue::write(std::string& out) const {
  switch (kind_) {
    case Kind::Null: out += "null"; return;
    case Kind::Boolean: out += boolean_ ? "true" : "false"; return;
    case Kind::Number:
      if (integer_) {
        if (negative_ && magnitude_ != 0) out += '-';
        out += std::to_string(magnitude_);
        return;
      }
      if (!std::isfinite(number_))
        throw IoError(gantry::detail::message("gantry::io::to_json: number ", number_, " has no JSON representation"));
      out += detail::format_json_number(number_);  // finite here: the round-trip shortest form
      return;
    case Kind::String: {
      if (const std::optional<std::size_t> bad = detail::find_invalid_utf8(string_))
        throw IoError(gantry::detail::message("gantry::io::to_json: string has invalid UTF-8 at byte ", *bad));
      detail::append_json_string(out, string_);  // UTF-8 passes through: the output is UTF-8 JSON
      return;
    }
    case Kind::Array: {
      out += '[';
      for (std::size_t i = 0; i < array_.size(); ++i) {
        if (i > 0) out += ',';
        array_[i].write(out);
      }
      out += ']';
      return;
    }
    case Kind::Object: {
      out += '{';
      for (std::size_t i = 0; i < members_.size(); ++i) {
        if (i > 0) out += ',';
        JsonValue(members_[i].key).write(out);
        out += ':';
        members_[i].value.write(out);
      }
      out += '}';
      return;
    }
  }
}

/// Compact JSON text (no whitespace) of value; members in their stored order. Throws IoError for a
/// non-finite number or a string that is not valid UTF-8, since neither has a JSON form.
inline std::string to_json(const JsonValue& value) {
  std::string out;
  value.write(out);
  return out;
}

}  // namespace gantry::io
