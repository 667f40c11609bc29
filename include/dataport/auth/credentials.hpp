// The credential kinds behind dataport::make_credential, with their seams exposed for tests
// (clock, environment lookup, token sender). Production code calls make_credential().
//
// Every factory registers the secret material it receives with dataport::register_secret.
// Thread-safety: the returned credentials allow concurrent apply().
#pragma once

#include <memory>
#include <string>

#include "dataport/auth/managed_identity.hpp"
#include "dataport/auth/token_cache.hpp"
#include "dataport/credential.hpp"

namespace dataport::auth {

/// The x-ms-version bearer requests need at least (OAuth needs ≥ 2017-11-09).
inline constexpr std::string_view bearer_min_version = "2020-04-08";

std::shared_ptr<credential> make_anonymous_credential();

/// Throws invalid_argument (naming the account, not the key) when the key is not base64.
std::shared_ptr<credential> make_shared_key_credential(std::string account, std::string key_base64,
                                                       clock_fn clock = {});

/// apply() throws authentication_failed when the token's se= is before clock().
std::shared_ptr<credential> make_sas_credential(std::string sas_token, clock_fn clock = {});

/// A fixed token; apply() throws authentication_failed once its JWT exp (if any) has passed.
std::shared_ptr<credential> make_static_token_credential(std::string token, clock_fn clock = {});

/// A token read from `path`, re-read when the file's mtime changes or the token is within
/// 5 minutes of its JWT exp.
std::shared_ptr<credential> make_token_file_credential(std::string path, clock_fn clock = {});

/// Any token source behind the single-flight cache (managed identity uses this).
std::shared_ptr<credential> make_cached_token_credential(token_cache::fetch_fn fetch,
                                                         clock_fn clock = {});

/// Managed identity tokens fetched through `send`.
std::shared_ptr<credential> make_managed_identity_credential(identity_sender send,
                                                             managed_identity_options options);

/// Sets Authorization: Bearer and raises x-ms-version to bearer_min_version when missing/older.
void set_bearer(http::request& req, std::string_view token);

}  // namespace dataport::auth
