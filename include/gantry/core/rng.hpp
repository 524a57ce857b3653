// SPDX-License-Identifier: MIT
#pragma once
/// A seeded, portable random generator (xoshiro256**) whose whole state can be saved and restored.

#include <array>
#include <cmath>
#include <cstdint>

#include "gantry/core/error.hpp"
#include "gantry/core/types.hpp"

namespace gantry {

/// Same seed, same numbers on every platform: the standard distributions are implementation-defined,
/// so uniform and normal draws are computed here (Blackman & Vigna's xoshiro256**, Box-Muller).
class Rng {
 public:
  using result_type = std::uint64_t;

  /// The complete state, for checkpoints.
  struct State {
    std::array<std::uint64_t, 4> words{};
    bool has_spare_normal = false;
    double spare_normal = 0.0;
  };

  explicit Rng(std::uint64_t seed = 0x9e3779b97f4a7c15ULL) { reseed(seed); }

  void reseed(std::uint64_t seed) {
    // splitmix64 expands the seed so that nearby seeds give unrelated streams.
    for (auto& word : state_.words) {
      seed += 0x9e3779b97f4a7c15ULL;
      std::uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      word = z ^ (z >> 31);
    }
    state_.has_spare_normal = false;
    state_.spare_normal = 0.0;
  }

  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return ~result_type{0}; }

  result_type operator()() {
    auto& s = state_.words;
    const std::uint64_t result = rotl(s[1] * 5, 7) * 9;
    const std::uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }

  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }

  double uniform(double low, double high) { return low + (high - low) * uniform(); }

  /// Standard normal; Box-Muller gives two per pair of uniforms, the second is kept for the next call.
  double normal() {
    if (state_.has_spare_normal) {
      state_.has_spare_normal = false;
      return state_.spare_normal;
    }
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 6.283185307179586476925 * u2;
    state_.spare_normal = radius * std::sin(angle);
    state_.has_spare_normal = true;
    return radius * std::cos(angle);
  }

  double normal(double mean, double stddev) { return mean + stddev * normal(); }

  /// Uniform integer in [0, n), without modulo bias.
  std::uint64_t below(std::uint64_t n) {
    if (n == 0) throw OptionError("gantry::Rng::below: n must be >= 1 (the range [0, n) is empty), given 0");
    const std::uint64_t limit = max() - max() % n;
    std::uint64_t r = (*this)();
    while (r >= limit) r = (*this)();
    return r % n;
  }

  /// Fills a matrix or a block (taken by const& so that temporaries such as `m.col(0)` bind, the Eigen idiom).
  template <class Derived>
  void fill_normal(const Eigen::DenseBase<Derived>& out_, double mean = 0.0, double stddev = 1.0) {
    auto& out = const_cast<Eigen::DenseBase<Derived>&>(out_);
    for (Index j = 0; j < out.cols(); ++j)
      for (Index i = 0; i < out.rows(); ++i)
        out(i, j) = static_cast<typename Derived::Scalar>(normal(mean, stddev));
  }

  template <class Derived>
  void fill_uniform(const Eigen::DenseBase<Derived>& out_, double low = 0.0, double high = 1.0) {
    auto& out = const_cast<Eigen::DenseBase<Derived>&>(out_);
    for (Index j = 0; j < out.cols(); ++j)
      for (Index i = 0; i < out.rows(); ++i)
        out(i, j) = static_cast<typename Derived::Scalar>(uniform(low, high));
  }

  const State& state() const { return state_; }
  void set_state(const State& state) { state_ = state; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  State state_;
};

}  // namespace gantry
