// SPDX-License-Identifier: MIT
#pragma once
/// Quoting text from a user or a file in an error message: a short prefix, control characters escaped.

#include <cstddef>
#include <string>
#include <string_view>

namespace gantry::detail {

/// How many bytes of an input a message quotes; the rest is summarised by its length.
inline constexpr std::size_t quoted_prefix_bytes = 64;

namespace quote_detail {

/// Length of the valid UTF-8 sequence starting at text[i] (0 if invalid, overlong, a surrogate or > U+10FFFF).
inline std::size_t utf8_sequence_length(std::string_view text, std::size_t i, char32_t& code_point) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, code_point = lead & 0x1Fu;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, code_point = lead & 0x0Fu;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, code_point = lead & 0x07u;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0u) != 0x80u) return 0;
    code_point = (code_point << 6) | (byte(i + k) & 0x3Fu);
  }
  const bool overlong = (length == 3 && code_point < 0x800) || (length == 4 && code_point < 0x10000);
  if (overlong || (code_point >= 0xD800 && code_point <= 0xDFFF) || code_point > 0x10FFFF) return 0;
  return length;
}

inline void append_hex_byte(std::string& out, unsigned char u) {
  static const char* const hex = "0123456789abcdef";
  out += "\\x";
  out += hex[u >> 4];
  out += hex[u & 0xFu];
}

/// Appends the escaped form of at most max_bytes of text to out; returns how many bytes of text it covers.
inline std::size_t escape_prefix(std::string_view text, std::size_t max_bytes, std::string& out) {
  std::size_t i = 0;
  while (i < text.size() && i < max_bytes) {
    const auto u = static_cast<unsigned char>(text[i]);
    if (u >= 0x20 && u < 0x7F) {
      if (u == '\\') out += '\\';
      out += static_cast<char>(u);
      ++i;
    } else if (u == '\n') {
      out += "\\n", ++i;
    } else if (u == '\t') {
      out += "\\t", ++i;
    } else if (u == '\r') {
      out += "\\r", ++i;
    } else if (u < 0x80) {
      quote_detail::append_hex_byte(out, u), ++i;  // other C0 controls and DEL
    } else {
      char32_t code_point = 0;
      const std::size_t length = quote_detail::utf8_sequence_length(text, i, code_point);
      if (length == 0 || code_point < 0xA0) {  // invalid, or a C1 control such as U+009B (CSI)
        quote_detail::append_hex_byte(out, u), ++i;
      } else if (i + length > max_bytes) {
        break;
      } else {
        out.append(text.substr(i, length));
        i += length;
      }
    }
  }
  return i;
}

inline std::string length_note(std::size_t shown, std::size_t size) {
  return shown < size ? "... (" + std::to_string(size) + " bytes)" : std::string();
}

}  // namespace quote_detail

/// `text` made safe to print: C0 and C1 control characters (ESC, CSI, ...) and bytes that are not UTF-8 become
/// \n, \t, \r or \xNN, a backslash becomes \\, and at most `max_bytes` of the input are shown (never half a
/// UTF-8 character), followed by "... (N bytes)" when it was longer. Terminal escape sequences from a file or an
/// argument thus cannot reach the terminal, and a 10 MB field gives a message of a line.
inline std::string escaped(std::string_view text, std::size_t max_bytes = quoted_prefix_bytes) {
  std::string out;
  const std::size_t shown = quote_detail::escape_prefix(text, max_bytes, out);
  return out + quote_detail::length_note(shown, text.size());
}

/// escaped(text) between single quotes: `'1,5x'`, `'aaaa'... (10485760 bytes)`.
inline std::string quoted(std::string_view text, std::size_t max_bytes = quoted_prefix_bytes) {
  std::string out = "'";
  const std::size_t shown = quote_detail::escape_prefix(text, max_bytes, out);
  return out + "'" + quote_detail::length_note(shown, text.size());
}

}  // namespace gantry::detail
