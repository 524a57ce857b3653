// SPDX-License-Identifier: MIT
#pragma once
/// The one finite-difference gradient checker every test uses: central differences, worst entry reported.

#include <algorithm>
#include <cmath>
#include <functional>
#include <ostream>

#include <gantry/core/types.hpp>

namespace gantry::test {

struct GradientCheck {
  double worst_relative_error = 0.0;  ///< max_i |a_i - n_i| / max(|a_i|, |n_i|, floor)
  Index worst_index = -1;
  double analytic = 0.0;  ///< a_i at the worst entry
  double numeric = 0.0;   ///< n_i at the worst entry
};

inline std::ostream& operator<<(std::ostream& out, const GradientCheck& c) {
  return out << "worst relative error " << c.worst_relative_error << " at entry " << c.worst_index
             << " (analytic " << c.analytic << ", finite difference " << c.numeric << ")";
}

/// Derivative of f along each coordinate of x by the fourth-order central stencil
/// (f(x-2h) - 8 f(x-h) + 8 f(x+h) - f(x+2h)) / 12h: its truncation error is O(h^4), so h = 1e-4 leaves
/// both truncation (~1e-16) and round-off (~1e-12) far below the 1e-6 we assert.
inline Vector<double> numeric_gradient(const std::function<double(const Vector<double>&)>& f,
                                       const Vector<double>& x, double h = 1e-4) {
  Vector<double> g(x.size());
  Vector<double> probe = x;
  for (Index i = 0; i < x.size(); ++i) {
    auto at = [&](double offset) {
      probe(i) = x(i) + offset;
      const double value = f(probe);
      probe(i) = x(i);
      return value;
    };
    g(i) = (at(-2 * h) - 8 * at(-h) + 8 * at(h) - at(2 * h)) / (12 * h);
  }
  return g;
}

/// Jacobian-free variant for vector-valued f: numeric derivative of f along direction v.
inline Vector<double> numeric_directional(const std::function<Vector<double>(const Vector<double>&)>& f,
                                          const Vector<double>& x, const Vector<double>& v, double h = 1e-4) {
  const Vector<double> d = (f(x - 2 * h * v) - 8 * f(x - h * v) + 8 * f(x + h * v) - f(x + 2 * h * v)) / (12 * h);
  return d;
}

/// Compares two gradients entry by entry. Entries below `floor_fraction` of the largest magnitude (and below
/// 1e-5 in absolute value) are judged relative to that floor, so an exact 0 against the ~1e-12 round-off of a
/// finite difference (a dead ReLU unit, say) is not reported as 100% off.
inline GradientCheck compare_gradients(const Vector<double>& analytic, const Vector<double>& numeric,
                                       double floor_fraction = 1e-3) {
  GradientCheck check;
  const double scale = std::max(analytic.cwiseAbs().maxCoeff(), numeric.cwiseAbs().maxCoeff());
  const double floor = std::max(floor_fraction * scale, 1e-5);
  for (Index i = 0; i < analytic.size(); ++i) {
    const double a = analytic(i), n = numeric(i);
    const double err = std::abs(a - n) / std::max({std::abs(a), std::abs(n), floor});
    if (!(err <= check.worst_relative_error)) {  // also catches NaN
      check.worst_relative_error = std::isnan(err) ? INFINITY : err;
      check.worst_index = i;
      check.analytic = a;
      check.numeric = n;
    }
  }
  return check;
}

inline GradientCheck check_gradient(const std::function<double(const Vector<double>&)>& f, const Vector<double>& x,
                                    const Vector<double>& analytic, double h = 1e-4) {
  return compare_gradients(analytic, numeric_gradient(f, x, h));
}

}  // namespace gantry::test

#include <iostream>
#include <string>

namespace gantry::test {

/// Tracks the worst check of a test case and prints it, so the figures in the notes can be reproduced
/// by running the test binary (`./nn_mlp_test -s` is not needed: this prints at the end of the scope).
class WorstError {
 public:
  explicit WorstError(std::string what) : what_(std::move(what)) {}
  ~WorstError() { std::cout << "[gradient check] " << what_ << ": worst relative error " << worst_ << " (" << where_ << ")\n"; }
  void add(const GradientCheck& check, const std::string& where) {
    if (!(check.worst_relative_error <= worst_)) {
      worst_ = check.worst_relative_error;
      where_ = where;
    }
  }
  double worst() const { return worst_; }

 private:
  std::string what_;
  std::string where_ = "-";
  double worst_ = 0.0;
};

}  // namespace gantry::test
