// SPDX-License-Identifier: MIT
#pragma once
/// A part's type key and settings to and from a checkpoint's JSON, through the interface of core/settings.hpp alone.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "gantry/core/error.hpp"
#include "gantry/core/settings.hpp"
#include "gantry/io/json.hpp"
#include "gantry/train/checkpoint_reader.hpp"

namespace gantry::train::detail {

/// The key a checkpoint records for a policy part: its type_name, else its name() (which may depend on settings).
template <class Part>
std::string part_type(const Part& part) {
  if constexpr (has_type_name_v<Part>)
    return Part::type_name;
  else
    return part.name();
}

/// A field's value as the checkpoint writes it (enums go through their name table, see settings_entry_json).
template <class T>
io::JsonValue setting_json(const T& value) {
  static_assert(std::is_same_v<T, bool> || std::is_arithmetic_v<T> || std::is_same_v<T, std::string>,
                "gantry settings: a field is bool, an integer, floating point or std::string; an enum needs a name "
                "table: fields.restore(key, value, names)");
  if constexpr (std::is_floating_point_v<T>)
    return io::JsonValue(static_cast<double>(value));
  else
    return io::JsonValue(value);
}

template <class Enum, std::size_t Count>
io::JsonValue setting_json(const Enum& value, const NameTable<Enum, Count>& names) {
  const char* name = name_in(names, value);
  if (name == nullptr)
    throw OptionError(gantry::detail::message("gantry::train::save_checkpoint: an enum setting has the value ",
                                              static_cast<long long>(value), ", which its name table lacks"));
  return io::JsonValue(name);
}

/// The Fields of settings() that saves: each field becomes a member of `object`, in the order listed.
class SettingsWriter {
 public:
  explicit SettingsWriter(io::JsonValue& object) : object_(object) {}

  template <class T>
  void restore(const char* key, const T& value) {
    object_.set(key, setting_json(value));
  }
  template <class T, class IfAbsent>
  void restore(const char* key, const T& value, const IfAbsent& /*if_absent*/) {
    object_.set(key, setting_json(value));
  }
  template <class Enum, std::size_t Count>
  void restore(const char* key, const Enum& value, const NameTable<Enum, Count>& names) {
    object_.set(key, setting_json(value, names));
  }
  // Saved alike: restore and match differ only when loading.
  template <class T, class... Extra>
  void match(const char* key, const T& value, const Extra&... extra) {
    restore(key, value, extra...);
  }

 private:
  io::JsonValue& object_;
};

/// The Fields of settings() that loads from `saved`, a JSON object of the metadata that `where` names
/// ("metadata 'critic_optimizer'"). restore writes the file's value into the field; match refuses a file whose
/// value differs, saying "<subject> was saved with <key> = <saved>, <receiving> has <value>".
class SettingsReader {
 public:
  SettingsReader(const CheckpointReader& reader, const io::JsonValue& saved, std::string where, std::string subject,
                 std::string receiving)
      : reader_(reader), saved_(saved), where_(std::move(where)), subject_(std::move(subject)),
        receiving_(std::move(receiving)) {}

  template <class T>
  void restore(const char* key, T& value) {
    check_restorable<T>();
    value = read<T>(key);
  }
  template <class T, class IfAbsent>
  void restore(const char* key, T& value, const IfAbsent& if_absent) {
    check_restorable<T>();
    value = saved_.find(key) != nullptr ? read<T>(key) : static_cast<T>(if_absent);
  }
  template <class Enum, std::size_t Count>
  void restore(const char* key, Enum& value, const NameTable<Enum, Count>& names) {
    check_restorable<Enum>();
    const std::string& name = reader_.string(saved_, key, where_);
    for (const auto& entry : names) {
      if (name == entry.first) {
        value = entry.second;
        return;
      }
    }
    std::string expected;
    for (std::size_t i = 0; i < Count; ++i)
      expected += std::string(i == 0 ? "" : i + 1 == Count ? " or " : ", ") + names[i].first;
    reader_.fail(where_, " field '", key, "' is ", CheckpointReader::quoted(name), ", expected ", expected);
  }

  template <class T>
  void match(const char* key, const T& value) {
    compare(key, setting_json(value));
  }
  template <class T, class IfAbsent>
  void match(const char* key, const T& value, const IfAbsent& if_absent) {
    const io::JsonValue absent = setting_json(static_cast<T>(if_absent));
    compare(key, setting_json(value), &absent);
  }
  template <class Enum, std::size_t Count>
  void match(const char* key, const Enum& value, const NameTable<Enum, Count>& names) {
    compare(key, setting_json(value, names));
  }

 private:
  template <class T>
  static void check_restorable() {
    static_assert(!std::is_const_v<T>,
                  "gantry settings: restore() on a part the checkpoint keeps as it is (an optimizer's Options): use "
                  "match(), or restore the value through the part's interface");
  }

  template <class T>
  T read(const char* key) const {
    if constexpr (std::is_same_v<T, bool>) {
      return reader_.boolean(saved_, key, where_);
    } else if constexpr (std::is_floating_point_v<T>) {
      return static_cast<T>(reader_.number(saved_, key, where_));
    } else if constexpr (std::is_integral_v<T>) {
      const io::JsonValue& value = reader_.field(saved_, key, where_);
      const auto low = static_cast<long double>(std::numeric_limits<T>::min());
      const auto high = static_cast<long double>(std::numeric_limits<T>::max());
      if constexpr (std::is_unsigned_v<T>) {
        const std::optional<std::uint64_t> exact = value.as_uint64();
        if (exact && static_cast<long double>(*exact) <= high) return static_cast<T>(*exact);
      } else {
        const std::optional<std::int64_t> exact = value.as_int64();
        if (exact && static_cast<long double>(*exact) >= low && static_cast<long double>(*exact) <= high)
          return static_cast<T>(*exact);
      }
      reader_.fail(where_, " field '", key, "' must be an integer in [", std::numeric_limits<T>::min(), ", ",
                   std::numeric_limits<T>::max(), "], given ", CheckpointReader::shown(value));
    } else {
      static_assert(std::is_same_v<T, std::string>,
                    "gantry settings: a field is bool, an integer, floating point or std::string; an enum needs a "
                    "name table: fields.restore(key, value, names)");
      return reader_.string(saved_, key, where_);
    }
  }

  void compare(const char* key, const io::JsonValue& expected, const io::JsonValue* if_absent = nullptr) const {
    const bool absent = if_absent != nullptr && saved_.find(key) == nullptr;
    const io::JsonValue& saved = absent ? *if_absent : reader_.field(saved_, key, where_);
    // Numbers compare by value: 1 and 1.0 are the same option.
    const bool same =
        expected.is_number() ? saved.is_number() && saved.as_double() == expected.as_double() : saved == expected;
    if (!same)
      reader_.fail(subject_, " was saved with ", key, " = ", CheckpointReader::shown(saved), ", ", receiving_, " has ",
                   io::to_json(expected));
  }

  const CheckpointReader& reader_;
  const io::JsonValue& saved_;
  std::string where_;
  std::string subject_;
  std::string receiving_;
};

/// Appends the settings of `part` to `object` (nothing for a part without data members).
template <class Part>
void write_settings(const Part& part, io::JsonValue& object) {
  static_assert(check_settings_described<Part>());
  if constexpr (has_settings_v<Part>) {
    SettingsWriter fields(object);
    Part::settings(part, fields);
  }
}

/// Restores or matches the settings of `part` from `fields`.
template <class Part>
void read_settings(Part& part, SettingsReader& fields) {
  static_assert(check_settings_described<std::remove_const_t<Part>>());
  if constexpr (has_settings_v<std::remove_const_t<Part>>) std::remove_const_t<Part>::settings(part, fields);
}

}  // namespace gantry::train::detail
