// SPDX-License-Identifier: MIT
#pragma once
/// How a part (objective, regularizer, optimizer options) describes its settings and its type to a checkpoint.

#include <array>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "gantry/core/detect.hpp"

namespace gantry {

// A part describes itself where it is defined; a checkpoint (train/checkpoint.hpp) knows only this interface, so
// a part of your own is saved, checked and restored exactly as the library's are.
//
//   struct MyPenalty {                                             // a regularizer, an objective or Options
//     double weight = 1.0;
//     int power = 2;
//
//     // The key a checkpoint records; a file saved by another type is refused. Optional for objectives and
//     // regularizers (their name() serves then), required for optimizers.
//     static constexpr const char* type_name = "my_penalty";
//
//     // Every setting, in ONE list that serves both ways: saving calls it with Self = const MyPenalty and a
//     // writer, loading with Self = MyPenalty (the receiving part's copy) and a reader, so the two cannot drift.
//     template <class Self, class Fields>
//     static void settings(Self& self, Fields& fields) {
//       fields.restore("weight", self.weight);  // the run continues with the file's value (validate() checks it)
//       fields.match("power", self.power);      // a file saved with another value is refused, naming "power"
//     }
//   };
//
// Field values: bool, integers, floating point, std::string, and an enum with a name table,
// `fields.restore("at", self.at, penalty_points_names)` (saved as the name). A setting that older files lack:
// `fields.restore("center", self.center, 1.0)` reads 1.0 when the file has no "center".
//
// restore or match: restore what a run may change and continue with (a scheduled sigma, a penalty weight), match
// what would make the continuation a different run. An optimizer's Options can only match (the checkpoint keeps the
// receiving optimizer and restores its learning rate and state; restore there is a compile error).
//
// A part WITHOUT data members needs nothing (there is nothing to save). A part WITH data members must describe
// them: otherwise a checkpoint would neither record nor check them and a resumed run could silently differ, so
// saving or loading it fails to compile with "gantry settings: ... has data members but no settings(...)". An
// empty settings() says on purpose that none of them is worth saving.

/// Names of an enum's values, for `fields.restore(key, value, names)`: {{"real", PenaltyPoints::real}, ...}.
template <class Enum, std::size_t Count>
using NameTable = std::array<std::pair<const char*, Enum>, Count>;

namespace detail {

/// Accepts every field form: detects `settings` without instantiating a real reader or writer.
struct SettingsProbe {
  template <class... Args>
  void restore(const char*, Args&&...) {}
  template <class... Args>
  void match(const char*, Args&&...) {}
};

template <class T>
using settings_member_t = decltype(T::settings(std::declval<T&>(), std::declval<SettingsProbe&>()));

template <class T>
using type_name_member_t = decltype(static_cast<const char*>(T::type_name));

}  // namespace detail

template <class T>
inline constexpr bool has_settings_v = detail::is_detected_v<detail::settings_member_t, T>;

template <class T>
inline constexpr bool has_type_name_v = detail::is_detected_v<detail::type_name_member_t, T>;

/// True when nothing of T escapes a checkpoint: T describes its settings, or has no data member to describe.
template <class T>
inline constexpr bool settings_described_v = std::is_empty_v<T> || has_settings_v<T>;

/// Where a part enters a checkpoint: a part with data members and no settings() is a compile error, not a file that
/// silently forgets them.
template <class T>
constexpr bool check_settings_described() {
  static_assert(settings_described_v<T>,
                "gantry settings: the part has data members but no `template <class Self, class Fields> static void "
                "settings(Self& self, Fields& fields)` describing them, so a checkpoint could neither record nor check "
                "them (see gantry/core/settings.hpp)");
  return settings_described_v<T>;
}

/// The name of `value` in `names`, or nullptr when the table lacks it.
template <class Enum, std::size_t Count>
constexpr const char* name_in(const NameTable<Enum, Count>& names, Enum value) {
  for (const auto& entry : names)
    if (entry.second == value) return entry.first;
  return nullptr;
}

}  // namespace gantry
