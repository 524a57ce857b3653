// SPDX-License-Identifier: MIT
#pragma once
/// Spearman's rank correlation: how monotonically one training curve follows another (e.g. a critic's W1
/// estimate against the exact W1 of the samples).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <vector>

#include "gantry/core/error.hpp"

namespace gantry::metrics {

/// Ranks 1..n of `values`, ties sharing the mean of the ranks they span (so that Spearman's rho is the Pearson
/// correlation of these ranks, the definition that stays right with ties).
inline std::vector<double> average_ranks(const std::vector<double>& values) {
  const std::size_t n = values.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(n);
  for (std::size_t begin = 0; begin < n;) {
    std::size_t end = begin + 1;
    while (end < n && values[order[end]] == values[order[begin]]) ++end;
    const double rank = 0.5 * static_cast<double>(begin + end - 1) + 1.0;  // mean of ranks begin+1 .. end
    for (std::size_t k = begin; k < end; ++k) ranks[order[k]] = rank;
    begin = end;
  }
  return ranks;
}

/// Spearman's rho of the pairs (x_i, y_i): +1 when y rises with x, -1 when it falls, near 0 when unrelated. Throws
/// ShapeError for sizes that differ or fewer than 2 pairs, DataError for a non-finite value or a constant series
/// (whose correlation is undefined).
inline double spearman_correlation(const std::vector<double>& x, const std::vector<double>& y) {
  constexpr const char* where = "gantry::metrics::spearman_correlation";
  if (x.size() != y.size())
    throw ShapeError(gantry::detail::message(where, ": x has ", x.size(), " values and y ", y.size()));
  if (x.size() < 2) throw ShapeError(gantry::detail::message(where, ": needs at least 2 pairs, given ", x.size()));
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!std::isfinite(x[i]) || !std::isfinite(y[i]))
      throw DataError(gantry::detail::message(where, ": pair ", i, " is not finite (", x[i], ", ", y[i], ")"));
  const std::vector<double> rx = average_ranks(x), ry = average_ranks(y);
  const double mean = 0.5 * static_cast<double>(x.size() + 1);  // of ranks 1..n, with or without ties
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (rx[i] - mean) * (ry[i] - mean);
    sxx += (rx[i] - mean) * (rx[i] - mean);
    syy += (ry[i] - mean) * (ry[i] - mean);
  }
  if (sxx == 0 || syy == 0)
    throw DataError(gantry::detail::message(where, ": ", sxx == 0 ? "x" : "y",
                                            " is constant; a rank correlation needs values that differ"));
  return sxy / std::sqrt(sxx * syy);
}

}  // namespace gantry::metrics
