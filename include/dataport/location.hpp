// dataport::location — where data lives, after every URI form has been resolved.
//
// The resolver (dataport/resolve.hpp) turns local paths, file://, http(s)://, wasb(s)://,
// abfs(s)://, blob https URLs and azureml:// URIs into one location. A storage backend is built
// from a location (dataport/object_store.hpp).
//
// Thread-safety: plain value types.
#pragma once

#include <string>

namespace dataport {

enum class backend_kind {
  local,  ///< local file system; container empty, path absolute
  https,  ///< a public web server (read only); service_url = scheme://host[:port]
  blob,   ///< Azure Blob Storage (or Azurite); service_url is the account's blob endpoint
  dfs,    ///< ADLS Gen2 (abfss); read and written through the account's Blob endpoint
};

std::string_view to_string(backend_kind kind) noexcept;

/// How to authenticate. Secret fields are never logged; use describe() for display.
struct credential_config {
  enum class kind {
    anonymous,         ///< no Authorization header (public container or web server)
    shared_key,        ///< account key, Shared Key signing
    sas,               ///< SAS token appended to every request's query
    bearer_static,     ///< a fixed bearer token
    bearer_file,       ///< a bearer token re-read from a file before it expires
    managed_identity,  ///< IDENTITY_ENDPOINT / MSI_ENDPOINT / IMDS
  };
  kind type = kind::anonymous;
  std::string account_name;  ///< for shared_key
  std::string account_key;   ///< SECRET: base64 account key
  std::string sas_token;     ///< SECRET: query string without leading '?'
  std::string token;         ///< SECRET: static bearer token
  std::string token_file;    ///< path of a file holding a bearer token
  std::string client_id;     ///< managed identity client id (optional)
  std::string resource = "https://storage.azure.com/";  ///< token audience

  /// "shared_key", "sas", ... without any secret material.
  std::string_view kind_name() const noexcept;
};

struct location {
  backend_kind backend = backend_kind::local;
  std::string service_url;  ///< e.g. https://acct.blob.core.windows.net,
                            ///< http://127.0.0.1:10000/devstoreaccount1
  std::string account;      ///< storage account name (blob/dfs)
  std::string container;    ///< container or filesystem (blob/dfs)
  std::string path;  ///< decoded path inside the container (no leading '/'); local: absolute path;
                     ///< https: URL path
  credential_config credential;
  std::string asset_type;  ///< uri_file / uri_folder / mltable when resolved from a data asset
  std::string source_uri;  ///< the URI as given, secrets redacted
};

/// The path to pass to the location's object_store. Stores are rooted at the container (blob,
/// dfs), the origin (https) or the file-system root (local), so this is location::path, without
/// its leading '/' for local and https locations (as those stores list their entries).
std::string store_path(const location& where);

}  // namespace dataport
