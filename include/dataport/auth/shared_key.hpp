// Shared Key signing for the Blob service (not Shared Key Lite), version 2015-02-21+ rules.
//
//   StringToSign = VERB \n Content-Encoding \n Content-Language \n Content-Length (empty when 0)
//                  \n Content-MD5 \n Content-Type \n Date \n If-Modified-Since \n If-Match
//                  \n If-None-Match \n If-Unmodified-Since \n Range \n
//                  CanonicalizedHeaders CanonicalizedResource
// CanonicalizedResource is "/" + account + the URL path exactly as sent (still percent-encoded).
// For emulator path-style URLs the path already starts with "/account", giving
// "/account/account/container/blob". Query parameters follow as "\nname:value" with names
// lowercased and sorted and values decoded (several values of one name sorted, comma-joined).
//
// Exposed so tests can check golden vectors; production code uses make_credential().
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "dataport/http/message.hpp"

namespace dataport::auth {

/// The x-ms-* headers, lowercased, sorted, values trimmed, each followed by '\n'.
std::string canonicalized_headers(const http::header_list& headers);

/// "/account/path" plus "\nname:value" per query parameter (see above).
std::string canonicalized_resource(std::string_view url, std::string_view account);

/// The complete string to sign for `req` (uses its headers, method, URL and body size when no
/// Content-Length header is present).
std::string shared_key_string_to_sign(const http::request& req, std::string_view account);

/// Decodes a base64 account key. Throws dataport::error(invalid_argument) without echoing the
/// key when it is not valid base64.
std::string decode_account_key(std::string_view key_base64, std::string_view account);

/// base64(HMAC-SHA256(decoded_key, string_to_sign)).
std::string shared_key_signature(std::string_view decoded_key, std::string_view string_to_sign);

/// Sets "Authorization: SharedKey account:signature" on `req` (adds x-ms-date when neither
/// x-ms-date nor Date is present, using `now_rfc1123`).
void sign_shared_key(http::request& req, std::string_view account, std::string_view decoded_key,
                     std::string_view now_rfc1123);

/// Formats a time as an RFC 1123 date ("Sun, 06 Nov 1994 08:49:37 GMT").
std::string rfc1123_date(std::chrono::system_clock::time_point when);

}  // namespace dataport::auth
