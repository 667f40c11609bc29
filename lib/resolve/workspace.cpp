// Workspace description loader: datastores, data assets and account mappings from YAML/JSON.
//
// Why strict: a typo in a workspace file ("acount_name") would otherwise surface much later as
// an anonymous request to the wrong endpoint. Unknown keys, unknown types and missing fields are
// errors that name the file, the line and the key, so the file can be fixed at once.
#include "dataport/workspace.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "dataport/error.hpp"
#include "dataport/redact.hpp"
#include "dataport/uri.hpp"
#include "resolve/detail/env.hpp"
#include "resolve/detail/text.hpp"

namespace dataport {
namespace {

namespace fs = std::filesystem;

/// Parsing state: the file name for messages and its directory for relative paths.
class reader {
 public:
  explicit reader(const std::string& file)
      : file_(file), base_dir_(fs::absolute(fs::path(file.empty() ? "." : file)).parent_path()) {}

  std::string origin(const YAML::Node& node) const {
    return fmt::format("{}:{}", file_, node.Mark().line + 1);
  }

  [[noreturn]] void fail(const YAML::Node& node, std::string_view key,
                         std::string_view problem) const {
    throw_error(errc::invalid_argument,
                fmt::format("{}: '{}': {} (see docs/workspace.md for the format)", origin(node),
                            key, problem));
  }

  void expect_map(const YAML::Node& node, std::string_view key) const {
    if (!node.IsMap()) fail(node, key, "expected a mapping of keys to values");
  }

  void check_keys(const YAML::Node& node, std::string_view key,
                  std::initializer_list<std::string_view> allowed) const {
    expect_map(node, key);
    for (const auto& entry : node) {
      const auto name = entry.first.as<std::string>();
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        fail(entry.first, fmt::format("{}.{}", key, name),
             fmt::format("unknown key; expected one of: {}", list));
      }
    }
  }

  std::string scalar(const YAML::Node& parent, std::string_view key,
                     std::string_view context) const {
    const auto node = parent[std::string(key)];
    if (!node) return {};
    if (!node.IsScalar()) fail(node, fmt::format("{}.{}", context, key), "expected a single value");
    return node.as<std::string>();
  }

  std::string required(const YAML::Node& parent, std::string_view key,
                       std::string_view context) const {
    auto value = scalar(parent, key, context);
    if (value.empty())
      fail(parent, fmt::format("{}.{}", context, key), "required field is missing");
    return value;
  }

  std::string absolute_path(std::string_view path) const {
    fs::path p(path);
    if (p.is_relative()) p = base_dir_ / p;
    return p.lexically_normal().string();
  }

  credential_config credentials(const YAML::Node& node, std::string_view context,
                                const std::string& account) const {
    const std::string key = fmt::format("{}.credentials", context);
    check_keys(
        node, key,
        {"account_key", "sas_token", "bearer_token", "bearer_token_file", "managed_identity"});
    if (node.size() > 1)
      fail(node, key,
           "give exactly one of account_key, sas_token, bearer_token, bearer_token_file, "
           "managed_identity");
    credential_config config;
    if (node.size() == 0) return config;
    using kind = credential_config::kind;
    if (auto value = scalar(node, "account_key", key); !value.empty()) {
      if (account.empty()) fail(node, key, "account_key needs the datastore's account_name");
      config.type = kind::shared_key;
      config.account_name = account;
      config.account_key = value;
      register_secret(value);
    } else if (auto sas = scalar(node, "sas_token", key); !sas.empty()) {
      config.type = kind::sas;
      config.sas_token = sas.starts_with('?') ? sas.substr(1) : sas;
      register_secret(config.sas_token);
    } else if (auto token = scalar(node, "bearer_token", key); !token.empty()) {
      config.type = kind::bearer_static;
      config.token = token;
      register_secret(token);
    } else if (auto file = scalar(node, "bearer_token_file", key); !file.empty()) {
      config.type = kind::bearer_file;
      config.token_file = absolute_path(file);
    } else if (const auto identity = node["managed_identity"]) {
      config.type = kind::managed_identity;
      if (identity.IsMap()) {
        check_keys(identity, key + ".managed_identity", {"client_id"});
        config.client_id = scalar(identity, "client_id", key + ".managed_identity");
      } else if (!identity.IsNull() &&
                 !(identity.IsScalar() && detail::iequals(identity.Scalar(), "true"))) {
        fail(identity, key + ".managed_identity", "expected {client_id: <id>}, {} or true");
      }
    } else {
      fail(node, key, "the credential value is empty");
    }
    return config;
  }

  void check_protocol(const YAML::Node& node, std::string& protocol, std::string_view key) const {
    protocol = detail::to_lower(protocol);
    if (protocol != "https" && protocol != "http")
      fail(node, key, fmt::format("protocol '{}' must be https or http", protocol));
  }

  void check_url(const YAML::Node& node, const std::string& url, std::string_view key) const {
    const auto scheme_end = url.find("://");
    const auto scheme = detail::to_lower(std::string_view(url).substr(0, scheme_end));
    if (scheme_end == std::string::npos || (scheme != "http" && scheme != "https")) {
      fail(node, key, fmt::format("'{}' is not an http:// or https:// URL", redact_url(url)));
    }
  }

  datastore_config datastore(const std::string& name, const YAML::Node& node) const {
    const std::string context = "datastores." + name;
    check_keys(node, context,
               {"type", "account_name", "container_name", "filesystem", "endpoint", "protocol",
                "service_url", "credentials", "url", "path", "description"});
    datastore_config ds;
    ds.name = name;
    ds.origin = origin(node);
    const auto type = required(node, "type", context);
    if (type == "azure_blob") {
      ds.type = datastore_config::kind::azure_blob;
    } else if (type == "azure_data_lake_gen2") {
      ds.type = datastore_config::kind::azure_data_lake_gen2;
    } else if (type == "https") {
      ds.type = datastore_config::kind::https;
    } else if (type == "local") {
      ds.type = datastore_config::kind::local;
    } else {
      fail(node["type"], context + ".type",
           fmt::format("unknown datastore type '{}'; expected azure_blob, azure_data_lake_gen2, "
                       "https or local",
                       type));
    }
    switch (ds.type) {
      case datastore_config::kind::azure_blob:
      case datastore_config::kind::azure_data_lake_gen2: {
        ds.account_name = required(node, "account_name", context);
        if (!is_valid_account_name(ds.account_name)) {
          fail(node["account_name"], context + ".account_name",
               fmt::format(
                   "'{}' is not a valid storage account name (3-24 lowercase letters and digits)",
                   ds.account_name));
        }
        const bool dfs = ds.type == datastore_config::kind::azure_data_lake_gen2;
        ds.container = scalar(node, dfs ? "filesystem" : "container_name", context);
        if (ds.container.empty())
          ds.container = scalar(node, dfs ? "container_name" : "filesystem", context);
        if (ds.container.empty())
          fail(node, context + (dfs ? ".filesystem" : ".container_name"),
               "required field is missing");
        if (auto problem = container_name_problem(ds.container); !problem.empty()) {
          fail(node, context + (dfs ? ".filesystem" : ".container_name"),
               fmt::format("'{}' is invalid: {}", ds.container, problem));
        }
        if (auto endpoint = scalar(node, "endpoint", context); !endpoint.empty())
          ds.endpoint = endpoint;
        if (auto protocol = scalar(node, "protocol", context); !protocol.empty())
          ds.protocol = protocol;
        check_protocol(node, ds.protocol, context + ".protocol");
        ds.service_url = detail::strip_trailing_slashes(scalar(node, "service_url", context));
        if (!ds.service_url.empty())
          check_url(node["service_url"], ds.service_url, context + ".service_url");
        break;
      }
      case datastore_config::kind::https:
        ds.url = required(node, "url", context);
        check_url(node["url"], ds.url, context + ".url");
        break;
      case datastore_config::kind::local:
        ds.path = absolute_path(required(node, "path", context));
        break;
    }
    if (const auto creds = node["credentials"]; creds && !creds.IsNull()) {
      ds.has_credentials = creds.size() > 0;
      ds.credential = credentials(creds, context, ds.account_name);
    }
    return ds;
  }

  data_asset asset(const std::string& name, const YAML::Node& node) const {
    const std::string context = "data_assets." + name;
    check_keys(node, context, {"versions", "description"});
    const auto versions = node["versions"];
    if (!versions || !versions.IsMap() || versions.size() == 0) {
      fail(node, context + ".versions", "required: a mapping of version to {type, path}");
    }
    data_asset out;
    out.name = name;
    for (const auto& entry : versions) {
      data_asset_version v;
      v.version = entry.first.as<std::string>();
      const std::string vcontext = fmt::format("{}.versions.{}", context, v.version);
      check_keys(entry.second, vcontext, {"type", "path", "description"});
      v.origin = origin(entry.second);
      v.type = required(entry.second, "type", vcontext);
      if (v.type != "uri_file" && v.type != "uri_folder" && v.type != "mltable") {
        fail(entry.second["type"], vcontext + ".type",
             fmt::format("unknown data asset type '{}'; expected uri_file, uri_folder or mltable",
                         v.type));
      }
      v.path = required(entry.second, "path", vcontext);
      try {
        if (parse_uri(v.path).kind == uri_kind::local) v.path = absolute_path(v.path);
      } catch (const error& e) {
        fail(entry.second["path"], vcontext + ".path", e.what());
      }
      out.versions.emplace(v.version, std::move(v));
    }
    return out;
  }

  account_config account(const std::string& name, const YAML::Node& node) const {
    const std::string context = "accounts." + name;
    check_keys(node, context, {"service_url", "credentials"});
    if (!is_valid_account_name(name)) {
      fail(node, context, "not a valid storage account name (3-24 lowercase letters and digits)");
    }
    account_config out;
    out.name = name;
    out.service_url = detail::strip_trailing_slashes(scalar(node, "service_url", context));
    if (!out.service_url.empty())
      check_url(node["service_url"], out.service_url, context + ".service_url");
    if (const auto creds = node["credentials"]; creds && !creds.IsNull()) {
      out.has_credentials = creds.size() > 0;
      out.credential = credentials(creds, context, name);
    }
    return out;
  }

  workspace parse(const YAML::Node& root) const {
    workspace ws;
    ws.file = file_;
    if (root.IsNull()) return ws;
    check_keys(root, "<top level>",
               {"subscription_id", "resource_group", "workspace_name", "default_datastore",
                "datastores", "data_assets", "accounts"});
    ws.subscription_id = scalar(root, "subscription_id", "workspace");
    ws.resource_group = scalar(root, "resource_group", "workspace");
    ws.workspace_name = scalar(root, "workspace_name", "workspace");
    ws.default_datastore = scalar(root, "default_datastore", "workspace");
    if (const auto node = root["datastores"]; node && !node.IsNull()) {
      expect_map(node, "datastores");
      for (const auto& e : node) {
        const auto name = e.first.as<std::string>();
        ws.datastores.emplace(name, datastore(name, e.second));
      }
    }
    if (const auto node = root["data_assets"]; node && !node.IsNull()) {
      expect_map(node, "data_assets");
      for (const auto& e : node) {
        const auto name = e.first.as<std::string>();
        ws.data_assets.emplace(name, asset(name, e.second));
      }
    }
    if (const auto node = root["accounts"]; node && !node.IsNull()) {
      expect_map(node, "accounts");
      for (const auto& e : node) {
        const auto name = e.first.as<std::string>();
        ws.accounts.emplace(name, account(name, e.second));
      }
    }
    if (!ws.default_datastore.empty() && !ws.datastores.contains(ws.default_datastore)) {
      fail(root["default_datastore"], "default_datastore",
           fmt::format("names '{}', which is not defined under datastores", ws.default_datastore));
    }
    return ws;
  }

 private:
  std::string file_;
  fs::path base_dir_;
};

bool is_number(std::string_view text) noexcept {
  return !text.empty() && text.size() < 19 &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string_view to_string(datastore_config::kind kind) noexcept {
  switch (kind) {
    case datastore_config::kind::azure_blob:
      return "azure_blob";
    case datastore_config::kind::azure_data_lake_gen2:
      return "azure_data_lake_gen2";
    case datastore_config::kind::https:
      return "https";
    case datastore_config::kind::local:
      return "local";
  }
  return "unknown";
}

const data_asset_version& data_asset::latest() const {
  const auto less = [](const auto& a, const auto& b) {
    const auto& x = a.first;
    const auto& y = b.first;
    if (is_number(x) && is_number(y)) return std::stoull(x) < std::stoull(y);
    if (is_number(x) != is_number(y)) return !is_number(x);  // numbers rank above labels
    return x < y;
  };
  return std::max_element(versions.begin(), versions.end(), less)->second;
}

workspace parse_workspace(std::string_view text, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    throw_error(
        errc::invalid_argument,
        fmt::format("{}:{}:{}: the workspace file does not parse: {} (YAML or JSON expected; "
                    "see docs/workspace.md)",
                    file, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  try {
    return reader(file).parse(root);
  } catch (const YAML::Exception& e) {
    throw_error(errc::invalid_argument,
                fmt::format("{}:{}: unexpected workspace content: {} (see docs/workspace.md)", file,
                            e.mark.line + 1, e.msg));
  }
}

std::string default_workspace_path(const settings::env_lookup& env) {
  if (auto explicit_path = detail::getenv_nonempty(env, "DATAPORT_WORKSPACE"))
    return *explicit_path;
  std::error_code ec;
  if (fs::exists(".dataport/workspace.yaml", ec)) return ".dataport/workspace.yaml";
  fs::path config;
  if (auto xdg = detail::getenv_nonempty(env, "XDG_CONFIG_HOME")) {
    config = *xdg;
  } else if (auto home = detail::getenv_nonempty(env, "HOME")) {
    config = fs::path(*home) / ".config";
  } else {
    return {};
  }
  const auto candidate = config / "dataport" / "workspace.yaml";
  return fs::exists(candidate, ec) ? candidate.string() : std::string{};
}

workspace load_workspace(const std::string& path, const settings::env_lookup& env) {
  std::string file = path;
  if (file.empty()) {
    file = default_workspace_path(env);
    if (file.empty()) return {};
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw_error(
        errc::invalid_argument,
        fmt::format("workspace file '{}' cannot be read: check the path (given explicitly or "
                    "by DATAPORT_WORKSPACE); see docs/workspace.md for the format",
                    file));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_workspace(text.str(), file);
}

workspace load_default_workspace(const std::string& workspace_file,
                                 const settings::env_lookup& env) {
  return load_workspace(workspace_file, env);
}

}  // namespace dataport
