// SPDX-License-Identifier: MIT
// The callbacks the trainer ships: the CSV log (header, rows, "nan", errors), the EMA generator (the formula by
// hand), early stopping through a callback, and the progress bar's plain and terminal output.

#include <gantry/gantry.hpp>
#include <gantry/train/csv_logger.hpp>
#include <gantry/train/ema.hpp>
#include <gantry/train/progress_bar.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "catch.hpp"

using gantry::Index;
using gantry::Rng;
using gantry::Vector;
using gantry::test::contains;
namespace nn = gantry::nn;
namespace optim = gantry::optim;
namespace train = gantry::train;
namespace data = gantry::data;

namespace {

template <class Scalar, class Policy = gantry::WganGp>
auto tiny_trainer(Policy policy = {}, std::uint64_t seed = 3) {
  Rng rng(seed);
  nn::Mlp<Scalar> generator({2, 8, 2}, nn::Activation::relu()), critic({2, 8, 1}, nn::Activation::relu());
  generator.initialize(nn::InitScheme::torch_default, rng);
  critic.initialize(nn::InitScheme::torch_default, rng);
  optim::AdamOptions adam;
  adam.learning_rate = 1e-2;  // large, so that every step visibly moves the parameters
  train::TrainerOptions options;
  options.batch_size = 16;
  options.n_critic = 2;
  options.seed = seed;
  return train::make_trainer(std::move(policy), generator, critic, data::EightGaussians<Scalar>(),
                             data::GaussianNoise<Scalar>(2), optim::Adam<Scalar>(adam), optim::Adam<Scalar>(adam),
                             options);
}

/// A file name in the temporary directory that no other test process uses; removed by the destructor.
struct TemporaryPath {
  std::filesystem::path path;
  explicit TemporaryPath(const std::string& stem) {
    static int counter = 0;
    path = std::filesystem::temp_directory_path() /
           (stem + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".csv");
  }
  ~TemporaryPath() {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
};

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<double> parse_row(const std::string& line) {
  std::vector<double> values;
  std::istringstream fields(line);
  for (std::string field; std::getline(fields, field, ',');) {
    std::size_t used = 0;
    values.push_back(std::stod(field, &used));
    REQUIRE(used == field.size());
  }
  return values;
}

/// Everything written to a FILE*, from its start.
std::string contents(std::FILE* file) {
  std::fflush(file);
  std::rewind(file);
  std::string text;
  char buffer[512];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;) text.append(buffer, n);
  return text;
}

Index count_of(const std::string& text, const std::string& what) {
  Index n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

struct StopAt {
  Index iteration;
  Index ends_seen = 0;
  template <class Trainer, class Stats>
  bool on_step_end(Trainer&, const Stats& stats) {
    return stats.iteration >= iteration;
  }
  template <class Trainer>
  void on_train_end(Trainer&) {
    ++ends_seen;
  }
};

/// Records the generator's parameters at the start and after every iteration.
template <class Scalar>
struct Recorder {
  std::vector<Vector<Scalar>> seen;
  template <class Trainer>
  void on_train_begin(Trainer& t) {
    seen.push_back(t.generator().parameters());
  }
  template <class Trainer, class Stats>
  void on_step_end(Trainer& t, const Stats&) {
    seen.push_back(t.generator().parameters());
  }
};

/// The only member of a trainer the progress bar reads, so its output can be driven with exact times.
struct FakeTrainer {
  Index iteration() const { return 0; }
};

train::StepStats<double> fake_stats(Index iteration, Index total, double seconds_per_iteration) {
  train::StepStats<double> stats;
  stats.iteration = iteration;
  stats.total_iterations = total;
  stats.seconds = static_cast<double>(iteration) * seconds_per_iteration;
  stats.critic_loss = -0.25;
  stats.generator_loss = 0.5;
  stats.penalty = 0.125;
  stats.wasserstein_estimate = 0.75;
  stats.estimates_wasserstein = true;
  return stats;
}

}  // namespace

TEMPLATE_TEST_CASE("CsvLogger writes the header and one parsable row per iteration", "[train][callbacks]", float,
                   double) {
  TemporaryPath file("gantry_csv_logger");
  auto trainer = tiny_trainer<TestType>();
  {
    train::CsvLogger logger(file.path.string());
    trainer.fit(7, logger);
    CHECK(logger.rows() == 7);
  }
  const std::vector<std::string> lines = read_lines(file.path);
  REQUIRE(lines.size() == 8);
  CHECK(lines[0] ==
        "iteration,seconds,critic_loss,generator_loss,penalty,consensus,wasserstein_estimate,mean_gradient_norm,"
        "max_gradient_norm");
  double previous_seconds = 0.0;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::vector<double> row = parse_row(lines[i]);
    REQUIRE(row.size() == 9);
    CHECK(row[0] == static_cast<double>(i));
    CHECK(row[1] >= previous_seconds);
    previous_seconds = row[1];
    for (std::size_t k = 2; k < row.size(); ++k) CHECK(std::isfinite(row[k]));  // WGAN-GP fills every column
    CHECK(row[4] > 0.0);  // the penalty
    CHECK(row[5] == 0.0);  // no consensus term
  }
}

TEST_CASE("CsvLogger logs every k-th iteration, writes NaN as nan and continues across fit calls",
          "[train][callbacks]") {
  TemporaryPath file("gantry_csv_logger_every");
  auto trainer = tiny_trainer<double>(gantry::Vanilla{});  // no penalty: the gradient norms are NaN
  {
    train::CsvLoggerOptions options;
    options.every = 3;
    train::CsvLogger logger(file.path.string(), options);
    trainer.fit(7, logger);  // rows at 3 and 6
    trainer.fit(3, logger);  // iterations 8..10: a row at 9
    CHECK(logger.rows() == 3);
  }
  const std::vector<std::string> lines = read_lines(file.path);
  REQUIRE(lines.size() == 4);
  const std::vector<double> first = parse_row(lines[1]), second = parse_row(lines[2]), third = parse_row(lines[3]);
  CHECK(first[0] == 3.0);
  CHECK(second[0] == 6.0);
  CHECK(third[0] == 9.0);
  CHECK(third[1] >= second[1]);  // seconds keep counting in the second fit
  CHECK_THAT(lines[1], contains(",nan,nan"));
  CHECK(lines[1].find("-nan") == std::string::npos);
  CHECK(std::isnan(first[7]));
  CHECK(std::isfinite(first[2]));
}

TEST_CASE("CsvLogger names the path it cannot open and validates its options", "[train][callbacks]") {
  const std::string path = "/nonexistent-gantry-directory/log.csv";
  try {
    train::CsvLogger logger(path);
    FAIL("no IoError");
  } catch (const gantry::IoError& e) {
    CHECK_THAT(e.what(), contains(path));
    CHECK_THAT(e.what(), contains("CsvLogger"));
  }
  TemporaryPath file("gantry_csv_logger_options");
  train::CsvLoggerOptions options;
  options.every = 0;
  try {
    train::CsvLogger logger(file.path.string(), options);
    FAIL("no OptionError");
  } catch (const gantry::OptionError& e) {
    CHECK_THAT(e.what(), contains("every"));
  }
}

TEMPLATE_TEST_CASE("EmaGenerator equals the moving average applied by hand over three steps", "[train][callbacks]",
                   float, double) {
  using Scalar = TestType;
  auto trainer = tiny_trainer<Scalar>();
  const double decay = 0.75;
  train::EmaGenerator<Scalar> ema(decay);

  Recorder<Scalar> recorder;
  trainer.fit(3, ema, recorder);
  REQUIRE(recorder.seen.size() == 4);

  Vector<double> expected = recorder.seen[0].template cast<double>();
  for (std::size_t k = 1; k <= 3; ++k) expected = decay * expected + (1.0 - decay) * recorder.seen[k].template cast<double>();
  const double tolerance = std::is_same_v<Scalar, float> ? 1e-5 : 1e-12;
  const Vector<double> got = ema.parameters().template cast<double>();
  CHECK((got - expected).cwiseAbs().maxCoeff() <= tolerance * (1.0 + expected.cwiseAbs().maxCoeff()));
  CHECK(ema.updates() == 3);
  // The average differs from the last iterate, and its network is usable.
  CHECK((got - recorder.seen[3].template cast<double>()).norm() > 0.0);
  CHECK(ema.generator().parameter_count() == trainer.generator().parameter_count());
  CHECK(ema.generator().parameters() == ema.parameters());

  // A later fit keeps averaging from where it was instead of restarting from the generator.
  trainer.fit(1, ema);
  CHECK(ema.updates() == 4);
  CHECK(ema.parameters() != trainer.generator().parameters());
}

TEST_CASE("EmaGenerator validates its decay and refuses to be read before it has an average", "[train][callbacks]") {
  for (const double bad : {1.0, -0.1, 1.5, std::nan("")}) {
    try {
      train::EmaGenerator<double> ema(bad);
      FAIL("no OptionError for decay " << bad);
    } catch (const gantry::OptionError& e) {
      CHECK_THAT(e.what(), contains("decay"));
    }
  }
  train::EmaGenerator<double> zero(0.0);  // decay 0: the average is the last iterate
  train::EmaGenerator<double> fresh(0.5);
  CHECK_FALSE(fresh.initialized());
  CHECK_THROWS_AS(fresh.generator(), gantry::OptionError);
  CHECK_THROWS_AS(fresh.parameters(), gantry::OptionError);

  nn::Mlp<double> g({2, 3, 2});
  g.parameters().setConstant(1.0);
  zero.update(g);  // first use initialises
  g.parameters().setConstant(3.0);
  zero.update(g);
  CHECK(zero.parameters() == g.parameters());
  fresh.update(g);
  g.parameters().setConstant(5.0);
  fresh.update(g);
  CHECK(fresh.parameters().cwiseAbs().minCoeff() == 4.0);
  CHECK(fresh.parameters().cwiseAbs().maxCoeff() == 4.0);
  CHECK_THROWS_AS(fresh.update(nn::Mlp<double>({2, 4, 2})), gantry::ShapeError);
}

TEST_CASE("a callback returning true stops fit early, and the other callbacks still see the end", "[train][callbacks]") {
  TemporaryPath file("gantry_csv_logger_stop");
  auto trainer = tiny_trainer<double>();
  StopAt stop{5};
  train::CsvLogger logger(file.path.string());
  const train::StepStats<double> last = trainer.fit(100, stop, logger);
  CHECK(trainer.iteration() == 5);
  CHECK(last.iteration == 5);
  CHECK(stop.ends_seen == 1);
  CHECK(logger.rows() == 5);
  CHECK(read_lines(file.path).size() == 6);  // flushed at the end of training
}

TEST_CASE("ProgressBar writes a few plain lines with rate and ETA when the stream is not a terminal",
          "[train][callbacks]") {
  std::FILE* file = std::tmpfile();
  REQUIRE(file != nullptr);
  train::ProgressBarOptions options;
  options.stream = file;
  options.label = "wgan-gp";
  train::ProgressBar bar(options);
  FakeTrainer trainer;
  bar.on_train_begin(trainer);
  for (Index i = 1; i <= 100; ++i) bar.on_step_end(trainer, fake_stats(i, 100, 0.5));  // 2 iterations per second
  bar.on_train_end(trainer);
  const std::string text = contents(file);
  std::fclose(file);

  CHECK(text.find('\r') == std::string::npos);
  CHECK(count_of(text, "\n") == 10);  // every 10% of the run
  CHECK(count_of(text, "wgan-gp iteration ") == 10);
  CHECK_THAT(text, contains("wgan-gp iteration 50/100 (50%)  2.0 it/s  elapsed 25s  ETA 25s  critic -0.25  "
                            "generator 0.5  penalty 0.125  wasserstein 0.75\n"));
  CHECK_THAT(text, contains("iteration 100/100 (100%)"));
  CHECK_THAT(text, contains("ETA 0s"));
}

TEST_CASE("ProgressBar's plain interval is an option, and a run stopped early still gets its last line",
          "[train][callbacks]") {
  std::FILE* file = std::tmpfile();
  REQUIRE(file != nullptr);
  train::ProgressBarOptions options;
  options.stream = file;
  options.every = 25;
  train::ProgressBar bar(options);
  FakeTrainer trainer;
  bar.on_train_begin(trainer);
  for (Index i = 1; i <= 60; ++i) bar.on_step_end(trainer, fake_stats(i, 1000, 0.01));  // stopped at 60 of 1000
  bar.on_train_end(trainer);
  const std::string text = contents(file);
  std::fclose(file);
  CHECK(count_of(text, "\n") == 3);  // 25, 50 and the last, 60
  CHECK_THAT(text, contains("iteration 25/1000"));
  CHECK_THAT(text, contains("iteration 60/1000 (6%)  100 it/s  elapsed 1s  ETA 9s"));

  options.every = -1;
  CHECK_THROWS_AS(train::ProgressBar(options), gantry::OptionError);
}

TEST_CASE("ProgressBar in terminal style redraws one line with a bar and ends it with a newline", "[train][callbacks]") {
  std::FILE* file = std::tmpfile();
  REQUIRE(file != nullptr);
  train::ProgressBarOptions options;
  options.stream = file;
  options.style = train::ProgressStyle::terminal;
  options.bar_width = 10;
  options.refresh_seconds = 1.0;  // at 0.25 s per iteration: a redraw every 4 iterations
  train::ProgressBar bar(options);
  FakeTrainer trainer;
  bar.on_train_begin(trainer);
  for (Index i = 1; i <= 20; ++i) bar.on_step_end(trainer, fake_stats(i, 20, 0.25));
  bar.on_train_end(trainer);
  const std::string text = contents(file);
  std::fclose(file);
  CHECK(count_of(text, "\n") == 1);
  CHECK(text.back() == '\n');
  CHECK(count_of(text, "\r") >= 5);
  CHECK(count_of(text, "\r") <= 7);
  CHECK_THAT(text, contains("\r[######....] 13/20  65%  4.0 it/s  ETA 2s  D -0.25  G 0.5  gp 0.125  W 0.75"));
  CHECK_THAT(text, contains("\r[##########] 20/20 100%"));
}

TEST_CASE("ProgressBar runs with the real trainer", "[train][callbacks]") {
  std::FILE* file = std::tmpfile();
  REQUIRE(file != nullptr);
  train::ProgressBarOptions options;
  options.stream = file;
  options.every = 2;
  auto trainer = tiny_trainer<float>();
  trainer.fit(4, train::ProgressBar(options));
  const std::string text = contents(file);
  std::fclose(file);
  CHECK(count_of(text, "\n") == 2);
  CHECK_THAT(text, contains("iteration 4/4 (100%)"));
  CHECK_THAT(text, contains("wasserstein"));
}
