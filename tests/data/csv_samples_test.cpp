// SPDX-License-Identifier: MIT
// The CSV reader on temporary files: good files in several dialects, and every error naming the file,
// the line and the column. Then CsvSampler drawing from the loaded points.

#include "gantry/data/csv_samples.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "catch.hpp"
#include "gantry/data/sampler.hpp"

namespace {

using gantry::Index;
using gantry::Matrix;

// A file in the temp directory holding `content`, removed at the end of the scope.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    static std::atomic<int> counter{0};
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path_ = std::filesystem::temp_directory_path() /
            ("gantry_csv_test_" + std::to_string(stamp) + "_" + std::to_string(counter++) + ".csv");
    std::ofstream out(path_, std::ios::binary);
    out << content;
  }
  ~TempFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Loads `content` expecting a DataError whose message names the file and holds every one of `parts`.
template <class Scalar = double>
void require_data_error(const std::string& content, const std::vector<std::string>& parts) {
  const TempFile file(content);
  try {
    gantry::data::load_csv_samples<Scalar>(file.path());
    FAIL("no DataError for:\n" << content);
  } catch (const gantry::DataError& error) {
    const std::string message = error.what();
    INFO(message);
    CHECK(contains(message, "load_csv_samples"));
    CHECK(contains(message, file.path().string()));
    for (const std::string& part : parts) CHECK(contains(message, part));
  }
}

}  // namespace

TEMPLATE_TEST_CASE("load_csv_samples reads one point per row into one sample per column", "[data][csv]", float,
                   double) {
  SECTION("header, spaces, CRLF line ends, signs, exponents, blank lines") {
    const TempFile file("x, y ,z\r\n1, 2.5, -3\r\n\r\n +4 ,5e-1,  6.25E1 \r\n-0.125,0,7\r\n\n");
    const Matrix<TestType> samples = gantry::data::load_csv_samples<TestType>(file.path());
    REQUIRE(samples.rows() == 3);
    REQUIRE(samples.cols() == 3);
    Matrix<TestType> expected(3, 3);
    expected << TestType(1), TestType(4), TestType(-0.125),  //
        TestType(2.5), TestType(0.5), TestType(0),           //
        TestType(-3), TestType(62.5), TestType(7);
    CHECK(samples == expected);
  }
  SECTION("no header, one column, no final newline") {
    const TempFile file("1\n2\n3");
    const Matrix<TestType> samples = gantry::data::load_csv_samples<TestType>(file.path());
    REQUIRE(samples.rows() == 1);
    REQUIRE(samples.cols() == 3);
    CHECK(samples(0, 2) == TestType(3));
  }
  SECTION("a UTF-8 byte-order mark before the header") {
    const TempFile file("\xEF\xBB\xBFx,y\n1,2\n");
    const Matrix<TestType> samples = gantry::data::load_csv_samples<TestType>(file.path());
    REQUIRE(samples.rows() == 2);
    REQUIRE(samples.cols() == 1);
    CHECK(samples(1, 0) == TestType(2));
  }
}

TEST_CASE("load_csv_samples: a missing or unreadable file is an IoError naming it", "[data][csv]") {
  const std::filesystem::path missing = std::filesystem::temp_directory_path() / "gantry_no_such_file_8b1f.csv";
  try {
    gantry::data::load_csv_samples<double>(missing);
    FAIL("no IoError");
  } catch (const gantry::IoError& error) {
    CHECK(contains(error.what(), missing.string()));
    CHECK(contains(error.what(), "cannot open"));
  }
  try {
    gantry::data::load_csv_samples<double>(std::filesystem::temp_directory_path());
    FAIL("no IoError");
  } catch (const gantry::IoError& error) {
    CHECK(contains(error.what(), "is a directory"));
  }
}

TEST_CASE("load_csv_samples: each malformed file is a DataError naming file, line and column", "[data][csv]") {
  SECTION("empty file") { require_data_error("", {"line 1, column 1", "empty"}); }
  SECTION("header without data rows") { require_data_error("x,y\n\n", {"line 3, column 1", "no data rows"}); }
  SECTION("a row longer than the first") {
    require_data_error("1,2\n3,4\n5,6,7\n", {"line 3, column 3", "3 columns, expected 2", "as on line 1"});
  }
  SECTION("a row shorter than the header") {
    require_data_error("a,b,c\n1,2,3\n4,5\n", {"line 3, column 3", "2 columns, expected 3"});
  }
  SECTION("text in a number field") {
    require_data_error("1,2\n3,abc\n", {"line 2, column 2", "'abc' is not a number", "only the first row, line 1, may be a header"});
  }
  SECTION("a number followed by text") { require_data_error("1,2\n3,4kg\n", {"line 2, column 2", "'4kg'"}); }
  SECTION("a header after line 1") { require_data_error("1,2\nx,y\n", {"line 2, column 1", "'x'"}); }
  SECTION("a first line mixing names and numbers is data, and its text an error") {
    require_data_error("x,2\n1,2\n",
                       {"line 1, column 1", "'x' is not a number", "a header must hold names only"});
  }
  SECTION("an empty field") { require_data_error("1,2,3\n3,,4\n", {"line 2, column 2", "empty field"}); }
  SECTION("NaN") { require_data_error("1,2\n3,4\nnan,5\n", {"line 3, column 1", "not finite"}); }
  SECTION("infinity") { require_data_error("x,y\n1,-inf\n", {"line 2, column 2", "not finite"}); }
  SECTION("out of the range of double") { require_data_error("1,1e999\n", {"line 1, column 2", "out of the range"}); }
  SECTION("finite in double but not in float") {
    const TempFile file("1,1e39\n");
    CHECK(gantry::data::load_csv_samples<double>(file.path())(1, 0) == 1e39);
    require_data_error<float>("1,1e39\n", {"line 1, column 2", "overflows"});
  }
}

TEMPLATE_TEST_CASE("CsvSampler draws the loaded points uniformly with replacement", "[data][csv]", float, double) {
  Matrix<TestType> points(2, 3);
  points << TestType(0), TestType(1), TestType(2),  //
      TestType(10), TestType(11), TestType(12);
  gantry::data::CsvSampler<TestType> sampler(points);
  STATIC_REQUIRE(gantry::data::is_sampler_v<gantry::data::CsvSampler<TestType>>);
  REQUIRE(sampler.dimension() == 2);
  REQUIRE(sampler.size() == 3);

  gantry::Rng rng(17);
  Matrix<TestType> batch(2, 3000);
  sampler.sample(batch, rng);
  std::vector<int> counts(3, 0);
  for (Index j = 0; j < batch.cols(); ++j) {
    const auto index = static_cast<Index>(batch(0, j));
    REQUIRE(index >= 0);
    REQUIRE(index < 3);
    REQUIRE(batch.col(j) == points.col(index));  // whole points, never a mix of rows
    ++counts[static_cast<std::size_t>(index)];
  }
  for (const int count : counts) CHECK(std::abs(count - 1000) < 5 * 26);  // binomial std ~ 26

  gantry::Rng same(17);
  Matrix<TestType> again(2, 3000);
  sampler.sample(again, same);
  CHECK(again == batch);

  const TempFile file("a,b\n0,10\n1,11\n2,12\n");
  gantry::data::CsvSampler<TestType> from_file(file.path());
  CHECK(from_file.points() == points);

  Matrix<TestType> wrong(3, 4);
  CHECK_THROWS_AS(sampler.sample(wrong, rng), gantry::ShapeError);
  CHECK_THROWS_AS(gantry::data::CsvSampler<TestType>(Matrix<TestType>(2, 0)), gantry::ShapeError);
  Matrix<TestType> with_nan = points;
  with_nan(1, 2) = std::numeric_limits<TestType>::quiet_NaN();
  CHECK_THROWS_AS(gantry::data::CsvSampler<TestType>(with_nan), gantry::DataError);
}

TEST_CASE("load_csv_samples: a file that cannot be opened is an IoError with the OS's reason", "[data][csv]") {
  const std::filesystem::path missing = std::filesystem::temp_directory_path() / "gantry_no_such_file_8b1f.csv";
  try {
    gantry::data::load_csv_samples<double>(missing);
    FAIL("no IoError");
  } catch (const gantry::IoError& error) {
    CHECK(contains(error.what(), "cannot open '" + missing.string() + "' for reading: No such file or directory"));
  }
  const TempFile anchor("");
  const std::filesystem::path a = anchor.path().string() + ".loop_a", b = anchor.path().string() + ".loop_b";
  std::filesystem::create_symlink(b, a);
  std::filesystem::create_symlink(a, b);
  try {
    gantry::data::load_csv_samples<double>(a);
    FAIL("no IoError");
  } catch (const gantry::IoError& error) {
    CHECK(contains(error.what(), "for reading: Too many levels of symbolic links"));
  }
  std::filesystem::remove(a);
  std::filesystem::remove(b);
}

TEST_CASE("load_csv_samples: # comment lines are skipped and quoted fields are read", "[data][csv]") {
  const TempFile file(
      "# exported 2026-12-03, units: metres\n"
      "  # indented comment\n"
      "\"x\",\"y, with a comma\"\n"
      "\"1.5\",\"-2\"\n"
      "# a comment between rows\n"
      "3, \" 4e1 \"\n");
  const Matrix<double> samples = gantry::data::load_csv_samples<double>(file.path());
  REQUIRE(samples.rows() == 2);
  REQUIRE(samples.cols() == 2);
  CHECK(samples(0, 0) == 1.5);
  CHECK(samples(1, 0) == -2);
  CHECK(samples(0, 1) == 3);
  CHECK(samples(1, 1) == 40);
}

TEST_CASE("load_csv_samples: a line that is not a row of numbers is described", "[data][csv]") {
  SECTION("an unterminated quote") {
    require_data_error("1,2\n3,\"4\n", {"line 2, column 2", "a quoted field is not closed"});
  }
  SECTION("text after a closing quote") {
    require_data_error("1,2\n3,\"4\"kg\n", {"line 2, column 2", "text follows its closing quote"});
  }
  SECTION("another comment syntax") {
    require_data_error("1,2\n// note\n", {"line 2, column 2", "looks like a comment: only lines starting with #"});
  }
  SECTION("semicolons as separators") {
    require_data_error("1;2\n3;4\n", {"line 2, column 1", "'3;4' is not a number", "has ';' but no ','"});
  }
}

TEST_CASE("load_csv_samples: messages quote a short prefix of a field with control characters escaped",
          "[data][csv]") {
  const std::string huge(10 * 1024 * 1024, '9');
  const TempFile file("1,2\n3,\x1b[2J" + huge + "x\n");
  try {
    gantry::data::load_csv_samples<double>(file.path());
    FAIL("no DataError");
  } catch (const gantry::DataError& error) {
    const std::string message = error.what();
    CHECK(message.size() < 500);
    CHECK(message.find('\x1b') == std::string::npos);
    CHECK(contains(message, "line 2, column 2: '\\x1b[2J999"));
    CHECK(contains(message, "... (10485765 bytes) is not a number"));
  }
}
