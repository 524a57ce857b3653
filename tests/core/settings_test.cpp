// SPDX-License-Identifier: MIT
// What a part's self-description is detected as: settings() present or not, described or not (a part with data
// members must describe them), a type_name, and an enum's name table both ways.

#include <gantry/core/settings.hpp>

#include <string>

#include "catch.hpp"

namespace {

enum class Side { left, right };
constexpr gantry::NameTable<Side, 2> side_names{{{"left", Side::left}, {"right", Side::right}}};

struct Empty {};  // no data members: nothing to describe
struct Undescribed {
  double weight = 1.0;
};
struct Described {
  double weight = 1.0;
  Side side = Side::left;
  static constexpr const char* type_name = "described";
  template <class Self, class Fields>
  static void settings(Self& self, Fields& fields) {
    fields.restore("weight", self.weight);
    fields.match("side", self.side, side_names);
  }
};

/// Records what settings() lists, to check that one list serves a const part (saving) and a mutable one (loading).
struct KeyRecorder {
  std::string keys;
  template <class T, class... Extra>
  void restore(const char* key, T&, const Extra&...) {
    keys += std::string("restore ") + key + ";";
  }
  template <class T, class... Extra>
  void match(const char* key, T&, const Extra&...) {
    keys += std::string("match ") + key + ";";
  }
};

}  // namespace

TEST_CASE("settings: detection of the description and of the type name", "[core][settings]") {
  STATIC_REQUIRE(gantry::has_settings_v<Described>);
  STATIC_REQUIRE_FALSE(gantry::has_settings_v<Undescribed>);
  STATIC_REQUIRE_FALSE(gantry::has_settings_v<Empty>);
  STATIC_REQUIRE(gantry::settings_described_v<Described>);
  STATIC_REQUIRE(gantry::settings_described_v<Empty>);
  STATIC_REQUIRE_FALSE(gantry::settings_described_v<Undescribed>);
  STATIC_REQUIRE(gantry::has_type_name_v<Described>);
  STATIC_REQUIRE_FALSE(gantry::has_type_name_v<Empty>);
}

TEST_CASE("settings: one list serves a const part and a mutable one, in order", "[core][settings]") {
  const Described saved;
  Described loaded;
  KeyRecorder from_const, from_mutable;
  Described::settings(saved, from_const);
  Described::settings(loaded, from_mutable);
  CHECK(from_const.keys == "restore weight;match side;");
  CHECK(from_mutable.keys == from_const.keys);
}

TEST_CASE("settings: an enum's name table", "[core][settings]") {
  CHECK(std::string(gantry::name_in(side_names, Side::right)) == "right");
  CHECK(gantry::name_in(side_names, static_cast<Side>(7)) == nullptr);
}
