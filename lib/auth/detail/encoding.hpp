// Small encoding and crypto helpers shared by the credential kinds: base64, percent-encoding,
// HMAC-SHA256 (OpenSSL), and URL splitting. Internal to lib/auth.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dataport::auth::detail {

/// Standard base64 with padding.
std::string base64_encode(std::string_view bytes);
/// Standard base64 (padding optional, whitespace not allowed); nullopt when malformed.
std::optional<std::string> base64_decode(std::string_view text);
/// base64url without padding (JWT segments); nullopt when malformed.
std::optional<std::string> base64url_decode(std::string_view text);

/// Raw HMAC-SHA256 of `message` under `key` (32 bytes).
std::string hmac_sha256(std::string_view key, std::string_view message);

/// Decodes %XX sequences (and, when `plus_is_space`, '+' as ' '); malformed escapes stay as-is.
std::string percent_decode(std::string_view text, bool plus_is_space = false);
/// Encodes every byte outside the RFC 3986 unreserved set.
std::string percent_encode(std::string_view text);

/// Splits "scheme://authority/path?query#frag" into (path, query) without the '?'; the path is
/// "/" when empty. The fragment is dropped.
struct url_parts {
  std::string origin;  ///< scheme://authority
  std::string path;
  std::string query;
  bool has_query = false;
};
url_parts split_url(std::string_view url);

/// Splits a query string at '&' into (name, raw value) pairs; a parameter without '=' has an
/// empty value. Empty segments are skipped.
std::vector<std::pair<std::string, std::string>> split_query(std::string_view query);

std::string to_lower(std::string_view text);
std::string_view trim(std::string_view text);

}  // namespace dataport::auth::detail
