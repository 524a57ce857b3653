// SPDX-License-Identifier: MIT
// toy2d --seeds: every seed is a child toy2d process (`toy2d <flags> --seed k --out <out>/seed-k`), so that each
// seed's figures are exactly those of that command alone, and so that seeds can train side by side: gantry's
// passes share one process-wide thread pool, which two trainers in threads of one process would contend for.

#include "seeds.hpp"

#include <gantry/io/json.hpp>
#include <gantry/io/json_writer.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <fmt/core.h>

extern char** environ;

namespace toy2d {
namespace {

namespace fs = std::filesystem;
namespace io = gantry::io;

std::uint64_t parse_unsigned(std::string_view text, std::string_view item) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size())
    throw SeedListError(fmt::format("{} is not a seed (an integer in [0, 2^64))", gantry::detail::quoted(text)) +
                        (text == item ? "" : fmt::format(" in {}", gantry::detail::quoted(item))));
  return value;
}

// ---------------------------------------------------------------------------------------------------------------
// One seed's results, read back from its summary.json.

struct GeneratorMetrics {
  double w1 = 0, w1_over_baseline = 0;
  std::optional<double> modes_covered, modes, high_quality_fraction;  // mixtures only
};

struct SeedResult {
  std::uint64_t seed = 0;
  std::string directory;      // relative to --out
  int exit_status = -1;       // the child's, or -1 when it did not start or was killed
  double wall_seconds = 0;    // from start to exit, as the parent saw it
  double train_seconds = 0, total_seconds = 0, iterations_per_second = 0;
  double threads = 0, real_baseline_w1 = 0;
  GeneratorMetrics raw;
  std::optional<GeneratorMetrics> ema;
  io::JsonValue settings;     // the child's, for the aggregate's record
  double ema_decay = 0;
  std::string preset, dataset;
  double iterations = 0;
};

const io::JsonValue& member(const io::JsonValue& object, std::string_view key, const std::string& path) {
  const io::JsonValue* value = object.is_object() ? object.find(key) : nullptr;
  if (!value) throw gantry::IoError(gantry::detail::message(path, ": no field \"", key, "\""));
  return *value;
}

double number(const io::JsonValue& object, std::string_view key, const std::string& path) {
  const io::JsonValue& value = member(object, key, path);
  if (!value.is_number()) throw gantry::IoError(gantry::detail::message(path, ": \"", key, "\" is not a number"));
  return value.as_double();
}

GeneratorMetrics read_generator(const io::JsonValue& metrics, const std::string& path) {
  GeneratorMetrics m;
  m.w1 = number(metrics, "w1", path);
  m.w1_over_baseline = number(metrics, "w1_over_baseline", path);
  if (metrics.find("modes_covered")) {
    m.modes_covered = number(metrics, "modes_covered", path);
    m.modes = number(metrics, "modes", path);
    m.high_quality_fraction = number(metrics, "high_quality_fraction", path);
  }
  return m;
}

void read_summary(SeedResult& result, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw gantry::IoError(gantry::detail::message(path, ": cannot open it"));
  std::ostringstream text;
  text << in.rdbuf();
  io::JsonParseOptions options;
  options.source = path;
  const io::JsonValue summary = io::parse_json(text.str(), options);
  result.train_seconds = number(summary, "seconds", path);
  result.total_seconds = number(summary, "total_seconds", path);
  result.iterations_per_second = number(summary, "iterations_per_second", path);
  result.iterations = number(summary, "iterations", path);
  result.preset = member(summary, "preset", path).as_string();
  result.dataset = member(summary, "dataset", path).as_string();
  result.settings = member(summary, "settings", path);
  result.threads = number(result.settings, "threads", path);
  result.ema_decay = number(result.settings, "ema", path);
  const io::JsonValue& metrics = member(summary, "metrics", path);
  result.real_baseline_w1 = number(metrics, "real_baseline_w1", path);
  result.raw = read_generator(member(metrics, "raw", path), path);
  if (const io::JsonValue& ema = member(metrics, "ema", path); !ema.is_null()) result.ema = read_generator(ema, path);
}

// ---------------------------------------------------------------------------------------------------------------
// Children.

struct Child {
  pid_t pid = 0;
  std::size_t index = 0;  // into the results
  std::chrono::steady_clock::time_point start;
};

/// Starts `executable arguments...` with stdin from /dev/null and stdout and stderr into `log`.
pid_t spawn(const std::string& executable, const std::vector<std::string>& arguments, const std::string& log) {
  std::vector<char*> argv;
  std::string program = "toy2d";
  argv.push_back(program.data());
  std::vector<std::string> copies = arguments;  // posix_spawn takes char* const[]
  for (std::string& a : copies) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  const int error = posix_spawn(&pid, executable.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0)
    throw gantry::IoError(gantry::detail::message("cannot start ", gantry::detail::quoted(executable, 4096), ": ",
                                                  std::strerror(error)));
  return pid;
}

std::string quote_argument(const std::string& a) {
  if (!a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,/:+") ==
                        std::string::npos)
    return a;
  std::string quoted = "'";
  for (const char c : a) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// ---------------------------------------------------------------------------------------------------------------
// The spread.

struct Spread {
  double median = 0, min = 0, max = 0;
};

Spread spread_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  // The middle value, or the mean of the two middle values for an even count.
  const double median = n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  return {median, values.front(), values.back()};
}

void write_spread(io::JsonWriter& json, std::string_view name, const Spread& s) {
  json.key(name).begin_object().field("median", s.median).field("min", s.min).field("max", s.max).end_object();
}

template <class Get>
Spread spread_over(const std::vector<const SeedResult*>& runs, Get get) {
  std::vector<double> values;
  for (const SeedResult* r : runs) values.push_back(get(*r));
  return spread_of(std::move(values));
}

/// A parsed JSON value back into a writer (the child's settings object into the aggregate).
void write_value(io::JsonWriter& json, const io::JsonValue& value) {
  switch (value.kind()) {
    case io::JsonValue::Kind::Null: json.null(); return;
    case io::JsonValue::Kind::Boolean: json.value(value.as_bool()); return;
    case io::JsonValue::Kind::Number:
      if (const auto integer = value.as_int64()) json.value(*integer);
      else json.value(value.as_double());
      return;
    case io::JsonValue::Kind::String: json.value(value.as_string()); return;
    case io::JsonValue::Kind::Array:
      json.begin_array();
      for (const io::JsonValue& item : value.as_array()) write_value(json, item);
      json.end_array();
      return;
    case io::JsonValue::Kind::Object:
      json.begin_object();
      for (const io::JsonMember& m : value.members()) {
        json.key(m.key);
        write_value(json, m.value);
      }
      json.end_object();
      return;
  }
}

void write_generator(io::JsonWriter& json, const GeneratorMetrics& m) {
  json.begin_object().field("w1", m.w1).field("w1_over_baseline", m.w1_over_baseline);
  if (m.modes_covered)
    json.field("modes_covered", *m.modes_covered)
        .field("modes", *m.modes)
        .field("high_quality_fraction", *m.high_quality_fraction);
  json.end_object();
}

/// The spread of one generator's metrics over the runs; `pick` chooses the raw or the EMA generator.
template <class Pick>
void write_generator_spread(io::JsonWriter& json, const std::vector<const SeedResult*>& runs, Pick pick) {
  json.begin_object();
  write_spread(json, "w1", spread_over(runs, [&](const SeedResult& r) { return pick(r).w1; }));
  write_spread(json, "w1_over_baseline", spread_over(runs, [&](const SeedResult& r) { return pick(r).w1_over_baseline; }));
  if (pick(*runs.front()).modes_covered) {
    write_spread(json, "modes_covered", spread_over(runs, [&](const SeedResult& r) { return *pick(r).modes_covered; }));
    write_spread(json, "high_quality_fraction",
                 spread_over(runs, [&](const SeedResult& r) { return *pick(r).high_quality_fraction; }));
    json.field("modes", *pick(*runs.front()).modes);
    std::size_t all = 0;
    for (const SeedResult* r : runs) all += *pick(*r).modes_covered == *pick(*r).modes ? 1 : 0;
    json.field("seeds_covering_all_modes", all);
  }
  json.field("seeds", runs.size());
  json.end_object();
}

std::string format_seconds(double s) { return s < 120 ? fmt::format("{:.0f} s", s) : fmt::format("{:.1f} min", s / 60); }

/// The table's columns for one generator: modes and high-quality (mixtures only), W1 and W1 / baseline. A value
/// (one seed's), a median or a range "min-max" each fits its column.
struct Cells {
  std::string modes, high_quality, w1, w1_over_baseline;
};

std::string row(const Cells& c, bool mixture) {
  std::string text = mixture ? fmt::format("{:>8}  {:>11}  ", c.modes, c.high_quality) : std::string();
  return text + fmt::format("{:>13}  {:>11}", c.w1, c.w1_over_baseline);
}

Cells cells_of(const GeneratorMetrics& m) {
  Cells c;
  if (m.modes_covered) {
    c.modes = fmt::format("{:g}/{:g}", *m.modes_covered, *m.modes);
    c.high_quality = fmt::format("{:.3f}", *m.high_quality_fraction);
  }
  c.w1 = fmt::format("{:.4f}", m.w1);
  c.w1_over_baseline = fmt::format("{:.2f}x", m.w1_over_baseline);
  return c;
}

/// The median (range = false) or the range of each column over the runs.
template <class Pick>
Cells spread_cells(const std::vector<const SeedResult*>& runs, Pick pick, bool range) {
  const auto cell = [&](const Spread& s, const char* format) {
    const std::string min = fmt::format(fmt::runtime(format), s.min), max = fmt::format(fmt::runtime(format), s.max);
    return !range ? fmt::format(fmt::runtime(format), s.median) : min == max ? min : min + "-" + max;
  };
  const GeneratorMetrics& first = pick(*runs.front());
  Cells c;
  if (first.modes_covered) {
    c.modes = cell(spread_over(runs, [&](const SeedResult& r) { return *pick(r).modes_covered; }), "{:g}") +
              fmt::format("/{:g}", *first.modes);
    c.high_quality = cell(spread_over(runs, [&](const SeedResult& r) { return *pick(r).high_quality_fraction; }), "{:.3f}");
  }
  c.w1 = cell(spread_over(runs, [&](const SeedResult& r) { return pick(r).w1; }), "{:.4f}");
  c.w1_over_baseline = cell(spread_over(runs, [&](const SeedResult& r) { return pick(r).w1_over_baseline; }), "{:.2f}") + "x";
  return c;
}

/// "generator 8/8, hq 0.185, W1 0.2231 (2.85x)" for the progress lines.
std::string describe(const GeneratorMetrics& m) {
  std::string text;
  if (m.modes_covered)
    text = fmt::format("{:g}/{:g} modes, hq {:.3f}, ", *m.modes_covered, *m.modes, *m.high_quality_fraction);
  return text + fmt::format("W1 {:.4f} ({:.2f}x baseline)", m.w1, m.w1_over_baseline);
}

}  // namespace

std::vector<std::uint64_t> parse_seed_list(std::string_view text) {
  if (text.empty()) throw SeedListError("the list is empty (expected seeds like 1-10 or 1,4,7)");
  std::vector<std::uint64_t> seeds;
  std::set<std::uint64_t> seen;
  const auto add = [&](std::uint64_t seed) {
    if (!seen.insert(seed).second) throw SeedListError(fmt::format("seed {} is listed twice", seed));
    if (seeds.size() == max_seed_count)
      throw SeedListError(fmt::format("more than {} seeds", max_seed_count));
    seeds.push_back(seed);
  };
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view item = text.substr(start, comma - start);
    if (item.empty()) throw SeedListError("an empty item between commas (expected seeds like 1-10 or 1,4,7)");
    if (const std::size_t dash = item.find('-'); dash != std::string_view::npos) {
      const std::uint64_t first = parse_unsigned(item.substr(0, dash), item);
      const std::uint64_t last = parse_unsigned(item.substr(dash + 1), item);
      if (last < first) throw SeedListError(fmt::format("the range {} runs backwards", gantry::detail::quoted(item)));
      if (last - first >= max_seed_count) throw SeedListError(fmt::format("more than {} seeds", max_seed_count));
      for (std::uint64_t seed = first;; ++seed) {
        add(seed);
        if (seed == last) break;
      }
    } else {
      add(parse_unsigned(item, item));
    }
    start = comma + 1;
  }
  return seeds;
}

std::string format_seed_list(const std::vector<std::uint64_t>& seeds) {
  std::string text;
  for (std::size_t i = 0; i < seeds.size();) {
    std::size_t j = i;
    while (j + 1 < seeds.size() && seeds[j + 1] == seeds[j] + 1) ++j;
    if (!text.empty()) text += ',';
    text += j > i ? fmt::format("{}-{}", seeds[i], seeds[j]) : fmt::format("{}", seeds[i]);
    i = j + 1;
  }
  return text;
}

int run_seeds(const SeedsRun& run) {
  const auto wall_start = std::chrono::steady_clock::now();
  std::error_code error;
  fs::create_directories(run.out, error);
  if (error || !fs::is_directory(run.out))
    throw gantry::IoError(gantry::detail::message("cannot create the output directory ",
                                                  gantry::detail::quoted(run.out, 4096), ": ",
                                                  error ? error.message() : "not a directory"));

  std::string command = run.environment.empty() ? "toy2d" : run.environment + " toy2d";
  for (const std::string& a : run.arguments) command += " " + quote_argument(a);
  command += " --seed <k> --out " + quote_argument((fs::path(run.out) / "seed-").string()) + "<k>";
  fmt::print(stderr, "toy2d: seeds {} ({} runs, {} at a time), each: {}\n", format_seed_list(run.seeds),
             run.seeds.size(), run.jobs, command);

  std::vector<SeedResult> results(run.seeds.size());
  std::vector<Child> running;
  std::size_t next = 0, failures = 0;
  const auto finish = [&](const Child& child, int status) {
    SeedResult& r = results[child.index];
    r.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - child.start).count();
    r.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    const std::string directory = (fs::path(run.out) / r.directory).string();
    if (r.exit_status == 0) {
      try {
        read_summary(r, (fs::path(directory) / "summary.json").string());
      } catch (const gantry::Error& e) {
        r.exit_status = -1;
        fmt::print(stderr, "toy2d: seed {}: {}\n", r.seed, e.what());
      }
    }
    if (r.exit_status != 0) {
      ++failures;
      fmt::print(stderr, "toy2d: seed {} failed ({}); its output: {}\n", r.seed,
                 WIFSIGNALED(status) ? fmt::format("signal {}", WTERMSIG(status))
                                     : fmt::format("exit status {}", r.exit_status),
                 (fs::path(directory) / "toy2d.log").string());
      return;
    }
    fmt::print(stderr, "toy2d: seed {}: generator {}{}; {} of training, {:.1f} it/s\n", r.seed, describe(r.raw),
               r.ema ? "; EMA " + describe(*r.ema) : std::string(), format_seconds(r.train_seconds),
               r.iterations_per_second);
  };

  while (next < run.seeds.size() || !running.empty()) {
    while (next < run.seeds.size() && running.size() < static_cast<std::size_t>(run.jobs)) {
      SeedResult& r = results[next];
      r.seed = run.seeds[next];
      r.directory = fmt::format("seed-{}", r.seed);
      const fs::path directory = fs::path(run.out) / r.directory;
      // A seed that cannot start fails alone (its exit_status stays -1): throwing here would orphan the children
      // already running and lose the summary of the seeds that finish.
      std::string why_not_started;
      fs::create_directories(directory, error);
      if (error) {
        why_not_started = gantry::detail::message("cannot create ", gantry::detail::quoted(directory.string(), 4096),
                                                  ": ", error.message());
      } else {
        std::vector<std::string> arguments = run.arguments;
        arguments.insert(arguments.end(), {"--seed", std::to_string(r.seed), "--out", directory.string()});
        try {
          running.push_back({spawn(run.executable, arguments, (directory / "toy2d.log").string()), next,
                             std::chrono::steady_clock::now()});
        } catch (const gantry::Error& e) {
          why_not_started = e.what();
        }
      }
      if (!why_not_started.empty()) {
        ++failures;
        fmt::print(stderr, "toy2d: seed {} did not start: {}\n", r.seed, why_not_started);
      }
      ++next;
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      throw gantry::IoError(gantry::detail::message("waitpid: ", std::strerror(errno)));
    }
    const auto child = std::find_if(running.begin(), running.end(), [&](const Child& c) { return c.pid == pid; });
    if (child == running.end()) continue;
    finish(*child, status);
    running.erase(child);
  }
  const double wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  std::vector<const SeedResult*> done;
  for (const SeedResult& r : results)
    if (r.exit_status == 0) done.push_back(&r);
  const auto raw = [](const SeedResult& r) -> const GeneratorMetrics& { return r.raw; };
  const auto ema = [](const SeedResult& r) -> const GeneratorMetrics& { return *r.ema; };
  const bool with_ema = !done.empty() && done.front()->ema.has_value();

  io::JsonWriter json;
  json.begin_object();
  json.field("program", "toy2d").field("mode", "seeds");
  json.key("seeds").value(run.seeds);
  json.field("seed_list", format_seed_list(run.seeds)).field("jobs", run.jobs).field("command", command);
  json.field("wall_seconds", wall_seconds);
  if (!done.empty()) json.field("reported", with_ema ? "ema" : "raw");  // as each run's metrics.reported
  if (!done.empty()) {
    json.field("preset", done.front()->preset).field("dataset", done.front()->dataset);
    json.field("iterations", done.front()->iterations);
    json.key("settings");
    write_value(json, done.front()->settings);  // the first seed's; only "seed" differs between the runs
  }
  json.key("runs").begin_array();
  for (const SeedResult& r : results) {
    json.begin_object().field("seed", r.seed).field("directory", r.directory).field("exit_status", r.exit_status);
    json.field("wall_seconds", r.wall_seconds);
    if (r.exit_status == 0) {
      json.field("seconds", r.train_seconds).field("total_seconds", r.total_seconds);
      json.field("iterations_per_second", r.iterations_per_second).field("threads", r.threads);
      json.field("real_baseline_w1", r.real_baseline_w1);
      json.key("raw");
      write_generator(json, r.raw);
      json.key("ema");
      if (r.ema) write_generator(json, *r.ema);
      else json.null();
    }
    json.end_object();
  }
  json.end_array();
  json.key("failed_seeds").begin_array();
  for (const SeedResult& r : results)
    if (r.exit_status != 0) json.value(r.seed);
  json.end_array();
  json.key("spread");
  if (done.empty()) {
    json.null();
  } else {
    json.begin_object().field("seeds", done.size());
    json.key("raw");
    write_generator_spread(json, done, raw);
    json.key("ema");
    if (with_ema) write_generator_spread(json, done, ema);
    else json.null();
    write_spread(json, "real_baseline_w1", spread_over(done, [](const SeedResult& r) { return r.real_baseline_w1; }));
    write_spread(json, "seconds", spread_over(done, [](const SeedResult& r) { return r.train_seconds; }));
    write_spread(json, "iterations_per_second",
                 spread_over(done, [](const SeedResult& r) { return r.iterations_per_second; }));
    json.end_object();
  }
  json.end_object();
  json.save((fs::path(run.out) / "summary.json").string());

  // The table: a row per seed, then the median and the range (min-max) of every column.
  if (!done.empty()) {
    const SeedResult& first = *done.front();
    fmt::print("{} on {}, {:g} iterations, seeds {}: {} of {} runs, {} at a time, {:g} thread(s) each, {} in all\n",
               first.preset, first.dataset, first.iterations, format_seed_list(run.seeds), done.size(),
               run.seeds.size(), run.jobs, first.threads, format_seconds(wall_seconds));
    const bool mixture = first.raw.modes_covered.has_value();
    const Cells header{"modes", "high-qual.", "W1", "W1/baseline"};
    const std::string ema_title = with_ema ? fmt::format("EMA generator (decay {:g}), reported", first.ema_decay) : "";
    const std::size_t width = row(header, mixture).size();
    if (with_ema) fmt::print("  {:>8}  {:<{}}  |  {}\n", "", "generator", width, ema_title);
    else fmt::print("  {:>8}  generator\n", "");
    fmt::print("  {:>8}  {}{}  {:>8}  {:>6}\n", "seed", row(header, mixture),
               with_ema ? "  |  " + row(header, mixture) : std::string(), "train s", "it/s");
    for (const SeedResult* r : done)
      fmt::print("  {:>8}  {}{}  {:8.1f}  {:6.2f}\n", r->seed, row(cells_of(r->raw), mixture),
                 with_ema ? "  |  " + row(cells_of(*r->ema), mixture) : std::string(), r->train_seconds,
                 r->iterations_per_second);
    for (const bool range : {false, true})
      fmt::print("  {:>8}  {}{}\n", range ? "range" : "median", row(spread_cells(done, raw, range), mixture),
                 with_ema ? "  |  " + row(spread_cells(done, ema, range), mixture) : std::string());
    if (mixture) {
      const auto covering = [&](auto pick) {
        std::size_t all = 0;
        for (const SeedResult* r : done) all += *pick(*r).modes_covered == *pick(*r).modes ? 1 : 0;
        return all;
      };
      fmt::print("  all {:g} modes covered on {} of {} seeds by the generator{}\n", *first.raw.modes, covering(raw),
                 done.size(), with_ema ? fmt::format(", on {} of {} by the EMA generator", covering(ema), done.size())
                                       : std::string());
    }
  }
  fmt::print("wrote {} and a directory per seed\n", (fs::path(run.out) / "summary.json").string());
  if (failures > 0) {
    fmt::print(stderr, "toy2d: {} of {} seeds failed\n", failures, run.seeds.size());
    return 1;
  }
  return 0;
}

}  // namespace toy2d
