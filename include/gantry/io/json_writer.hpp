// SPDX-License-Identifier: MIT
#pragma once
/// The JSON writer: streams a document piece by piece (run summaries: NaN as null) or writes a JsonValue (strict).

#include <cmath>
#include <fstream>
#include <locale>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "gantry/core/error.hpp"
#include "gantry/io/json_value.hpp"

namespace gantry::io {

namespace detail {

/// JSON string body: quote, backslash and the C0 controls are escaped (short forms where JSON has them).
inline void append_json_string(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20) {
          out += "\\u00";
          out += hex[byte >> 4];
          out += hex[byte & 0xF];
        } else {
          out += c;
        }
      }
    }
  }
  out += '"';
}

/// The shortest of 15, 16 or 17 significant digits that reads back as the same double (17 always
/// does), in the classic locale so that a decimal comma can never appear. JSON has no NaN or
/// infinity: those are written as null, which readers see as a missing value rather than a number.
inline std::string format_json_number(double value) {
  if (!std::isfinite(value)) return "null";
  std::ostringstream out;
  out.imbue(std::locale::classic());
  std::string text;
  for (int precision = 15; precision <= 17; ++precision) {
    out.str(std::string());
    out.precision(precision);
    out << value;
    text = out.str();
    std::istringstream in(text);
    in.imbue(std::locale::classic());
    double back = 0.0;
    in >> back;
    if (in && back == value) break;
  }
  return text;
}

}  // namespace detail

/// Writes one JSON value (usually an object) piece by piece:
///
///     JsonWriter json;
///     json.begin_object().field("policy", "WganGp").field("lambda", 10.0);
///     json.key("losses").value(std::vector<double>{0.5, 0.25}).end_object();
///     json.save("summary.json");
///
/// Misuse that would produce invalid JSON (a value in an object without a key, a key in an array,
/// unbalanced ends, a second top-level value, reading an unfinished document) throws IoError.
class JsonWriter {
 public:
  /// `indent` spaces per level; 0 writes everything on one line.
  explicit JsonWriter(int indent = 2) : indent_(indent < 0 ? 0 : indent) {}

  JsonWriter& begin_object() { return open('{', Kind::object); }
  JsonWriter& end_object() { return close('}', Kind::object, "end_object"); }
  JsonWriter& begin_array() { return open('[', Kind::array); }
  JsonWriter& end_array() { return close(']', Kind::array, "end_array"); }

  /// The name of the next member of the current object.
  JsonWriter& key(std::string_view name) {
    if (stack_.empty() || stack_.back().kind != Kind::object)
      throw IoError(where("key", "a key is only allowed directly inside an object, given key '", name, "'"));
    Frame& frame = stack_.back();
    if (frame.awaiting_value)
      throw IoError(where("key", "key '", name, "' follows a key that has no value yet"));
    if (frame.has_items) text_ += ',';
    new_line(stack_.size());
    detail::append_json_string(text_, name);
    text_ += indent_ > 0 ? ": " : ":";
    frame.awaiting_value = true;
    return *this;
  }

  JsonWriter& value(std::string_view text) {
    before_value("value");
    detail::append_json_string(text_, text);
    return after_value();
  }

  // Without this overload a string literal would become a bool.
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  // Without this one a std::string could become a string_view or a JsonValue: ambiguous.
  JsonWriter& value(const std::string& text) { return value(std::string_view(text)); }

  JsonWriter& value(bool flag) {
    before_value("value");
    text_ += flag ? "true" : "false";
    return after_value();
  }

  template <class Integer, std::enable_if_t<std::is_integral_v<Integer> && !std::is_same_v<Integer, bool>, int> = 0>
  JsonWriter& value(Integer number) {
    before_value("value");
    text_ += std::to_string(number);  // exact, even beyond 2^53
    return after_value();
  }

  /// Non-finite numbers become null.
  template <class Float, std::enable_if_t<std::is_floating_point_v<Float>, int> = 0>
  JsonWriter& value(Float number) {
    before_value("value");
    text_ += detail::format_json_number(static_cast<double>(number));
    return after_value();
  }

  /// An array of numbers, strings or booleans.
  template <class Element>
  JsonWriter& value(const std::vector<Element>& elements) {
    begin_array();
    for (const auto& element : elements) value(element);
    return end_array();
  }

  JsonWriter& null() {
    before_value("null");
    text_ += "null";
    return after_value();
  }

  /// A whole JsonValue, integers exactly. Stricter than the pieces above: a non-finite number or a string (or
  /// key) that is not UTF-8 throws IoError, since what is written must read back as the same value.
  JsonWriter& value(const JsonValue& json) {
    switch (json.kind_) {
      case JsonValue::Kind::Null: return null();
      case JsonValue::Kind::Boolean: return value(json.boolean_);
      case JsonValue::Kind::Number:
        if (json.integer_) {
          before_value("value");
          if (json.negative_ && json.magnitude_ != 0) text_ += '-';
          text_ += std::to_string(json.magnitude_);
          return after_value();
        }
        if (!std::isfinite(json.number_))
          throw IoError(where("value", "number ", json.number_, " has no JSON representation"));
        return value(json.number_);
      case JsonValue::Kind::String: return value(checked_utf8(json.string_));
      case JsonValue::Kind::Array:
        begin_array();
        for (const JsonValue& item : json.array_) value(item);
        return end_array();
      case JsonValue::Kind::Object:
        begin_object();
        for (const JsonMember& member : json.members_) key(checked_utf8(member.key)).value(member.value);
        return end_object();
    }
    return *this;
  }

  /// `key(name).value(v)`.
  template <class Value>
  JsonWriter& field(std::string_view name, const Value& v) {
    key(name);
    return value(v);
  }

  /// True once the top-level value is finished.
  bool complete() const { return root_done_ && stack_.empty(); }

  /// The document; throws IoError while it is unfinished.
  std::string str() const {
    if (!complete())
      throw IoError(where("str", "the document is unfinished: ",
                          stack_.empty() ? std::string("no value was written")
                                         : gantry::detail::message(stack_.size(), " object(s) or array(s) still open")));
    return text_;
  }

  /// Writes `str()` and a final newline to `path`; throws IoError naming the path on failure.
  void save(const std::string& path) const {
    const std::string document = str() + "\n";
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    if (!file) throw IoError(where("save", "cannot open '", path, "' for writing"));
    file.write(document.data(), static_cast<std::streamsize>(document.size()));
    file.close();
    if (!file) throw IoError(where("save", "writing '", path, "' failed"));
  }

 private:
  enum class Kind { object, array };

  struct Frame {
    Kind kind;
    bool has_items = false;
    bool awaiting_value = false;  ///< objects: a key was written, its value not yet
  };

  template <class... Parts>
  static std::string where(std::string_view function, Parts&&... parts) {
    return gantry::detail::message("gantry::io::JsonWriter::", function, ": ", std::forward<Parts>(parts)...);
  }

  static std::string_view checked_utf8(std::string_view text) {
    if (const std::optional<std::size_t> bad = detail::find_invalid_utf8(text))
      throw IoError(where("value", "string has invalid UTF-8 at byte ", *bad));
    return text;
  }

  void new_line(std::size_t depth) {
    if (indent_ == 0) return;
    text_ += '\n';
    text_.append(depth * static_cast<std::size_t>(indent_), ' ');
  }

  void before_value(std::string_view function) {
    if (stack_.empty()) {
      if (root_done_) throw IoError(where(function, "the document already has its top-level value"));
      return;
    }
    Frame& frame = stack_.back();
    if (frame.kind == Kind::object) {
      if (!frame.awaiting_value) throw IoError(where(function, "a value inside an object needs a key first"));
      return;
    }
    if (frame.has_items) text_ += ',';
    new_line(stack_.size());
  }

  JsonWriter& after_value() {
    if (stack_.empty()) {
      root_done_ = true;
      return *this;
    }
    Frame& frame = stack_.back();
    frame.has_items = true;
    frame.awaiting_value = false;
    return *this;
  }

  JsonWriter& open(char bracket, Kind kind) {
    before_value(kind == Kind::object ? "begin_object" : "begin_array");
    text_ += bracket;
    stack_.push_back(Frame{kind});
    return *this;
  }

  JsonWriter& close(char bracket, Kind kind, std::string_view function) {
    if (stack_.empty() || stack_.back().kind != kind)
      throw IoError(where(function, "no ", kind == Kind::object ? "object" : "array", " is open here"));
    if (stack_.back().awaiting_value) throw IoError(where(function, "the last key has no value"));
    const bool had_items = stack_.back().has_items;
    stack_.pop_back();
    if (had_items) new_line(stack_.size());
    text_ += bracket;
    return after_value();
  }

  int indent_;
  std::string text_;
  std::vector<Frame> stack_;
  bool root_done_ = false;
};

/// Compact JSON text (no whitespace) of value; members in their stored order. Throws IoError for a
/// non-finite number or a string that is not valid UTF-8, since neither has a JSON form.
inline std::string to_json(const JsonValue& value) {
  JsonWriter writer(0);
  return writer.value(value).str();
}

}  // namespace gantry::io
