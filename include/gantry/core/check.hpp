// SPDX-License-Identifier: MIT
#pragma once
/// Validation helpers for public entry points: each throws an error naming the function and field.

#include <cmath>
#include <limits>
#include <string_view>

#include <Eigen/Core>

#include "gantry/core/error.hpp"
#include "gantry/core/types.hpp"

namespace gantry::detail {

inline std::string shape_string(Index rows, Index cols) { return message(rows, "x", cols); }

/// Throws ShapeError "where: what expects RxC, given rxc"; -1 in an expectation means "any".
template <class Derived>
void check_shape(std::string_view where, std::string_view what, const Eigen::EigenBase<Derived>& m,
                 Index rows, Index cols) {
  const bool rows_ok = rows < 0 || m.rows() == rows;
  const bool cols_ok = cols < 0 || m.cols() == cols;
  if (!rows_ok || !cols_ok) {
    throw ShapeError(message(where, ": ", what, " expects shape ", rows < 0 ? std::string("*") : std::to_string(rows),
                             "x", cols < 0 ? std::string("*") : std::to_string(cols), ", given ",
                             shape_string(m.rows(), m.cols())));
  }
}

template <class Derived>
void check_nonempty_batch(std::string_view where, std::string_view what, const Eigen::EigenBase<Derived>& m) {
  if (m.cols() == 0) throw ShapeError(message(where, ": ", what, " is a batch of 0 samples (0 columns)"));
}

/// Throws DataError naming the first non-finite entry.
template <class Derived>
void check_finite(std::string_view where, std::string_view what, const Eigen::DenseBase<Derived>& m) {
  for (Index j = 0; j < m.cols(); ++j)
    for (Index i = 0; i < m.rows(); ++i)
      if (!std::isfinite(static_cast<double>(m(i, j))))
        throw DataError(message(where, ": ", what, " has a non-finite value ", m(i, j), " at row ", i,
                                ", column ", j));
}

/// For option structs: `require(ok, "MyOptions", "beta1", value, "in [0, 1)")`.
template <class Value>
void require(bool ok, std::string_view owner, std::string_view field, const Value& value,
             std::string_view expected) {
  if (!ok) throw OptionError(message(owner, ".", field, " must be ", expected, ", given ", value));
}

/// a * b for sizes a, b >= 0, or OptionError "where: what: a x b overflows a 64-bit index" (no UB, no wrap).
inline Index checked_product(Index a, Index b, std::string_view where, std::string_view what) {
  if (a < 0 || b < 0) throw OptionError(message(where, ": ", what, ": ", a, " x ", b, " has a negative factor"));
  if (b != 0 && a > std::numeric_limits<Index>::max() / b)
    throw OptionError(message(where, ": ", what, ": ", a, " x ", b, " overflows a 64-bit index"));
  return a * b;
}

/// a + b for sizes a, b >= 0, or OptionError "where: what: a + b overflows a 64-bit index".
inline Index checked_sum(Index a, Index b, std::string_view where, std::string_view what) {
  if (a < 0 || b < 0) throw OptionError(message(where, ": ", what, ": ", a, " + ", b, " has a negative term"));
  if (a > std::numeric_limits<Index>::max() - b)
    throw OptionError(message(where, ": ", what, ": ", a, " + ", b, " overflows a 64-bit index"));
  return a + b;
}

template <class Value>
bool finite(const Value& v) {
  return std::isfinite(static_cast<double>(v));
}

}  // namespace gantry::detail
