// Mapping of Blob service failures to dataport::error, in one place.
//
// The category comes from the service error code when there is one (x-ms-error-code header or
// <Code> of the body), else from the HTTP status. Service messages are sanitised before they
// reach an error text: only the first line is kept, anything from "signature found" on is
// dropped (Azure echoes the computed MAC signature there) and the rest goes through
// redact_text().
#pragma once

#include <string>
#include <string_view>

#include "dataport/error.hpp"

namespace dataport::storage_detail {

struct service_error_body {
  std::string code;
  std::string message;  ///< sanitised
};

/// Parses <Error><Code>..</Code><Message>..</Message></Error>; empty fields when the body is
/// empty or not XML (never throws).
service_error_body parse_error_body(std::string_view body);

/// First line of a service message, cut before "signature found", secrets redacted.
std::string sanitize_service_message(std::string_view message);

/// The category for a failed response.
errc map_blob_status(unsigned status, std::string_view service_code, std::string_view message);

/// What the user should do about an error of this category (one sentence, no trailing period).
std::string_view advice_for(errc code);

/// A failed service response, as primitives (so this stays independent of the HTTP layer).
struct failed_response {
  unsigned status = 0;
  std::string_view error_code_header;  ///< x-ms-error-code, may be empty
  std::string_view request_id;         ///< x-ms-request-id, may be empty
  std::string_view body;
};

/// Builds the error: "<operation> '<target>' at <where>: HTTP 403 AuthenticationFailed
/// (request id …): <service message>. <advice>". `target` and `where` must be redacted already.
error make_blob_error(const failed_response& response, std::string_view operation,
                      std::string_view target, std::string_view where);

}  // namespace dataport::storage_detail
