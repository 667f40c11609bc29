// Wire-format helpers for the storage backends (see detail/wire.hpp).
#include "storage/detail/wire.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <ctime>

#include <fmt/format.h>

#include "auth/detail/encoding.hpp"

namespace dataport::storage_detail {
namespace {

bool is_unreserved(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~';
}

void append_encoded(std::string& out, std::string_view text, bool keep_slash) {
  static constexpr char hex[] = "0123456789ABCDEF";
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xF]);
    }
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr std::array<std::string_view, 7> day_names{"Sun", "Mon", "Tue", "Wed",
                                                    "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 12> month_names{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool lower_ends_with(std::string_view text, std::string_view suffix) {
  if (text.size() < suffix.size()) return false;
  auto tail = text.substr(text.size() - suffix.size());
  for (std::size_t i = 0; i < tail.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(tail[i])) != suffix[i]) return false;
  }
  return true;
}

}  // namespace

std::string encode_path(std::string_view path) {
  std::string out;
  out.reserve(path.size() + path.size() / 4);
  append_encoded(out, path, /*keep_slash=*/true);
  return out;
}

std::string encode_query_value(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 8);
  append_encoded(out, value, /*keep_slash=*/false);
  return out;
}

std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

std::string base64_encode(std::span<const std::byte> data) {
  return auth::detail::base64_encode(
      std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
}

std::string base64_encode(std::string_view data) {
  return auth::detail::base64_encode(data);
}

std::string format_http_date(std::chrono::system_clock::time_point when) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT", day_names[tm.tm_wday % 7],
                     tm.tm_mday, month_names[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
}

std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text) {
  // "Sun, 06 Nov 1994 08:49:37 GMT": fixed layout, 29 characters.
  if (text.size() != 29 || text[3] != ',' || text[4] != ' ' || text.substr(25) != " GMT") {
    return std::nullopt;
  }
  auto number = [&](std::size_t pos, std::size_t len) -> int {
    int value = 0;
    auto part = text.substr(pos, len);
    auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (ec != std::errc{} || ptr != part.data() + part.size()) return -1;
    return value;
  };
  std::tm tm{};
  tm.tm_mday = number(5, 2);
  tm.tm_mon = -1;
  for (int m = 0; m < 12; ++m) {
    if (text.substr(8, 3) == month_names[static_cast<std::size_t>(m)]) tm.tm_mon = m;
  }
  tm.tm_year = number(12, 4) - 1900;
  tm.tm_hour = number(17, 2);
  tm.tm_min = number(20, 2);
  tm.tm_sec = number(23, 2);
  if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_mon < 0 || tm.tm_year < 0 || tm.tm_hour < 0 ||
      tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60 ||
      text[7] != ' ' || text[11] != ' ' || text[16] != ' ' || text[19] != ':' || text[22] != ':') {
    return std::nullopt;
  }
  // timegm() would silently roll 31 Feb over into March.
  const std::chrono::year_month_day ymd{std::chrono::year{tm.tm_year + 1900},
                                        std::chrono::month{static_cast<unsigned>(tm.tm_mon + 1)},
                                        std::chrono::day{static_cast<unsigned>(tm.tm_mday)}};
  if (!ymd.ok()) return std::nullopt;
  const std::time_t t = timegm(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  // system_clock counts nanoseconds in 64 bits and ends in 2262; from_time_t would overflow for
  // a later date (a Last-Modified of year 9999 has been seen), so such a date is unknown.
  using std::chrono::seconds;
  if (seconds{t} >=
      std::chrono::duration_cast<seconds>(std::chrono::system_clock::duration::max())) {
    return std::nullopt;
  }
  return std::chrono::system_clock::from_time_t(t);
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<content_range> parse_content_range(std::string_view text) {
  if (!text.starts_with("bytes ")) return std::nullopt;
  text.remove_prefix(6);
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  content_range range;
  const auto span_part = text.substr(0, slash);
  const auto total_part = text.substr(slash + 1);
  if (total_part != "*") {
    range.total = parse_u64(total_part);
    if (!range.total) return std::nullopt;
  }
  if (span_part != "*") {
    const auto dash = span_part.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    range.first = parse_u64(span_part.substr(0, dash));
    range.last = parse_u64(span_part.substr(dash + 1));
    if (!range.first || !range.last || *range.last < *range.first) return std::nullopt;
    if (range.total && *range.last >= *range.total) return std::nullopt;
  } else if (!range.total) {
    return std::nullopt;
  }
  return range;
}

std::string quote_etag(std::string_view etag) {
  if (etag.empty() || etag.starts_with('"') || etag.starts_with("W/")) return std::string(etag);
  return fmt::format("\"{}\"", etag);
}

std::string guess_content_type(std::string_view path) {
  static constexpr std::pair<std::string_view, std::string_view> types[] = {
      {".txt", "text/plain"},
      {".csv", "text/csv"},
      {".tsv", "text/tab-separated-values"},
      {".json", "application/json"},
      {".jsonl", "application/jsonl"},
      {".yaml", "application/yaml"},
      {".yml", "application/yaml"},
      {".xml", "application/xml"},
      {".html", "text/html"},
      {".htm", "text/html"},
      {".md", "text/markdown"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".svg", "image/svg+xml"},
      {".pdf", "application/pdf"},
      {".zip", "application/zip"},
      {".gz", "application/gzip"},
      {".tar", "application/x-tar"},
      {".parquet", "application/vnd.apache.parquet"},
      {".wav", "audio/wav"},
      {".mp4", "video/mp4"},
  };
  for (const auto& [extension, type] : types) {
    if (lower_ends_with(path, extension)) return std::string(type);
  }
  return "application/octet-stream";
}

}  // namespace dataport::storage_detail
