#include "dataport/error.hpp"

namespace dataport {

std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::ok:
      return "ok";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::not_found:
      return "not_found";
    case errc::permission_denied:
      return "permission_denied";
    case errc::authentication_failed:
      return "authentication_failed";
    case errc::changed:
      return "changed";
    case errc::already_exists:
      return "already_exists";
    case errc::transient_exhausted:
      return "transient_exhausted";
    case errc::timeout:
      return "timeout";
    case errc::network:
      return "network";
    case errc::io:
      return "io";
    case errc::unsupported:
      return "unsupported";
    case errc::cancelled:
      return "cancelled";
    case errc::no_space:
      return "no_space";
    case errc::protocol:
      return "protocol";
    case errc::internal:
      return "internal";
    case errc::tls:
      return "tls";
  }
  return "unknown";
}

error::error(errc code, const std::string& message, service_details details)
    : std::runtime_error(message), code_(code), details_(std::move(details)) {}

void throw_error(errc code, const std::string& message, service_details details) {
  throw error(code, message, std::move(details));
}

}  // namespace dataport
