// parse_uri / format_uri: every accepted form, every rejected form with its message, round trips.
#include "dataport/uri.hpp"

#include <catch2/catch.hpp>

#include "dataport/error.hpp"

using dataport::parse_uri;
using dataport::uri_kind;

namespace {

std::string error_of(std::string_view text) {
  try {
    parse_uri(text);
  } catch (const dataport::error& e) {
    CHECK(e.code() == dataport::errc::invalid_argument);
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST_CASE("local paths and file URIs") {
  auto rel = parse_uri("./data/train");
  CHECK(rel.kind == uri_kind::local);
  CHECK(rel.path == "./data/train");
  auto abs = parse_uri("/mnt/data file.csv");
  CHECK(abs.kind == uri_kind::local);
  CHECK(abs.path == "/mnt/data file.csv");

  auto file = parse_uri("file:///tmp/a%20b/%C3%A9t%C3%A9.txt");
  CHECK(file.kind == uri_kind::file);
  CHECK(file.path == "/tmp/a b/\xC3\xA9t\xC3\xA9.txt");
  CHECK(parse_uri("file://localhost/tmp/x").path == "/tmp/x");
  CHECK(parse_uri("FILE:/tmp/y").path == "/tmp/y");
}

TEST_CASE("http and https URLs") {
  auto u = parse_uri("https://Example.COM:8443/dir/a%20b.bin?x=1&y=2");
  CHECK(u.kind == uri_kind::https);
  CHECK(u.host == "example.com:8443");
  CHECK(u.path == "/dir/a b.bin");
  CHECK(u.query == "x=1&y=2");
  CHECK_FALSE(u.is_storage_url());

  auto emulator = parse_uri("http://127.0.0.1:10000/devstoreaccount1/azureml/x.txt");
  CHECK(emulator.kind == uri_kind::http);
  CHECK(emulator.host == "127.0.0.1:10000");
  CHECK(emulator.path == "/devstoreaccount1/azureml/x.txt");
  CHECK_FALSE(emulator.is_storage_url());
}

TEST_CASE("blob and dfs https URLs are recognised as storage URLs") {
  auto u =
      parse_uri("https://myacct.blob.core.windows.net/data/dir/file.csv?sv=2021&sig=SECRETSIG");
  CHECK(u.kind == uri_kind::https);
  CHECK(u.account == "myacct");
  CHECK(u.storage_service == "blob");
  CHECK(u.endpoint_suffix == "core.windows.net");
  CHECK(u.container == "data");
  CHECK(u.path == "dir/file.csv");
  CHECK(u.query == "sv=2021&sig=SECRETSIG");

  auto dfs = parse_uri("https://lake1.dfs.core.chinacloudapi.cn/fs1");
  CHECK(dfs.storage_service == "dfs");
  CHECK(dfs.endpoint_suffix == "core.chinacloudapi.cn");
  CHECK(dfs.container == "fs1");
  CHECK(dfs.path.empty());
}

TEST_CASE("wasb(s) and abfs(s) URIs") {
  auto w = parse_uri("wasbs://data@myacct.blob.core.windows.net/dir/sub/");
  CHECK(w.kind == uri_kind::wasbs);
  CHECK(w.container == "data");
  CHECK(w.account == "myacct");
  CHECK(w.host == "myacct.blob.core.windows.net");
  CHECK(w.path == "dir/sub/");
  CHECK(parse_uri("WASB://data@MyAcct.blob.core.windows.net/x").kind == uri_kind::wasb);
  CHECK(parse_uri("WASB://data@MyAcct.blob.core.windows.net/x").account == "myacct");

  auto a = parse_uri("abfss://fs-1@lake.dfs.core.windows.net/a/b.parquet");
  CHECK(a.kind == uri_kind::abfss);
  CHECK(a.container == "fs-1");
  CHECK(a.storage_service == "dfs");
  CHECK(a.path == "a/b.parquet");
  CHECK(parse_uri("abfs://fs1@lake.dfs.core.windows.net").path.empty());
  CHECK(parse_uri("wasbs://$root@acct.blob.core.windows.net/f").container == "$root");
}

TEST_CASE("azureml datastore URIs, short and long, with case-insensitive keywords") {
  auto s = parse_uri("azureml://datastores/workspaceblobstore/paths/data/train/");
  CHECK(s.kind == uri_kind::azureml_datastore_short);
  CHECK(s.datastore == "workspaceblobstore");
  CHECK(s.path == "data/train/");
  CHECK(parse_uri("AzureML://DataStores/ds/Paths/x").path == "x");
  CHECK(parse_uri("azureml://datastores/ds/paths/").path.empty());

  auto l = parse_uri(
      "azureml://subscriptions/sub-1/resourcegroups/rg1/workspaces/ws1/datastores/ds/paths/a/b");
  CHECK(l.kind == uri_kind::azureml_datastore_long);
  CHECK(l.subscription == "sub-1");
  CHECK(l.resource_group == "rg1");
  CHECK(l.workspace == "ws1");
  CHECK_FALSE(l.provider_segment);
  CHECK(l.datastore == "ds");
  CHECK(l.path == "a/b");

  auto p = parse_uri(
      "azureml://SUBSCRIPTIONS/s/resourceGroups/r/providers/microsoft.machinelearningservices/"
      "Workspaces/w/DATASTORES/d/PATHS/Mixed/Case.TXT");
  CHECK(p.kind == uri_kind::azureml_datastore_long);
  CHECK(p.provider_segment);
  CHECK(p.path == "Mixed/Case.TXT");
}

TEST_CASE("azureml data asset references") {
  auto v = parse_uri("azureml:my-data:3");
  CHECK(v.kind == uri_kind::azureml_asset);
  CHECK(v.asset_name == "my-data");
  CHECK(v.asset_version == "3");
  CHECK_FALSE(v.asset_latest);
  auto latest = parse_uri("azureml:my_data.v2@latest");
  CHECK(latest.asset_latest);
  CHECK(latest.asset_name == "my_data.v2");
  CHECK(latest.asset_version.empty());

  auto id =
      parse_uri("azureml://subscriptions/s/resourcegroups/r/workspaces/w/data/imgs/versions/12");
  CHECK(id.kind == uri_kind::azureml_asset_id);
  CHECK(id.asset_name == "imgs");
  CHECK(id.asset_version == "12");
  CHECK(parse_uri("azureml://subscriptions/s/resourcegroups/r/workspaces/w/data/imgs/versions/12/")
            .asset_version == "12");

  auto reg = parse_uri("azureml://registries/shared-reg/data/imgs/versions/1");
  CHECK(reg.kind == uri_kind::azureml_registry_asset);
  CHECK(reg.registry == "shared-reg");
  CHECK(reg.asset_name == "imgs");
}

TEST_CASE("percent-decoding of paths") {
  CHECK(parse_uri("wasbs://c01@acct.blob.core.windows.net/a%20b").path == "a b");
  CHECK(parse_uri("wasbs://c01@acct.blob.core.windows.net/100%25").path == "100%");
  CHECK(parse_uri("wasbs://c01@acct.blob.core.windows.net/x%23y").path == "x#y");
  CHECK(parse_uri("wasbs://c01@acct.blob.core.windows.net/what%3F").path == "what?");
  CHECK(parse_uri("wasbs://c01@acct.blob.core.windows.net/a+b").path == "a+b");
  CHECK(parse_uri("wasbs://c01@acct.blob.core.windows.net/%E6%97%A5%E6%9C%AC").path ==
        "\xE6\x97\xA5\xE6\x9C\xAC");
  CHECK(parse_uri("azureml://datastores/ds/paths/raw space/\xC3\xA9").path == "raw space/\xC3\xA9");
  CHECK(parse_uri("https://h.example/a%2fb").path == "/a/b");
}

TEST_CASE("invalid URIs are rejected with a message naming the problem") {
  struct row {
    const char* uri;
    const char* message;
  };
  const row rows[] = {
      {"", "empty URI"},
      {"s3://bucket/key", "unsupported URI scheme 's3'"},
      {"gs://bucket/key",
       "supported schemes: file, http, https, wasb, wasbs, abfs, abfss, azureml"},
      {"wasbs://foo/bar",
       "wasbs URI needs <container>@<account>.blob.core.windows.net: got 'wasbs://foo/bar'"},
      {"abfss://lake.dfs.core.windows.net/x",
       "abfss URI needs <filesystem>@<account>.dfs.core.windows.net"},
      {"wasbs://@acct.blob.core.windows.net/x", "the container name is empty"},
      {"wasbs://Data@acct.blob.core.windows.net/x",
       "container name 'Data' is invalid: only lowercase"},
      {"wasbs://ab@acct.blob.core.windows.net/x", "3-63 characters"},
      {"wasbs://a--b@acct.blob.core.windows.net/x", "consecutive hyphens"},
      {"wasbs://-ab@acct.blob.core.windows.net/x", "start and end with a letter or digit"},
      {"wasbs://data@ab.blob.core.windows.net/x", "storage account name 'ab' is invalid"},
      {"wasbs://data@my_acct.blob.core.windows.net/x", "storage account name 'my_acct' is invalid"},
      {"wasbs://data@averyveryveryverylongaccount1.blob.core.windows.net/x", "3-24 lowercase"},
      {"wasbs://data@acct.files.core.windows.net/x", "host must be <account>.blob.<suffix>"},
      {"wasbs://data@acct.blob.core.windows.net/a%zzb", "malformed percent escape '%zz'"},
      {"wasbs://data@acct.blob.core.windows.net/a%4", "malformed percent escape '%4'"},
      {"wasbs://data@acct.blob.core.windows.net/a%00b", "encoded NUL"},
      {"wasbs://data@acct.blob.core.windows.net/a#frag", "fragments"},
      {"https://acct.blob.core.windows.net/", "the container name is empty"},
      {"https://acct.blob.core.windows.net/Bad_Container/x",
       "container name 'Bad_Container' is invalid"},
      {"https:///path", "https URL needs a host"},
      {"https://user:pw@host/x", "user:password@ in URLs is not supported"},
      {"file://server/share/x", "remote hosts are not supported"},
      {"file:relative", "file URI needs an absolute path"},
      {"azureml:mydata", "needs a version"},
      {"azureml:mydata@v1", "only the label @latest"},
      {"azureml:my data:1", "data asset name 'my data' is invalid"},
      {"azureml:data:1/2", "data asset version '1/2' is invalid"},
      {"azureml://datastores/ds/files/x", "expected 'paths' but found 'files'"},
      {"azureml://datastores//paths/x", "missing the datastore name"},
      {"azureml://workspaces/w/datastores/d/paths/x",
       "expected 'subscriptions' but found 'workspaces'"},
      {"azureml://subscriptions/s/resourcegroups/r/providers/other/workspaces/w/datastores/d/paths/"
       "x",
       "expected 'Microsoft.MachineLearningServices'"},
      {"azureml://subscriptions/s/resourcegroups/r/workspaces/w/data/n/versions/1/extra",
       "unexpected trailing segments 'extra'"},
      {"azureml://subscriptions/s/resourcegroups/r/workspaces/w/data/n",
       "expected 'versions' but found '<end>'"},
      {"azureml://datastores/ds/paths/x?y=1", "take no query"},
      {"azureml://registries/r/data/n", "expected 'versions'"},
  };
  for (const auto& r : rows) {
    INFO("URI: " << r.uri);
    CHECK_THAT(error_of(r.uri), Catch::Contains(r.message));
  }
  // The container of a wasbs URI is not a secret: errors quote it (only the query is redacted).
  CHECK_THAT(error_of("wasbs://a--b@acct.blob.core.windows.net/x?sv=1&sig=S3CRETSIG"),
             Catch::Contains("got 'wasbs://a--b@acct.blob.core.windows.net/x?sv=1&sig=REDACTED'"));
  // Errors about the azureml grammar list the accepted forms.
  CHECK_THAT(error_of("azureml://datastores/ds/files/x"), Catch::Contains("azureml:<name>@latest"));
}

TEST_CASE("a SAS signature never appears in an error message") {
  const char* uris[] = {
      "wasbs://Bad@acct.blob.core.windows.net/x?sv=2021-08-06&sig=TOPSECRETSIG",
      "https://acct.blob.core.windows.net/Bad/x?sv=2021-08-06&sig=TOPSECRETSIG",
      "https://acct.blob.core.windows.net/ok1/a%zz?sv=2021-08-06&sig=TOPSECRETSIG",
      "s3://bucket/x?sig=TOPSECRETSIG",
  };
  for (const char* uri : uris) {
    const auto message = error_of(uri);
    INFO(message);
    CHECK(message != "<no error>");
    CHECK_THAT(message, !Catch::Contains("TOPSECRETSIG"));
  }
}

TEST_CASE("format_uri round-trips every form") {
  const char* uris[] = {
      "./rel/path",
      "/abs/path with space",
      "file:///tmp/x%20y/%25/%23/%3F/+/%C3%A9",
      "http://127.0.0.1:10000/devstoreaccount1/azureml/a%20b",
      "https://example.com",
      "https://example.com/",
      "https://example.com:8443/a/b?token=abc",
      "https://acct.blob.core.windows.net/cont/dir/f.bin?sv=1&sig=S",
      "https://acct.dfs.core.windows.net/fs1/",
      "wasb://cont@acct.blob.core.windows.net/",
      "wasbs://cont@acct.blob.core.windows.net/a%20b/%E6%97%A5?sv=1&sig=S",
      "abfs://fs1@acct.dfs.core.windows.net/x",
      "abfss://fs1@acct.dfs.core.windows.net/x/y/",
      "wasbs://cont@acct.blob.core.windows.net//leading-slash",
      "azureml://datastores/ds/paths/",
      "azureml://datastores/ds/paths/a b/%23hash",
      "azureml://subscriptions/s/resourcegroups/rg/workspaces/w/datastores/d/paths/p",
      ("azureml://subscriptions/s/resourcegroups/rg/providers/Microsoft.MachineLearningServices/"
       "workspaces/w/datastores/d/paths/p"),
      "azureml://subscriptions/s/resourcegroups/rg/workspaces/w/data/n/versions/3",
      "azureml://registries/reg/data/n/versions/3",
      "azureml:name:1",
      "azureml:name@latest",
  };
  for (const char* text : uris) {
    INFO("URI: " << text);
    const auto parsed = parse_uri(text);
    const auto formatted = dataport::format_uri(parsed, true);
    INFO("formatted: " << formatted);
    CHECK(parse_uri(formatted) == parsed);
    // Formatting is canonical: a second round gives the same text.
    CHECK(dataport::format_uri(parse_uri(formatted), true) == formatted);
  }
}

TEST_CASE("format_uri keeps secrets out unless asked") {
  const auto parsed = parse_uri("wasbs://cont@acct.blob.core.windows.net/x?sv=1&sig=SECRET");
  CHECK(dataport::format_uri(parsed) == "wasbs://cont@acct.blob.core.windows.net/x");
  CHECK(dataport::format_uri(parsed, true) ==
        "wasbs://cont@acct.blob.core.windows.net/x?sv=1&sig=SECRET");
  // Keywords come out in canonical case.
  CHECK(dataport::format_uri(parse_uri("AZUREML://DATASTORES/ds/PATHS/x")) ==
        "azureml://datastores/ds/paths/x");
  CHECK(dataport::format_uri(parse_uri("azureml://datastores/ds/paths/a b")) ==
        "azureml://datastores/ds/paths/a%20b");
}

TEST_CASE("name validation helpers") {
  CHECK(dataport::is_valid_account_name("abc"));
  CHECK(dataport::is_valid_account_name("devstoreaccount1"));
  CHECK_FALSE(dataport::is_valid_account_name("Abc"));
  CHECK_FALSE(dataport::is_valid_account_name("ab"));
  CHECK_FALSE(dataport::is_valid_account_name(std::string(25, 'a')));
  CHECK(dataport::container_name_problem("azureml").empty());
  CHECK(dataport::container_name_problem("$web").empty());
  CHECK_FALSE(dataport::container_name_problem(std::string(64, 'a')).empty());
  CHECK_FALSE(dataport::container_name_problem("a_b").empty());
}
