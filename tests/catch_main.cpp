// SPDX-License-Identifier: MIT
// Catch2 v2 needs CATCH_CONFIG_RUNNER before its header to let us write main; v3 ignores it.
#define CATCH_CONFIG_RUNNER
#include "catch.hpp"

int main(int argc, char* argv[]) { return Catch::Session().run(argc, argv); }
