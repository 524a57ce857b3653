// SPDX-License-Identifier: MIT
#pragma once
/// The library version; CMake reads it from here, so it lives in one place.

#define GANTRY_VERSION_MAJOR 0
#define GANTRY_VERSION_MINOR 1
#define GANTRY_VERSION_PATCH 0

namespace gantry {
inline constexpr int version_major = GANTRY_VERSION_MAJOR;
inline constexpr int version_minor = GANTRY_VERSION_MINOR;
inline constexpr int version_patch = GANTRY_VERSION_PATCH;
}  // namespace gantry
