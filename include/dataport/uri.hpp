// dataport::parse_uri — the syntax of every URI form dataport accepts, without a workspace.
//
// parse_uri() only splits and validates text; it never looks at the environment or at a
// workspace description. dataport::resolve() (dataport/resolve.hpp) turns the parsed form into a
// concrete location (endpoint, container, credential).
//
// Accepted grammars (keywords and schemes are case-insensitive; names and paths are not):
//
//   <path>                               local path, relative or absolute ("./data", "/mnt/x")
//   file:///<abs path>                   local absolute path (also file://localhost/<abs>,
//   file:/<abs>) http://<host>[:<port>]/<path>[?<query>] https://<host>[:<port>]/<path>[?<query>]
//       When <host> is <account>.blob.<suffix> or <account>.dfs.<suffix> the URL is an Azure
//       Storage URL: account, storage_service ("blob"/"dfs"), endpoint_suffix and container
//       (the first path segment, required) are filled in and `path` is the rest.
//       Emulator (path-style) URLs such as http://127.0.0.1:10000/<account>/<container>/<blob>
//       are recognised later by resolve(), which knows the configured service URLs.
//   wasbs://<container>@<account>.blob.<suffix>/<path>[?<sas>]    (wasb:// = plain http)
//   abfss://<filesystem>@<account>.dfs.<suffix>/<path>[?<sas>]    (abfs:// = plain http)
//       <suffix> is usually core.windows.net. The host may name either the blob or the dfs
//       service for both schemes (the same data is reachable through both).
//   azureml://datastores/<datastore>/paths/<path>
//   azureml://subscriptions/<sub>/resourcegroups/<rg>/[providers/Microsoft.MachineLearningServices/]
//            workspaces/<ws>/datastores/<datastore>/paths/<path>
//   azureml://subscriptions/<sub>/resourcegroups/<rg>/[providers/Microsoft.MachineLearningServices/]
//            workspaces/<ws>/data/<name>/versions/<version>
//   azureml://registries/<registry>/data/<name>/versions/<version>
//   azureml:<name>:<version>
//   azureml:<name>@latest
//
// Paths are percent-decoded ("%20" → ' ', "%25" → '%', "%23" → '#', "%3F" → '?'); '+' stays '+'.
// Raw spaces and UTF-8 are accepted and kept as they are. A '?' starts the query (kept
// separately, verbatim, and treated as a secret: it usually is a SAS); a '#' fragment is
// rejected (encode a '#' in a name as %23). Names are validated with Azure's rules: account 3–24
// lowercase letters and digits; container/filesystem 3–63 lowercase letters, digits and single
// hyphens, starting and ending with a letter or digit (or $root, $web, $logs).
//
// Errors: dataport::error(errc::invalid_argument) naming the problem and the expected form, e.g.
//   wasbs URI needs <container>@<account>.blob.core.windows.net: got 'wasbs://foo/bar'
// The URI is passed through redact_url() before it is quoted, so a SAS never reaches a message.
//
// Thread-safety: pure functions on value types.
#pragma once

#include <string>
#include <string_view>

namespace dataport {

enum class uri_kind {
  local,  ///< a path with no scheme
  file,   ///< file:///abs/path
  http,   ///< http://host/path (may be a blob URL; see storage_service)
  https,  ///< https://host/path (may be a blob URL; see storage_service)
  wasb,
  wasbs,
  abfs,
  abfss,
  azureml_datastore_short,  ///< azureml://datastores/<ds>/paths/<p>
  azureml_datastore_long,  ///< azureml://subscriptions/.../workspaces/<ws>/datastores/<ds>/paths/<p>
  azureml_asset,           ///< azureml:<name>:<version> or azureml:<name>@latest
  azureml_asset_id,        ///< azureml://subscriptions/.../workspaces/<ws>/data/<name>/versions/<v>
  azureml_registry_asset,  ///< azureml://registries/<reg>/data/<name>/versions/<v>
};

/// "local", "file", "https", "azureml_datastore_short", ...
std::string_view to_string(uri_kind kind) noexcept;

/// The parts of a URI. Fields that do not apply to `kind` are empty.
struct parsed_uri {
  uri_kind kind = uri_kind::local;
  std::string host;     ///< http(s): host[:port], lowercase; wasb(s)/abfs(s): the full host
  std::string account;  ///< storage account (wasb/abfs, or a blob/dfs host of an http(s) URL)
  std::string storage_service;  ///< "blob" or "dfs" when the host is <account>.<service>.<suffix>
  std::string endpoint_suffix;  ///< e.g. "core.windows.net"
  std::string container;        ///< container or filesystem
  std::string path;   ///< percent-decoded. local: as given; file/http(s) non-storage: with
                      ///< leading '/'; storage and azureml: relative, no leading '/'
  std::string query;  ///< SECRET (usually a SAS): raw query without '?'
  std::string datastore;
  std::string subscription;
  std::string resource_group;
  std::string workspace;
  bool provider_segment = false;  ///< long form had providers/Microsoft.MachineLearningServices/
  std::string asset_name;
  std::string asset_version;  ///< empty when asset_latest
  bool asset_latest = false;
  std::string registry;

  bool operator==(const parsed_uri&) const = default;

  bool is_storage_url() const noexcept { return !storage_service.empty(); }
};

/// Parses any accepted form (see the grammar above). Throws dataport::error(invalid_argument).
parsed_uri parse_uri(std::string_view text);

/// Formats a parsed URI back into canonical text (keywords in canonical case, paths
/// percent-encoded where needed) so that parse_uri(format_uri(x, true)) == x. The query is left
/// out unless `include_secrets` is true.
std::string format_uri(const parsed_uri& uri, bool include_secrets = false);

/// True for a valid storage account name (3–24 lowercase letters and digits).
bool is_valid_account_name(std::string_view name) noexcept;

/// Empty when `name` is a valid container/filesystem name, else the reason it is not.
std::string container_name_problem(std::string_view name);

}  // namespace dataport
