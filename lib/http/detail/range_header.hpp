// The request Range header the client understands when it resumes a cut ranged read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dataport::http::detail {

/// One byte range: first..last inclusive, or first..end of object when `last` is empty.
struct byte_range {
  std::uint64_t first = 0;
  std::optional<std::uint64_t> last;

  bool operator==(const byte_range&) const = default;
};

/// "bytes=a-b" (a <= b) or "bytes=a-" (a single range, decimal digits only); anything else —
/// suffix ranges, lists, signs, spaces, overflow — is nullopt (the request is then not resumable).
std::optional<byte_range> parse_range(std::string_view text);

/// "bytes=a-b" or "bytes=a-": parse_range(format_range(r)) == r for every valid r.
std::string format_range(const byte_range& range);

}  // namespace dataport::http::detail
