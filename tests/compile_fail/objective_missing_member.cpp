// SPDX-License-Identifier: MIT
// Must not compile: an objective without generator_fake. The ctest matches the static_assert's text.
#include <gantry/policy.hpp>

struct IncompleteObjective {
  std::string name() const { return "incomplete"; }
  template <class S>
  gantry::loss::Term<S> critic_real(S a) const { return {a, 1, 0}; }
  template <class S>
  gantry::loss::Term<S> critic_fake(S a) const { return {a, 1, 0}; }
  static constexpr bool estimates_wasserstein = false;
};

int main() {
  gantry::Policy<IncompleteObjective> policy;
  return static_cast<int>(policy.name().size());
}
