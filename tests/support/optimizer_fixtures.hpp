// SPDX-License-Identifier: MIT
#pragma once
/// What the optimizer tests share: an error-message probe, tolerances, and one fixed gradient sequence.

#include <string>
#include <string_view>
#include <type_traits>

#include <gantry/core/types.hpp>

#include "support/messages.hpp"

namespace gantry::test {

inline bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

template <class Scalar>
Scalar tolerance() {
  return std::is_same_v<Scalar, float> ? Scalar(1e-5) : Scalar(1e-12);
}

template <class Scalar>
Vector<Scalar> initial_parameters() {
  Vector<Scalar> p(4);
  p << Scalar(1.0), Scalar(-0.5), Scalar(0.25), Scalar(2.0);
  return p;
}

/// (4 x 3): the gradient of step t in column t; one zero entry on purpose.
template <class Scalar>
Matrix<Scalar> gradient_sequence() {
  Matrix<Scalar> g(4, 3);
  g << Scalar(0.5), Scalar(-0.25), Scalar(0.125),  //
      Scalar(-1.5), Scalar(-1.0), Scalar(0.5),     //
      Scalar(0.0), Scalar(0.75), Scalar(-0.5),     //
      Scalar(2.0), Scalar(1.5), Scalar(3.0);
  return g;
}

}  // namespace gantry::test
