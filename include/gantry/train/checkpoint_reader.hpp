// SPDX-License-Identifier: MIT
#pragma once
/// Reading a checkpoint's parts: metadata and JSON fields, tensors of a checked dtype and shape, and one kind of error.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gantry/core/error.hpp"
#include "gantry/core/quote.hpp"
#include "gantry/core/types.hpp"
#include "gantry/io/json.hpp"
#include "gantry/io/safetensors.hpp"

namespace gantry::train::detail {

/// "123" -> 123; refuses signs, spaces, leading zeros and overflow (metadata is written by us, exactly so).
inline std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  if (text.empty() || text.size() > 20 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (~std::uint64_t{0} - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

class CheckpointReader {
 public:
  CheckpointReader(const io::SafetensorsFile& file, std::string source) : file_(file), source_(std::move(source)) {}

  template <class... Parts>
  [[noreturn]] void fail(Parts&&... parts) const {
    throw IoError(gantry::detail::message("gantry::train::load_checkpoint: ", gantry::detail::quoted(source_, 4096),
                                          ": ", std::forward<Parts>(parts)...));
  }

  // What the file holds, as messages show it: a short prefix with control characters escaped.
  static std::string quoted(const std::string& text) { return gantry::detail::quoted(text); }
  static std::string shown(const io::JsonValue& value) { return gantry::detail::escaped(io::to_json(value)); }

  const std::string& metadata(const std::string& key) const {
    const auto found = file_.metadata().find(key);
    if (found == file_.metadata().end()) fail("metadata has no '", key, "' (not a gantry checkpoint, or a damaged one)");
    return found->second;
  }
  bool has_metadata(const std::string& key) const { return file_.metadata().count(key) != 0; }

  std::uint64_t metadata_unsigned(const std::string& key, std::uint64_t max) const {
    const std::string& text = metadata(key);
    const std::optional<std::uint64_t> value = parse_decimal(text);
    if (!value || *value > max)
      fail("metadata '", key, "' must be a decimal integer in [0, ", max, "], given ", quoted(text));
    return *value;
  }

  bool metadata_bool(const std::string& key) const {
    const std::string& text = metadata(key);
    if (text != "true" && text != "false") fail("metadata '", key, "' must be 'true' or 'false', given ", quoted(text));
    return text == "true";
  }

  io::JsonValue metadata_object(const std::string& key) const {
    io::JsonParseOptions options;
    options.source = gantry::detail::message(source_, ": metadata '", key, "'");
    options.max_depth = 4;
    io::JsonValue json;
    try {
      json = io::parse_json(metadata(key), options);
    } catch (const IoError& error) {
      fail("metadata '", key, "' is not valid JSON: ", error.what());
    }
    if (!json.is_object()) fail("metadata '", key, "' must be a JSON object, given ", shown(json));
    return json;
  }

  // Fields of a JSON object from the metadata; `where` names it ("metadata 'critic_optimizer'").
  const io::JsonValue& field(const io::JsonValue& object, const std::string& key, const std::string& where) const {
    const io::JsonValue* value = object.find(key);
    if (value == nullptr) fail(where, " has no field '", key, "'");
    return *value;
  }
  double number(const io::JsonValue& object, const std::string& key, const std::string& where) const {
    const io::JsonValue& value = field(object, key, where);
    if (!value.is_number()) fail(where, " field '", key, "' must be a number, given ", shown(value));
    return value.as_double();
  }
  bool boolean(const io::JsonValue& object, const std::string& key, const std::string& where) const {
    const io::JsonValue& value = field(object, key, where);
    if (!value.is_bool()) fail(where, " field '", key, "' must be true or false, given ", shown(value));
    return value.as_bool();
  }
  const std::string& string(const io::JsonValue& object, const std::string& key, const std::string& where) const {
    const io::JsonValue& value = field(object, key, where);
    if (!value.is_string()) fail(where, " field '", key, "' must be a string, given ", shown(value));
    return value.as_string();
  }

  /// Copies tensor `name` into out[0, count) after checking dtype and shape.
  template <class T>
  void tensor(const std::string& name, const std::vector<std::int64_t>& shape, T* out, const std::string& what) {
    constexpr io::DType dtype = io::detail::DTypeOf<T>::value;
    if (!file_.contains(name)) fail("has no tensor '", name, "' (", what, ")");
    if (file_.dtype(name) != dtype)
      fail("tensor '", name, "' has dtype ", io::dtype_name(file_.dtype(name)), ", expected ", io::dtype_name(dtype),
           " (", what, ")");
    if (file_.shape(name) != shape)
      fail("tensor '", name, "' has shape ", io::detail::shape_text(file_.shape(name)), ", expected ",
           io::detail::shape_text(shape), " (", what, ")");
    std::size_t count = 1;
    for (const std::int64_t dim : shape) count *= static_cast<std::size_t>(dim);
    try {
      file_.copy_to(name, out, count);
    } catch (const IoError& error) {
      fail(error.what());
    }
    used_.insert(name);
  }

  template <class T>
  T scalar_tensor(const std::string& name, const std::string& what) {
    T value{};
    tensor(name, {}, &value, what);
    return value;
  }

  /// A 1-D tensor of any length (bounded by the file's size, which the format check has established).
  template <class Scalar>
  Vector<Scalar> vector_tensor(const std::string& name, const std::string& what) {
    if (!file_.contains(name)) fail("has no tensor '", name, "' (", what, ")");
    const std::vector<std::int64_t>& shape = file_.shape(name);
    if (shape.size() != 1)
      fail("tensor '", name, "' has shape ", io::detail::shape_text(shape), ", expected one dimension (", what, ")");
    Vector<Scalar> values(static_cast<Index>(shape[0]));
    tensor(name, shape, values.data(), what);
    return values;
  }

  /// Every tensor of the file must have been read, except those under `ignored_prefix` (if not empty).
  void check_all_used(const std::string& ignored_prefix) const {
    for (const std::string& name : file_.names()) {
      if (used_.count(name) != 0) continue;
      if (!ignored_prefix.empty() && name.compare(0, ignored_prefix.size(), ignored_prefix) == 0) continue;
      fail("has a tensor ", quoted(name), " that belongs to no part of this trainer");
    }
  }

  const std::string& source() const { return source_; }

 private:
  const io::SafetensorsFile& file_;
  std::string source_;
  std::set<std::string> used_;
};

}  // namespace gantry::train::detail
