// SPDX-License-Identifier: MIT
#pragma once
/// Eigenvalues in the complex plane, one panel per chosen iteration: now gantry/io/plot/eigenvalues.hpp.

#include "gantry/io/plot/eigenvalues.hpp"
