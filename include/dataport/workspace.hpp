// dataport::workspace — the local description of an Azure ML workspace: its datastores, data
// assets and storage account mappings, read from a YAML or JSON file.
//
// The file format is documented with a full example in docs/workspace.md and
// examples/workspace.yaml. In short:
//
//   subscription_id: <sub>            resource_group: <rg>       workspace_name: <ws>
//   default_datastore: <name>
//   datastores:
//     <name>: {type: azure_blob | azure_data_lake_gen2 | https | local,
//              account_name, container_name (or filesystem), endpoint (default core.windows.net),
//              protocol (https | http, default https), service_url (explicit endpoint, e.g.
//              http://127.0.0.1:10000/devstoreaccount1), credentials, url (https), path (local)}
//   data_assets:
//     <name>: {versions: {"1": {type: uri_file | uri_folder | mltable, path: <any URI>}}}
//   accounts:
//     <account>: {service_url, credentials}      # used by plain wasbs/abfss/https blob URIs
//
//   credentials: {account_key | sas_token | bearer_token | bearer_token_file |
//                 managed_identity: {client_id}}  (at most one; none = anonymous/identity)
//
// Relative local paths (a local datastore's path, an asset's local path) are relative to the
// directory holding the workspace file.
//
// Thread-safety: a plain value type; loading does not touch global state except registering the
// secrets it reads with dataport::register_secret() so they are redacted from every log line.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "dataport/location.hpp"
#include "dataport/settings.hpp"

namespace dataport {

struct datastore_config {
  enum class kind { azure_blob, azure_data_lake_gen2, https, local };
  std::string name;
  kind type = kind::azure_blob;
  std::string account_name;
  std::string container;                      ///< container_name or filesystem
  std::string endpoint = "core.windows.net";  ///< endpoint suffix
  std::string protocol = "https";
  std::string service_url;       ///< explicit endpoint; empty = derived
  bool has_credentials = false;  ///< a credentials: block was given
  credential_config credential;
  std::string url;     ///< https datastores: base URL
  std::string path;    ///< local datastores: absolute base path
  std::string origin;  ///< "file:line" of its definition, for messages
};

std::string_view to_string(datastore_config::kind kind) noexcept;

struct data_asset_version {
  std::string version;
  std::string type;  ///< uri_file, uri_folder or mltable
  std::string path;  ///< any URI accepted by resolve()
  std::string origin;
};

struct data_asset {
  std::string name;
  std::map<std::string, data_asset_version> versions;

  /// The highest version: numeric comparison when both are numbers, else lexicographic.
  /// Precondition: !versions.empty().
  const data_asset_version& latest() const;
};

struct account_config {
  std::string name;
  std::string service_url;  ///< empty = https://<name>.blob.core.windows.net
  bool has_credentials = false;
  credential_config credential;
};

struct workspace {
  std::string file;  ///< the file it was loaded from; empty for an empty/default workspace
  std::string subscription_id;
  std::string resource_group;
  std::string workspace_name;
  std::string default_datastore;
  std::map<std::string, datastore_config> datastores;
  std::map<std::string, data_asset> data_assets;
  std::map<std::string, account_config> accounts;

  bool empty() const noexcept {
    return datastores.empty() && data_assets.empty() && accounts.empty() && workspace_name.empty();
  }
};

/// Loads a workspace file. `path` empty = the default search: $DATAPORT_WORKSPACE, else
/// ./.dataport/workspace.yaml, else $XDG_CONFIG_HOME (or ~/.config)/dataport/workspace.yaml; a
/// missing default file gives an empty workspace. An explicitly given file that is missing, does
/// not parse, or has an unknown type / missing field throws dataport::error(invalid_argument)
/// naming the file, the line and the key. `env` looks up environment variables (default: the
/// process environment).
workspace load_workspace(const std::string& path, const settings::env_lookup& env = {});

/// The workspace for a runtime: `workspace_file` (settings::workspace_file, i.e.
/// DATAPORT_WORKSPACE or --workspace) when non-empty, loaded like an explicit path; else the
/// default search of load_workspace("") (a missing default file = an empty workspace).
workspace load_default_workspace(const std::string& workspace_file = {},
                                 const settings::env_lookup& env = {});

/// Parses workspace text (YAML or JSON). `file` names the source in messages and anchors
/// relative local paths (its directory); it is not read.
workspace parse_workspace(std::string_view text, const std::string& file);

/// The file the default search would load, or empty when none of the candidates exists.
std::string default_workspace_path(const settings::env_lookup& env = {});

}  // namespace dataport
