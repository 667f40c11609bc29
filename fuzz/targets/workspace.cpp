// Fuzz target: the workspace reader (dataport::parse_workspace, YAML or JSON text).
// Properties: parsing returns a workspace or throws dataport::error(invalid_argument) naming the
// file (never another exception, a crash or a hang); a returned workspace is consistent: every
// Azure datastore has a valid account and container name and an http(s) protocol, explicit
// service URLs are http(s), local paths are absolute, every asset has versions of a known type
// and a latest() version, account mappings have valid names, the default datastore exists; and
// an error never quotes a credential value (the input is also tried with a datastore whose
// credentials carry marker secrets).
#include <string>

#include "../fuzz_check.hpp"
#include "dataport/error.hpp"
#include "dataport/uri.hpp"
#include "dataport/workspace.hpp"

namespace {

constexpr std::string_view file = "/fuzz/ws/workspace.yaml";
constexpr std::string_view secret_marker = "Qz9SecretMarkerQx7w";

void check_workspace(const dataport::workspace& ws) {
  using kind = dataport::datastore_config::kind;
  for (const auto& [name, ds] : ws.datastores) {
    FUZZ_CHECK(ds.name == name, name);
    if (ds.type == kind::azure_blob || ds.type == kind::azure_data_lake_gen2) {
      FUZZ_CHECK(dataport::is_valid_account_name(ds.account_name), ds.account_name);
      FUZZ_CHECK(dataport::container_name_problem(ds.container).empty(), ds.container);
      FUZZ_CHECK(ds.protocol == "https" || ds.protocol == "http", ds.protocol);
      FUZZ_CHECK(ds.service_url.empty() || ds.service_url.find("://") != std::string::npos,
                 ds.service_url);
    } else if (ds.type == kind::https) {
      FUZZ_CHECK(ds.url.find("://") != std::string::npos, ds.url);
    } else {
      FUZZ_CHECK(ds.path.starts_with('/'), ds.path);
    }
  }
  for (const auto& [name, asset] : ws.data_assets) {
    FUZZ_CHECK(!asset.versions.empty(), name);
    for (const auto& [version, v] : asset.versions) {
      FUZZ_CHECK(v.type == "uri_file" || v.type == "uri_folder" || v.type == "mltable", v.type);
      FUZZ_CHECK(!v.path.empty(), version);
    }
    FUZZ_CHECK(asset.versions.contains(asset.latest().version), name);
  }
  for (const auto& [name, account] : ws.accounts) {
    FUZZ_CHECK(dataport::is_valid_account_name(name), name);
  }
  FUZZ_CHECK(ws.default_datastore.empty() || ws.datastores.contains(ws.default_datastore),
             ws.default_datastore);
}

void parse(std::string_view text, bool check_secret) {
  try {
    check_workspace(dataport::parse_workspace(text, std::string(file)));
  } catch (const dataport::error& e) {
    FUZZ_CHECK(e.code() == dataport::errc::invalid_argument, e.what());
    FUZZ_CHECK(dataport_fuzz::contains(e.what(), file), e.what());
    if (check_secret) FUZZ_CHECK(!dataport_fuzz::contains(e.what(), secret_marker), e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 16384) return 0;
  const std::string_view text = dataport_fuzz::as_text(data, size);
  parse(text, false);
  if (dataport_fuzz::mentions_marker(text, secret_marker)) return 0;
  // The input as the body of one datastore that carries a secret: errors about it must not
  // quote the secret.
  for (const std::string_view key : {"account_key", "sas_token", "bearer_token"}) {
    const std::string doc = "datastores:\n  store:\n    credentials: {" + std::string(key) + ": " +
                            std::string(secret_marker) + "}\n" + std::string(text);
    parse(doc, true);
  }
  return 0;
}
