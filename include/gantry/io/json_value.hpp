// SPDX-License-Identifier: MIT
#pragma once
/// The JSON value type: what the reader (json_reader.hpp) builds and the writer (json_writer.hpp) writes.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "gantry/core/error.hpp"

namespace gantry::io {

struct JsonMember;
class JsonValue;
class JsonWriter;

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
  friend class detail::JsonParser;  // the reader builds values, keeping integer literals exact
  friend class JsonWriter;          // the writer writes them, integers exactly

  // A number from its literal: an integer literal of magnitude below 2^64 is kept exact.
  static JsonValue number_literal(double value, bool is_integer, bool negative, std::uint64_t magnitude) {
    JsonValue v(value);
    v.integer_ = is_integer;
    v.negative_ = negative;
    v.magnitude_ = magnitude;
    return v;
  }

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

namespace detail {

// The text of a JsonValue is UTF-8: the reader refuses anything else, the writer refuses to write anything else.

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

}  // namespace detail
}  // namespace gantry::io
