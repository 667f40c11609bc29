// Managed-identity token acquisition.
//
// Endpoint styles, chosen from the environment in this order:
//   1. IDENTITY_ENDPOINT + IDENTITY_HEADER (App Service, Azure ML compute):
//        GET {IDENTITY_ENDPOINT}?resource=R&api-version=2019-08-01[&client_id=C]
//        header X-IDENTITY-HEADER: {IDENTITY_HEADER}
//   2. MSI_ENDPOINT + MSI_SECRET (older App Service):
//        GET {MSI_ENDPOINT}?resource=R&api-version=2017-09-01[&clientid=C], header secret
//   3. IMDS: GET {base}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=R
//        [&client_id=C], header Metadata: true; base = DATAPORT_IMDS_ENDPOINT or
//        http://169.254.169.254.
// Every style also sends `Metadata: true`. 404/410 (IMDS still starting or upgrading) are retried
// a bounded number of times here; 429/5xx are retried by the HTTP client. Failures become
// errc::authentication_failed naming the (redacted) endpoint and the status, never the token.
//
// Thread-safety: fetch_managed_identity_token() is re-entrant; the env/sleep seams must be.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "dataport/auth/token_cache.hpp"
#include "dataport/http/message.hpp"
#include "dataport/settings.hpp"

namespace dataport::auth {

enum class identity_style { identity_endpoint, msi_endpoint, imds };

std::string_view to_string(identity_style style) noexcept;

struct identity_request {
  identity_style style = identity_style::imds;
  http::request request;
};

/// Builds the token request for the first style whose variables `env` provides.
identity_request make_identity_request(const settings::env_lookup& env, std::string_view resource,
                                       std::string_view client_id);

/// Parses a token response body (access_token plus expires_on as epoch seconds or as
/// "MM/dd/yyyy hh:mm:ss AM +00:00", or expires_in seconds, or the JWT exp). Throws
/// dataport::error(protocol) without echoing the body.
access_token parse_identity_response(std::string_view body,
                                     std::chrono::system_clock::time_point now);

/// Sends one request (production: http::client::send, which retries 429/5xx).
using identity_sender = std::function<boost::asio::awaitable<http::response>(http::request)>;
using sleep_fn = std::function<boost::asio::awaitable<void>(std::chrono::milliseconds)>;

struct managed_identity_options {
  std::string resource = "https://storage.azure.com/";
  std::string client_id;
  settings::env_lookup env;                         ///< default: the process environment
  clock_fn clock;                                   ///< default: system clock
  sleep_fn sleep;                                   ///< default: an asio steady_timer
  unsigned not_found_retries = 4;                   ///< extra tries after 404/410
  std::chrono::milliseconds not_found_delay{1000};  ///< doubled after each 404/410
};

/// Fetches one token from the endpoint described by `request`.
boost::asio::awaitable<access_token> fetch_managed_identity_token(
    const identity_sender& send, const identity_request& request,
    const managed_identity_options& options);

}  // namespace dataport::auth
