// dataport::connection_string — the Azure Storage connection string
// (AZURE_STORAGE_CONNECTION_STRING).
//
// Accepted keys (case-insensitive, separated by ';', values may contain '='):
//   DefaultEndpointsProtocol=https|http   AccountName=<name>   AccountKey=<base64>
//   BlobEndpoint=<url>   EndpointSuffix=<suffix, default core.windows.net>
//   SharedAccessSignature=<sas>   UseDevelopmentStorage=true   DevelopmentStorageProxyUri (ignored)
// Other keys (QueueEndpoint, TableEndpoint, FileEndpoint, ...) are ignored.
//
// UseDevelopmentStorage=true means the Azurite/emulator account: devstoreaccount1 with its
// well-known key at http://127.0.0.1:10000/devstoreaccount1.
//
// Errors: dataport::error(invalid_argument) naming the offending key, never the key's value
// (account keys and SAS tokens are secrets).
//
// Thread-safety: plain value types and pure functions.
#pragma once

#include <string>
#include <string_view>

#include "dataport/location.hpp"

namespace dataport {

struct connection_string {
  std::string protocol = "https";                    ///< DefaultEndpointsProtocol
  std::string account_name;                          ///< AccountName
  std::string account_key;                           ///< SECRET: AccountKey
  std::string blob_endpoint;                         ///< BlobEndpoint, without trailing '/'
  std::string endpoint_suffix = "core.windows.net";  ///< EndpointSuffix
  std::string sas_token;                             ///< SECRET: SharedAccessSignature, without '?'
  bool development_storage = false;                  ///< UseDevelopmentStorage=true

  /// BlobEndpoint when given, else <protocol>://<account>.blob.<suffix>.
  std::string blob_service_url() const;

  /// Account key → shared_key, else SAS → sas, else anonymous.
  credential_config credential() const;
};

/// The emulator's well-known account, key and endpoint (public values, documented by Azure).
inline constexpr std::string_view development_account_name = "devstoreaccount1";
inline constexpr std::string_view development_account_key =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
inline constexpr std::string_view development_blob_endpoint =
    "http://127.0.0.1:10000/devstoreaccount1";

/// Parses a connection string. Throws dataport::error(invalid_argument) for a segment without
/// '=', an unknown protocol, or a string with neither AccountName nor UseDevelopmentStorage.
connection_string parse_connection_string(std::string_view text);

}  // namespace dataport
