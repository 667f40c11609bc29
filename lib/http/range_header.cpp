// Range request header parsing and formatting (see detail/range_header.hpp).
#include "http/detail/range_header.hpp"

#include <charconv>

namespace dataport::http::detail {
namespace {

bool parse_digits(std::string_view digits, std::uint64_t& value) {
  if (digits.empty()) return false;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  return ec == std::errc{} && end == digits.data() + digits.size();
}

}  // namespace

std::optional<byte_range> parse_range(std::string_view text) {
  if (!text.starts_with("bytes=")) return std::nullopt;
  text.remove_prefix(6);
  const auto dash = text.find('-');
  if (dash == std::string_view::npos || dash == 0) return std::nullopt;
  byte_range out;
  if (!parse_digits(text.substr(0, dash), out.first)) return std::nullopt;
  if (dash + 1 < text.size()) {
    std::uint64_t last = 0;
    if (!parse_digits(text.substr(dash + 1), last) || last < out.first) return std::nullopt;
    out.last = last;
  }
  return out;
}

std::string format_range(const byte_range& range) {
  std::string out = "bytes=" + std::to_string(range.first) + "-";
  if (range.last) out += std::to_string(*range.last);
  return out;
}

}  // namespace dataport::http::detail
