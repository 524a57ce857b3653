// SPDX-License-Identifier: MIT
#pragma once
/// Standalone SVG figures: a critic heat map with samples, training curves, the Dirac-GAN vector field. Each is a
/// header of its own under io/plot/, on shared axes, colour maps, legend and layout; this one includes them all.

#include "gantry/io/plot/axes.hpp"
#include "gantry/io/plot/color.hpp"
#include "gantry/io/plot/curves.hpp"
#include "gantry/io/plot/grid.hpp"
#include "gantry/io/plot/heatmap.hpp"
#include "gantry/io/plot/layout.hpp"
#include "gantry/io/plot/legend.hpp"
#include "gantry/io/plot/marks.hpp"
#include "gantry/io/plot/vector_field.hpp"
