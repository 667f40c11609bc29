// dataport::resolve — turns any accepted URI (dataport/uri.hpp) into one concrete location.
//
// Rules, in order:
//  * local path / file:// → backend local, absolute lexically normalised path (relative to cwd).
//  * http(s) URL → blob when the host is <account>.blob.<suffix>; dfs when <account>.dfs.<suffix>
//    (served through the account's blob endpoint); blob also when the URL starts with a known
//    service URL (workspace accounts and datastores, the connection string's BlobEndpoint,
//    UseDevelopmentStorage): path-style <service_url>/<container>/<path>. A query becomes a SAS
//    credential. Anything else → backend https (service_url scheme://host[:port], path = URL path
//    decoded, a query becomes a "sas" credential appended to each request).
//  * wasb(s) / abfs(s) → the account's settings, first match wins:
//      1. workspace accounts[<account>] (service_url, credentials)
//      2. AZURE_STORAGE_CONNECTION_STRING whose account is <account> (or UseDevelopmentStorage)
//      3. AZURE_STORAGE_ACCOUNT == <account> with AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN
//      4. https://<account>.blob.<suffix> (http for wasb/abfs), anonymous.
//    A SAS in the URI's query wins over any of these credentials.
//  * When no credential was found (anonymous) and IDENTITY_ENDPOINT, MSI_ENDPOINT or
//    DATAPORT_USE_MANAGED_IDENTITY=true is set: managed_identity (client id from
//    DATAPORT_MANAGED_IDENTITY_CLIENT_ID, else DEFAULT_IDENTITY_CLIENT_ID).
//  * azureml://datastores/<ds>/paths/<p> → the workspace's datastore <ds> (its own credentials,
//    else the account chain above). The long form must name the loaded workspace
//    (subscription, resource group and name compared case-insensitively).
//  * azureml:<name>:<version>, azureml:<name>@latest, .../data/<name>/versions/<v> → the asset's
//    path, resolved recursively, with asset_type set.
//  * azureml://registries/... → errc::unsupported (no registry support locally yet).
// location.source_uri is the input with secrets redacted (redact_url).
//
// Errors: dataport::error — invalid_argument for bad syntax or a URI that does not match the
// workspace, not_found for an unknown datastore/asset/version (listing the known ones),
// unsupported for registries.
//
// Thread-safety: pure; the context is only read. Ownership: ctx.ws must outlive the call.
#pragma once

#include <string>
#include <string_view>

#include "dataport/location.hpp"
#include "dataport/settings.hpp"
#include "dataport/workspace.hpp"

namespace dataport {

struct resolve_context {
  const workspace* ws = nullptr;  ///< may be null: azureml:// forms then fail with a hint
  settings::env_lookup env;       ///< empty = the process environment
  std::string cwd;                ///< empty = std::filesystem::current_path()
};

location resolve(std::string_view uri, const resolve_context& ctx);

}  // namespace dataport
