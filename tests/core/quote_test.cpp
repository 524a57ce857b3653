// SPDX-License-Identifier: MIT
// Quoting input in messages: a short prefix, never half a UTF-8 character, control characters escaped.

#include <gantry/core/quote.hpp>

#include <string>

#include "catch.hpp"

using gantry::detail::escaped;
using gantry::detail::quoted;

TEST_CASE("quoted keeps ordinary text and UTF-8 as it is", "[core][quote]") {
  CHECK(quoted("1,5x") == "'1,5x'");
  CHECK(quoted("") == "''");
  CHECK(quoted("Zürich ∑ 😀") == "'Zürich ∑ 😀'");
  CHECK(escaped("a b") == "a b");
}

TEST_CASE("quoted escapes control characters, C1 controls, invalid UTF-8 and backslashes", "[core][quote]") {
  // ESC [ 2 J clears a terminal; U+009B (CSI, UTF-8 C2 9B) starts a sequence on some terminals too.
  CHECK(quoted("\x1b[2Jgone") == "'\\x1b[2Jgone'");
  CHECK(quoted("a\xc2\x9b" "31mred") == "'a\\xc2\\x9b31mred'");
  CHECK(quoted("tab\there\nnew\rline") == "'tab\\there\\nnew\\rline'");
  CHECK(quoted(std::string("nul\0byte", 8)) == "'nul\\x00byte'");
  CHECK(quoted("del\x7f") == "'del\\x7f'");
  CHECK(quoted("bad \xff\xfe utf8") == "'bad \\xff\\xfe utf8'");
  CHECK(quoted("overlong \xc0\xaf") == "'overlong \\xc0\\xaf'");
  CHECK(quoted("surrogate \xed\xa0\x80") == "'surrogate \\xed\\xa0\\x80'");
  CHECK(quoted("cut \xe2\x88") == "'cut \\xe2\\x88'");
  CHECK(quoted("back\\slash") == "'back\\\\slash'");
}

TEST_CASE("quoted shows a short prefix of long text and says how long it was", "[core][quote]") {
  const std::string huge(10 * 1024 * 1024, 'a');
  const std::string message = quoted(huge);
  CHECK(message == "'" + std::string(64, 'a') + "'... (10485760 bytes)");
  CHECK(escaped(huge, 3) == "aaa... (10485760 bytes)");
  // The cut never splits a character: 63 ASCII bytes and a 2-byte character do not fit in 64.
  const std::string text = std::string(63, 'b') + "é" + "tail";
  CHECK(quoted(text) == "'" + std::string(63, 'b') + "'... (69 bytes)");
  CHECK(quoted(std::string(64, 'c')) == "'" + std::string(64, 'c') + "'");
}
