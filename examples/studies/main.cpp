// SPDX-License-Identifier: MIT
// studies: the classic claims about why GAN training behaves as it does, one subcommand each, trained through
// gantry's own trainer and policies. Each prints a table and writes SVG pictures and a JSON record.
//
//   studies --help                      the list
//   studies continuity                  Arjovsky et al. 2017, example 1: JS is flat, W1 is continuous
//   studies vanishing-gradients --quick a small run of Arjovsky & Bottou 2017, figures 1-3
//   studies annealing                   instance noise, fixed and annealed by a schedule
//
// One program rather than one per study: the studies share their flags, progress bar and record format, and a
// user finds them all from one --help.

#include "cli.hpp"

#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>

namespace studies {
int continuity_main(const std::vector<std::string>& args);
int vanishing_gradients_main(const std::vector<std::string>& args);
int annealing_main(const std::vector<std::string>& args);
int wasserstein_estimate_main(const std::vector<std::string>& args);
int weight_clipping_main(const std::vector<std::string>& args);
int penalty_sides_main(const std::vector<std::string>& args);
}  // namespace studies

namespace {

struct Study {
  const char* name;
  const char* paper;
  const char* claim;
  studies::StudyMain main;
};

const Study all_studies[] = {
    {"vanishing-gradients", "Arjovsky & Bottou 2017, figures 1-3",
     "a better discriminator starves the minimax generator of gradient, -log D's gradient grows unstable; "
     "instance noise keeps the minimax gradient alive",
     studies::vanishing_gradients_main},
    {"annealing", "Arjovsky & Bottou 2017, section 4",
     "instance noise lets a minimax GAN learn; annealed to 0 with a schedule, it stops blurring the fit",
     studies::annealing_main},
    {"weight-clipping", "Gulrajani et al. 2017, figure 1 (a, b, c)",
     "a clipped critic learns a far simpler surface than a penalized one; in a deep critic clipping makes gradients "
     "explode or vanish through the layers and piles weights at +-c; the gradient penalty does neither",
     studies::weight_clipping_main},
    {"penalty-sides", "Gulrajani et al. 2017, section 4",
     "WGAN-GP with the two-sided penalty (|g| - 1)^2 against the one-sided max(0, |g| - 1)^2: W1 and quality",
     studies::penalty_sides_main},
    {"wasserstein-estimate", "Arjovsky, Chintala & Bottou 2017, figures 3-4",
     "the WGAN critic's estimate falls with the samples' exact W1 and ranks with it; a GAN's loss does not",
     studies::wasserstein_estimate_main},
    {"continuity", "Arjovsky, Chintala & Bottou 2017, example 1 and figure 1",
     "between parallel lines JS is log 2 off theta = 0 (no gradient), W1 = |theta| is continuous",
     studies::continuity_main},
};

void print_help() {
  fmt::print(
      "usage: studies <study> [flags]      studies <study> --help\n"
      "\n"
      "Each study trains through gantry's own trainer and policies, prints a table, and writes SVG pictures and\n"
      "a JSON record into --out (default studies-out/<study>). --quick runs a small version in seconds.\n"
      "\n"
      "studies:\n");
  for (const Study& s : all_studies) fmt::print("  {:<21} {}\n  {:<21} {}\n", s.name, s.paper, "", s.claim);
  fmt::print("\nexit status: 0 on success, 1 when training or writing fails, 2 on a bad study, flag or value.\n");
}

/// An error thrown mid-training interrupts the progress bar's line on a terminal: start a fresh one.
const char* line_break() { return gantry::train::detail::is_terminal(stderr) ? "\n" : ""; }

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> words(argv + 1, argv + argc);
  if (words.empty()) {
    fmt::print(stderr, "studies: no study given (see studies --help)\n");
    return 2;
  }
  if (words[0] == "--help" || words[0] == "-h" || words[0] == "help") {
    print_help();
    return 0;
  }
  const Study* study = nullptr;
  for (const Study& s : all_studies)
    if (words[0] == s.name) study = &s;
  if (study == nullptr) {
    std::string names;
    for (const Study& s : all_studies) names += std::string(names.empty() ? "" : ", ") + s.name;
    fmt::print(stderr, "studies: unknown study '{}' (expected one of {}; see studies --help)\n", words[0], names);
    return 2;
  }
  try {
    return study->main(std::vector<std::string>(words.begin() + 1, words.end()));
  } catch (const studies::UsageError& e) {
    fmt::print(stderr, "{}\n", e.message);
    return 2;
  } catch (const gantry::Error& e) {
    fmt::print(stderr, "{}studies {}: {}\n", line_break(), study->name, e.what());
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}studies {}: unexpected error: {}\n", line_break(), study->name, e.what());
  }
  return 1;
}
