// SPDX-License-Identifier: MIT
#pragma once
// What every study of the `studies` program shares: its flags (a table that parses and documents itself),
// the common flags (--quick, --seed, --out, --threads), one progress bar over a whole study, a frozen optimizer
// for the player a study holds fixed, and the JSON record's common fields.

#include <gantry/gantry.hpp>
#include <gantry/train/progress_bar.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fmt/core.h>

namespace studies {

using gantry::Index;
using gantry::Matrix;

/// A bad flag or value: one line on stderr, exit status 2.
struct UsageError {
  std::string message;
};

/// A study measures every --eval-every iterations: more than --iterations would measure nothing but the start.
inline void check_eval_every(const std::string& study, Index eval_every, Index iterations) {
  if (eval_every > iterations)
    throw UsageError{fmt::format("studies {}: bad value for --eval-every: '{}' (expected at most --iterations, {})",
                                 study, eval_every, iterations)};
}

/// The flags of one study. Each flag parses its own value into a setting and documents itself in --help.
/// `--quick` is applied before every other flag (in whatever order they come), so that a flag given with it
/// overrides the quick setting it names.
class Flags {
 public:
  Flags(std::string study, std::string summary) : study_(std::move(study)), summary_(std::move(summary)) {}

  /// `--name N` into `target`, an integer in [minimum, maximum].
  void integer(std::string name, std::string help, Index& target, Index minimum, Index maximum) {
    add(std::move(name), "N", std::move(help), [this, &target, minimum, maximum](const std::string& flag,
                                                                                 std::string_view text) {
      long long value = 0;
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (error != std::errc() || end != text.data() + text.size() || value < minimum || value > maximum)
        throw UsageError{bad_value(flag, text, fmt::format("an integer in [{}, {}]", minimum, maximum))};
      target = static_cast<Index>(value);
    });
  }

  /// `--name X` into `target`, a finite number accepted by `ok` (`expected` says which in words).
  void number(std::string name, std::string help, double& target, std::function<bool(double)> ok,
              std::string expected) {
    add(std::move(name), "X", std::move(help),
        [this, &target, ok = std::move(ok), expected = std::move(expected)](const std::string& flag,
                                                                             std::string_view text) {
          target = parse_number(flag, text, ok, expected);
        });
  }

  /// `--name X,Y,...` into `target`: at least one number, each accepted by `ok`, strictly increasing when asked.
  void numbers(std::string name, std::string help, std::vector<double>& target, std::function<bool(double)> ok,
               std::string expected, bool increasing) {
    add(std::move(name), "X,Y,..", std::move(help),
        [this, &target, ok = std::move(ok), expected = std::move(expected), increasing](const std::string& flag,
                                                                                         std::string_view text) {
          std::vector<double> values;
          std::size_t begin = 0;
          while (begin <= text.size()) {
            const std::size_t comma = std::min(text.find(',', begin), text.size());
            values.push_back(parse_number(flag, text.substr(begin, comma - begin), ok,
                                          expected + (increasing ? ", increasing," : ",") + " separated by commas"));
            if (increasing && values.size() > 1 && !(values.back() > values[values.size() - 2]))
              throw UsageError{bad_value(flag, text, "values in increasing order")};
            begin = comma + 1;
          }
          target = std::move(values);
        });
  }

  /// `--name N,M,...` of integers in [minimum, maximum], strictly increasing.
  void integers(std::string name, std::string help, std::vector<Index>& target, Index minimum, Index maximum) {
    add(std::move(name), "N,M,..", std::move(help),
        [this, &target, minimum, maximum](const std::string& flag, std::string_view text) {
          std::vector<Index> values;
          std::size_t begin = 0;
          const std::string expected = fmt::format("increasing integers in [{}, {}] separated by commas", minimum, maximum);
          while (begin <= text.size()) {
            const std::size_t comma = std::min(text.find(',', begin), text.size());
            const std::string_view item = text.substr(begin, comma - begin);
            long long value = 0;
            const auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), value);
            if (error != std::errc() || end != item.data() + item.size() || value < minimum || value > maximum ||
                (!values.empty() && value <= values.back()))
              throw UsageError{bad_value(flag, text, expected)};
            values.push_back(static_cast<Index>(value));
            begin = comma + 1;
          }
          target = std::move(values);
        });
  }

  /// `--name WORD`, one of `choices`.
  void choice(std::string name, std::string help, std::string& target, std::vector<std::string> choices) {
    add(std::move(name), "NAME", std::move(help),
        [this, &target, choices = std::move(choices)](const std::string& flag, std::string_view text) {
          if (std::find(choices.begin(), choices.end(), text) == choices.end()) {
            std::string list;
            for (std::size_t k = 0; k < choices.size(); ++k)
              list += (k == 0 ? "" : k + 1 == choices.size() ? " or " : ", ") + choices[k];
            throw UsageError{bad_value(flag, text, list)};
          }
          target = std::string(text);
        });
  }

  /// The flags every study has. `quick` switches the study's settings to its --quick ones.
  void common(std::uint64_t& seed, std::string& out, Index& threads, std::function<void()> quick,
              std::string quick_help) {
    quick_ = std::move(quick);
    quick_help_ = std::move(quick_help);
    add("--seed", "N", "seeds initialisation, batches and evaluation (default 1)",
        [this, &seed](const std::string& flag, std::string_view text) {
          std::uint64_t value = 0;
          const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
          if (error != std::errc() || end != text.data() + text.size() || text.empty())
            throw UsageError{bad_value(flag, text, "an integer in [0, 2^64)")};
          seed = value;
        });
    add("--out", "DIR", fmt::format("output directory, created if missing (default {})", out),
        [this, &out](const std::string& flag, std::string_view text) {
          if (text.empty()) throw UsageError{bad_value(flag, text, "a directory")};
          out = std::string(text);
        });
    integer("--threads", "threads each pass splits its batch over; 0 = OMP_NUM_THREADS, else every core (default 0)",
            threads, 0, 1024);
  }

  /// Parses `args` (the words after the study's name). Returns false when --help was asked (and printed).
  bool parse(const std::vector<std::string>& args) {
    for (const std::string& arg : args)
      if (arg == "--help" || arg == "-h") {
        print_help();
        return false;
      }
    for (const std::string& arg : args)
      if (arg == "--quick" && quick_) quick_();
    for (std::size_t i = 0; i < args.size(); ++i) {
      const std::string& arg = args[i];
      if (arg == "--quick" && quick_) continue;
      if (arg.rfind("--", 0) != 0)
        throw UsageError{fmt::format("studies {}: unexpected argument '{}' (flags start with --; see studies {} --help)",
                                     study_, arg, study_)};
      std::string flag = arg, value;
      bool has_value = false;
      if (const auto equals = arg.find('='); equals != std::string::npos) {
        flag = arg.substr(0, equals);
        value = arg.substr(equals + 1);
        has_value = true;
      }
      const auto found = std::find_if(flags_.begin(), flags_.end(), [&](const Flag& f) { return f.name == flag; });
      if (found == flags_.end()) {
        if (flag == "--quick")
          throw UsageError{fmt::format("studies {}: --quick takes no value, given '{}'", study_, value)};
        throw UsageError{fmt::format("studies {}: unknown flag '{}' (see studies {} --help)", study_, flag, study_)};
      }
      if (!has_value) {
        if (i + 1 >= args.size())
          throw UsageError{fmt::format("studies {}: {} needs a value (see studies {} --help)", study_, flag, study_)};
        value = args[++i];
      }
      found->set(flag, value);
    }
    return true;
  }

  /// `description`: paragraphs printed between the usage line and the flags.
  void set_description(std::string description) { description_ = std::move(description); }

  void print_help() const {
    fmt::print("usage: studies {} [flags]\n\n{}\n", study_, summary_);
    if (!description_.empty()) fmt::print("\n{}", description_);
    fmt::print("\nflags (--flag VALUE or --flag=VALUE):\n");
    const auto row = [](const std::string& left, const std::string& help) {
      // Help text wraps at 110 columns, indented under itself.
      constexpr std::size_t column = 26, width = 110;
      std::string line = "  " + left;
      line.append(line.size() < column ? column - line.size() : 1, ' ');
      std::size_t at = line.size();
      for (std::size_t begin = 0; begin < help.size();) {
        std::size_t end = help.find(' ', begin);
        if (end == std::string::npos) end = help.size();
        const std::string word = help.substr(begin, end - begin);
        if (at + word.size() > width && at > column) {
          line += "\n" + std::string(column, ' ');
          at = column;
        }
        line += word + " ";
        at += word.size() + 1;
        begin = end + 1;
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      fmt::print("{}\n", line);
    };
    if (quick_) row("--quick", quick_help_);
    for (const Flag& f : flags_) row(f.name + " " + f.value_name, f.help);
    row("--help", "this text");
    fmt::print("\nexit status: 0 on success, 1 when training or writing fails, 2 on a bad flag or value.\n");
  }

  const std::string& study() const { return study_; }

 private:
  struct Flag {
    std::string name, value_name, help;
    std::function<void(const std::string&, std::string_view)> set;
  };

  void add(std::string name, std::string value_name, std::string help,
           std::function<void(const std::string&, std::string_view)> set) {
    flags_.push_back({std::move(name), std::move(value_name), std::move(help), std::move(set)});
  }

  std::string bad_value(std::string_view flag, std::string_view value, std::string_view expected) const {
    return fmt::format("studies {}: bad value for {}: '{}' (expected {})", study_, flag, value, expected);
  }

  double parse_number(std::string_view flag, std::string_view text, const std::function<bool(double)>& ok,
                      std::string_view expected) const {
    double value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size() || !std::isfinite(value) || !ok(value))
      throw UsageError{bad_value(flag, text, expected)};
    return value;
  }

  std::string study_, summary_, description_, quick_help_;
  std::function<void()> quick_;
  std::vector<Flag> flags_;
};

inline bool positive(double x) { return x > 0; }
inline bool nonnegative(double x) { return x >= 0; }

// ---------------------------------------------------------------------------------------------------------------

/// splitmix64 of (seed, stream): independent-looking seeds for initialisation, training and evaluation.
inline std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// Creates the output directory (IoError naming it when that fails) and names files inside it.
class OutputDirectory {
 public:
  explicit OutputDirectory(std::string path) : path_(std::move(path)) {
    std::error_code error;
    std::filesystem::create_directories(path_, error);
    if (error || !std::filesystem::is_directory(path_))
      throw gantry::IoError(gantry::detail::message("cannot create the output directory '", path_,
                                                    "': ", error ? error.message() : "not a directory"));
  }
  std::string file(std::string_view name) const { return (std::filesystem::path(path_) / name).string(); }

 private:
  std::string path_;
};

/// The generator's or critic's optimizer when a study holds that player fixed: the trainer still runs its step
/// (the trainer never special-cases a player), and this leaves the parameters as they are.
template <class ScalarType>
class Frozen {
 public:
  using Scalar = ScalarType;
  void reset(Index) {}
  void step(Eigen::Ref<gantry::Vector<Scalar>>, const Eigen::Ref<const gantry::Vector<Scalar>>&) {}
  double learning_rate() const { return 0.0; }
  void set_learning_rate(double) {}
};

/// One progress bar over every `fit` of a study: a callback that counts generator iterations across trainers
/// and hands train::ProgressBar the study's totals, so the bar and its ETA describe the whole study.
class StudyProgress {
 public:
  StudyProgress(std::string label, Index total) : bar_(options(std::move(label))), total_(total) {
    struct Start {
      Index iteration() const { return 0; }
    } start;
    bar_.on_train_begin(start);
    clock_start_ = std::chrono::steady_clock::now();
  }

  /// Each trainer iteration from now on counts as `units` units of the total (e.g. its critic steps), so that
  /// the rate and the ETA stay right across trainers whose iterations differ in cost.
  void set_units_per_iteration(Index units) { units_ = units; }

  template <class Trainer, class Stats>
  void on_step_end(Trainer& trainer, const Stats& stats) {
    Stats study = stats;
    done_ += units_;
    study.iteration = done_;
    study.total_iterations = total_;
    study.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - clock_start_).count();
    bar_.on_step_end(trainer, study);
  }

  /// Counts `n` units of work done outside a trainer (an evaluation), without redrawing.
  void skip(Index n) { done_ += n; }

  void finish() {
    struct End {
    } end;
    bar_.on_train_end(end);
  }

  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - clock_start_).count();
  }

 private:
  static gantry::train::ProgressBarOptions options(std::string label) {
    gantry::train::ProgressBarOptions o;
    o.label = std::move(label);
    return o;
  }

  gantry::train::ProgressBar bar_;
  Index total_ = 0;
  Index done_ = 0;
  Index units_ = 1;
  std::chrono::steady_clock::time_point clock_start_;
};

/// A callback: after every `every`-th trainer iteration, `measure(trainer, iteration)`.
template <class Measure>
struct EveryIterations {
  Index every;
  Measure& measure;
  template <class Trainer, class Stats>
  void on_step_end(Trainer& trainer, const Stats& stats) {
    if (stats.iteration % every == 0) measure(trainer, stats.iteration);
  }
};

/// Opens the record's top-level object with the fields every study writes first.
inline void begin_record(gantry::io::JsonWriter& json, const std::string& study, std::uint64_t seed, bool quick) {
  json.begin_object();
  json.field("program", "studies").field("study", study);
  json.field("gantry_version", fmt::format("{}.{}.{}", gantry::version_major, gantry::version_minor,
                                           gantry::version_patch));
  json.field("seed", seed).field("quick", quick).field("threads", gantry::thread_count());
}

/// "1.2e-05" as "1.2e-5": table cells stay narrow.
inline std::string sci(double x) {
  if (!std::isfinite(x)) return x != x ? "nan" : (x > 0 ? "inf" : "-inf");
  std::string text = fmt::format("{:.2e}", x);
  for (const char* pattern : {"e-0", "e+0"})
    if (const auto at = text.find(pattern); at != std::string::npos) text.erase(at + 2, 1);
  if (const auto at = text.find("e+"); at != std::string::npos) text.erase(at + 1, 1);
  return text;
}

/// A study's entry point: the words after its name; returns the exit status.
using StudyMain = int (*)(const std::vector<std::string>& args);

}  // namespace studies
