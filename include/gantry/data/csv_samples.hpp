// SPDX-License-Identifier: MIT
#pragma once
/// Reading a point set from a CSV file (one point per row) and a sampler that draws from it.

#include <Eigen/Core>
#include <algorithm>
#include <cerrno>
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
#include "gantry/core/quote.hpp"
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

/// One field of a row: its text (inside the quotes when quoted, trimmed) and whether it was quoted.
struct CsvField {
  std::string_view text;
  bool quoted = false;
};

/// Splits a row on commas outside double quotes (RFC 4180: a quoted field may hold commas, "" is a quote).
/// Returns false when a quote is left open or text follows a closing quote; `bad_column` then names the field.
inline bool split_fields(std::string_view line, std::vector<CsvField>& fields, std::size_t& bad_column) {
  fields.clear();
  std::size_t start = 0;
  while (true) {
    std::string_view rest = line.substr(start);
    const std::string_view leading = trim(rest);
    if (!leading.empty() && leading.front() == '"') {
      const std::size_t open = start + static_cast<std::size_t>(leading.data() - rest.data());
      std::size_t close = open + 1;
      while (true) {
        close = line.find('"', close);
        if (close == std::string_view::npos) {
          bad_column = fields.size() + 1;
          return false;
        }
        if (close + 1 < line.size() && line[close + 1] == '"') {
          close += 2;  // "" inside a quoted field
          continue;
        }
        break;
      }
      const std::size_t comma = line.find(',', close + 1);
      const std::string_view after =
          trim(line.substr(close + 1, comma == std::string_view::npos ? std::string_view::npos : comma - close - 1));
      if (!after.empty()) {
        bad_column = fields.size() + 1;
        return false;
      }
      fields.push_back({trim(line.substr(open + 1, close - open - 1)), true});
      if (comma == std::string_view::npos) return true;
      start = comma + 1;
      continue;
    }
    const std::size_t comma = line.find(',', start);
    const std::size_t length = comma == std::string_view::npos ? std::string_view::npos : comma - start;
    fields.push_back({trim(line.substr(start, length)), false});
    if (comma == std::string_view::npos) return true;
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

inline std::string csv_path(const std::filesystem::path& path) { return gantry::detail::quoted(path.string(), 4096); }

inline std::string csv_where(const std::filesystem::path& path, std::size_t line, std::size_t column) {
  return gantry::detail::message("gantry::data::load_csv_samples: ", csv_path(path), " line ", line, ", column ",
                                 column, ": ");
}

/// What a line that is not a row of numbers looks like, for the message about it.
inline std::string describe_line(std::string_view line) {
  const std::string_view text = trim(line);
  if (text.rfind("//", 0) == 0 || text.front() == ';' || text.front() == '%')
    return " (the line looks like a comment: only lines starting with # are skipped as comments)";
  if (text.find(';') != std::string_view::npos && text.find(',') == std::string_view::npos)
    return " (the line has ';' but no ',': fields must be separated by commas)";
  if (text.find('\t') != std::string_view::npos && text.find(',') == std::string_view::npos)
    return " (the line has tabs but no ',': fields must be separated by commas)";
  return "";
}

/// Why a row holds text: the line's look if it says something, else where the header may be.
inline std::string describe_text_line(std::string_view line, bool first_row, std::size_t first_data_line) {
  std::string look = describe_line(line);
  if (!look.empty()) return look;
  if (first_row) return " (a header must hold names only: this first row mixes names and numbers)";
  return gantry::detail::message(" (only the first row, line ", first_data_line, ", may be a header of names)");
}

}  // namespace detail

/// Reads a CSV file of points, one point per row, comma separated, into a (dimension x n) matrix:
/// one sample per column, the batch layout of gantry. Fields are trimmed of whitespace and may be quoted
/// ("1.5", as spreadsheets and pandas' QUOTE_ALL write them); blank lines and lines whose first non-blank
/// character is # (comments) are skipped; the first other line may be a header of names (every field
/// non-numeric), no other line may hold text.
/// Throws IoError when the file cannot be read (with the OS's reason) and DataError (naming the file, line and
/// column) for an empty file, a row with a different number of columns than the first, text or an empty field
/// where a number belongs, an unterminated quote, and NaN, infinite or out-of-range values (also those that
/// overflow Scalar). Messages quote at most a short prefix of a field, with control characters escaped.
template <class Scalar>
Matrix<Scalar> load_csv_samples(const std::filesystem::path& path) {
  const std::string where = "gantry::data::load_csv_samples";
  std::error_code status;
  if (std::filesystem::is_directory(path, status))
    throw IoError(gantry::detail::message(where, ": ", detail::csv_path(path), " is a directory, not a CSV file"));
  errno = 0;
  std::ifstream file(path);
  if (!file) {
    const int error = errno;
    throw IoError(gantry::detail::message(where, ": cannot open ", detail::csv_path(path), " for reading: ",
                                          error != 0 ? std::generic_category().message(error) : "unknown reason"));
  }

  std::vector<double> values;  // row-major while reading; the first row (header or data) fixes the column count
  std::size_t columns = 0;
  std::size_t first_data_line = 0;
  std::size_t rows = 0;
  std::string line;
  std::size_t line_number = 0;
  std::vector<detail::CsvField> fields;
  while (std::getline(file, line)) {
    ++line_number;
    // A UTF-8 byte-order mark (spreadsheet exports) would otherwise make the first name or number text.
    if (line_number == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
    const std::string_view content = detail::trim(line);
    if (content.empty() || content.front() == '#') continue;
    std::size_t bad_column = 0;
    if (!detail::split_fields(line, fields, bad_column))
      throw DataError(gantry::detail::message(detail::csv_where(path, line_number, bad_column),
                                              "a quoted field is not closed, or text follows its closing quote"));

    const bool first_row = columns == 0;
    if (first_row) {
      bool all_names = true;
      for (const detail::CsvField& field : fields) {
        double ignored = 0.0;
        if (field.text.empty() || detail::parse_number(field.text, ignored) != detail::FieldParse::text)
          all_names = false;
      }
      columns = fields.size();
      first_data_line = line_number;  // the header fixes the column count, as a data row would
      if (all_names) continue;
    }
    if (fields.size() != columns) {
      const std::size_t column = std::min(fields.size(), columns) + 1;
      throw DataError(gantry::detail::message(detail::csv_where(path, line_number, column), "row has ", fields.size(),
                                              " columns, expected ", columns, " as on line ", first_data_line,
                                              detail::describe_line(line)));
    }
    for (std::size_t c = 0; c < fields.size(); ++c) {
      const std::string_view text = fields[c].text;
      const std::string shown = gantry::detail::quoted(text);
      double value = 0.0;
      switch (detail::parse_number(text, value)) {
        case detail::FieldParse::empty:
          throw DataError(
              gantry::detail::message(detail::csv_where(path, line_number, c + 1), "empty field, expected a number"));
        case detail::FieldParse::text:
          throw DataError(gantry::detail::message(detail::csv_where(path, line_number, c + 1), shown,
                                                  " is not a number",
                                                  detail::describe_text_line(line, first_row, first_data_line)));
        case detail::FieldParse::out_of_range:
          throw DataError(gantry::detail::message(detail::csv_where(path, line_number, c + 1), shown,
                                                  " is out of the range of double"));
        case detail::FieldParse::number:
          break;
      }
      if (!gantry::detail::finite(value))
        throw DataError(gantry::detail::message(detail::csv_where(path, line_number, c + 1), shown,
                                                " is not finite (NaN and infinite values are not samples)"));
      if (!gantry::detail::finite(static_cast<Scalar>(value)))
        throw DataError(gantry::detail::message(detail::csv_where(path, line_number, c + 1), shown,
                                                " overflows the sample scalar type (", sizeof(Scalar), " bytes)"));
      values.push_back(value);
    }
    ++rows;
  }
  if (file.bad())
    throw IoError(
        gantry::detail::message(where, ": reading ", detail::csv_path(path), " failed after line ", line_number));
  if (rows == 0)
    throw DataError(
        gantry::detail::message(where, ": ", detail::csv_path(path), " line ", line_number + 1,
                                ", column 1: ", line_number == 0 ? "the file is empty" : "the file has no data rows",
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
