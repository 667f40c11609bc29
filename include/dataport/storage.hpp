// dataport storage factory: turns a resolved location into an object_store.
//
// Backends (see docs/backends.md for what each supports):
//   local  a directory on the local file system (location::path is the absolute root)
//   https  a web server origin, read only (location::service_url = scheme://host[:port])
//   blob   an Azure Blob container (location::service_url + location::container)
//   dfs    ADLS Gen2, served by the blob backend over the account's Blob endpoint
// The store is rooted at the container (blob/dfs), the origin (https) or location::path (local);
// location::path beyond that is the caller's business (it is the object or folder to work on).
//
// Ownership: the returned store shares `client`, `cred` and `counters`. Thread-safety: stores may
// be used concurrently from coroutines on the client's io_context.
#pragma once

#include <memory>
#include <string>

#include "dataport/credential.hpp"
#include "dataport/http/client.hpp"
#include "dataport/location.hpp"
#include "dataport/metrics.hpp"
#include "dataport/object_store.hpp"

namespace dataport {

/// Blob-specific options.
struct blob_store_options {
  /// x-ms-blob-public-access sent by create_container(): "" (private), "blob" or "container".
  std::string public_access;
  /// Largest listing page accepted (bytes); a bigger response is errc::protocol.
  std::size_t max_listing_bytes = 32u << 20;
};

/// Builds the store for `where`. `cred` may be null (anonymous). Throws invalid_argument for a
/// location the backend cannot serve (e.g. blob without a container).
std::shared_ptr<object_store> make_store(const location& where,
                                         std::shared_ptr<http::client> client,
                                         std::shared_ptr<credential> cred,
                                         std::shared_ptr<metrics> counters = {});

/// Blob (and dfs) store rooted at where.container on where.service_url.
std::shared_ptr<object_store> make_blob_store(const location& where,
                                              std::shared_ptr<http::client> client,
                                              std::shared_ptr<credential> cred,
                                              blob_store_options options = {},
                                              std::shared_ptr<metrics> counters = {});

/// Read-only store for a web server origin (where.service_url). Requests follow up to 5
/// same-origin redirects.
std::shared_ptr<object_store> make_https_store(const location& where,
                                               std::shared_ptr<http::client> client,
                                               std::shared_ptr<credential> cred = {},
                                               std::shared_ptr<metrics> counters = {});

/// Store rooted at the local directory `root` (absolute path).
std::shared_ptr<object_store> make_local_store(const std::string& root);

}  // namespace dataport
