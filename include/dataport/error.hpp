// dataport::error — the one exception type the C++ core throws.
//
// Every failure carries a category (errc), a message written for the user (what went wrong and
// what to do), and, when it came from a storage service, the HTTP status, the service's error
// code and the request id. Messages never contain secrets: code that builds them passes URLs
// through dataport::redact_url first.
//
// Thread-safety: immutable after construction; safe to copy and share.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace dataport {

/// Error categories. The numeric values are pinned: the C ABI exposes them as status codes.
enum class errc : int {
  ok = 0,
  invalid_argument = 1,       ///< bad URI, setting, option or file content; fix the input
  not_found = 2,              ///< blob, container, datastore, asset or file does not exist
  permission_denied = 3,      ///< 403: the credential is valid but not allowed
  authentication_failed = 4,  ///< 401/403 signature or token problems; check the credential
  changed = 5,                ///< 412: the object changed (ETag mismatch) during a read
  already_exists = 6,         ///< 409 or local destination conflict
  transient_exhausted = 7,    ///< a retryable failure persisted past the retry budget
  timeout = 8,                ///< connect or idle timeout
  network = 9,                ///< connection refused/reset, DNS, TLS handshake
  io = 10,                    ///< local file system error
  unsupported = 11,           ///< operation not supported by this backend
  cancelled = 12,             ///< cancelled by the caller
  no_space = 13,              ///< local disk full or over budget
  protocol = 14,              ///< malformed response from the server (XML, headers)
  internal = 15,              ///< a bug in dataport
  tls = 16,                   ///< certificate verification failed
};

/// Short stable name of a category ("not_found", ...).
std::string_view to_string(errc code) noexcept;

/// Details from a storage service response; empty/zero when not applicable.
struct service_details {
  unsigned http_status = 0;
  std::string service_code;  ///< x-ms-error-code or <Code> from the error body
  std::string request_id;    ///< x-ms-request-id, when the server sent one
};

class error : public std::runtime_error {
 public:
  error(errc code, const std::string& message, service_details details = {});

  errc code() const noexcept { return code_; }
  const service_details& details() const noexcept { return details_; }

 private:
  errc code_;
  service_details details_;
};

/// Throws dataport::error; the message is formatted by the caller.
[[noreturn]] void throw_error(errc code, const std::string& message, service_details details = {});

}  // namespace dataport
