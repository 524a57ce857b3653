// SPDX-License-Identifier: MIT
#pragma once
/// The optimizer interface: a skeleton to copy, a detection trait, and a check naming each missing member.

#include <atomic>
#include <cmath>
#include <limits>
#include <string_view>
#include <type_traits>
#include <utility>

#include <Eigen/Core>

#include "gantry/core/check.hpp"
#include "gantry/core/detect.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/share_pool.hpp"
#include "gantry/core/types.hpp"

namespace gantry::optim {

// The optimizer interface. A type that provides these members works with the trainer; copy this
// skeleton to write a new one (the optimizers in this folder are complete examples).
//
//   template <class ScalarType>
//   class MyOptimizer {
//    public:
//     using Scalar = ScalarType;
//
//     /// Sizes the state for `size` parameters and clears it. The only member allowed to allocate
//     /// (besides the first `step`, which calls it when the state is still unsized).
//     void reset(Index size);
//
//     /// One MINIMIZING update, in place: parameters -= update(gradient). `parameters` is the one
//     /// flat vector holding every layer of a network; `gradient` has the same size. Throws
//     /// ShapeError when the sizes disagree with each other or with the state, and performs no
//     /// heap allocation once the state is sized.
//     void step(Eigen::Ref<Vector<Scalar>> parameters, const Eigen::Ref<const Vector<Scalar>>& gradient);
//
//     /// Read and changed between steps by schedules (and for per-player rates).
//     double learning_rate() const;
//     void set_learning_rate(double learning_rate);  // throws OptionError unless > 0 and finite
//   };
//
// For checkpoints (train/checkpoint.hpp; not required by the trainer), each checked where a checkpoint is saved or
// loaded, with a message naming what is missing:
//
//     static constexpr const char* type_name = "my_optimizer";  // a file saved by another optimizer is refused
//     struct State {                     // everything a bit-identical continuation needs
//       Index parameter_count = 0;       // 0 until the first step or reset
//       Index step_count = 0;
//       Vector<Scalar> velocity;         // any number of buffers, each listed here:
//       template <class Self, class F>   // Self is State or const State
//       static void for_each_buffer(Self& state, F&& f) { f("velocity", state.velocity); }
//     };
//     const State& state() const;
//     void set_state(State state);       // validates sizes, finiteness and signs, throwing errors that name them
//
// and, for an optimizer with options: `using Options`, an aggregate with `validate()` and the settings of
// gantry/core/settings.hpp (matched against a file: another momentum would start another run), and
// `const Options& options() const`. The learning rate is saved and restored through the members above.

namespace detail {

using gantry::detail::is_detected_v;

template <class T>
using scalar_member_t = typename T::Scalar;

template <class T>
using step_member_t = decltype(std::declval<T&>().step(
    std::declval<Eigen::Ref<Vector<typename T::Scalar>>>(),
    std::declval<const Eigen::Ref<const Vector<typename T::Scalar>>&>()));

template <class T>
using reset_member_t = decltype(std::declval<T&>().reset(std::declval<Index>()));

template <class T>
using learning_rate_member_t = decltype(static_cast<double>(std::declval<const T&>().learning_rate()));

template <class T>
using set_learning_rate_member_t = decltype(std::declval<T&>().set_learning_rate(std::declval<double>()));

}  // namespace detail

template <class T>
inline constexpr bool has_scalar_v = detail::is_detected_v<detail::scalar_member_t, T>;
template <class T>
inline constexpr bool has_step_v = detail::is_detected_v<detail::step_member_t, T>;
template <class T>
inline constexpr bool has_reset_v = detail::is_detected_v<detail::reset_member_t, T>;
template <class T>
inline constexpr bool has_learning_rate_v = detail::is_detected_v<detail::learning_rate_member_t, T>;
template <class T>
inline constexpr bool has_set_learning_rate_v = detail::is_detected_v<detail::set_learning_rate_member_t, T>;

/// True when T provides every member of the skeleton above.
template <class T>
inline constexpr bool is_optimizer_v = has_scalar_v<T> && has_step_v<T> && has_reset_v<T> &&
                                       has_learning_rate_v<T> && has_set_learning_rate_v<T>;

/// Call (or `static_assert`) where an optimizer type enters: each missing member gets its own message.
template <class T>
constexpr bool check_optimizer() {
  static_assert(has_scalar_v<T>, "gantry optimizer: missing member `using Scalar = float or double`");
  // Without Scalar the signatures below cannot even be spelled; one message is enough then.
  if constexpr (has_scalar_v<T>) {
    static_assert(has_step_v<T>,
                  "gantry optimizer: missing member `void step(Eigen::Ref<Vector> parameters, const "
                  "Eigen::Ref<const Vector>& gradient)`");
    static_assert(has_reset_v<T>, "gantry optimizer: missing member `void reset(Index size)`");
    static_assert(has_learning_rate_v<T>, "gantry optimizer: missing member `double learning_rate() const`");
    static_assert(has_set_learning_rate_v<T>,
                  "gantry optimizer: missing member `void set_learning_rate(double learning_rate)`");
  }
  return is_optimizer_v<T>;
}

namespace detail {

// Shared by the optimizers in this folder: the checks every public entry point makes.

/// `prefix` is "<Options>." from validate() or "gantry::optim::<Optimizer>::set_learning_rate: " from the setter.
inline void check_learning_rate(std::string_view prefix, double learning_rate) {
  if (!(learning_rate > 0 && std::isfinite(learning_rate)))
    throw OptionError(gantry::detail::message(prefix, "learning_rate must be > 0 and finite, given ", learning_rate));
}

/// A state of size 0 means "not sized yet"; an empty parameter vector is refused so the two never mix.
inline void check_state_size(std::string_view where, Index size) {
  if (size <= 0)
    throw ShapeError(gantry::detail::message(where, ": parameter count must be > 0, given ", size));
}

/// Gradient against parameters, then parameters against a sized state (0 = unsized, anything goes).
inline void check_step_sizes(std::string_view where, Index state_size, Index parameter_size, Index gradient_size) {
  if (gradient_size != parameter_size)
    throw ShapeError(gantry::detail::message(where, ": gradient expects ", parameter_size,
                                             " entries (the size of parameters), given ", gradient_size));
  if (state_size != 0 && parameter_size != state_size)
    throw ShapeError(gantry::detail::message(where, ": parameters expect ", state_size,
                                             " entries (the size of the optimizer state), given ", parameter_size));
}

/// A non-finite gradient would poison the moments forever; refuse it before touching the state.
template <class Scalar>
void check_gradient_finite(std::string_view where, const Eigen::Ref<const Vector<Scalar>>& gradient) {
  // x * 0 is 0 for every finite x and NaN for an infinity or a NaN, so one vectorized sum tests every entry
  // (Eigen's allFinite() reduces with a scalar loop, as slow here as the optimizer step itself). Segments of the
  // gradient are tested on the pool's threads; any order of them gives the same answer.
  std::atomic<bool> all_finite{true};
  gantry::detail::run_segments(gradient.size(), 2, [&](Index begin, Index count) {
    if ((gradient.segment(begin, count).array() * Scalar(0)).sum() != Scalar(0))
      all_finite.store(false, std::memory_order_relaxed);
  });
  if (all_finite.load(std::memory_order_relaxed)) return;
  for (Index i = 0; i < gradient.size(); ++i)
    if (!std::isfinite(static_cast<double>(gradient[i])))
      throw DivergenceError(
          gantry::detail::message(where, ": gradient has a non-finite value ", gradient[i], " at entry ", i));
}

/// For set_state: a buffer the options use has the state's size, one they do not use is empty.
template <class Scalar>
void check_state_buffer(std::string_view where, std::string_view field, const Vector<Scalar>& buffer,
                        Index expected_size, bool nonnegative = false) {
  if (buffer.size() != expected_size)
    throw ShapeError(gantry::detail::message(where, ": ", field, " expects ", expected_size, " entries, given ",
                                             buffer.size()));
  gantry::detail::check_finite(where, field, buffer);
  if (nonnegative) {
    for (Index i = 0; i < buffer.size(); ++i)
      if (buffer[i] < 0)
        throw DataError(gantry::detail::message(where, ": ", field, " must be >= 0, given ", buffer[i],
                                                " at entry ", i));
  }
}

/// The element-wise part of every optimizer's step: update(begin, count, p, g) on segments of the vector run on
/// the pool (segments start at aligned entries and each entry is computed by the same code, so the bits do not
/// depend on the split), with g the gradient plus weight_decay * p (L2, as PyTorch's optimizers) folded in entry by
/// entry, costing no temporary vector.
template <class Scalar, class Update>
void update_by_segments(Eigen::Ref<Vector<Scalar>> parameters, const Eigen::Ref<const Vector<Scalar>>& gradient,
                        double weight_decay, double work_per_entry, Update&& update) {
  const Scalar decay = static_cast<Scalar>(weight_decay);
  gantry::detail::run_segments(parameters.size(), work_per_entry, [&](Index begin, Index count) {
    auto p = parameters.segment(begin, count);
    const auto g = gradient.segment(begin, count);
    if (weight_decay != 0)
      update(begin, count, p, g.array() + decay * p.array());
    else
      update(begin, count, p, g.array());
  });
}

/// Before a step: the step counter (from set_state, e.g. a checkpoint) must have room for one more step.
inline void check_step_count_room(std::string_view where, Index step_count) {
  if (step_count == std::numeric_limits<Index>::max())
    throw OptionError(gantry::detail::message(where, ": step_count ", step_count,
                                              " is the largest 64-bit count; one more step would overflow it"));
}

inline void check_state_counts(std::string_view where, Index parameter_count, Index step_count) {
  if (parameter_count < 0)
    throw DataError(gantry::detail::message(where, ": parameter_count must be >= 0, given ", parameter_count));
  if (step_count < 0)
    throw DataError(gantry::detail::message(where, ": step_count must be >= 0, given ", step_count));
  if (parameter_count == 0 && step_count != 0)
    throw DataError(gantry::detail::message(where, ": step_count must be 0 while parameter_count is 0, given ",
                                            step_count));
}

}  // namespace detail
}  // namespace gantry::optim
