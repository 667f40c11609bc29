// URL parsing for the HTTP transport, on Boost.URL (RFC 3986), so hosts, IPv6 literals, ports
// and percent-encoded targets are handled by one well-tested parser rather than string slicing.
#include "http/detail/target_url.hpp"

#include <fmt/format.h>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include "dataport/error.hpp"
#include "dataport/redact.hpp"

namespace dataport::http::detail {

std::string target_url::origin() const {
  return fmt::format("{}://{}:{}", scheme, host, port);
}

target_url parse_target_url(std::string_view url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) {
    throw_error(errc::invalid_argument,
                fmt::format("'{}' is not a valid absolute URL ({}); give a URL such as "
                            "https://host/path",
                            redact_url(url), parsed.error().message()));
  }
  const auto& u = *parsed;
  target_url out;
  switch (u.scheme_id()) {
    case boost::urls::scheme::http:
      out.scheme = "http";
      out.port = 80;
      break;
    case boost::urls::scheme::https:
      out.scheme = "https";
      out.port = 443;
      break;
    default:
      throw_error(errc::invalid_argument,
                  fmt::format("unsupported URL scheme '{}' in '{}': the HTTP client speaks http "
                              "and https only",
                              u.scheme(), redact_url(url)));
  }
  if (!u.has_authority() || u.encoded_host().empty()) {
    throw_error(
        errc::invalid_argument,
        fmt::format("URL '{}' has no host; give a URL such as https://host/path", redact_url(url)));
  }
  out.host = u.host_address();
  out.host_is_ip = u.host_type() == boost::urls::host_type::ipv4 ||
                   u.host_type() == boost::urls::host_type::ipv6;
  out.host_header = std::string(u.encoded_host_and_port());
  if (u.has_port()) {
    if (u.port().empty() || u.port_number() == 0) {
      throw_error(errc::invalid_argument,
                  fmt::format("URL '{}' has an invalid port", redact_url(url)));
    }
    out.port = u.port_number();
  }
  out.target = std::string(u.encoded_target());
  if (out.target.empty() || out.target.front() != '/') out.target.insert(0, "/");
  return out;
}

std::string resolve_location(std::string_view base, std::string_view location) {
  auto base_url = boost::urls::parse_absolute_uri(base);
  auto ref = boost::urls::parse_uri_reference(location);
  if (!base_url || !ref) return {};
  boost::urls::url result;
  if (!boost::urls::resolve(*base_url, *ref, result)) return {};
  return std::string(result.buffer());
}

}  // namespace dataport::http::detail
