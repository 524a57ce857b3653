// SPDX-License-Identifier: MIT
#pragma once
/// The one detection helper: whether `Op<Args...>` is well-formed, without a hard error when it is not.

#include <type_traits>

namespace gantry::detail {

// C++17 detection idiom: `Op<T>` is well-formed or the trait is false, never a hard error.
template <class AlwaysVoid, template <class...> class Op, class... Args>
struct detector : std::false_type {};

template <template <class...> class Op, class... Args>
struct detector<std::void_t<Op<Args...>>, Op, Args...> : std::true_type {};

template <template <class...> class Op, class... Args>
inline constexpr bool is_detected_v = detector<void, Op, Args...>::value;

}  // namespace gantry::detail
