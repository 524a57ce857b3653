// SPDX-License-Identifier: MIT
#pragma once
/// The exact 1-Wasserstein distance between two equal-size point sets, and its real-vs-real baseline.

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <utility>
#include <vector>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/rng.hpp"
#include "gantry/core/types.hpp"
#include "gantry/data/sampler.hpp"

namespace gantry::metrics {

namespace detail {

/// Minimum-cost perfect matching of an (n x n) cost matrix, row-major in `cost`: returns the column
/// of each row. Shortest augmenting paths with dual potentials (Jonker & Volgenant 1987; the variant
/// without initialisation described by Crouse 2016): each row is added by one Dijkstra search over
/// reduced costs, which the potentials keep non-negative, so the whole is O(n^3) worst case and exact.
inline std::vector<Index> min_cost_assignment(const std::vector<double>& cost, Index n) {
  const auto size = static_cast<std::size_t>(n);
  const double infinity = std::numeric_limits<double>::infinity();
  std::vector<double> row_potential(size, 0.0), column_potential(size, 0.0);
  std::vector<Index> column_of_row(size, -1), row_of_column(size, -1);
  std::vector<double> path_cost(size);    // shortest reduced distance from the new row to each column
  std::vector<Index> previous_row(size);  // the row whose edge reached that column on the shortest path
  std::vector<char> row_scanned(size), column_scanned(size);

  for (Index new_row = 0; new_row < n; ++new_row) {
    std::fill(path_cost.begin(), path_cost.end(), infinity);
    std::fill(row_scanned.begin(), row_scanned.end(), 0);
    std::fill(column_scanned.begin(), column_scanned.end(), 0);

    Index row = new_row;
    Index sink = -1;
    double distance = 0.0;  // length of the shortest path found so far
    while (sink < 0) {
      row_scanned[static_cast<std::size_t>(row)] = 1;
      const double* cost_row = cost.data() + static_cast<std::size_t>(row) * size;
      const double base = distance - row_potential[static_cast<std::size_t>(row)];
      std::size_t best_column = 0;
      double best = infinity;
      // A plain scan in column order: it reads memory sequentially, which beats keeping a list of the
      // unscanned columns.
      for (std::size_t j = 0; j < size; ++j) {
        if (column_scanned[j]) continue;
        const double reduced = base + cost_row[j] - column_potential[j];
        if (reduced < path_cost[j]) {
          path_cost[j] = reduced;
          previous_row[j] = row;
        }
        // Among equals prefer a free column: it ends the search one step earlier.
        if (path_cost[j] < best || (path_cost[j] == best && row_of_column[j] < 0)) {
          best = path_cost[j];
          best_column = j;
        }
      }
      distance = best;
      column_scanned[best_column] = 1;
      if (row_of_column[best_column] < 0)
        sink = static_cast<Index>(best_column);
      else
        row = row_of_column[best_column];
    }

    // Update the potentials so that every reduced cost stays >= 0 and matched edges stay tight.
    row_potential[static_cast<std::size_t>(new_row)] += distance;
    for (std::size_t i = 0; i < size; ++i)
      if (row_scanned[i] && static_cast<Index>(i) != new_row)
        row_potential[i] += distance - path_cost[static_cast<std::size_t>(column_of_row[i])];
    for (std::size_t j = 0; j < size; ++j)
      if (column_scanned[j]) column_potential[j] -= distance - path_cost[j];

    // Flip the matched and unmatched edges along the path back from the sink.
    Index column = sink;
    while (true) {
      const Index path_row = previous_row[static_cast<std::size_t>(column)];
      row_of_column[static_cast<std::size_t>(column)] = path_row;
      std::swap(column_of_row[static_cast<std::size_t>(path_row)], column);
      if (path_row == new_row) break;
    }
  }
  return column_of_row;
}

}  // namespace detail

/// The exact W1 between the empirical measures of two point sets of the same size n with uniform
/// weights and Euclidean ground cost: min over permutations pi of (1/n) sum_i |a_i - b_pi(i)|. For equal
/// uniform weights an optimal transport plan is a permutation (Birkhoff-von Neumann), so this is the
/// optimal-transport value itself, not an approximation (no entropic smoothing, no sliced projections).
/// `a` and `b` are (dimension x n), one point per column, float or double (computed in double).
/// Cost: O(n^3) time worst case and an (n x n) double cost matrix (8 n^2 bytes: 32 MB at n = 2000).
/// Throws ShapeError when the sets differ in size or dimension or are empty, DataError on non-finite values.
template <class DerivedA, class DerivedB>
double wasserstein1(const Eigen::MatrixBase<DerivedA>& a, const Eigen::MatrixBase<DerivedB>& b) {
  constexpr const char* where = "gantry::metrics::wasserstein1";
  gantry::detail::check_nonempty_batch(where, "a", a);
  gantry::detail::check_shape(where, "b", b, a.rows(), a.cols());
  gantry::detail::check_finite(where, "a", a);
  gantry::detail::check_finite(where, "b", b);

  const Matrix<double> from = a.template cast<double>();
  const Matrix<double> to = b.template cast<double>();
  const Index n = from.cols();
  const auto size = static_cast<std::size_t>(n);
  std::vector<double> cost(size * size);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) {
      const double distance = (from.col(i) - to.col(j)).norm();
      if (!std::isfinite(distance))
        throw DataError(gantry::detail::message(where, ": the distance between a column ", i, " and b column ", j,
                                                " overflows double"));
      cost[static_cast<std::size_t>(i) * size + static_cast<std::size_t>(j)] = distance;
    }

  const std::vector<Index> match = detail::min_cost_assignment(cost, n);
  // Sum the true distances of the matching, not the dual objective: rounding in the potentials then
  // cannot leak into the value.
  double total = 0.0;
  for (std::size_t i = 0; i < size; ++i) total += cost[i * size + static_cast<std::size_t>(match[i])];
  return total / static_cast<double>(n);
}

/// W1 between two independent sets of n samples from the same sampler: what "close" means at this n,
/// since even perfect samples are at a positive W1 from a finite real set (the empirical W1 shrinks
/// only like n^(-1/d)). Report a generator's W1 next to this baseline, computed with the same n.
template <class Sampler>
double real_baseline_wasserstein1(Sampler& sampler, Index n, Rng& rng) {
  using Scalar = data::sampler_scalar_t<Sampler>;
  data::check_sampler<Sampler, Scalar>();
  gantry::detail::require(n >= 1, "gantry::metrics::real_baseline_wasserstein1", "n", n, ">= 1");
  Matrix<Scalar> first(sampler.dimension(), n);
  Matrix<Scalar> second(sampler.dimension(), n);
  sampler.sample(first, rng);
  sampler.sample(second, rng);
  return wasserstein1(first, second);
}

}  // namespace gantry::metrics
