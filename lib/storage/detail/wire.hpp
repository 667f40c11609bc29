// Wire-format helpers shared by the storage backends: percent-encoding of object paths, base64
// block ids, HTTP dates, Content-Range and ETag handling, content-type guessing.
//
// Pure functions (no I/O), unit-tested in tests/unit/storage_wire.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace dataport::storage_detail {

/// Percent-encodes an object path for a URL: each '/'-separated segment is encoded (RFC 3986
/// unreserved characters are kept, everything else, including space, '%', '#', '?', '+' and
/// every byte of a multi-byte UTF-8 sequence, becomes %XX); the '/' separators are kept.
std::string encode_path(std::string_view path);

/// Percent-encodes a query parameter value (unreserved characters kept; '/' encoded too).
std::string encode_query_value(std::string_view value);

/// Decodes %XX sequences; a malformed escape is kept literally. '+' stays '+'.
std::string percent_decode(std::string_view text);

/// Standard base64 with padding.
std::string base64_encode(std::span<const std::byte> data);
std::string base64_encode(std::string_view data);

/// The block id as sent to Blob storage: base64 of the raw id (callers keep raw ids of one blob
/// the same length, as the service requires).
inline std::string encode_block_id(std::string_view raw_id) {
  return base64_encode(raw_id);
}

/// RFC 1123 date, always GMT and locale-independent: "Sun, 06 Nov 1994 08:49:37 GMT".
std::string format_http_date(std::chrono::system_clock::time_point when);

/// Parses an RFC 1123 date; nullopt for anything else (never throws): impossible calendar
/// dates (31 Feb), years before 1900, and dates after 2262 that system_clock cannot hold. The
/// weekday is not checked. Apart from it and a leap second (:60, read as the next second),
/// format_http_date(parse_http_date(x)) == x.
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text);

/// A parsed Content-Range header: "bytes first-last/total", "bytes first-last/*", "bytes */total".
struct content_range {
  std::optional<std::uint64_t> first;
  std::optional<std::uint64_t> last;
  std::optional<std::uint64_t> total;
};
std::optional<content_range> parse_content_range(std::string_view text);

/// "\"x\"" for x; a value already quoted (or weak, W/"x") is returned unchanged.
std::string quote_etag(std::string_view etag);

/// True for a weak validator (W/"..."), which If-Match may not use.
inline bool is_weak_etag(std::string_view etag) {
  return etag.starts_with("W/");
}

/// MIME type from the file extension (case-insensitive); "application/octet-stream" otherwise.
std::string guess_content_type(std::string_view path);

/// Parses an unsigned decimal header value; nullopt for garbage or overflow.
std::optional<std::uint64_t> parse_u64(std::string_view text);

}  // namespace dataport::storage_detail
