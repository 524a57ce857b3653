// SPDX-License-Identifier: MIT
#pragma once
/// A grid of cells tiling a rectangle of the plane: its centres as one batch, and a function evaluated on them.

#include <functional>

#include <Eigen/Core>

#include "gantry/core/error.hpp"
#include "gantry/core/types.hpp"
#include "gantry/io/plot/axes.hpp"

namespace gantry::io {

/// The centres of an (nx x ny) grid of cells tiling `bounds`, as a (2 x nx*ny) batch with x varying
/// fastest: one batched forward pass of a critic on it gives a (1 x nx*ny) row whose column-major
/// reshape `Eigen::Map<const Eigen::MatrixXd>(row.data(), nx, ny)` is the grid the heat map takes.
inline Eigen::MatrixXd grid_cell_centers(const PlotBounds& bounds, Index nx, Index ny) {
  bounds.validate();
  if (nx < 1 || ny < 1)
    throw OptionError(gantry::detail::message("gantry::io::grid_cell_centers: nx and ny must be >= 1, given ", nx,
                                              " and ", ny));
  Eigen::MatrixXd points(2, nx * ny);
  const double dx = (bounds.x_max - bounds.x_min) / static_cast<double>(nx);
  const double dy = (bounds.y_max - bounds.y_min) / static_cast<double>(ny);
  for (Index j = 0; j < ny; ++j)
    for (Index i = 0; i < nx; ++i) {
      points(0, i + nx * j) = bounds.x_min + (static_cast<double>(i) + 0.5) * dx;
      points(1, i + nx * j) = bounds.y_min + (static_cast<double>(j) + 0.5) * dy;
    }
  return points;
}

/// `f` at the cell centres of `grid_cell_centers`, as an (nx x ny) grid: entry (i, j) is f(x_i, y_j).
inline Eigen::MatrixXd evaluate_on_grid(const std::function<double(double, double)>& f, const PlotBounds& bounds,
                                        Index nx, Index ny) {
  if (!f) throw OptionError("gantry::io::evaluate_on_grid: the function is empty");
  const Eigen::MatrixXd points = grid_cell_centers(bounds, nx, ny);
  Eigen::MatrixXd values(nx, ny);
  for (Index j = 0; j < ny; ++j)
    for (Index i = 0; i < nx; ++i) values(i, j) = f(points(0, i + nx * j), points(1, i + nx * j));
  return values;
}

}  // namespace gantry::io
