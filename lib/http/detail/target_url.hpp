// The parts of an absolute http(s) URL the transport and the redirect policy need.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dataport::http::detail {

struct target_url {
  std::string scheme;       ///< "http" or "https"
  std::string host;         ///< for resolve/SNI/verification: IPv6 without brackets
  std::string host_header;  ///< the Host header: host as written, ":port" when not the default
  std::uint16_t port = 0;   ///< effective port (80/443 when absent)
  bool host_is_ip = false;  ///< IPv4/IPv6 literal: no SNI
  std::string target;       ///< origin-form request target: "/path?query" (never empty)

  bool https() const noexcept { return scheme == "https"; }
  /// "scheme://host:port" — the connection-pool key and the same-origin test.
  std::string origin() const;
};

/// Parses an absolute URL. Throws dataport::error(invalid_argument) for anything but http/https
/// with a host; the message carries the redacted URL.
target_url parse_target_url(std::string_view url);

/// Resolves a Location header against the request URL (relative references allowed). Returns
/// the absolute URL, or an empty string when it does not parse.
std::string resolve_location(std::string_view base, std::string_view location);

}  // namespace dataport::http::detail
