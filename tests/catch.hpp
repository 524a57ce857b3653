// SPDX-License-Identifier: MIT
#pragma once
/// The one place that knows whether Catch2 is v2 (Debian 12) or v3; tests use only what is common,
/// plus `contains(text)`, the substring matcher whose name differs between the two.

#include <string>

#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#define GANTRY_CATCH_V3 1
#else
#include <catch2/catch.hpp>
#define GANTRY_CATCH_V3 0
#endif

namespace gantry::test {
inline auto contains(const std::string& text) {
#if GANTRY_CATCH_V3
  return Catch::Matchers::ContainsSubstring(text);
#else
  return Catch::Matchers::Contains(text);
#endif
}
}  // namespace gantry::test
