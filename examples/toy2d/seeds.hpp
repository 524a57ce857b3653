// SPDX-License-Identifier: MIT
#pragma once
/// toy2d --seeds: one configuration trained over several seeds, each seed a child toy2d process, and the spread of
/// their final metrics (median, min, max) in a table and in summary.json.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace toy2d {

/// A bad --seeds list; the message says what is wrong without the flag's name (the caller adds it).
struct SeedListError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr std::size_t max_seed_count = 1000;

/// "1-10", "3,7,11" or "1-5,9": the seeds in the order given. Throws SeedListError for an empty item, a number that
/// is not a 64-bit unsigned integer, a range that runs backwards, a repeated seed or more than max_seed_count seeds.
std::vector<std::uint64_t> parse_seed_list(std::string_view text);

/// "1-10" for 1..10, "1-3,7" otherwise: the shortest text parse_seed_list reads back as `seeds`.
std::string format_seed_list(const std::vector<std::uint64_t>& seeds);

struct SeedsRun {
  std::vector<std::uint64_t> seeds;
  int jobs = 1;                         ///< seeds trained at a time, each in its own child process
  std::string out;                      ///< the runs go to out/seed-<k>/, the spread to out/summary.json
  std::vector<std::string> arguments;   ///< the flags every seed's run gets, besides --seed and --out
  std::string executable;               ///< this program: /proc/self/exe where it exists, else argv[0]
  std::string environment;              ///< "NAME=value" set for every run (already in this process's environment)
};

/// Runs every seed (at most `jobs` at a time), then writes out/summary.json and prints the table. Returns the exit
/// status: 0 when every seed's run succeeded, 1 otherwise (the spread then covers the seeds that succeeded).
int run_seeds(const SeedsRun& run);

}  // namespace toy2d
