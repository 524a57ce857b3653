// SPDX-License-Identifier: MIT
#include "gantry/io/json.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "catch.hpp"

using gantry::IoError;
using gantry::io::JsonParseOptions;
using gantry::io::JsonValue;
using gantry::io::parse_json;
using gantry::io::to_json;

namespace {

// The message of the IoError that parse_json throws for text (empty if it does not throw).
std::string parse_error(const std::string& text, const JsonParseOptions& options = {}) {
  try {
    parse_json(text, options);
  } catch (const IoError& error) {
    return error.what();
  }
  return {};
}

}  // namespace

TEST_CASE("parse_json reads every kind of value", "[io][json]") {
  const JsonValue v = parse_json(R"( {"n": null, "t": true, "f": false, "i": -42, "x": 2.5e-3,
                                     "s": "hi", "a": [1, [], {}], "o": {"k": "v"}} )");
  REQUIRE(v.is_object());
  REQUIRE(v.members().size() == 8);
  CHECK(v.find("n")->is_null());
  CHECK(v.find("t")->as_bool());
  CHECK_FALSE(v.find("f")->as_bool());
  CHECK(v.find("i")->as_int64() == std::int64_t{-42});
  CHECK_FALSE(v.find("i")->as_uint64().has_value());
  CHECK(v.find("x")->as_double() == 2.5e-3);
  CHECK_FALSE(v.find("x")->as_int64().has_value());
  CHECK(v.find("s")->as_string() == "hi");
  REQUIRE(v.find("a")->as_array().size() == 3);
  CHECK(v.find("a")->as_array()[1].as_array().empty());
  CHECK(v.find("a")->as_array()[2].members().empty());
  CHECK(v.find("o")->find("k")->as_string() == "v");
  CHECK(v.find("missing") == nullptr);
}

TEST_CASE("parse_json keeps object members in document order", "[io][json]") {
  const JsonValue v = parse_json(R"({"zeta": 1, "alpha": 2, "mid": 3})");
  REQUIRE(v.members().size() == 3);
  CHECK(v.members()[0].key == "zeta");
  CHECK(v.members()[1].key == "alpha");
  CHECK(v.members()[2].key == "mid");
}

TEST_CASE("parse_json keeps integers exact up to 64 bits", "[io][json]") {
  CHECK(parse_json("18446744073709551615").as_uint64() == std::numeric_limits<std::uint64_t>::max());
  CHECK(parse_json("9007199254740993").as_uint64() == std::uint64_t{9007199254740993ULL});  // 2^53 + 1
  CHECK(parse_json("-9223372036854775808").as_int64() == std::numeric_limits<std::int64_t>::min());
  CHECK_FALSE(parse_json("9223372036854775808").as_int64().has_value());
  CHECK_FALSE(parse_json("18446744073709551616").as_uint64().has_value());  // 2^64: only a double
  CHECK(parse_json("18446744073709551616").as_double() == 18446744073709551616.0);
  CHECK_FALSE(parse_json("1e2").as_uint64().has_value());  // exponent: not an integer literal
  CHECK_FALSE(parse_json("4.0").as_uint64().has_value());
  CHECK(parse_json("-0").as_uint64() == std::uint64_t{0});
}

TEST_CASE("parse_json decodes escapes and UTF-8", "[io][json]") {
  CHECK(parse_json(R"("a\"b\\c\/d\b\f\n\r\t")").as_string() == "a\"b\\c/d\b\f\n\r\t");
  CHECK(parse_json(R"("\u0041\u00e9\u20AC")").as_string() == "A\xC3\xA9\xE2\x82\xAC");
  CHECK(parse_json(R"("\ud83d\ude00")").as_string() == "\xF0\x9F\x98\x80");  // U+1F600 as a surrogate pair
  CHECK(parse_json("\"caf\xC3\xA9 \xF0\x9F\x98\x80\"").as_string() == "caf\xC3\xA9 \xF0\x9F\x98\x80");
  CHECK(parse_json(R"("\u0000")").as_string() == std::string(1, '\0'));
}

TEST_CASE("parse_json refuses malformed text, naming the byte offset", "[io][json]") {
  struct Case {
    std::string text;
    std::string words;
  };
  const std::vector<Case> cases = {
      {"", "at byte 0: unexpected end of input"},
      {"[1,2,]", "at byte 5: unexpected ']'"},
      {"[1 2]", "at byte 3: expected ']' or ','"},
      {"{\"a\" 1}", "at byte 5: expected ':'"},
      {"{1: 2}", "at byte 1: expected an object key"},
      {"{\"a\": 1, \"a\": 2}", "at byte 9: duplicate object key 'a'"},
      {"01", "at byte 1: leading zeros"},
      {"-", "at byte 1: expected a digit"},
      {"1.", "at byte 2: expected a digit after the decimal point"},
      {"1e+", "at byte 3: expected a digit in the exponent"},
      {"1e999", "at byte 0: number 1e999 is out of the range"},
      {"NaN", "at byte 0: unexpected 'N'"},
      {"tru", "at byte 0: invalid literal"},
      {"1 2", "at byte 2: unexpected '2' after the JSON value"},
      {"\"abc", "at byte 4: unterminated string"},
      {"\"a\\x\"", "at byte 2: invalid escape sequence"},
      {"\"\\u12G4\"", "at byte 5: invalid hex digit"},
      {"\"\\ud800\"", "at byte 1: high surrogate not followed by a low surrogate"},
      {"\"\\udc00\"", "at byte 1: unpaired low surrogate"},
      {"\"a\tb\"", "at byte 2: unescaped control character"},
      {"\"\xC0\xAF\"", "at byte 1: invalid UTF-8"},          // overlong '/'
      {"\"\xED\xA0\x80\"", "at byte 1: invalid UTF-8"},      // an encoded surrogate
      {"\"\xF4\x90\x80\x80\"", "at byte 1: invalid UTF-8"},  // beyond U+10FFFF
      {"\"\xE2\x82\"", "at byte 1: invalid UTF-8"},          // truncated
      {"// comment\n1", "at byte 0: unexpected '/'"},
      {std::string("[1]\0", 4), "at byte 3: unexpected byte 0x00"},
  };
  for (const Case& c : cases) {
    INFO("text: " << c.text);
    const std::string message = parse_error(c.text);
    CHECK(message.find("gantry::io::parse_json: JSON text: ") == 0);
    CHECK(message.find(c.words) != std::string::npos);
  }
}

TEST_CASE("parse_json bounds the nesting depth", "[io][json]") {
  const auto nested = [](std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  CHECK_NOTHROW(parse_json(nested(64)));
  CHECK(parse_error(nested(65)).find("nesting deeper than the limit of 64") != std::string::npos);
  // Deep enough to overflow the stack of an unbounded recursive parser.
  CHECK(parse_error(nested(1000000)).find("nesting deeper") != std::string::npos);

  JsonParseOptions options;
  options.max_depth = 2;
  CHECK_NOTHROW(parse_json(R"({"a": [1]})", options));
  CHECK(parse_error(R"({"a": [[1]]})", options).find("at byte 7: nesting deeper than the limit of 2") !=
        std::string::npos);
  options.max_depth = 0;
  CHECK_THROWS_AS(parse_json("1", options), gantry::OptionError);
}

TEST_CASE("parse_json messages carry the source name and offset base", "[io][json]") {
  JsonParseOptions options;
  options.source = "model.safetensors (header)";
  options.byte_offset_base = 8;
  const std::string message = parse_error("{\"a\":}", options);
  CHECK(message.find("model.safetensors (header): at byte 13:") != std::string::npos);
}

TEST_CASE("JsonValue accessors refuse the wrong kind", "[io][json]") {
  const JsonValue number(3);
  CHECK_THROWS_AS(number.as_string(), IoError);
  CHECK_THROWS_AS(number.members(), IoError);
  CHECK_THROWS_AS(JsonValue("s").as_double(), IoError);
  try {
    JsonValue(true).as_array();
    FAIL("as_array on a boolean must throw");
  } catch (const IoError& error) {
    CHECK(std::string(error.what()) == "gantry::io::JsonValue::as_array: value is a boolean, not an array");
  }
}

TEST_CASE("to_json writes compact, escaped, round-trippable text", "[io][json]") {
  JsonValue v = JsonValue::object();
  v.set("name", JsonValue("q\"uo\\te\n\x01 caf\xC3\xA9"));
  v.set("big", JsonValue(std::numeric_limits<std::uint64_t>::max()));
  v.set("neg", JsonValue(std::int64_t{-7}));
  v.set("tenth", JsonValue(0.1));
  v.set("list", JsonValue::array({JsonValue(nullptr), JsonValue(true), JsonValue(1.5e300)}));
  v.set("name", JsonValue("replaced"));  // set replaces in place, keeping the position
  const std::string text = to_json(v);
  CHECK(text == R"({"name":"replaced","big":18446744073709551615,"neg":-7,"tenth":0.1,"list":[null,true,1.5e+300]})");
  CHECK(parse_json(text) == v);

  CHECK(to_json(JsonValue("q\"uo\\te\n\x01 caf\xC3\xA9")) == "\"q\\\"uo\\\\te\\n\\u0001 caf\xC3\xA9\"");
  CHECK(parse_json(to_json(JsonValue("\b\f\r\t\x1f"))).as_string() == "\b\f\r\t\x1f");

  for (const double x : {0.1, 1.0 / 3.0, -2.5e-310, 6.02214076e23, 123456789.0})
    CHECK(parse_json(to_json(JsonValue(x))).as_double() == x);
}

TEST_CASE("to_json refuses values JSON cannot represent", "[io][json]") {
  CHECK_THROWS_AS(to_json(JsonValue(std::numeric_limits<double>::quiet_NaN())), IoError);
  CHECK_THROWS_AS(to_json(JsonValue(std::numeric_limits<double>::infinity())), IoError);
  CHECK_THROWS_AS(to_json(JsonValue("bad \xFF byte")), IoError);
  JsonValue nested = JsonValue::array({JsonValue("\xC3")});
  CHECK_THROWS_AS(to_json(nested), IoError);
}
