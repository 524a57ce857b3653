// SPDX-License-Identifier: MIT
#pragma once
/// The whole spectrum of a game's Jacobian for small networks (Eigen's EigenSolver), and the numbers that say how
/// it rotates: the largest real part and the largest |Im / Re|.

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <vector>

#include <Eigen/Eigenvalues>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/types.hpp"
#include "gantry/metrics/game_jacobian.hpp"

namespace gantry::metrics {

/// Sorted by decreasing real part, then decreasing imaginary part: the order the logs and pictures use.
inline void sort_eigenvalues(std::vector<std::complex<double>>& eigenvalues) {
  std::sort(eigenvalues.begin(), eigenvalues.end(), [](const std::complex<double>& a, const std::complex<double>& b) {
    return a.real() != b.real() ? a.real() > b.real() : a.imag() > b.imag();
  });
}

/// Every eigenvalue of a square matrix (Eigen's real Schur form, O(n^3)), sorted by sort_eigenvalues.
template <class Scalar>
std::vector<std::complex<double>> eigenvalues_of(const Eigen::Ref<const Matrix<Scalar>>& m) {
  constexpr const char* where = "gantry::metrics::eigenvalues_of";
  gantry::detail::check_shape(where, "matrix", m, m.rows(), m.rows());
  gantry::detail::check_finite(where, "matrix", m);
  const Eigen::EigenSolver<Eigen::MatrixXd> solver(m.template cast<double>(), false);
  if (solver.info() != Eigen::Success)
    throw Error(gantry::detail::message(where, ": Eigen's EigenSolver did not converge on the ", m.rows(), "x", m.rows(),
                                        " matrix"));
  std::vector<std::complex<double>> out(solver.eigenvalues().data(),
                                        solver.eigenvalues().data() + solver.eigenvalues().size());
  sort_eigenvalues(out);
  return out;
}

struct FullSpectrumOptions {
  /// The largest n = parameters of both players accepted: J is formed as n products and then costs O(n^3).
  Index max_parameters = 4096;

  void validate() const {
    gantry::detail::require(max_parameters >= 1, "gantry::metrics::FullSpectrumOptions", "max_parameters",
                            max_parameters, ">= 1");
  }
};

/// All eigenvalues of the game's Jacobian (its n columns J e_j, then EigenSolver).
template <class Policy, class Scalar>
std::vector<std::complex<double>> full_spectrum(GameJacobian<Policy, Scalar>& jacobian,
                                                const FullSpectrumOptions& options = {}) {
  options.validate();
  if (jacobian.size() > options.max_parameters)
    throw OptionError(gantry::detail::message(
        "gantry::metrics::full_spectrum: the game has ", jacobian.size(), " parameters, more than max_parameters = ",
        options.max_parameters, " (forming J costs n products and O(n^3) after): use leading_eigenvalues"));
  return eigenvalues_of<Scalar>(jacobian.matrix());
}

/// What the Numerics-of-GANs paper reads off an eigenvalue cloud.
struct SpectrumSummary {
  Index count = 0;
  double max_real = std::numeric_limits<double>::quiet_NaN();      ///< > 0: a direction that grows (diverges)
  double max_modulus = std::numeric_limits<double>::quiet_NaN();
  /// max |Im / Re| over the eigenvalues with |lambda| >= floor * max_modulus: large means rotation dominates
  /// (a step size small enough for convergence must then be tiny). +inf when such an eigenvalue has Re = 0.
  double max_imag_over_real = std::numeric_limits<double>::quiet_NaN();
};

/// `relative_floor` leaves out the eigenvalues that are 0 up to round-off (an over-parameterized network has many),
/// whose ratio is noise.
inline SpectrumSummary summarize_spectrum(const std::vector<std::complex<double>>& eigenvalues,
                                          double relative_floor = 1e-6) {
  gantry::detail::require(gantry::detail::finite(relative_floor) && relative_floor >= 0,
                          "gantry::metrics::summarize_spectrum", "relative_floor", relative_floor, "finite and >= 0");
  SpectrumSummary s;
  s.count = static_cast<Index>(eigenvalues.size());
  if (eigenvalues.empty()) return s;
  s.max_real = -std::numeric_limits<double>::infinity();
  s.max_modulus = 0;
  for (const auto& e : eigenvalues) {
    s.max_real = std::max(s.max_real, e.real());
    s.max_modulus = std::max(s.max_modulus, std::abs(e));
  }
  s.max_imag_over_real = 0;
  for (const auto& e : eigenvalues) {
    if (std::abs(e) < relative_floor * s.max_modulus || std::abs(e) == 0) continue;
    const double ratio = e.real() == 0 ? std::numeric_limits<double>::infinity() : std::abs(e.imag() / e.real());
    s.max_imag_over_real = std::max(s.max_imag_over_real, ratio);
  }
  return s;
}

}  // namespace gantry::metrics
