// Workspace description files: a valid file, JSON, the default search path, every error with its
// file and line.
#include "dataport/workspace.hpp"

#include <filesystem>
#include <fstream>
#include <random>

#include <catch2/catch.hpp>

#include "dataport/error.hpp"

namespace fs = std::filesystem;
using dataport::credential_config;
using dataport::datastore_config;

namespace {

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::random_device rd;
    path = fs::temp_directory_path() /
           ("dataport-ws-test-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    const auto file = path / name;
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
    return file.string();
  }
};

dataport::settings::env_lookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    if (auto it = vars.find(std::string(name)); it != vars.end()) return it->second;
    return std::nullopt;
  };
}

std::string error_of(const std::string& text) {
  try {
    dataport::parse_workspace(text, "/cfg/ws.yaml");
  } catch (const dataport::error& e) {
    CHECK(e.code() == dataport::errc::invalid_argument);
    return e.what();
  }
  return "<no error>";
}

const char* full_yaml = R"(subscription_id: 00000000-1111-2222-3333-444444444444
resource_group: rg-ml
workspace_name: ws-demo
default_datastore: workspaceblobstore
datastores:
  workspaceblobstore:
    type: azure_blob
    account_name: devstoreaccount1
    container_name: azureml
    protocol: http
    service_url: http://127.0.0.1:10000/devstoreaccount1/
    credentials:
      account_key: Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==
  lake:
    type: azure_data_lake_gen2
    account_name: lakeacct
    filesystem: raw
    endpoint: core.chinacloudapi.cn
    credentials:
      managed_identity:
        client_id: 1234-abcd
  web:
    type: https
    url: https://example.com/datasets/
  scratch:
    type: local
    path: ../scratch
  public:
    type: azure_blob
    account_name: azuremlexampledata
    container_name: datasets
  sas:
    type: azure_blob
    account_name: sasacct
    container_name: c01
    credentials: {sas_token: "?sv=2021&sig=abc"}
  tok:
    type: azure_blob
    account_name: tokacct
    container_name: c01
    credentials: {bearer_token_file: token.txt}
data_assets:
  images:
    versions:
      "2": {type: uri_folder, path: "azureml://datastores/workspaceblobstore/paths/images/v2/"}
      "10": {type: uri_folder, path: "azureml://datastores/workspaceblobstore/paths/images/v10/"}
      "9": {type: uri_folder, path: "azureml://datastores/workspaceblobstore/paths/images/v9/"}
  localdata:
    versions:
      1: {type: uri_file, path: data/train.csv}
accounts:
  azuremlexampledata:
    service_url: http://127.0.0.1:10000/azuremlexampledata
    credentials:
      bearer_token: static-token-value-123
)";

}  // namespace

TEST_CASE("a full workspace file parses into datastores, assets and accounts") {
  const auto ws = dataport::parse_workspace(full_yaml, "/cfg/ws.yaml");
  CHECK(ws.file == "/cfg/ws.yaml");
  CHECK(ws.subscription_id == "00000000-1111-2222-3333-444444444444");
  CHECK(ws.resource_group == "rg-ml");
  CHECK(ws.workspace_name == "ws-demo");
  CHECK(ws.default_datastore == "workspaceblobstore");
  REQUIRE(ws.datastores.size() == 7);

  const auto& blob = ws.datastores.at("workspaceblobstore");
  CHECK(blob.type == datastore_config::kind::azure_blob);
  CHECK(blob.account_name == "devstoreaccount1");
  CHECK(blob.container == "azureml");
  CHECK(blob.protocol == "http");
  CHECK(blob.service_url == "http://127.0.0.1:10000/devstoreaccount1");
  CHECK(blob.has_credentials);
  CHECK(blob.credential.type == credential_config::kind::shared_key);
  CHECK(blob.credential.account_name == "devstoreaccount1");
  CHECK(blob.origin == "/cfg/ws.yaml:7");

  const auto& lake = ws.datastores.at("lake");
  CHECK(lake.type == datastore_config::kind::azure_data_lake_gen2);
  CHECK(lake.container == "raw");
  CHECK(lake.endpoint == "core.chinacloudapi.cn");
  CHECK(lake.protocol == "https");
  CHECK(lake.credential.type == credential_config::kind::managed_identity);
  CHECK(lake.credential.client_id == "1234-abcd");

  CHECK(ws.datastores.at("web").url == "https://example.com/datasets/");
  CHECK(ws.datastores.at("scratch").path == "/scratch");  // relative to /cfg
  CHECK_FALSE(ws.datastores.at("public").has_credentials);
  CHECK(ws.datastores.at("public").credential.type == credential_config::kind::anonymous);
  CHECK(ws.datastores.at("sas").credential.sas_token == "sv=2021&sig=abc");
  CHECK(ws.datastores.at("tok").credential.type == credential_config::kind::bearer_file);
  CHECK(ws.datastores.at("tok").credential.token_file == "/cfg/token.txt");

  const auto& images = ws.data_assets.at("images");
  CHECK(images.versions.size() == 3);
  CHECK(images.latest().version == "10");  // numeric, not lexicographic
  CHECK(images.latest().type == "uri_folder");
  CHECK(ws.data_assets.at("localdata").versions.at("1").path == "/cfg/data/train.csv");

  const auto& account = ws.accounts.at("azuremlexampledata");
  CHECK(account.service_url == "http://127.0.0.1:10000/azuremlexampledata");
  CHECK(account.credential.type == credential_config::kind::bearer_static);
  CHECK(account.credential.token == "static-token-value-123");
}

TEST_CASE("JSON workspace files parse too") {
  const auto ws = dataport::parse_workspace(
      R"({"workspace_name": "w", "datastores": {"d": {"type": "local", "path": "/data"}},
          "data_assets": {"a": {"versions": {"1": {"type": "mltable", "path": "/data/t"}, "beta": {"type": "mltable", "path": "/x"}}}}})",
      "/cfg/ws.json");
  CHECK(ws.workspace_name == "w");
  CHECK(ws.datastores.at("d").path == "/data");
  CHECK(ws.data_assets.at("a").latest().version == "1");  // numbers rank above labels
}

TEST_CASE("an empty file is an empty workspace") {
  CHECK(dataport::parse_workspace("", "/cfg/ws.yaml").empty());
  CHECK(dataport::parse_workspace("# only a comment\n", "/cfg/ws.yaml").empty());
}

TEST_CASE("workspace errors name the file, the line and the key") {
  struct row {
    std::string text;
    std::string message;
  };
  const std::vector<row> rows = {
      {"datastores:\n  a: [1, 2\n", "/cfg/ws.yaml:3:"},
      {"datastores:\n  a: {type: azure_blob\n", "does not parse"},
      {"datastores:\n  a:\n    type: s3\n",
       "/cfg/ws.yaml:3: 'datastores.a.type': unknown datastore type 's3'"},
      {"datastores:\n  a:\n    type: azure_blob\n    container_name: c01\n",
       "/cfg/ws.yaml:3: 'datastores.a.account_name': required field is missing"},
      {"datastores:\n  a:\n    type: azure_blob\n    account_name: acct\n",
       "'datastores.a.container_name': required field is missing"},
      {"datastores:\n  a:\n    type: azure_data_lake_gen2\n    account_name: acct\n",
       "'datastores.a.filesystem': required field is missing"},
      {"datastores:\n  a:\n    type: azure_blob\n    acount_name: acct\n",
       "/cfg/ws.yaml:4: 'datastores.a.acount_name': unknown key; expected one of: type, "
       "account_name"},
      {"datastores:\n  a:\n    type: azure_blob\n    account_name: Bad_Acct\n    container_name: "
       "c01\n",
       "'Bad_Acct' is not a valid storage account name"},
      {"datastores:\n  a:\n    type: azure_blob\n    account_name: acct\n    container_name: C\n",
       "'C' is invalid"},
      {"datastores:\n  a:\n    type: azure_blob\n    account_name: acct\n    container_name: c01\n "
       "   protocol: ftp\n",
       "protocol 'ftp' must be https or http"},
      {"datastores:\n  a:\n    type: azure_blob\n    account_name: acct\n    container_name: c01\n"
       "    credentials: {account_key: k, sas_token: s}\n",
       "/cfg/ws.yaml:6: 'datastores.a.credentials': give exactly one of"},
      {"datastores:\n  a:\n    type: azure_blob\n    account_name: acct\n    container_name: c01\n"
       "    credentials: {password: x}\n",
       "'datastores.a.credentials.password': unknown key"},
      {"datastores:\n  a:\n    type: https\n    url: ftp://host/x\n",
       "is not an http:// or https:// URL"},
      {"datastores:\n  a:\n    type: local\n", "'datastores.a.path': required field is missing"},
      {"datastores: [1, 2]\n", "'datastores': expected a mapping"},
      {"default_datastore: nope\n", "names 'nope', which is not defined under datastores"},
      {"data_assets:\n  x:\n    versions:\n      \"1\": {type: table, path: /x}\n",
       "/cfg/ws.yaml:4: 'data_assets.x.versions.1.type': unknown data asset type 'table'"},
      {"data_assets:\n  x:\n    versions:\n      \"1\": {type: uri_file}\n",
       "'data_assets.x.versions.1.path': required field is missing"},
      {"data_assets:\n  x:\n    versions:\n      \"1\": {type: uri_file, path: \"s3://b/k\"}\n",
       "'data_assets.x.versions.1.path': unsupported URI scheme 's3'"},
      {"data_assets:\n  x: {}\n", "'data_assets.x.versions': required"},
      {"accounts:\n  Bad:\n    service_url: http://x\n",
       "'accounts.Bad': not a valid storage account name"},
      {"workspace: w\n", "'<top level>.workspace': unknown key"},
      {"datastores:\n  a:\n    type: local\n    path: [x]\n",
       "'datastores.a.path': expected a single value"},
  };
  for (const auto& r : rows) {
    INFO("file:\n" << r.text);
    CHECK_THAT(error_of(r.text), Catch::Contains(r.message));
  }
}

TEST_CASE("secrets in a workspace file never appear in its errors") {
  const auto message = error_of(
      "datastores:\n  a:\n    type: azure_blob\n    account_name: acct\n    container_name: c01\n"
      "    credentials: {account_key: TOPSECRETKEY123, sas_token: sv=1&sig=TOPSECRETSIG}\n");
  CHECK_THAT(message, Catch::Contains("give exactly one of"));
  CHECK_THAT(message, !Catch::Contains("TOPSECRET"));
}

TEST_CASE("load_workspace reads a file and reports a missing explicit file") {
  temp_dir dir;
  const auto file = dir.write("ws.yaml", full_yaml);
  const auto ws = dataport::load_workspace(file);
  CHECK(ws.file == file);
  CHECK(ws.datastores.at("scratch").path == (dir.path.parent_path() / "scratch").string());

  try {
    dataport::load_workspace((dir.path / "missing.yaml").string());
    FAIL("expected an error");
  } catch (const dataport::error& e) {
    CHECK(e.code() == dataport::errc::invalid_argument);
    CHECK_THAT(e.what(), Catch::Contains("missing.yaml' cannot be read"));
  }
  const auto bad = dir.write("bad.yaml", "a: 1\nb: [\n");
  CHECK_THROWS_WITH(dataport::load_workspace(bad), Catch::Contains(bad + ":3:"));
}

TEST_CASE("the default search: DATAPORT_WORKSPACE, then XDG_CONFIG_HOME, then ~/.config") {
  temp_dir dir;
  const auto explicit_file = dir.write("explicit.yaml", "workspace_name: from-env\n");
  CHECK(dataport::load_workspace("", env_of({{"DATAPORT_WORKSPACE", explicit_file}}))
            .workspace_name == "from-env");
  // DATAPORT_WORKSPACE naming a missing file is an explicit request: an error.
  CHECK_THROWS_AS(dataport::load_workspace(
                      "", env_of({{"DATAPORT_WORKSPACE", (dir.path / "nope.yaml").string()}})),
                  dataport::error);

  dir.write("xdg/dataport/workspace.yaml", "workspace_name: from-xdg\n");
  CHECK(dataport::load_workspace("", env_of({{"XDG_CONFIG_HOME", (dir.path / "xdg").string()}}))
            .workspace_name == "from-xdg");
  CHECK(dataport::default_workspace_path(
            env_of({{"XDG_CONFIG_HOME", (dir.path / "xdg").string()}})) ==
        (dir.path / "xdg/dataport/workspace.yaml").string());

  dir.write("home/.config/dataport/workspace.yaml", "workspace_name: from-home\n");
  CHECK(dataport::load_workspace("", env_of({{"HOME", (dir.path / "home").string()}}))
            .workspace_name == "from-home");

  // No candidate exists: an empty workspace, not an error.
  const auto none =
      dataport::load_workspace("", env_of({{"HOME", (dir.path / "nobody").string()}}));
  CHECK(none.empty());
  CHECK(none.file.empty());
  CHECK(dataport::load_default_workspace(explicit_file).workspace_name == "from-env");
}

TEST_CASE("the shipped example workspace parses") {
  const auto ws =
      dataport::load_workspace(std::string(DATAPORT_SOURCE_DIR) + "/examples/workspace.yaml");
  CHECK(ws.datastores.contains("workspaceblobstore"));
  CHECK(ws.datastores.contains("exampledata"));
  CHECK(ws.datastores.at("workspaceblobstore").account_name == "devstoreaccount1");
  CHECK(ws.datastores.at("workspaceblobstore").container == "azureml");
  CHECK_FALSE(ws.data_assets.empty());
}
