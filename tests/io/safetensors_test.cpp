// SPDX-License-Identifier: MIT
#include "gantry/io/safetensors.hpp"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <unistd.h>

#include "catch.hpp"
#include "support/messages.hpp"
#include "support/scratch.hpp"

namespace fs = std::filesystem;
using gantry::IoError;
using gantry::io::DType;
using gantry::io::SafetensorsFile;
using gantry::io::SafetensorsWriter;
using gantry::io::TensorView;
using namespace gantry::test;  // NOLINT(google-build-using-namespace): test helpers only

namespace {

// A file from a header and a data section, the length field computed unless given.
std::string make_file(const std::string& header, const std::string& data = {}, std::uint64_t length = UINT64_MAX) {
  if (length == UINT64_MAX) length = header.size();
  std::string bytes;
  for (int i = 0; i < 8; ++i) bytes += static_cast<char>((length >> (8 * i)) & 0xFF);
  return bytes + header + data;
}

std::string parse_error(const std::string& bytes) {
  return message_of<IoError>([&] { SafetensorsFile::parse(bytes, "bad.safetensors"); });
}

std::uint64_t header_length(const std::string& bytes) {
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  return n;
}

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (const char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// tests/io/read_safetensors.py sits next to this file; CMake compiles sources by absolute path.
std::string python_reader() {
  const std::string here = __FILE__;
  return here.substr(0, here.find_last_of('/') + 1) + "read_safetensors.py";
}

// A writer holding one tensor of each dtype, a scalar and empty tensors.
SafetensorsWriter sample_writer() {
  SafetensorsWriter writer;
  const std::vector<float> weight = {1.5f, -2.25f, 0.0f, 3.0e-8f, -0.0f, std::numeric_limits<float>::max()};
  const std::vector<double> bias = {0.1, -1.0 / 3.0, std::numeric_limits<double>::denorm_min()};
  const std::vector<std::int64_t> steps = {std::numeric_limits<std::int64_t>::min(), -1, 0,
                                           std::numeric_limits<std::int64_t>::max()};
  const std::vector<std::uint64_t> seeds = {0x0102030405060708ULL, std::numeric_limits<std::uint64_t>::max()};
  const std::vector<std::uint8_t> flags = {0, 1, 255};
  const double temperature = 0.75;
  writer.add("layer0.weight", weight.data(), {2, 3});
  writer.add("layer0.bias", bias.data(), {3});
  writer.add("step", steps.data(), {2, 1, 2});
  writer.add("rng.seed", seeds.data(), {2});
  writer.add("flags", flags.data(), {3});
  writer.add("temperature", &temperature, {});  // 0-d scalar
  writer.add("empty", static_cast<const float*>(nullptr), {0, 4});
  writer.add("empty_u8", flags.data(), {0});
  writer.set_metadata("format", "gantry");
  writer.set_metadata("note", "quote \" backslash \\ newline \n caf\xC3\xA9");
  return writer;
}

void check_sample(const SafetensorsFile& file) {
  CHECK(file.names() == std::vector<std::string>{"layer0.weight", "layer0.bias", "step", "rng.seed", "flags",
                                                 "temperature", "empty", "empty_u8"});
  CHECK(file.dtype("layer0.weight") == DType::F32);
  CHECK(file.shape("layer0.weight") == std::vector<std::int64_t>{2, 3});
  const std::vector<float> weight = file.to_vector<float>("layer0.weight");
  REQUIRE(weight.size() == 6);
  CHECK(weight[0] == 1.5f);
  CHECK(weight[1] == -2.25f);
  CHECK(weight[3] == 3.0e-8f);
  CHECK(std::signbit(weight[4]));
  CHECK(weight[5] == std::numeric_limits<float>::max());

  CHECK(file.dtype("layer0.bias") == DType::F64);
  const std::vector<double> bias = file.to_vector<double>("layer0.bias");
  CHECK(bias == std::vector<double>{0.1, -1.0 / 3.0, std::numeric_limits<double>::denorm_min()});

  CHECK(file.dtype("step") == DType::I64);
  CHECK(file.shape("step") == std::vector<std::int64_t>{2, 1, 2});
  CHECK(file.to_vector<std::int64_t>("step") ==
        std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::min(), -1, 0,
                                  std::numeric_limits<std::int64_t>::max()});
  CHECK(file.dtype("rng.seed") == DType::U64);
  CHECK(file.to_vector<std::uint64_t>("rng.seed") ==
        std::vector<std::uint64_t>{0x0102030405060708ULL, std::numeric_limits<std::uint64_t>::max()});
  CHECK(file.dtype("flags") == DType::U8);
  CHECK(file.to_vector<std::uint8_t>("flags") == std::vector<std::uint8_t>{0, 1, 255});

  CHECK(file.shape("temperature").empty());
  CHECK(file.element_count("temperature") == 1);
  double temperature = 0.0;
  file.copy_to("temperature", &temperature, 1);
  CHECK(temperature == 0.75);

  CHECK(file.shape("empty") == std::vector<std::int64_t>{0, 4});
  CHECK(file.element_count("empty") == 0);
  CHECK(file.to_vector<float>("empty").empty());
  CHECK(file.to_vector<std::uint8_t>("empty_u8").empty());

  REQUIRE(file.metadata().size() == 2);
  CHECK(file.metadata().at("format") == "gantry");
  CHECK(file.metadata().at("note") == "quote \" backslash \\ newline \n caf\xC3\xA9");
}

}  // namespace

TEST_CASE("safetensors round trip of every dtype, a scalar and empty tensors", "[io][safetensors]") {
  const std::string bytes = sample_writer().to_bytes();
  const SafetensorsFile file = SafetensorsFile::parse(bytes, "memory");
  check_sample(file);
  CHECK(file.source() == "memory");
  CHECK(file.contains("step"));
  CHECK_FALSE(file.contains("missing"));
}

TEST_CASE("safetensors layout: padded header, little-endian contiguous data in order", "[io][safetensors]") {
  SafetensorsWriter writer;
  const float one = 1.0f;
  const std::uint64_t pattern = 0x0102030405060708ULL;
  writer.add("a", &one, {});
  writer.add("b", &pattern, {1});
  const std::string bytes = writer.to_bytes();
  const std::uint64_t n = header_length(bytes);
  CHECK(n % 8 == 0);  // the data section starts 8-byte aligned
  REQUIRE(bytes.size() == 8 + n + 4 + 8);
  const std::string header = bytes.substr(8, n);
  CHECK(header.find(R"("a":{"dtype":"F32","shape":[],"data_offsets":[0,4]})") != std::string::npos);
  CHECK(header.find(R"("b":{"dtype":"U64","shape":[1],"data_offsets":[4,12]})") != std::string::npos);
  CHECK(header.find("__metadata__") == std::string::npos);  // omitted when empty
  CHECK(header.find_last_not_of(' ') == header.find_last_of('}'));
  const std::string data = bytes.substr(8 + n);
  CHECK(data == std::string("\x00\x00\x80\x3f\x08\x07\x06\x05\x04\x03\x02\x01", 12));  // 1.0f, then LE u64
}

TEST_CASE("safetensors accepts a header padded with spaces and a file without tensors", "[io][safetensors]") {
  const SafetensorsFile padded = SafetensorsFile::parse(
      make_file(R"({"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}      )", "\x07\x09"), "padded");
  CHECK(padded.to_vector<std::uint8_t>("x") == std::vector<std::uint8_t>{7, 9});

  const SafetensorsFile only_metadata =
      SafetensorsFile::parse(make_file(R"({"__metadata__":{"k":"v"}})"), "only_metadata");
  CHECK(only_metadata.names().empty());
  CHECK(only_metadata.metadata().at("k") == "v");
  CHECK(SafetensorsFile::parse(SafetensorsWriter().to_bytes(), "empty").names().empty());
}

TEST_CASE("safetensors TensorView adds raw host-order bytes", "[io][safetensors]") {
  const std::vector<double> values = {1.0, -2.0, 4.5, 8.25};
  TensorView view;
  view.dtype = DType::F64;
  view.shape = {2, 2};
  view.data = reinterpret_cast<const std::uint8_t*>(values.data());
  view.bytes = values.size() * sizeof(double);
  SafetensorsWriter writer;
  writer.add("m", view);
  const SafetensorsFile file = SafetensorsFile::parse(writer.to_bytes(), "view");
  CHECK(file.to_vector<double>("m") == values);

  view.bytes -= 1;
  CHECK(message_of<IoError>([&] { SafetensorsWriter().add("m", view); }).find("holds 31 bytes") != std::string::npos);
}

TEST_CASE("safetensors write_atomically and read from disk", "[io][safetensors]") {
  ScratchDirectory dir("gantry_safetensors_test");
  const std::string path = dir.file("checkpoint.safetensors");
  sample_writer().write_atomically(path);
  check_sample(SafetensorsFile::read(path));
  CHECK(SafetensorsFile::read(path).source() == path);

  // Writing again replaces the file.
  SafetensorsWriter smaller;
  const float x = 2.0f;
  smaller.add("x", &x, {1});
  smaller.write_atomically(path);
  const SafetensorsFile replaced = SafetensorsFile::read(path);
  CHECK(replaced.names() == std::vector<std::string>{"x"});

  const std::string missing = dir.file("missing.safetensors");
  const std::string message = message_of<IoError>([&] { SafetensorsFile::read(missing); });
  CHECK(message.find("cannot open '" + missing + "'") != std::string::npos);
  CHECK(message.find("No such file or directory") != std::string::npos);
}

TEST_CASE("a Python reader using only the standard library reads what gantry writes", "[io][safetensors]") {
  if (std::system("python3 -c pass > /dev/null 2>&1") != 0) {
    WARN("python3 is not available: skipping the cross-check with tests/io/read_safetensors.py");
    return;
  }
  ScratchDirectory dir("gantry_safetensors_test");
  const std::string path = dir.file("for python.safetensors");
  sample_writer().write_atomically(path);
  const std::string command = "python3 " + shell_quote(python_reader()) + " " + shell_quote(path);
  const std::string checks =
      " 'layer0.weight:dtype=F32' 'layer0.weight:shape=2x3' 'layer0.weight[1]=-2.25' 'layer0.weight[3]=3e-8'"
      " 'layer0.bias:dtype=F64' 'layer0.bias[0]=0.1' 'step:shape=2x1x2' 'step[0]=-9223372036854775808'"
      " 'step[3]=9223372036854775807' 'rng.seed[1]=18446744073709551615' 'flags[2]=255'"
      " 'temperature:shape=scalar' 'temperature[0]=0.75' 'empty:shape=0x4' 'meta:format=gantry'";
  CHECK(std::system((command + checks + " > /dev/null").c_str()) == 0);
  // The script must be able to fail, or the check above proves nothing.
  CHECK(std::system((command + " 'layer0.weight[1]=2.25' > /dev/null 2>&1").c_str()) != 0);
  CHECK(std::system((command + " 'flags:dtype=F32' > /dev/null 2>&1").c_str()) != 0);
  // And it detects a corrupt file on its own: here a gap at the end of the data section.
  const std::string corrupt = dir.file("corrupt.safetensors");
  gantry::io::write_file_atomically(corrupt, sample_writer().to_bytes() + "x");
  CHECK(std::system(("python3 " + shell_quote(python_reader()) + " " + shell_quote(corrupt) + " > /dev/null 2>&1")
                        .c_str()) != 0);
}

TEST_CASE("safetensors parse refuses malformed files with messages naming the problem", "[io][safetensors]") {
  const std::string ok_entry = R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::string eight(8, '\0');
  struct Case {
    const char* what;
    std::string bytes;
    const char* words;
  };
  const std::vector<Case> cases = {
      {"short file", std::string("\x02\x00\x00", 3), "file is 3 bytes, shorter than the 8-byte header length"},
      {"length beyond the file", make_file("{}", "", 3), "header length 3 reaches beyond the end of the file"},
      {"absurd length", make_file("{}", "", 100'000'001), "header length 100000001 is absurdly large"},
      {"huge length", make_file("{}", "", UINT64_MAX - 1), "is absurdly large"},
      {"empty header", make_file(""), "header is not a JSON object"},
      {"array header", make_file("[1]"), "header is not a JSON object"},
      {"leading space", make_file(" {}"), "header is not a JSON object"},
      {"malformed JSON", make_file(R"({"w":})"), "bad.safetensors (header): at byte 13: unexpected '}'"},
      {"truncated JSON", make_file(R"({"w":{"dtype")"), "at byte 21: unexpected end of input"},
      {"bad UTF-8 name", make_file("{\"\xFF\":1}"), "at byte 10: invalid UTF-8"},
      {"too deep", make_file(R"({"w":[[[[[[[[1]]]]]]]]})"), "nesting deeper than the limit"},
      {"entry not an object", make_file(R"({"w":"F32"})"), "tensor 'w': entry is a string, expected an object"},
      {"missing dtype", make_file(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", eight),
       "tensor 'w': missing field 'dtype'"},
      {"missing shape", make_file(R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", eight),
       "tensor 'w': missing field 'shape'"},
      {"missing offsets", make_file(R"({"w":{"dtype":"F32","shape":[2]}})", eight),
       "tensor 'w': missing field 'data_offsets'"},
      {"dtype not a string", make_file(R"({"w":{"dtype":4,"shape":[2],"data_offsets":[0,8]}})", eight),
       "field 'dtype' is a number, expected a string"},
      {"shape not an array", make_file(R"({"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", eight),
       "field 'shape' is a number, expected an array"},
      {"offsets not an array", make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":"0-8"}})", eight),
       "field 'data_offsets' is a string, expected an array"},
      {"unknown field", make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", eight),
       "tensor 'w': unknown field 'x'"},
      {"unknown dtype", make_file(R"({"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", eight),
       "tensor 'w': unknown or unsupported dtype 'Q4'"},
      {"unsupported dtype", make_file(R"({"w":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}})", eight),
       "unknown or unsupported dtype 'F16'"},
      {"negative shape", make_file(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight),
       "tensor 'w': shape[0] = -2 is negative"},
      {"fractional shape", make_file(R"({"w":{"dtype":"F32","shape":[2, 1.5],"data_offsets":[0,8]}})", eight),
       "shape[1] = 1.5 is not an integer"},
      {"shape entry not a number", make_file(R"({"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}})", eight),
       "shape[0] = non-number is not an integer"},
      {"overflowing shape",
       make_file(R"({"w":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}})"),
       "tensor 'w': shape [4294967296, 4294967296] of U8 overflows"},
      {"overflowing byte size",
       make_file(R"({"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}})"), "overflows"},
      {"shape beyond int64", make_file(R"({"w":{"dtype":"U8","shape":[9223372036854775808],"data_offsets":[0,0]}})"),
       "is not an integer in [0, 2^63)"},
      {"three offsets", make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}})", eight),
       "data_offsets has 3 entries, expected 2"},
      {"negative offset", make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}})", eight),
       "data_offsets[0] = -8 is not a non-negative integer"},
      {"begin after end", make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", eight),
       "data_offsets [8, 0] has begin > end"},
      {"offsets beyond data", make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "1234"),
       "data_offsets [0, 8] reach beyond the data section of 4 bytes"},
      {"huge offsets", make_file(R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[18446744073709551615,18446744073709551615]}})"),
       "reach beyond the data section of 0 bytes"},
      {"length mismatch", make_file(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight),
       "span 8 bytes, but dtype F32 and shape [3] need 12 (byte length mismatch)"},
      {"overlap",
       make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                 eight),
       "tensors 'a' (data_offsets [0, 8]) and 'b' (data_offsets [4, 8]) overlap"},
      {"aliasing", make_file("{" + ok_entry + R"(,"v":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", eight),
       "overlap"},
      {"gap between tensors",
       make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                 std::string(12, '\0')),
       "bytes [4, 8) of the data section belong to no tensor (gaps are not allowed)"},
      {"trailing bytes", make_file("{" + ok_entry + "}", eight + "xyz"),
       "bytes [8, 11) at the end of the data section belong to no tensor"},
      {"data but no tensors", make_file("{}", "x"), "bytes [0, 1) at the end of the data section"},
      {"duplicate names", make_file("{" + ok_entry + "," + ok_entry + "}", eight), "duplicate object key 'w'"},
      {"metadata not an object", make_file(R"({"__metadata__":["a"]})"),
       "__metadata__ is an array, expected an object of strings"},
      {"metadata value not a string", make_file(R"({"__metadata__":{"epoch":3}})"),
       "__metadata__ value of key 'epoch' is a number, expected a string"},
  };
  for (const Case& c : cases) {
    INFO("case: " << c.what);
    const std::string message = parse_error(c.bytes);
    INFO("message: " << message);
    CHECK(message.find("bad.safetensors") != std::string::npos);
    CHECK(message.find(c.words) != std::string::npos);
  }
  // The well-formed neighbour of those cases parses, so each case fails for its own reason.
  CHECK_NOTHROW(SafetensorsFile::parse(make_file("{" + ok_entry + "}", eight), "good"));
}

TEST_CASE("safetensors copy_to checks dtype, count and finiteness", "[io][safetensors]") {
  SafetensorsWriter writer;
  const std::vector<float> values = {1.0f, 2.0f, 3.0f, 4.0f};
  writer.add("w", values.data(), {2, 2});
  std::string bytes = writer.to_bytes();
  const SafetensorsFile file = SafetensorsFile::parse(bytes, "ckpt.safetensors");

  std::vector<double> as_double(4);
  CHECK(message_of<IoError>([&] { file.copy_to("w", as_double.data(), 4); }) ==
        "gantry::io::SafetensorsFile::copy_to: ckpt.safetensors: tensor 'w' has dtype F32, cannot be read as F64");
  std::vector<float> too_small(3);
  CHECK(message_of<IoError>([&] { file.copy_to("w", too_small.data(), 3); })
            .find("tensor 'w' has 4 elements (shape [2, 2]), the destination has 3") != std::string::npos);
  CHECK(message_of<IoError>([&] { file.to_vector<float>("nope"); })
            .find("ckpt.safetensors: has no tensor named 'nope'") != std::string::npos);
  CHECK_THROWS_AS(file.shape("nope"), IoError);

  // A NaN weight (written by some other tool: gantry's writer refuses it) is refused when read.
  const std::size_t data_begin = 8 + static_cast<std::size_t>(header_length(bytes));
  const unsigned char quiet_nan[4] = {0x00, 0x00, 0xC0, 0x7F};
  std::memcpy(&bytes[data_begin + 2 * 4], quiet_nan, 4);
  const SafetensorsFile poisoned = SafetensorsFile::parse(bytes, "nan.safetensors");
  std::vector<float> out(4, -1.0f);
  const std::string message = message_of<IoError>([&] { poisoned.copy_to("w", out.data(), out.size()); });
  CHECK(message.find("nan.safetensors") != std::string::npos);
  CHECK(message.find("tensor 'w' has a non-finite value nan at flat index 2") != std::string::npos);
  CHECK(out == std::vector<float>(4, -1.0f));  // untouched

  const unsigned char infinity[4] = {0x00, 0x00, 0x80, 0xFF};
  std::memcpy(&bytes[data_begin + 2 * 4], infinity, 4);
  CHECK(message_of<IoError>([&] { SafetensorsFile::parse(bytes, "inf").to_vector<float>("w"); })
            .find("non-finite value -inf at flat index 2") != std::string::npos);
}

TEST_CASE("SafetensorsWriter refuses what it could not write back", "[io][safetensors]") {
  SafetensorsWriter writer;
  const std::vector<double> values = {1.0, std::nan(""), 3.0};
  CHECK(message_of<IoError>([&] { writer.add("w", values.data(), {3}); })
            .find("tensor 'w' has a non-finite value nan at flat index 1") != std::string::npos);
  CHECK(message_of<IoError>([&] { writer.add("w", values.data(), {-1}); }).find("shape [-1]") != std::string::npos);
  CHECK(message_of<IoError>([&] { writer.add("w", values.data(), {1LL << 40, 1LL << 40}); }).find("overflows") !=
        std::string::npos);
  CHECK(message_of<IoError>([&] { writer.add("__metadata__", values.data(), {1}); }).find("reserved") != std::string::npos);
  CHECK(message_of<IoError>([&] { writer.add("", values.data(), {1}); }).find("empty name") != std::string::npos);
  CHECK(message_of<IoError>([&] { writer.add("bad\xFF", values.data(), {1}); }).find("invalid UTF-8") != std::string::npos);
  CHECK(message_of<IoError>([&] { writer.add("w", static_cast<const double*>(nullptr), {1}); }).find("null") !=
        std::string::npos);
  writer.add("w", values.data(), {1});
  CHECK(message_of<IoError>([&] { writer.add("w", values.data(), {1}); }).find("tensor 'w' was already added") !=
        std::string::npos);
  CHECK(writer.size() == 1);  // the refused tensors left no trace
  CHECK_THROWS_AS(writer.set_metadata("k", "\xC3"), IoError);

  writer.set_metadata("k", "first");
  writer.set_metadata("k", "second");
  CHECK(SafetensorsFile::parse(writer.to_bytes(), "m").metadata().at("k") == "second");
}
