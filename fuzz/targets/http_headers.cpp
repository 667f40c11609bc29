// Fuzz target: HTTP header parsers. Input byte 0 chooses the header; the rest is its value.
//  0 Content-Range: a parsed value satisfies first <= last < total, re-formats and re-parses to
//    itself; values built from three numbers round-trip exactly.
//  1 Range (request): a parsed value re-formats and re-parses to itself; "bytes=a-b" for any
//    a <= b parses back to (a, b).
//  2 Retry-After, retry-after-ms, x-ms-retry-after-ms (three values separated by '\n', "now"
//    from the input): the server delay is nullopt or within [0, 24 h]; retry_delay() for any
//    attempt, base, cap and jitter stays within [0, cap].
//  3 Last-Modified / Date (RFC 1123): a parsed date re-formats to the same text (weekday and a
//    leap second aside); formatted dates of years 1970-2262 parse back exactly.
#include <chrono>
#include <cstring>
#include <string>

#include "../fuzz_check.hpp"
#include "dataport/http/client.hpp"
#include "http/detail/range_header.hpp"
#include "storage/detail/wire.hpp"

namespace {

namespace sd = dataport::storage_detail;
using std::chrono::milliseconds;

std::uint64_t read_u64(std::string_view& in) {
  std::uint64_t v = 0;
  const std::size_t n = std::min<std::size_t>(8, in.size());
  std::memcpy(&v, in.data(), n);
  in.remove_prefix(n);
  return v;
}

std::string format_content_range(const sd::content_range& r) {
  std::string span = r.first ? std::to_string(*r.first) + "-" + std::to_string(*r.last) : "*";
  return "bytes " + span + "/" + (r.total ? std::to_string(*r.total) : "*");
}

bool same(const sd::content_range& a, const sd::content_range& b) {
  return a.first == b.first && a.last == b.last && a.total == b.total;
}

void content_range(std::string_view value) {
  if (const auto parsed = sd::parse_content_range(value)) {
    FUZZ_CHECK(parsed->first.has_value() == parsed->last.has_value(), value);
    FUZZ_CHECK(parsed->first || parsed->total, value);
    if (parsed->first) FUZZ_CHECK(*parsed->first <= *parsed->last, value);
    if (parsed->first && parsed->total) FUZZ_CHECK(*parsed->last < *parsed->total, value);
    const auto text = format_content_range(*parsed);
    const auto again = sd::parse_content_range(text);
    FUZZ_CHECK(again && same(*again, *parsed), text);
  }
  std::string_view in = value;
  const auto a = read_u64(in), b = read_u64(in), c = read_u64(in);
  sd::content_range built{std::min(a, b), std::max(a, b), c};
  if (c % 2 == 0) built.total.reset();
  if (built.total && *built.last >= *built.total) return;
  const auto text = format_content_range(built);
  const auto parsed = sd::parse_content_range(text);
  FUZZ_CHECK(parsed && same(*parsed, built), text);
}

void range(std::string_view value) {
  namespace hd = dataport::http::detail;
  if (const auto parsed = hd::parse_range(value)) {
    FUZZ_CHECK(!parsed->last || *parsed->last >= parsed->first, value);
    const auto text = hd::format_range(*parsed);
    FUZZ_CHECK(hd::parse_range(text) == parsed, text);
  }
  std::string_view in = value;
  const auto a = read_u64(in), b = read_u64(in);
  hd::byte_range built{std::min(a, b), std::max(a, b)};
  if (a % 3 == 0) built.last.reset();
  const auto text = hd::format_range(built);
  FUZZ_CHECK(hd::parse_range(text) == built, text);
}

void retry_after(std::string_view value) {
  const auto now = std::chrono::system_clock::time_point{
      std::chrono::system_clock::duration{static_cast<std::int64_t>(read_u64(value))}};
  std::string_view parts[3];
  for (auto& part : parts) {
    const auto newline = value.find('\n');
    part = value.substr(0, newline);
    value = newline == std::string_view::npos ? std::string_view{} : value.substr(newline + 1);
  }
  static constexpr const char* names[] = {"Retry-After", "retry-after-ms", "x-ms-retry-after-ms"};
  for (unsigned mask = 1; mask < 8; ++mask) {
    dataport::http::header_list headers;
    for (unsigned i = 0; i < 3; ++i) {
      if (mask & (1u << i)) headers.emplace_back(names[i], std::string(parts[i]));
    }
    const auto delay = dataport::http::parse_retry_after(headers, now);
    FUZZ_CHECK(!delay || (delay->count() >= 0 && *delay <= std::chrono::hours{24}),
               std::to_string(delay->count()) + " ms from " + std::string(parts[0]));
  }
  std::string_view in = parts[0];
  const auto attempt = static_cast<unsigned>(read_u64(in));
  const milliseconds base{static_cast<std::int64_t>(read_u64(in))};
  const milliseconds cap{static_cast<std::int64_t>(read_u64(in))};
  const double jitter = static_cast<double>(read_u64(in) % 1000001) / 1e6;
  const auto server = read_u64(in);
  const std::optional<milliseconds> server_delay =
      server % 2 ? std::optional<milliseconds>(static_cast<std::int64_t>(server >> 1))
                 : std::nullopt;
  const auto delay = dataport::http::retry_delay(attempt, base, cap, jitter, server_delay);
  FUZZ_CHECK(delay.count() >= 0 && delay <= std::max(cap, milliseconds{0}),
             std::to_string(delay.count()));
}

void http_date(std::string_view value) {
  if (const auto parsed = sd::parse_http_date(value)) {
    const auto text = sd::format_http_date(*parsed);
    if (value.substr(23, 2) != "60") {
      FUZZ_CHECK(text.substr(3) == value.substr(3),
                 "'" + text + "' from '" + std::string(value) + "'");
    }
    FUZZ_CHECK(sd::parse_http_date(text) == parsed, text);
  }
  std::string_view in = value;
  const auto seconds = static_cast<std::int64_t>(read_u64(in) % 9223372036ULL);
  const auto when = std::chrono::system_clock::from_time_t(seconds);
  const auto text = sd::format_http_date(when);
  FUZZ_CHECK(sd::parse_http_date(text) == when, text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || size > 1024) return 0;
  const std::string_view value = dataport_fuzz::as_text(data + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      content_range(value);
      break;
    case 1:
      range(value);
      break;
    case 2:
      retry_after(value);
      break;
    default:
      http_date(value);
      break;
  }
  return 0;
}
