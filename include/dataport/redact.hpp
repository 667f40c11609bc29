// Secret redaction for every string that leaves dataport (logs, errors, JSON, exceptions).
//
// By allow-list: in a URL's query only known-safe parameters keep their values; everything else
// (sig, skoid, tokens, unknown ones) becomes REDACTED. Free text is scrubbed of
// "Authorization: …", "AccountKey=…", "SharedAccessSignature=…", "sig=…", "Bearer …", of every
// secret registered with register_secret() (as given and percent-encoded), and of anything shaped
// like an account key (64 bytes in base64) or a JSON Web Token, even one dataport never loaded.
//
// Thread-safety: all functions are safe to call concurrently.
#pragma once

#include <string>
#include <string_view>

namespace dataport {

inline constexpr std::string_view redacted_marker = "REDACTED";

/// The URL with every query parameter not on the allow-list replaced by REDACTED, and any
/// user:password@ replaced (a bare user@, as in wasbs://container@account, is kept).
std::string redact_url(std::string_view url);

/// Free text with known secret patterns and registered secrets replaced by REDACTED.
std::string redact_text(std::string_view text);

/// Remembers a secret (key, SAS, token) so redact_text() removes it wherever it appears.
/// Secrets shorter than 8 characters are ignored (too likely to collide with normal text).
void register_secret(std::string_view secret);

}  // namespace dataport
