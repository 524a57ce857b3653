// SPDX-License-Identifier: MIT
// Must not compile: a regularizer that implements none of the hooks. The ctest matches the static_assert's text.
#include <gantry/policy.hpp>

struct DoesNothing {
  std::string name() const { return "nothing"; }
};

int main() {
  gantry::Policy<gantry::loss::Wasserstein, DoesNothing> policy;
  return static_cast<int>(policy.name().size());
}
