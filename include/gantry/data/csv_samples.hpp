// SPDX-License-Identifier: MIT
#pragma once
/// Reading a point set from a CSV file (one point per row) and a sampler that draws from it.

#include <Eigen/Core>
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "gantry/core/check.hpp"
#include "gantry/core/error.hpp"
#include "gantry/core/rng.hpp"
#include "gantry/core/types.hpp"

namespace gantry::data {

namespace detail {

inline std::string_view trim(std::string_view text) {
  const auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
  };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

inline std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = line.find(',', start);
    const std::size_t length = comma == std::string_view::npos ? std::string_view::npos : comma - start;
    fields.push_back(trim(line.substr(start, length)));
    if (comma == std::string_view::npos) return fields;
    start = comma + 1;
  }
}

enum class FieldParse { number, empty, text, out_of_range };

// std::from_chars, unlike strtod, ignores the C locale (a "," decimal separator would otherwise
// change what "1.5" means); it rejects a leading '+', which a CSV writer may emit, so that is skipped.
inline FieldParse parse_number(std::string_view field, double& value) {
  if (field.empty()) return FieldParse::empty;
  if (field.front() == '+' && field.size() > 1 && field[1] != '-' && field[1] != '+') field.remove_prefix(1);
  const char* end = field.data() + field.size();
  const auto [stop, error] = std::from_chars(field.data(), end, value);
  if (error == std::errc::result_out_of_range && stop == end) return FieldParse::out_of_range;
  if (error != std::errc() || stop != end) return FieldParse::text;
  return FieldParse::number;
}

inline std::string csv_where(const std::filesystem::path& path, std::size_t line, std::size_t column) {
  return gantry::detail::message("gantry::data::load_csv_samples: '", path.string(), "' line ", line, ", column ",
                                 column, ": ");
}

}  // namespace detail

/// Reads a CSV file of points, one point per row, comma separated, into a (dimension x n) matrix:
/// one sample per column, the batch layout of gantry. Fields are trimmed of whitespace; blank lines are
/// skipped; line 1 may be a header of names (every field non-numeric), no other line may hold text.
/// Throws IoError when the file cannot be read and DataError (naming the file, line and column) for
/// an empty file, a row with a different number of columns than the first, text or an empty field
/// where a number belongs, and NaN, infinite or out-of-range values (also those that overflow Scalar).
template <class Scalar>
Matrix<Scalar> load_csv_samples(const std::filesystem::path& path) {
  const std::string where = "gantry::data::load_csv_samples";
  std::error_code status;
  if (std::filesystem::is_directory(path, status))
    throw IoError(gantry::detail::message(where, ": '", path.string(), "' is a directory, not a CSV file"));
  std::ifstream file(path);
  if (!file) throw IoError(gantry::detail::message(where, ": cannot open '", path.string(), "' for reading"));

  std::vector<double> values;  // row-major while reading; line 1 (header or data) fixes the number of columns
  std::size_t columns = 0;
  std::size_t first_data_line = 0;
  std::size_t rows = 0;
  std::string line;
  std::size_t line_number = 0;
  while (std::getline(file, line)) {
    ++line_number;
    // A UTF-8 byte-order mark (spreadsheet exports) would otherwise make the first name or number text.
    if (line_number == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
    if (detail::trim(line).empty()) continue;
    const std::vector<std::string_view> fields = detail::split_fields(line);

    if (line_number == 1) {
      bool all_names = true;
      for (const std::string_view field : fields) {
        double ignored = 0.0;
        if (field.empty() || detail::parse_number(field, ignored) != detail::FieldParse::text) all_names = false;
      }
      if (all_names) {
        columns = fields.size();
        first_data_line = 1;  // the header fixes the column count, as a data row would
        continue;
      }
    }
    if (columns == 0) {
      columns = fields.size();
      first_data_line = line_number;
    }
    if (fields.size() != columns) {
      const std::size_t column = std::min(fields.size(), columns) + 1;
      throw DataError(gantry::detail::message(detail::csv_where(path, line_number, column), "row has ", fields.size(),
                                              " columns, expected ", columns, " as on line ", first_data_line));
    }
    for (std::size_t c = 0; c < fields.size(); ++c) {
      double value = 0.0;
      switch (detail::parse_number(fields[c], value)) {
        case detail::FieldParse::empty:
          throw DataError(
              gantry::detail::message(detail::csv_where(path, line_number, c + 1), "empty field, expected a number"));
        case detail::FieldParse::text:
          throw DataError(gantry::detail::message(detail::csv_where(path, line_number, c + 1), "'", fields[c],
                                                  "' is not a number",
                                                  line_number == 1 ? " (a header on line 1 must hold names only)"
                                                                   : " (only line 1 may be a header of names)"));
        case detail::FieldParse::out_of_range:
          throw DataError(gantry::detail::message(detail::csv_where(path, line_number, c + 1), "'", fields[c],
                                                  "' is out of the range of double"));
        case detail::FieldParse::number:
          break;
      }
      if (!gantry::detail::finite(value))
        throw DataError(gantry::detail::message(detail::csv_where(path, line_number, c + 1), "'", fields[c],
                                                "' is not finite (NaN and infinite values are not samples)"));
      if (!gantry::detail::finite(static_cast<Scalar>(value)))
        throw DataError(gantry::detail::message(detail::csv_where(path, line_number, c + 1), "'", fields[c],
                                                "' overflows the sample scalar type (", sizeof(Scalar), " bytes)"));
      values.push_back(value);
    }
    ++rows;
  }
  if (file.bad())
    throw IoError(gantry::detail::message(where, ": reading '", path.string(), "' failed after line ", line_number));
  if (rows == 0)
    throw DataError(gantry::detail::message(where, ": '", path.string(), "' line ", line_number + 1, ", column 1: ",
                                            line_number == 0 ? "the file is empty" : "the file has no data rows",
                                            ", expected at least one row of numbers"));

  Matrix<Scalar> samples(static_cast<Index>(columns), static_cast<Index>(rows));
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < columns; ++c)
      samples(static_cast<Index>(c), static_cast<Index>(r)) = static_cast<Scalar>(values[r * columns + c]);
  return samples;
}

/// Draws points uniformly with replacement from a fixed set (the empirical distribution of a small data
/// set, the setting gantry is for).
template <class ScalarT>
class CsvSampler {
 public:
  using Scalar = ScalarT;

  /// Loads the points with load_csv_samples (same errors).
  explicit CsvSampler(const std::filesystem::path& path) : points_(load_csv_samples<Scalar>(path)) {}

  /// `points` is (dimension x n), one point per column.
  explicit CsvSampler(Matrix<Scalar> points) : points_(std::move(points)) {
    if (points_.rows() == 0 || points_.cols() == 0)
      throw ShapeError(gantry::detail::message("gantry::data::CsvSampler: points expects at least 1x1, given ",
                                               gantry::detail::shape_string(points_.rows(), points_.cols())));
    gantry::detail::check_finite("gantry::data::CsvSampler", "points", points_);
  }

  Index dimension() const { return points_.rows(); }
  Index size() const { return points_.cols(); }
  const Matrix<Scalar>& points() const { return points_; }

  void sample(Eigen::Ref<Matrix<Scalar>> out, Rng& rng) const {
    gantry::detail::check_shape("gantry::data::CsvSampler::sample", "out", out, dimension(), -1);
    const auto count = static_cast<std::uint64_t>(points_.cols());
    for (Index j = 0; j < out.cols(); ++j) out.col(j) = points_.col(static_cast<Index>(rng.below(count)));
  }

 private:
  Matrix<Scalar> points_;
};

}  // namespace gantry::data
