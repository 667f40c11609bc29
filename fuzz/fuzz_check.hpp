// Property checks for the fuzz targets: a failed check prints what was expected and aborts, which
// libFuzzer reports as a crash (and saves the input) and the replay driver as a failed test.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace dataport_fuzz {

[[noreturn]] inline void property_failed(const char* file, int line, std::string_view what,
                                         std::string_view detail) {
  std::fprintf(stderr, "\n%s:%d: property failed: %.*s\n  %.*s\n", file, line,
               static_cast<int>(what.size()), what.data(), static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// True when `secret` (non-empty) occurs in `text`.
inline bool contains(std::string_view text, std::string_view secret) {
  return !secret.empty() && text.find(secret) != std::string_view::npos;
}

/// Markers stand in for secrets the target adds to an input. They start with a letter that is
/// not a hex digit and hold no '%', so percent-encoding never forms one; an input that already
/// holds a marker's tail, literally or percent-encoded, is not used for the secret check.
inline bool mentions_marker(std::string_view input, std::string_view marker) {
  const auto tail = marker.substr(1);
  if (contains(input, tail)) return true;
  std::string decoded;
  for (std::size_t i = 0; i < input.size(); ++i) {
    const auto hex = [](char c) {
      return c >= '0' && c <= '9'   ? c - '0'
             : c >= 'a' && c <= 'f' ? c - 'a' + 10
             : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                    : -1;
    };
    if (input[i] == '%' && i + 2 < input.size() && hex(input[i + 1]) >= 0 &&
        hex(input[i + 2]) >= 0) {
      decoded.push_back(static_cast<char>(hex(input[i + 1]) * 16 + hex(input[i + 2])));
      i += 2;
    } else {
      decoded.push_back(input[i]);
    }
  }
  return contains(decoded, tail);
}

}  // namespace dataport_fuzz

/// FUZZ_CHECK(condition, detail): `detail` is any expression convertible to std::string_view,
/// evaluated only on failure.
#define FUZZ_CHECK(condition, detail)                                             \
  do {                                                                            \
    if (!(condition)) {                                                           \
      ::dataport_fuzz::property_failed(__FILE__, __LINE__, #condition, (detail)); \
    }                                                                             \
  } while (false)
