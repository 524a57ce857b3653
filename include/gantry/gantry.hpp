// SPDX-License-Identifier: MIT
#pragma once
/// Everything gantry offers, in one include.

#include "gantry/version.hpp"

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/rng.hpp"
#include "gantry/core/types.hpp"

#include "gantry/nn/activation.hpp"
#include "gantry/nn/dense.hpp"
#include "gantry/nn/gradient_penalty.hpp"
#include "gantry/nn/hessian_vector.hpp"
#include "gantry/nn/init.hpp"
#include "gantry/nn/mlp.hpp"
#include "gantry/nn/tape.hpp"
