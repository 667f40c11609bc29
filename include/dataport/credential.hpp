// dataport::credential — adds authentication to an HTTP request, once per attempt.
//
// Kinds: Shared Key (HMAC-SHA256 over the canonical request), SAS (query appended), bearer token
// (static, from a file, or from a managed-identity endpoint; cached and refreshed before expiry),
// anonymous. Built from a credential_config by make_credential().
//
// Thread-safety: apply() may be called concurrently; token refresh is single-flight.
// Ownership: shared; the object must outlive requests that use it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "dataport/http/message.hpp"
#include "dataport/location.hpp"

namespace dataport::http {
class client;
}

namespace dataport {

class credential {
 public:
  virtual ~credential() = default;

  /// Authenticates `req`, which is a fresh copy of the caller's request for this attempt (so
  /// apply() need not be idempotent). Shared Key requires x-ms-date (or Date) and x-ms-version
  /// already set and signs last. Throws dataport::error (authentication_failed) when a token
  /// cannot be obtained.
  virtual boost::asio::awaitable<void> apply(http::request& req) = 0;

  /// True when requests carry a signature or token: such requests never follow redirects.
  virtual bool is_secret_bearing() const noexcept = 0;

  /// "shared_key", "sas", "bearer", "anonymous", ... (no secret material).
  virtual std::string_view kind_name() const noexcept = 0;

  /// Query parameters (a SAS, without '?') that let ANOTHER service read the blob `blob` of
  /// `container` on this credential's account for the next hours: what a server-side copy hands
  /// the destination service. "" when requests need no authorization (anonymous); nullopt when
  /// this credential cannot give one (bearer tokens, an expired SAS). A Shared Key credential
  /// signs a read-only service SAS for that one blob, valid for 2 hours. The result is a SECRET
  /// (its signature is registered for redaction). Thread-safe.
  virtual std::optional<std::string> read_grant(std::string_view container,
                                                std::string_view blob) const;
};

/// Builds a credential. `identity_client` is used for managed-identity token requests (which
/// bypass proxies and send `Metadata: true`); it must outlive the credential.
std::shared_ptr<credential> make_credential(const credential_config& config,
                                            http::client& identity_client);

}  // namespace dataport
