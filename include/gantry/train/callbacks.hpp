// SPDX-License-Identifier: MIT
#pragma once
/// The one callback dispatcher: a callback implements only the events it needs and may stop training.

#include <type_traits>
#include <utility>

namespace gantry::train {

/// Events, each optional (ensmallen's design, in C++17):
///
///   struct MyCallback {
///     template <class Trainer> void on_train_begin(Trainer& trainer);
///     // return true to stop training after this iteration (or return void)
///     template <class Trainer, class Stats> bool on_step_end(Trainer& trainer, const Stats& stats);
///     template <class Trainer> void on_train_end(Trainer& trainer);
///   };
namespace callback_detail {
template <class C, class T, class = void>
struct has_begin : std::false_type {};
template <class C, class T>
struct has_begin<C, T, std::void_t<decltype(std::declval<C&>().on_train_begin(std::declval<T&>()))>> : std::true_type {};
template <class C, class T, class S, class = void>
struct has_step : std::false_type {};
template <class C, class T, class S>
struct has_step<C, T, S,
                std::void_t<decltype(std::declval<C&>().on_step_end(std::declval<T&>(), std::declval<const S&>()))>>
    : std::true_type {};
template <class C, class T, class = void>
struct has_end : std::false_type {};
template <class C, class T>
struct has_end<C, T, std::void_t<decltype(std::declval<C&>().on_train_end(std::declval<T&>()))>> : std::true_type {};
}  // namespace callback_detail

template <class Trainer, class... Callbacks>
void dispatch_train_begin(Trainer& trainer, Callbacks&... callbacks) {
  (([&] {
     if constexpr (callback_detail::has_begin<Callbacks, Trainer>::value) callbacks.on_train_begin(trainer);
   }()),
   ...);
}

/// Returns true when any callback asked to stop; every callback still sees the event.
template <class Trainer, class Stats, class... Callbacks>
bool dispatch_step_end(Trainer& trainer, const Stats& stats, Callbacks&... callbacks) {
  bool stop = false;
  (([&] {
     if constexpr (callback_detail::has_step<Callbacks, Trainer, Stats>::value) {
       using Result = decltype(callbacks.on_step_end(trainer, stats));
       if constexpr (std::is_same_v<Result, void>)
         callbacks.on_step_end(trainer, stats);
       else
         stop = static_cast<bool>(callbacks.on_step_end(trainer, stats)) || stop;
     }
   }()),
   ...);
  return stop;
}

template <class Trainer, class... Callbacks>
void dispatch_train_end(Trainer& trainer, Callbacks&... callbacks) {
  (([&] {
     if constexpr (callback_detail::has_end<Callbacks, Trainer>::value) callbacks.on_train_end(trainer);
   }()),
   ...);
}

}  // namespace gantry::train
