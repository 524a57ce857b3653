// SPDX-License-Identifier: MIT
// SpectrumLogger: records at the right iterations, the same eigenvalues an independent GameJacobian gives at the
// trainer's networks, CSV and JSON that read back, training left exactly as without it, and its option errors.

#include <gantry/gantry.hpp>
#include <gantry/io/json.hpp>
#include <gantry/train/spectrum_logger.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "catch.hpp"

using gantry::Index;
namespace data = gantry::data;
namespace loss = gantry::loss;
namespace metrics = gantry::metrics;
namespace nn = gantry::nn;
namespace optim = gantry::optim;
namespace train = gantry::train;

namespace {

template <class Policy>
auto small_trainer(Policy policy) {
  gantry::Rng rng(5);
  nn::Mlp<double> generator({2, 6, 2}, nn::Activation::tanh()), critic({2, 6, 1}, nn::Activation::tanh());
  generator.initialize(nn::InitScheme::torch_default, rng);
  critic.initialize(nn::InitScheme::torch_default, rng);
  optim::RmspropOptions rmsprop;
  rmsprop.learning_rate = 1e-2;
  train::TrainerOptions options;
  options.schedule = train::Schedule::simultaneous;
  options.n_critic = 1;
  options.batch_size = 12;
  options.seed = 8;
  return train::make_trainer(std::move(policy), generator, critic, data::EightGaussians<double>(),
                             data::GaussianNoise<double>(2), optim::Rmsprop<double>(rmsprop),
                             optim::Rmsprop<double>(rmsprop), options);
}

std::string temporary(const std::string& stem) {
  static int counter = 0;
  return (std::filesystem::temp_directory_path() /
          (stem + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
      .string();
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("SpectrumLogger records every k iterations what a GameJacobian gives there", "[train][spectrum_logger]") {
  const gantry::ZeroCenteredGp policy(loss::NonSaturating{}, loss::ZeroCenteredPenalty{1.0});
  auto trainer = small_trainer(policy);
  auto reference = small_trainer(policy);
  train::SpectrumLoggerOptions options;
  options.every = 3;
  options.leading_count = 4;
  options.csv_path = temporary("spectrum") + ".csv";
  options.json_path = temporary("spectrum") + ".json";
  train::SpectrumLogger logger(options);
  trainer.fit(7, logger);
  reference.fit(7);
  // Training is unaffected: the logger's batch comes from a reseeded Rng, restored afterwards.
  CHECK(trainer.generator().parameters() == reference.generator().parameters());
  CHECK(trainer.critic().parameters() == reference.critic().parameters());

  const auto& records = logger.records();
  REQUIRE(records.size() == 3);
  CHECK(records[0].iteration == 0);
  CHECK(records[1].iteration == 3);
  CHECK(records[2].iteration == 6);
  const Index n = trainer.generator().parameter_count() + trainer.critic().parameter_count();
  CHECK(records[2].parameters == n);
  REQUIRE(static_cast<Index>(records[2].full.size()) == n);
  CHECK(records[2].largest_modulus.size() == 4);
  CHECK(records[2].leading_converged);

  // The last record against a GameJacobian of the networks after iteration 6 on the logger's batch.
  auto replay = small_trainer(policy);
  replay.fit(6);
  train::Batch<double> batch;
  const gantry::Rng::State saved = replay.rng().state();
  replay.rng().reseed(options.batch_seed);
  replay.draw_batch(batch);
  replay.rng().set_state(saved);
  metrics::GameJacobian jacobian(policy, replay.generator(), replay.critic(), batch);
  const std::vector<std::complex<double>> expected = metrics::full_spectrum(jacobian);
  double worst = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) worst = std::max(worst, std::abs(expected[i] - records[2].full[i]));
  CHECK(worst < 1e-12);
  CHECK(records[2].summary.max_real == metrics::summarize_spectrum(expected).max_real);
  // The largest-modulus Ritz values are among the full spectrum's.
  for (const auto& e : records[2].largest_modulus) {
    double nearest = INFINITY;
    for (const auto& f : expected) nearest = std::min(nearest, std::abs(e - f));
    CHECK(nearest < 1e-8);
  }

  // CSV: header, then (4 + 4 + n) rows per record.
  std::istringstream csv(read_text(options.csv_path));
  std::vector<std::string> lines;
  for (std::string line; std::getline(csv, line);) lines.push_back(line);
  REQUIRE(!lines.empty());
  CHECK(lines[0] == "iteration,set,rank,real,imag");
  CHECK(static_cast<Index>(lines.size()) == 1 + 3 * (8 + n));
  CHECK(lines.back().rfind("6,full,", 0) == 0);
  // JSON: three records with the summary numbers.
  const gantry::io::JsonValue json = gantry::io::parse_json(read_text(options.json_path));
  const auto& list = json.find("records")->as_array();
  REQUIRE(list.size() == 3);
  CHECK(list[2].find("iteration")->as_double() == 6);
  CHECK(list[2].find("max_real")->as_double() == records[2].summary.max_real);
  CHECK(static_cast<Index>(list[2].find("full")->as_array().size()) == n);
  std::filesystem::remove(options.csv_path);
  std::filesystem::remove(options.json_path);
}

TEST_CASE("SpectrumLogger: large games get the leading eigenvalues only, and bad options name the field",
          "[train][spectrum_logger]") {
  auto trainer = small_trainer(gantry::NonSaturating{});
  train::SpectrumLoggerOptions options;
  options.every = 2;
  options.full_max_parameters = 10;  // smaller than the game: no full spectrum
  options.json_path = temporary("spectrum") + ".json";
  train::SpectrumLogger logger(options);
  trainer.fit(2, logger);
  REQUIRE(logger.records().size() == 2);
  CHECK(logger.records()[1].full.empty());
  CHECK(logger.records()[1].largest_real.size() == 6);
  std::filesystem::remove(options.json_path);

  train::SpectrumLoggerOptions bad;
  bad.json_path = "x.json";
  bad.every = 0;
  REQUIRE_THROWS_WITH(train::SpectrumLogger(bad), gantry::test::contains("every"));
  bad.every = 1;
  bad.full_every = 0;
  REQUIRE_THROWS_WITH(train::SpectrumLogger(bad), gantry::test::contains("full_every"));
  bad.full_every = 1;
  bad.json_path.clear();
  REQUIRE_THROWS_WITH(train::SpectrumLogger(bad), gantry::test::contains("both empty"));
  bad.json_path = "/nonexistent-directory/x.json";
  train::SpectrumLogger unwritable(bad);
  REQUIRE_THROWS_AS(trainer.fit(1, unwritable), gantry::IoError);
}
