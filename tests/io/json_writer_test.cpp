// SPDX-License-Identifier: MIT
// The JSON writer: escaping, round-trip numbers, NaN as null, structure errors, python3's json module reading back
// a nested document, and a JsonValue written exactly (indented or not) and strictly.

#include <gantry/io/json_reader.hpp>
#include <gantry/io/json_writer.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <locale>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "catch.hpp"
#include "support/scratch.hpp"

namespace {

namespace fs = std::filesystem;
using gantry::io::JsonWriter;

std::string single(double v) {
  JsonWriter json(0);
  json.value(v);
  return json.str();
}

double read_back(const std::string& text) {
  std::istringstream in(text);
  in.imbue(std::locale::classic());
  double v = 0.0;
  in >> v;
  return v;
}

}  // namespace

TEST_CASE("json strings escape quotes, backslashes and control characters", "[io][json]") {
  JsonWriter json(0);
  json.value(std::string("a\"b\\c/d\n\t\r\b\f") + '\x01' + '\x1f' + "\xc3\xa9");
  CHECK(json.str() == "\"a\\\"b\\\\c/d\\n\\t\\r\\b\\f\\u0001\\u001f\xc3\xa9\"");

  JsonWriter keys(0);
  keys.begin_object().field("k\"ey", "v").end_object();
  CHECK(keys.str() == "{\"k\\\"ey\":\"v\"}");
}

TEST_CASE("json numbers round-trip, non-finite numbers are null", "[io][json]") {
  CHECK(single(0.1) == "0.1");
  CHECK(single(3.0) == "3");
  CHECK(single(-2.5e-8) == "-2.5e-08");
  for (const double v : {1.0 / 3.0, 2.0 / 3.0, 1e300, -1.2345678901234567e-300, 0.30000000000000004, 6.02214076e23})
    CHECK(read_back(single(v)) == v);
  CHECK(single(std::numeric_limits<double>::quiet_NaN()) == "null");
  CHECK(single(std::numeric_limits<double>::infinity()) == "null");
  CHECK(single(-std::numeric_limits<double>::infinity()) == "null");

  JsonWriter json(0);
  json.begin_array()
      .value(std::numeric_limits<std::int64_t>::max())
      .value(-7)
      .value(1.5f)
      .value(true)
      .value(false)
      .null()
      .value("text")
      .end_array();
  CHECK(json.str() == "[9223372036854775807,-7,1.5,true,false,null,\"text\"]");
}

TEST_CASE("json compact and indented layouts", "[io][json]") {
  JsonWriter compact(0);
  compact.begin_object().field("a", 1).key("b").begin_array().value(true).null().end_array();
  compact.key("c").begin_object().end_object().key("d").begin_array().end_array().end_object();
  CHECK(compact.str() == "{\"a\":1,\"b\":[true,null],\"c\":{},\"d\":[]}");

  JsonWriter pretty;
  pretty.begin_object().field("a", 1).field("b", std::vector<int>{2, 3}).end_object();
  CHECK(pretty.str() == "{\n  \"a\": 1,\n  \"b\": [\n    2,\n    3\n  ]\n}");
}

TEST_CASE("json misuse that would give invalid JSON throws IoError", "[io][json]") {
  SECTION("a value in an object without a key") {
    JsonWriter json;
    json.begin_object();
    CHECK_THROWS_AS(json.value(1), gantry::IoError);
  }
  SECTION("a key in an array or at the top level") {
    JsonWriter json;
    CHECK_THROWS_AS(json.key("k"), gantry::IoError);
    json.begin_array();
    CHECK_THROWS_AS(json.key("k"), gantry::IoError);
  }
  SECTION("two keys in a row, and closing after a key") {
    JsonWriter json;
    json.begin_object().key("a");
    CHECK_THROWS_AS(json.key("b"), gantry::IoError);
    CHECK_THROWS_AS(json.end_object(), gantry::IoError);
  }
  SECTION("mismatched ends") {
    JsonWriter json;
    json.begin_object();
    CHECK_THROWS_AS(json.end_array(), gantry::IoError);
    json.end_object();
    CHECK_THROWS_AS(json.end_object(), gantry::IoError);
  }
  SECTION("unfinished or empty documents, and a second top-level value") {
    JsonWriter json;
    CHECK_THROWS_AS(json.str(), gantry::IoError);
    json.begin_array();
    CHECK_FALSE(json.complete());
    CHECK_THROWS_AS(json.str(), gantry::IoError);
    json.end_array();
    CHECK(json.complete());
    CHECK_THROWS_AS(json.value(1), gantry::IoError);
  }
}

TEST_CASE("json nested document reads back with python3's json module", "[io][json]") {
  gantry::test::ScratchDirectory dir("gantry_json_test");
  const fs::path file = dir.path() / "summary.json";
  JsonWriter json;
  json.begin_object()
      .field("policy", "WganGp \"one-sided\"")
      .field("path", "C:\\runs\\a\tb\nc")
      .field("lambda", 10.0)
      .field("third", 1.0 / 3.0)
      .field("diverged", false)
      .field("steps", 20000);
  json.key("losses").value(std::vector<double>{0.5, std::numeric_limits<double>::quiet_NaN(), -1e-300});
  json.key("nested").begin_object().key("modes").begin_array();
  for (int k = 0; k < 3; ++k) json.begin_object().field("index", k).field("covered", k != 1).end_object();
  json.end_array().key("empty").begin_object().end_object().end_object();
  json.end_object();
  json.save(file.string());

  const fs::path script = dir.path() / "check.py";
  {
    std::ofstream out(script);
    out << "import json, sys\n"
           "d = json.load(open(sys.argv[1]))\n"
           "assert d['policy'] == 'WganGp \"one-sided\"', d['policy']\n"
           "assert d['path'] == 'C:\\\\runs\\\\a\\tb\\nc', d['path']\n"
           "assert d['lambda'] == 10.0 and d['third'] == 1.0 / 3.0\n"
           "assert d['diverged'] is False and d['steps'] == 20000\n"
           "assert d['losses'][0] == 0.5 and d['losses'][1] is None and d['losses'][2] == -1e-300\n"
           "assert [m['covered'] for m in d['nested']['modes']] == [True, False, True]\n"
           "assert d['nested']['empty'] == {}\n";
  }
  INFO("python3 must be on PATH for this test: it reads the file back with its json module");
  REQUIRE(std::system("python3 -c \"import json\"") == 0);
  const std::string command = "python3 '" + script.string() + "' '" + file.string() + "'";
  INFO("command: " << command);
  REQUIRE(std::system(command.c_str()) == 0);
}

TEST_CASE("json save into a directory that does not exist throws IoError naming the path", "[io][json]") {
  gantry::test::ScratchDirectory dir("gantry_json_test");
  const std::string path = (dir.path() / "missing" / "summary.json").string();
  JsonWriter json;
  json.begin_object().end_object();
  bool thrown = false;
  try {
    json.save(path);
  } catch (const gantry::IoError& e) {
    thrown = true;
    CHECK(std::string(e.what()).find(path) != std::string::npos);
  }
  CHECK(thrown);
}

TEST_CASE("json a JsonValue is written exactly, compact or indented, and what JSON cannot hold throws", "[io][json]") {
  using gantry::io::JsonValue;
  const std::string text =
      R"({"big":18446744073709551615,"negative":-9223372036854775808,"x":0.1,"list":[true,null,"caf\u00e9"],"empty":{}})";
  const JsonValue value = gantry::io::parse_json(text);
  CHECK(gantry::io::to_json(value) ==
        "{\"big\":18446744073709551615,\"negative\":-9223372036854775808,\"x\":0.1,"
        "\"list\":[true,null,\"caf\xC3\xA9\"],\"empty\":{}}");
  JsonWriter indented;
  indented.begin_object().key("value").value(value).end_object();
  const std::string document = indented.str();
  CHECK(document.find("\n    \"big\": 18446744073709551615,\n") != std::string::npos);
  CHECK(gantry::io::parse_json(document) == gantry::io::parse_json("{\"value\":" + text + "}"));

  // Unlike value(double), which writes null into a summary, a JsonValue must read back as itself.
  JsonWriter not_finite(0);
  CHECK_THROWS_AS(not_finite.value(JsonValue(std::numeric_limits<double>::quiet_NaN())), gantry::IoError);
  JsonValue object = JsonValue::object();
  object.set("bad \xFF key", 1);
  JsonWriter bad_key(0);
  CHECK_THROWS_AS(bad_key.value(object), gantry::IoError);
}
