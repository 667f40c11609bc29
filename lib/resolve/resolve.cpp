// URI → location: applies the workspace, the Azure environment conventions and the defaults.
//
// Why one place: every entry point (CLI, C API, job runner, MLTable evaluation) must agree on
// which endpoint and which credential a URI means; the precedence is documented once in
// dataport/resolve.hpp and implemented only here. Syntax lives in uri.cpp, the file format in
// workspace.cpp; this file only decides.
#include "dataport/resolve.hpp"

#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "dataport/connection_string.hpp"
#include "dataport/error.hpp"
#include "dataport/redact.hpp"
#include "dataport/uri.hpp"
#include "resolve/detail/env.hpp"
#include "resolve/detail/redact_uri.hpp"
#include "resolve/detail/text.hpp"

namespace dataport {
namespace {

namespace fs = std::filesystem;
using detail::getenv_nonempty;

constexpr int max_asset_depth = 8;

struct account_settings {
  std::string service_url;
  credential_config credential;
};

std::optional<connection_string> env_connection_string(const resolve_context& ctx) {
  auto text = getenv_nonempty(ctx.env, "AZURE_STORAGE_CONNECTION_STRING");
  if (!text) return std::nullopt;
  return parse_connection_string(*text);
}

credential_config sas_credential(std::string_view query) {
  credential_config config;
  config.type = credential_config::kind::sas;
  config.sas_token = std::string(query);
  register_secret(config.sas_token);
  return config;
}

/// Steps 1-4 of the account chain (see resolve.hpp), without the managed-identity fallback.
account_settings account_chain(const std::string& account, std::string default_service_url,
                               const resolve_context& ctx) {
  account_settings out;
  out.service_url = std::move(default_service_url);
  bool service_url_fixed = false;
  if (ctx.ws != nullptr) {
    if (auto it = ctx.ws->accounts.find(account); it != ctx.ws->accounts.end()) {
      if (!it->second.service_url.empty()) {
        out.service_url = it->second.service_url;
        service_url_fixed = true;
      }
      if (it->second.has_credentials) {
        out.credential = it->second.credential;
        return out;
      }
    }
  }
  if (auto cs = env_connection_string(ctx); cs && cs->account_name == account) {
    if (!service_url_fixed) out.service_url = cs->blob_service_url();
    out.credential = cs->credential();
    return out;
  }
  if (auto env_account = getenv_nonempty(ctx.env, "AZURE_STORAGE_ACCOUNT");
      env_account == account) {
    if (auto key = getenv_nonempty(ctx.env, "AZURE_STORAGE_KEY")) {
      out.credential.type = credential_config::kind::shared_key;
      out.credential.account_name = account;
      out.credential.account_key = *key;
      register_secret(*key);
    } else if (auto sas = getenv_nonempty(ctx.env, "AZURE_STORAGE_SAS_TOKEN")) {
      out.credential = sas_credential(sas->starts_with('?') ? sas->substr(1) : *sas);
    }
  }
  return out;
}

void apply_managed_identity_fallback(credential_config& credential, const resolve_context& ctx) {
  if (credential.type != credential_config::kind::anonymous) return;
  const auto flag = getenv_nonempty(ctx.env, "DATAPORT_USE_MANAGED_IDENTITY");
  const bool requested = flag && (detail::iequals(*flag, "true") || *flag == "1");
  if (!requested && !getenv_nonempty(ctx.env, "IDENTITY_ENDPOINT") &&
      !getenv_nonempty(ctx.env, "MSI_ENDPOINT")) {
    return;
  }
  credential.type = credential_config::kind::managed_identity;
  if (auto id = getenv_nonempty(ctx.env, "DATAPORT_MANAGED_IDENTITY_CLIENT_ID")) {
    credential.client_id = *id;
  } else if (auto default_id = getenv_nonempty(ctx.env, "DEFAULT_IDENTITY_CLIENT_ID")) {
    credential.client_id = *default_id;
  }
}

std::string join_path(std::string_view base, std::string_view rest) {
  if (base.empty()) return std::string(rest);
  if (rest.empty()) return std::string(base);
  std::string out(base);
  if (out.back() != '/') out += '/';
  while (rest.starts_with('/')) rest.remove_prefix(1);
  return out + std::string(rest);
}

std::string local_absolute(std::string_view path, const resolve_context& ctx) {
  fs::path p(path);
  if (p.is_relative()) p = (ctx.cwd.empty() ? fs::current_path() : fs::path(ctx.cwd)) / p;
  std::string out = p.lexically_normal().string();
  return detail::strip_trailing_slashes(std::move(out));
}

/// A service URL the configuration knows, for path-style (emulator) URLs.
struct known_endpoint {
  std::string service_url;
  std::string account;
};

std::vector<known_endpoint> known_endpoints(const resolve_context& ctx) {
  std::vector<known_endpoint> out;
  if (ctx.ws != nullptr) {
    for (const auto& [name, account] : ctx.ws->accounts) {
      if (!account.service_url.empty()) out.push_back({account.service_url, name});
    }
    for (const auto& [name, ds] : ctx.ws->datastores) {
      if (!ds.service_url.empty()) out.push_back({ds.service_url, ds.account_name});
    }
  }
  if (auto cs = env_connection_string(ctx); cs && !cs->blob_endpoint.empty()) {
    out.push_back({cs->blob_endpoint, cs->account_name});
  }
  return out;
}

location resolve_http(const parsed_uri& uri, const resolve_context& ctx) {
  location loc;
  const std::string scheme(to_string(uri.kind));
  if (uri.is_storage_url()) {
    loc.backend = uri.storage_service == "dfs" ? backend_kind::dfs : backend_kind::blob;
    loc.account = uri.account;
    loc.container = uri.container;
    loc.path = uri.path;
    const std::string service_url =
        fmt::format("{}://{}.blob.{}", scheme, uri.account, uri.endpoint_suffix);
    loc.service_url = service_url;
    loc.credential = account_chain(uri.account, service_url, ctx).credential;
  } else {
    const std::string url = fmt::format("{}://{}{}", scheme, uri.host, uri.path);
    const known_endpoint* best = nullptr;
    const auto endpoints = known_endpoints(ctx);
    for (const auto& endpoint : endpoints) {
      const auto& prefix = endpoint.service_url;
      const bool matches = detail::istarts_with(url, prefix) &&
                           (url.size() == prefix.size() || url[prefix.size()] == '/');
      if (matches && (best == nullptr || prefix.size() > best->service_url.size()))
        best = &endpoint;
    }
    if (best == nullptr) {
      loc.backend = backend_kind::https;
      loc.service_url = fmt::format("{}://{}", scheme, uri.host);
      loc.path = uri.path;
      if (!uri.query.empty()) loc.credential = sas_credential(uri.query);
      return loc;
    }
    std::string_view rest = std::string_view(url).substr(best->service_url.size());
    while (rest.starts_with('/')) rest.remove_prefix(1);
    const auto slash = rest.find('/');
    loc.backend = backend_kind::blob;
    loc.account = best->account;
    loc.container = std::string(rest.substr(0, slash));
    loc.path =
        slash == std::string_view::npos ? std::string{} : std::string(rest.substr(slash + 1));
    if (loc.container.empty()) {
      throw_error(
          errc::invalid_argument,
          fmt::format("'{}' names the storage endpoint {} but no container: expected "
                      "{}/<container>/<path>",
                      detail::redact_uri(format_uri(uri)), best->service_url, best->service_url));
    }
    auto account = account_chain(best->account, best->service_url, ctx);
    loc.service_url = best->service_url;
    loc.credential = account.credential;
  }
  if (!uri.query.empty()) loc.credential = sas_credential(uri.query);
  apply_managed_identity_fallback(loc.credential, ctx);
  return loc;
}

location resolve_storage_scheme(const parsed_uri& uri, const resolve_context& ctx) {
  location loc;
  const bool secure = uri.kind == uri_kind::wasbs || uri.kind == uri_kind::abfss;
  const bool dfs = uri.kind == uri_kind::abfs || uri.kind == uri_kind::abfss;
  loc.backend = dfs ? backend_kind::dfs : backend_kind::blob;
  loc.account = uri.account;
  loc.container = uri.container;
  loc.path = uri.path;
  auto account = account_chain(
      uri.account,
      fmt::format("{}://{}.blob.{}", secure ? "https" : "http", uri.account, uri.endpoint_suffix),
      ctx);
  loc.service_url = account.service_url;
  loc.credential = uri.query.empty() ? account.credential : sas_credential(uri.query);
  apply_managed_identity_fallback(loc.credential, ctx);
  return loc;
}

std::string list_names(const auto& map) {
  std::string out;
  for (const auto& [name, value] : map) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "(none)" : out;
}

[[noreturn]] void fail_no_workspace(std::string_view uri) {
  throw_error(errc::invalid_argument,
              fmt::format("'{}' needs a workspace description, and none is loaded: create "
                          ".dataport/workspace.yaml, set DATAPORT_WORKSPACE or pass --workspace "
                          "(format: docs/workspace.md)",
                          detail::redact_uri(uri)));
}

void check_workspace_identity(const parsed_uri& uri, const workspace& ws, std::string_view text) {
  const bool same = detail::iequals(uri.subscription, ws.subscription_id) &&
                    detail::iequals(uri.resource_group, ws.resource_group) &&
                    detail::iequals(uri.workspace, ws.workspace_name);
  if (!same) {
    throw_error(
        errc::invalid_argument,
        fmt::format("'{}' names workspace '{}' (subscription '{}', resource group '{}') but "
                    "the loaded workspace {} is '{}' (subscription '{}', resource group "
                    "'{}'): use the short form azureml://datastores/<datastore>/paths/<path> "
                    "or load the matching workspace file",
                    detail::redact_uri(text), uri.workspace, uri.subscription, uri.resource_group,
                    ws.file.empty() ? "(none)" : ws.file, ws.workspace_name, ws.subscription_id,
                    ws.resource_group));
  }
}

location resolve_datastore(const parsed_uri& uri, const resolve_context& ctx) {
  const workspace& ws = *ctx.ws;
  const auto it = ws.datastores.find(uri.datastore);
  if (it == ws.datastores.end()) {
    throw_error(
        errc::not_found,
        fmt::format("datastore '{}' is not defined in workspace {}; known datastores: {}. "
                    "Add it under 'datastores:' in the workspace file (see docs/workspace.md)",
                    uri.datastore, ws.file.empty() ? "(none)" : ws.file,
                    list_names(ws.datastores)));
  }
  const datastore_config& ds = it->second;
  location loc;
  switch (ds.type) {
    case datastore_config::kind::local:
      loc.backend = backend_kind::local;
      loc.path = local_absolute(join_path(ds.path, uri.path), ctx);
      return loc;
    case datastore_config::kind::https: {
      const parsed_uri base = parse_uri(ds.url);
      if (base.is_storage_url()) {
        loc = resolve_http(base, ctx);
        loc.path = join_path(loc.path, uri.path);
      } else {
        loc.backend = backend_kind::https;
        loc.service_url = fmt::format("{}://{}", to_string(base.kind), base.host);
        loc.path = join_path(base.path.empty() ? "/" : base.path, uri.path);
        if (!base.query.empty()) loc.credential = sas_credential(base.query);
      }
      break;
    }
    case datastore_config::kind::azure_blob:
    case datastore_config::kind::azure_data_lake_gen2: {
      loc.backend =
          ds.type == datastore_config::kind::azure_blob ? backend_kind::blob : backend_kind::dfs;
      loc.account = ds.account_name;
      loc.container = ds.container;
      loc.path = uri.path;
      auto account = account_chain(
          ds.account_name,
          fmt::format("{}://{}.blob.{}", ds.protocol, ds.account_name, ds.endpoint), ctx);
      loc.service_url = ds.service_url.empty() ? account.service_url : ds.service_url;
      loc.credential = account.credential;
      break;
    }
  }
  if (ds.has_credentials) loc.credential = ds.credential;
  apply_managed_identity_fallback(loc.credential, ctx);
  return loc;
}

location resolve_parsed(std::string_view text, const resolve_context& ctx, int depth);

location resolve_asset(const parsed_uri& uri, const resolve_context& ctx, std::string_view text,
                       int depth) {
  const workspace& ws = *ctx.ws;
  const auto it = ws.data_assets.find(uri.asset_name);
  if (it == ws.data_assets.end()) {
    throw_error(
        errc::not_found,
        fmt::format("data asset '{}' is not defined in workspace {}; known data assets: {}. "
                    "Add it under 'data_assets:' in the workspace file (see docs/workspace.md)",
                    uri.asset_name, ws.file.empty() ? "(none)" : ws.file,
                    list_names(ws.data_assets)));
  }
  const data_asset& asset = it->second;
  const data_asset_version* version = nullptr;
  if (uri.asset_latest) {
    version = &asset.latest();
  } else if (auto v = asset.versions.find(uri.asset_version); v != asset.versions.end()) {
    version = &v->second;
  } else {
    throw_error(
        errc::not_found,
        fmt::format("data asset '{}' has no version '{}'; available versions: {} (or use "
                    "azureml:{}@latest)",
                    uri.asset_name, uri.asset_version, list_names(asset.versions), uri.asset_name));
  }
  if (depth >= max_asset_depth) {
    throw_error(errc::invalid_argument,
                fmt::format("'{}' refers to data assets more than {} levels deep (a cycle?): make "
                            "the asset's path a storage or local URI",
                            detail::redact_uri(text), max_asset_depth));
  }
  location loc = resolve_parsed(version->path, ctx, depth + 1);
  loc.asset_type = version->type;
  return loc;
}

location resolve_parsed(std::string_view text, const resolve_context& ctx, int depth) {
  const parsed_uri uri = parse_uri(text);
  switch (uri.kind) {
    case uri_kind::local:
    case uri_kind::file: {
      location loc;
      loc.backend = backend_kind::local;
      loc.path = local_absolute(uri.path, ctx);
      return loc;
    }
    case uri_kind::http:
    case uri_kind::https:
      return resolve_http(uri, ctx);
    case uri_kind::wasb:
    case uri_kind::wasbs:
    case uri_kind::abfs:
    case uri_kind::abfss:
      return resolve_storage_scheme(uri, ctx);
    case uri_kind::azureml_registry_asset:
      throw_error(errc::unsupported,
                  fmt::format("'{}' names a data asset in registry '{}'; registries are not "
                              "supported locally yet: register the asset in the workspace file "
                              "(data_assets:) or use its storage URI",
                              detail::redact_uri(text), uri.registry));
    case uri_kind::azureml_datastore_long:
    case uri_kind::azureml_asset_id:
    case uri_kind::azureml_datastore_short:
    case uri_kind::azureml_asset:
      break;
  }
  if (ctx.ws == nullptr || ctx.ws->empty()) fail_no_workspace(text);
  if (uri.kind == uri_kind::azureml_datastore_long || uri.kind == uri_kind::azureml_asset_id) {
    check_workspace_identity(uri, *ctx.ws, text);
  }
  if (uri.kind == uri_kind::azureml_asset || uri.kind == uri_kind::azureml_asset_id) {
    return resolve_asset(uri, ctx, text, depth);
  }
  return resolve_datastore(uri, ctx);
}

}  // namespace

location resolve(std::string_view uri, const resolve_context& ctx) {
  location loc = resolve_parsed(uri, ctx, 0);
  loc.source_uri = detail::redact_uri(uri);
  return loc;
}

}  // namespace dataport
