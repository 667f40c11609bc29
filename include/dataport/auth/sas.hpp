// Shared Access Signatures: appending a SAS token to request URLs, detecting expired tokens
// before any request is sent, and generating account and Blob service SAS tokens from an
// account key (for tests, the CLI and benchmarks that hand SAS URLs to other tools).
//
// Tokens are secrets: every generated or appended signature is registered with
// dataport::register_secret. Thread-safety: pure functions (plus the registry, which is safe).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace dataport::auth {

/// Appends `sas` (with or without a leading '?') to `url`'s query. Values already
/// percent-encoded are kept; characters that would change meaning in a query ('+', ' ', '#', a
/// stray '%') are encoded. A URL that already carries a `sig` parameter is returned unchanged.
std::string append_sas(std::string_view url, std::string_view sas);

/// The decoded `se` (signed expiry) value of a SAS token, if any.
std::optional<std::string> sas_expiry_text(std::string_view sas);

/// Parses "YYYY-MM-DD", "YYYY-MM-DDThh:mmZ", "YYYY-MM-DDThh:mm:ss[.fff]Z" (UTC) or with a
/// "+hh:mm"/"-hh:mm" offset. nullopt when unparsable. A valid time that system_clock cannot
/// hold (it ends in 2262 and starts in 1677) saturates to time_point::max() / min(), so a token
/// that expires in 9999 never looks expired.
std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text);

/// Throws dataport::error(authentication_failed) "the SAS token expired at <se>; generate a new
/// one" when the token's se= lies before `now`. Tokens without se (stored access policies) pass.
void check_sas_not_expired(std::string_view sas, std::chrono::system_clock::time_point now);

/// "YYYY-MM-DDThh:mm:ssZ".
std::string format_iso8601(std::chrono::system_clock::time_point when);

struct account_sas_options {
  std::string account;
  std::string account_key;             ///< SECRET: base64
  std::string permissions = "rl";      ///< ss order: r w d l a c u p ...
  std::string services = "b";          ///< b, f, q, t
  std::string resource_types = "sco";  ///< s (service), c (container), o (object)
  std::optional<std::chrono::system_clock::time_point> start;
  std::chrono::system_clock::time_point expiry;
  std::string protocol;  ///< "" (both), "https", "https,http"
  std::string version = "2021-08-06";
};

/// An account SAS token (query string without '?'), values percent-encoded.
std::string generate_account_sas(const account_sas_options& options);

struct blob_service_sas_options {
  std::string account;
  std::string account_key;  ///< SECRET: base64
  std::string container;
  std::string blob;               ///< decoded blob name; empty = container SAS (sr=c)
  std::string permissions = "r";  ///< in order r a c w d l ...
  std::optional<std::chrono::system_clock::time_point> start;
  std::chrono::system_clock::time_point expiry;
  std::string protocol;
  std::string version = "2021-08-06";
};

/// A Blob service SAS token for one blob (sr=b) or a container (sr=c).
std::string generate_blob_service_sas(const blob_service_sas_options& options);

}  // namespace dataport::auth
