// resolve(): every rule and every precedence case, with a fake environment.
#include "dataport/resolve.hpp"

#include <map>

#include <catch2/catch.hpp>

#include "dataport/error.hpp"

using dataport::backend_kind;
using dataport::credential_config;
using dataport::resolve;
using dataport::resolve_context;
using kind = dataport::credential_config::kind;

namespace {

const std::string dev_key =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

dataport::settings::env_lookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    if (auto it = vars.find(std::string(name)); it != vars.end()) return it->second;
    return std::nullopt;
  };
}

resolve_context context(const dataport::workspace* ws = nullptr,
                        std::map<std::string, std::string> vars = {}) {
  resolve_context ctx;
  ctx.ws = ws;
  ctx.env = env_of(std::move(vars));
  ctx.cwd = "/home/user/project";
  return ctx;
}

const dataport::workspace& demo_workspace() {
  static const auto ws = dataport::parse_workspace(R"(
subscription_id: Sub-1
resource_group: RG-ML
workspace_name: WS-Demo
datastores:
  workspaceblobstore:
    type: azure_blob
    account_name: devstoreaccount1
    container_name: azureml
    protocol: http
    service_url: http://127.0.0.1:10000/devstoreaccount1
    credentials: {account_key: Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==}
  plain:
    type: azure_blob
    account_name: plainacct
    container_name: c01
  lake:
    type: azure_data_lake_gen2
    account_name: lakeacct
    filesystem: raw
    credentials: {sas_token: sv=1&sig=LAKESIG}
  web:
    type: https
    url: https://example.com/datasets/
  scratch:
    type: local
    path: /data/scratch
data_assets:
  images:
    versions:
      "2": {type: uri_folder, path: "azureml://datastores/workspaceblobstore/paths/images/v2/"}
      "10": {type: uri_folder, path: "azureml://datastores/workspaceblobstore/paths/images/v10/"}
  alias:
    versions:
      "1": {type: uri_file, path: "azureml:images:2"}
  loop:
    versions:
      "1": {type: uri_file, path: "azureml:loop:1"}
  table:
    versions:
      "1": {type: mltable, path: "/data/tables/t1"}
accounts:
  mappedacct:
    service_url: http://127.0.0.1:10000/mappedacct
    credentials: {sas_token: sv=1&sig=MAPPEDSIG}
  urlonly:
    service_url: http://127.0.0.1:10000/urlonly
)",
                                                   "/cfg/ws.yaml");
  return ws;
}

std::string error_of(std::string_view uri, const resolve_context& ctx, dataport::errc expected) {
  try {
    resolve(uri, ctx);
  } catch (const dataport::error& e) {
    CHECK(e.code() == expected);
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST_CASE("local paths become absolute normalised paths") {
  const auto ctx = context();
  auto rel = resolve("data/../train/", ctx);
  CHECK(rel.backend == backend_kind::local);
  CHECK(rel.path == "/home/user/project/train");
  CHECK(rel.source_uri == "data/../train/");
  CHECK(resolve("/mnt//x/./y", ctx).path == "/mnt/x/y");
  CHECK(resolve("file:///tmp/a%20b", ctx).path == "/tmp/a b");
  CHECK(resolve("/", ctx).path == "/");
}

TEST_CASE("plain web URLs use the https backend - a query becomes a credential") {
  const auto loc =
      resolve("https://Example.com:8443/files/a%20b.bin?token=abc123secret", context());
  CHECK(loc.backend == backend_kind::https);
  CHECK(loc.service_url == "https://example.com:8443");
  CHECK(loc.path == "/files/a b.bin");
  CHECK(loc.credential.type == kind::sas);
  CHECK(loc.credential.sas_token == "token=abc123secret");
  CHECK_THAT(loc.source_uri, !Catch::Contains("abc123secret"));

  const auto plain = resolve("http://127.0.0.1:8080/data/x.txt", context());
  CHECK(plain.backend == backend_kind::https);
  CHECK(plain.service_url == "http://127.0.0.1:8080");
  CHECK(plain.credential.type == kind::anonymous);
  // Public web servers never get a managed-identity token.
  CHECK(resolve("https://example.com/x", context(nullptr, {{"IDENTITY_ENDPOINT", "http://id"}}))
            .credential.type == kind::anonymous);
}

TEST_CASE("blob and dfs URLs by host") {
  const auto loc = resolve(
      "https://myacct.blob.core.windows.net/data/dir/f.csv?sv=2021&sig=TOPSECRET", context());
  CHECK(loc.backend == backend_kind::blob);
  CHECK(loc.service_url == "https://myacct.blob.core.windows.net");
  CHECK(loc.account == "myacct");
  CHECK(loc.container == "data");
  CHECK(loc.path == "dir/f.csv");
  CHECK(loc.credential.type == kind::sas);
  CHECK(loc.credential.sas_token == "sv=2021&sig=TOPSECRET");
  CHECK_THAT(loc.source_uri, !Catch::Contains("TOPSECRET"));
  CHECK_THAT(loc.source_uri, Catch::Contains("myacct.blob.core.windows.net/data/dir/f.csv"));

  const auto dfs = resolve("https://lake.dfs.core.windows.net/fs1/x/", context());
  CHECK(dfs.backend == backend_kind::dfs);
  CHECK(dfs.service_url == "https://lake.blob.core.windows.net");
  CHECK(dfs.container == "fs1");
  CHECK(dfs.path == "x/");
  CHECK(dfs.credential.type == kind::anonymous);

  // Without a SAS, the account chain supplies the credential.
  const auto keyed = resolve(
      "https://myacct.blob.core.windows.net/data/f",
      context(nullptr, {{"AZURE_STORAGE_ACCOUNT", "myacct"}, {"AZURE_STORAGE_KEY", "a2V5a2V5"}}));
  CHECK(keyed.credential.type == kind::shared_key);
  CHECK(keyed.credential.account_name == "myacct");
}

TEST_CASE("path-style emulator URLs match known service URLs") {
  const auto& ws = demo_workspace();
  auto mapped = resolve("http://127.0.0.1:10000/mappedacct/c01/dir/f%20g.txt", context(&ws));
  CHECK(mapped.backend == backend_kind::blob);
  CHECK(mapped.service_url == "http://127.0.0.1:10000/mappedacct");
  CHECK(mapped.account == "mappedacct");
  CHECK(mapped.container == "c01");
  CHECK(mapped.path == "dir/f g.txt");
  CHECK(mapped.credential.type == kind::sas);
  CHECK(mapped.credential.sas_token == "sv=1&sig=MAPPEDSIG");

  // A datastore's explicit service_url is known too (its account's credential chain applies).
  auto ds = resolve("http://127.0.0.1:10000/devstoreaccount1/azureml/x", context(&ws));
  CHECK(ds.backend == backend_kind::blob);
  CHECK(ds.account == "devstoreaccount1");
  CHECK(ds.container == "azureml");

  // The connection string's endpoint, with UseDevelopmentStorage.
  auto dev = resolve(
      "http://127.0.0.1:10000/devstoreaccount1/c01/blob.bin",
      context(nullptr, {{"AZURE_STORAGE_CONNECTION_STRING", "UseDevelopmentStorage=true"}}));
  CHECK(dev.backend == backend_kind::blob);
  CHECK(dev.service_url == "http://127.0.0.1:10000/devstoreaccount1");
  CHECK(dev.container == "c01");
  CHECK(dev.path == "blob.bin");
  CHECK(dev.credential.type == kind::shared_key);
  CHECK(dev.credential.account_key == dev_key);

  // A prefix must end at a segment boundary: /mappedacct2 is not /mappedacct.
  CHECK(resolve("http://127.0.0.1:10000/mappedacct2/c01/x", context(&ws)).backend ==
        backend_kind::https);
  CHECK_THAT(error_of("http://127.0.0.1:10000/mappedacct/", context(&ws),
                      dataport::errc::invalid_argument),
             Catch::Contains("but no container"));
}

TEST_CASE(
    "wasbs/abfss account settings: precedence of workspace, connection string, env, default") {
  const auto& ws = demo_workspace();
  // 1. workspace accounts
  auto a = resolve(
      "wasbs://c01@mappedacct.blob.core.windows.net/x",
      context(&ws, {{"AZURE_STORAGE_ACCOUNT", "mappedacct"}, {"AZURE_STORAGE_KEY", "a2V5"}}));
  CHECK(a.service_url == "http://127.0.0.1:10000/mappedacct");
  CHECK(a.credential.type == kind::sas);
  CHECK(a.credential.sas_token == "sv=1&sig=MAPPEDSIG");

  // An accounts entry with only a service_url keeps looking for a credential.
  auto u =
      resolve("wasbs://c01@urlonly.blob.core.windows.net/x",
              context(&ws, {{"AZURE_STORAGE_ACCOUNT", "urlonly"}, {"AZURE_STORAGE_KEY", "a2V5"}}));
  CHECK(u.service_url == "http://127.0.0.1:10000/urlonly");
  CHECK(u.credential.type == kind::shared_key);

  // 2. connection string for the same account wins over AZURE_STORAGE_ACCOUNT
  const std::map<std::string, std::string> both = {
      {"AZURE_STORAGE_CONNECTION_STRING",
       "AccountName=acct1;AccountKey=Y3NrZXk=;BlobEndpoint=http://127.0.0.1:9999/acct1"},
      {"AZURE_STORAGE_ACCOUNT", "acct1"},
      {"AZURE_STORAGE_KEY", "ZW52a2V5"}};
  auto b = resolve("abfss://fs1@acct1.dfs.core.windows.net/d/", context(nullptr, both));
  CHECK(b.backend == backend_kind::dfs);
  CHECK(b.service_url == "http://127.0.0.1:9999/acct1");
  CHECK(b.credential.type == kind::shared_key);
  CHECK(b.credential.account_key == "Y3NrZXk=");
  CHECK(b.container == "fs1");
  CHECK(b.path == "d/");

  // A connection string for another account is ignored; 3. AZURE_STORAGE_ACCOUNT + key / SAS
  auto c =
      resolve("wasbs://c01@acct2.blob.core.windows.net/x",
              context(nullptr,
                      {{"AZURE_STORAGE_CONNECTION_STRING", "AccountName=acct1;AccountKey=Y3NrZXk="},
                       {"AZURE_STORAGE_ACCOUNT", "acct2"},
                       {"AZURE_STORAGE_KEY", "ZW52a2V5"}}));
  CHECK(c.service_url == "https://acct2.blob.core.windows.net");
  CHECK(c.credential.type == kind::shared_key);
  CHECK(c.credential.account_key == "ZW52a2V5");
  auto sas = resolve("wasbs://c01@acct2.blob.core.windows.net/x",
                     context(nullptr, {{"AZURE_STORAGE_ACCOUNT", "acct2"},
                                       {"AZURE_STORAGE_SAS_TOKEN", "?sv=1&sig=ENVSIG"}}));
  CHECK(sas.credential.type == kind::sas);
  CHECK(sas.credential.sas_token == "sv=1&sig=ENVSIG");

  // 4. default endpoint, anonymous; wasb/abfs use http; the URI's suffix is kept
  auto d = resolve(
      "wasb://c01@acct3.blob.core.chinacloudapi.cn/x",
      context(nullptr, {{"AZURE_STORAGE_ACCOUNT", "other"}, {"AZURE_STORAGE_KEY", "ZW52a2V5"}}));
  CHECK(d.backend == backend_kind::blob);
  CHECK(d.service_url == "http://acct3.blob.core.chinacloudapi.cn");
  CHECK(d.credential.type == kind::anonymous);
  CHECK(resolve("abfs://fs1@acct3.dfs.core.windows.net/", context()).service_url ==
        "http://acct3.blob.core.windows.net");

  // A SAS in the URI wins over everything.
  auto q = resolve("wasbs://c01@mappedacct.blob.core.windows.net/x?sv=1&sig=URISIG", context(&ws));
  CHECK(q.credential.sas_token == "sv=1&sig=URISIG");
}

TEST_CASE(
    "managed identity is used when nothing else authenticates and an identity endpoint exists") {
  for (const auto& [name, value] :
       std::map<std::string, std::string>{{"IDENTITY_ENDPOINT", "http://127.0.0.1:5000/token"},
                                          {"MSI_ENDPOINT", "http://127.0.0.1:5000/msi"},
                                          {"DATAPORT_USE_MANAGED_IDENTITY", "true"}}) {
    INFO(name);
    auto loc =
        resolve("wasbs://c01@acct4.blob.core.windows.net/x", context(nullptr, {{name, value}}));
    CHECK(loc.credential.type == kind::managed_identity);
  }
  auto with_id = resolve("wasbs://c01@acct4.blob.core.windows.net/x",
                         context(nullptr, {{"IDENTITY_ENDPOINT", "http://id"},
                                           {"DEFAULT_IDENTITY_CLIENT_ID", "cid-1"}}));
  CHECK(with_id.credential.client_id == "cid-1");
  auto override_id = resolve("wasbs://c01@acct4.blob.core.windows.net/x",
                             context(nullptr, {{"DATAPORT_USE_MANAGED_IDENTITY", "true"},
                                               {"DEFAULT_IDENTITY_CLIENT_ID", "cid-1"},
                                               {"DATAPORT_MANAGED_IDENTITY_CLIENT_ID", "cid-2"}}));
  CHECK(override_id.credential.client_id == "cid-2");
  // An explicit credential is never replaced.
  auto keyed = resolve("wasbs://c01@acct4.blob.core.windows.net/x",
                       context(nullptr, {{"IDENTITY_ENDPOINT", "http://id"},
                                         {"AZURE_STORAGE_ACCOUNT", "acct4"},
                                         {"AZURE_STORAGE_KEY", "ZW52a2V5"}}));
  CHECK(keyed.credential.type == kind::shared_key);
  CHECK(resolve("wasbs://c01@acct4.blob.core.windows.net/x",
                context(nullptr, {{"DATAPORT_USE_MANAGED_IDENTITY", "false"}}))
            .credential.type == kind::anonymous);
}

TEST_CASE("azureml datastore URIs resolve through the workspace") {
  const auto& ws = demo_workspace();
  auto blob =
      resolve("azureml://datastores/workspaceblobstore/paths/images/a%20b.png", context(&ws));
  CHECK(blob.backend == backend_kind::blob);
  CHECK(blob.service_url == "http://127.0.0.1:10000/devstoreaccount1");
  CHECK(blob.account == "devstoreaccount1");
  CHECK(blob.container == "azureml");
  CHECK(blob.path == "images/a b.png");
  CHECK(blob.credential.type == kind::shared_key);
  CHECK(blob.credential.account_key == dev_key);

  auto plain = resolve("azureml://datastores/plain/paths/x", context(&ws));
  CHECK(plain.service_url == "https://plainacct.blob.core.windows.net");
  CHECK(plain.credential.type == kind::anonymous);
  // A datastore without credentials falls back to the account chain.
  CHECK(resolve("azureml://datastores/plain/paths/x",
                context(&ws, {{"AZURE_STORAGE_ACCOUNT", "plainacct"},
                              {"AZURE_STORAGE_KEY", "ZW52a2V5"}}))
            .credential.type == kind::shared_key);
  CHECK(
      resolve("azureml://datastores/plain/paths/x", context(&ws, {{"MSI_ENDPOINT", "http://msi"}}))
          .credential.type == kind::managed_identity);

  auto lake = resolve("azureml://datastores/lake/paths/", context(&ws));
  CHECK(lake.backend == backend_kind::dfs);
  CHECK(lake.service_url == "https://lakeacct.blob.core.windows.net");
  CHECK(lake.container == "raw");
  CHECK(lake.path.empty());
  CHECK(lake.credential.sas_token == "sv=1&sig=LAKESIG");

  auto web = resolve("azureml://datastores/web/paths/mnist/train.gz", context(&ws));
  CHECK(web.backend == backend_kind::https);
  CHECK(web.service_url == "https://example.com");
  CHECK(web.path == "/datasets/mnist/train.gz");

  auto local = resolve("azureml://datastores/scratch/paths/run1/out/", context(&ws));
  CHECK(local.backend == backend_kind::local);
  CHECK(local.path == "/data/scratch/run1/out");
}

TEST_CASE("long-form azureml URIs must name the loaded workspace") {
  const auto& ws = demo_workspace();
  auto loc = resolve(
      "azureml://subscriptions/sub-1/resourceGroups/rg-ml/providers/"
      "Microsoft.MachineLearningServices/"
      "workspaces/ws-demo/datastores/workspaceblobstore/paths/x.txt",
      context(&ws));
  CHECK(loc.container == "azureml");
  CHECK(loc.path == "x.txt");
  const auto message = error_of(
      "azureml://subscriptions/sub-1/resourcegroups/rg-ml/workspaces/other-ws/datastores/"
      "workspaceblobstore/paths/x",
      context(&ws), dataport::errc::invalid_argument);
  CHECK_THAT(message, Catch::Contains("names workspace 'other-ws'"));
  CHECK_THAT(message, Catch::Contains("'WS-Demo'"));
  CHECK_THAT(message, Catch::Contains("short form"));
}

TEST_CASE("unknown datastores and a missing workspace are clear errors") {
  const auto& ws = demo_workspace();
  const auto unknown =
      error_of("azureml://datastores/nope/paths/x", context(&ws), dataport::errc::not_found);
  CHECK_THAT(unknown, Catch::Contains("datastore 'nope' is not defined in workspace /cfg/ws.yaml"));
  CHECK_THAT(unknown,
             Catch::Contains("known datastores: lake, plain, scratch, web, workspaceblobstore"));
  CHECK_THAT(unknown, Catch::Contains("Add it under 'datastores:'"));

  const auto none =
      error_of("azureml://datastores/ds/paths/x", context(), dataport::errc::invalid_argument);
  CHECK_THAT(none, Catch::Contains("needs a workspace description"));
  CHECK_THAT(none, Catch::Contains("DATAPORT_WORKSPACE"));
  const dataport::workspace empty;
  CHECK_THAT(error_of("azureml:x:1", context(&empty), dataport::errc::invalid_argument),
             Catch::Contains("needs a workspace description"));
}

TEST_CASE("data assets resolve to their path, with the asset type") {
  const auto& ws = demo_workspace();
  auto v2 = resolve("azureml:images:2", context(&ws));
  CHECK(v2.backend == backend_kind::blob);
  CHECK(v2.path == "images/v2/");
  CHECK(v2.asset_type == "uri_folder");
  CHECK(v2.source_uri == "azureml:images:2");

  CHECK(resolve("azureml:images@latest", context(&ws)).path == "images/v10/");
  CHECK(resolve("azureml://subscriptions/SUB-1/resourcegroups/rg-ml/workspaces/ws-demo/data/images/"
                "versions/10",
                context(&ws))
            .path == "images/v10/");
  auto alias = resolve("azureml:alias:1", context(&ws));
  CHECK(alias.path == "images/v2/");
  CHECK(alias.asset_type == "uri_file");  // the outermost asset's type
  auto table = resolve("azureml:table:1", context(&ws));
  CHECK(table.backend == backend_kind::local);
  CHECK(table.path == "/data/tables/t1");
  CHECK(table.asset_type == "mltable");

  CHECK_THAT(error_of("azureml:nope:1", context(&ws), dataport::errc::not_found),
             Catch::Contains("data asset 'nope' is not defined") &&
                 Catch::Contains("alias, images, loop, table"));
  CHECK_THAT(error_of("azureml:images:3", context(&ws), dataport::errc::not_found),
             Catch::Contains("has no version '3'; available versions: 10, 2"));
  CHECK_THAT(error_of("azureml:loop:1", context(&ws), dataport::errc::invalid_argument),
             Catch::Contains("more than 8 levels deep"));
}

TEST_CASE("registry assets are not supported locally") {
  const auto& ws = demo_workspace();
  CHECK_THAT(error_of("azureml://registries/shared/data/images/versions/1", context(&ws),
                      dataport::errc::unsupported),
             Catch::Contains("registries are not supported locally yet"));
}

TEST_CASE("secrets never reach source_uri or errors") {
  const auto& ws = demo_workspace();
  auto loc = resolve("wasbs://c01@acct5.blob.core.windows.net/x?sv=2021-08-06&sig=SECRETSIGVALUE",
                     context(&ws));
  CHECK_THAT(loc.source_uri, !Catch::Contains("SECRETSIGVALUE"));
  CHECK(loc.source_uri == "wasbs://c01@acct5.blob.core.windows.net/x?sv=2021-08-06&sig=REDACTED");
  const auto message = error_of("http://127.0.0.1:10000/mappedacct/?sv=1&sig=SECRETSIGVALUE",
                                context(&ws), dataport::errc::invalid_argument);
  CHECK_THAT(message, !Catch::Contains("SECRETSIGVALUE"));
}
