// SPDX-License-Identifier: MIT
#pragma once
/// The eigenvalues of largest modulus or largest real part of a large operator given only by its products J w,
/// by Spectra's restarted Arnoldi (an optional dependency: Debian's libspectra-dev, header-only, on Eigen).

#include <complex>
#include <type_traits>
#include <vector>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/types.hpp"
#include "gantry/metrics/game_spectrum.hpp"

#if __has_include(<Spectra/GenEigsSolver.h>)
#include <Spectra/GenEigsSolver.h>
#define GANTRY_HAS_SPECTRA 1
#else
#define GANTRY_HAS_SPECTRA 0
#endif

namespace gantry::metrics {

enum class EigenvalueOrder {
  largest_modulus,  ///< the eigenvalues farthest from 0 (what bounds a stable step size)
  largest_real,     ///< the rightmost ones (a positive one is a direction that grows)
};

struct LeadingEigenvaluesOptions {
  Index count = 6;                                   ///< how many eigenvalues (1 <= count <= n - 2)
  EigenvalueOrder order = EigenvalueOrder::largest_modulus;
  Index krylov_dimension = 0;                        ///< Arnoldi basis size; 0: min(n, max(2 count + 1, count + 20))
  Index max_restarts = 1000;                         ///< a bound on the work: past it, non-convergence is reported
  double tolerance = 1e-10;                          ///< Spectra's relative residual for a converged Ritz value

  void validate() const {
    constexpr const char* owner = "gantry::metrics::LeadingEigenvaluesOptions";
    gantry::detail::require(count >= 1, owner, "count", count, ">= 1");
    gantry::detail::require(krylov_dimension == 0 || krylov_dimension >= count + 2, owner, "krylov_dimension",
                            krylov_dimension, "0 (automatic) or >= count + 2");
    gantry::detail::require(max_restarts >= 1, owner, "max_restarts", max_restarts, ">= 1");
    gantry::detail::require(gantry::detail::finite(tolerance) && tolerance > 0, owner, "tolerance", tolerance,
                            "finite and > 0");
    gantry::detail::require(order == EigenvalueOrder::largest_modulus || order == EigenvalueOrder::largest_real, owner,
                            "order", static_cast<int>(order), "largest_modulus or largest_real");
  }
};

struct LeadingEigenvalues {
  std::vector<std::complex<double>> eigenvalues;  ///< the converged ones, in the requested order
  bool converged = false;                         ///< all `count` converged within max_restarts
  Index iterations = 0;                           ///< Spectra's restart loop count (max_restarts + 1 when it ran out)
  Index products = 0;                             ///< J w products used
};

/// A dense matrix as an operator (for tests, and for a J formed by GameJacobian::matrix).
class MatrixOperator {
 public:
  explicit MatrixOperator(Matrix<double> m) : m_(std::move(m)) {
    gantry::detail::check_shape("gantry::metrics::MatrixOperator", "matrix", m_, m_.rows(), m_.rows());
  }
  Index size() const { return m_.rows(); }
  void apply(const Eigen::Ref<const Vector<double>>& w, Eigen::Ref<Vector<double>> out) { out.noalias() = m_ * w; }

 private:
  Matrix<double> m_;
};

/// A float operator's products for the Arnoldi, which works in double: `SinglePrecisionOperator op(jacobian)` with a
/// GameJacobian<Policy, float>. At large widths its products run at single-precision GEMM speed, about twice
/// double's; they carry float's rounding (a relative 1e-7 of |J| |w|, not a linear map beyond that), so the
/// eigenvalues are as good as about 1e-5 of the largest modulus: ask for `tolerance` 1e-6 or more (a tighter one
/// is not reached and is reported as non-convergence after max_restarts). The buffers are sized once: a product
/// allocates nothing.
template <class FloatOperator>
class SinglePrecisionOperator {
 public:
  explicit SinglePrecisionOperator(FloatOperator& op) : op_(&op), in_(op.size()), out_(op.size()) {}
  Index size() const { return op_->size(); }
  void apply(const Eigen::Ref<const Vector<double>>& w, Eigen::Ref<Vector<double>> out) {
    gantry::detail::check_shape("gantry::metrics::SinglePrecisionOperator::apply", "w", w, size(), 1);
    gantry::detail::check_shape("gantry::metrics::SinglePrecisionOperator::apply", "out", out, size(), 1);
    in_ = w.cast<float>();
    op_->apply(in_, out_);
    out = out_.cast<double>();
  }

 private:
  FloatOperator* op_;
  Vector<float> in_, out_;
};

namespace detail {
template <class Operator>
struct SpectraProduct {
  using Scalar = double;  // what Spectra reads
  Operator* op;
  Index rows() const { return op->size(); }
  Index cols() const { return op->size(); }
  void perform_op(const double* in, double* out) const {
    const Index n = op->size();
    op->apply(Eigen::Map<const Vector<double>>(in, n), Eigen::Map<Vector<double>>(out, n));
  }
};
template <class>
inline constexpr bool always_false = false;
}  // namespace detail

/// `op` is anything with `Index size()` and `void apply(const Eigen::Ref<const Vector<double>>& w,
/// Eigen::Ref<Vector<double>> out)` writing J w: a GameJacobian<Policy, double>, a MatrixOperator, a
/// SinglePrecisionOperator over a GameJacobian<Policy, float>. Bad options
/// throw OptionError naming the field; a count Spectra's Arnoldi cannot deliver (more than n - 2) throws too. A run
/// that does not converge within max_restarts returns with converged = false and the Ritz values that did.
template <class Operator>
LeadingEigenvalues leading_eigenvalues(Operator& op, const LeadingEigenvaluesOptions& options = {}) {
#if GANTRY_HAS_SPECTRA
  constexpr const char* where = "gantry::metrics::leading_eigenvalues";
  options.validate();
  const Index n = op.size();
  if (options.count > n - 2)
    throw OptionError(gantry::detail::message(where, ": count = ", options.count, " eigenvalues of a ", n, "x", n,
                                              " operator: Arnoldi gives at most n - 2 = ", n - 2,
                                              "; use full_spectrum for all of them"));
  Index ncv = options.krylov_dimension;
  if (ncv == 0) ncv = std::min(n, std::max(2 * options.count + 1, options.count + 20));
  if (ncv > n)
    throw OptionError(gantry::detail::message(where, ": krylov_dimension = ", ncv, " exceeds the operator's size ", n));
  detail::SpectraProduct<Operator> product{&op};
  Spectra::GenEigsSolver<detail::SpectraProduct<Operator>> solver(product, options.count, ncv);
  solver.init();
  const Spectra::SortRule rule = options.order == EigenvalueOrder::largest_modulus ? Spectra::SortRule::LargestMagn
                                                                                   : Spectra::SortRule::LargestReal;
  const Index converged = solver.compute(rule, options.max_restarts, options.tolerance, rule);
  LeadingEigenvalues result;
  result.converged = solver.info() == Spectra::CompInfo::Successful && converged >= options.count;
  result.iterations = solver.num_iterations();
  result.products = solver.num_operations();
  const auto values = solver.eigenvalues();
  result.eigenvalues.assign(values.data(), values.data() + values.size());
  return result;
#else
  (void)op;
  (void)options;
  static_assert(detail::always_false<Operator>,
                "gantry::metrics::leading_eigenvalues needs Spectra (Debian: libspectra-dev; CMake: find_package(spectra))");
  return {};
#endif
}

}  // namespace gantry::metrics
