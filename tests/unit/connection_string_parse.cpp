// AZURE_STORAGE_CONNECTION_STRING parsing: every key, the emulator shortcut, secret-free errors.
#include "dataport/connection_string.hpp"

#include <catch2/catch.hpp>

#include "dataport/error.hpp"

using dataport::parse_connection_string;

namespace {

std::string error_of(std::string_view text) {
  try {
    parse_connection_string(text);
  } catch (const dataport::error& e) {
    CHECK(e.code() == dataport::errc::invalid_argument);
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST_CASE("a full account-key connection string") {
  const auto cs = parse_connection_string(
      "DefaultEndpointsProtocol=https;AccountName=myacct;AccountKey=a2V5a2V5a2V5==;"
      "EndpointSuffix=core.chinacloudapi.cn");
  CHECK(cs.protocol == "https");
  CHECK(cs.account_name == "myacct");
  CHECK(cs.account_key == "a2V5a2V5a2V5==");  // '=' inside a value is kept
  CHECK(cs.blob_service_url() == "https://myacct.blob.core.chinacloudapi.cn");
  const auto cred = cs.credential();
  CHECK(cred.type == dataport::credential_config::kind::shared_key);
  CHECK(cred.account_name == "myacct");
  CHECK(cred.account_key == "a2V5a2V5a2V5==");
}

TEST_CASE("BlobEndpoint and SharedAccessSignature") {
  const auto cs = parse_connection_string(
      "BlobEndpoint=http://127.0.0.1:10000/acct1/;SharedAccessSignature=?sv=2021&sig=abc%2Bdef;"
      "AccountName=acct1;QueueEndpoint=http://127.0.0.1:10001/acct1");
  CHECK(cs.blob_endpoint == "http://127.0.0.1:10000/acct1");
  CHECK(cs.blob_service_url() == "http://127.0.0.1:10000/acct1");
  CHECK(cs.sas_token == "sv=2021&sig=abc%2Bdef");
  CHECK(cs.credential().type == dataport::credential_config::kind::sas);
  CHECK(cs.credential().sas_token == "sv=2021&sig=abc%2Bdef");
}

TEST_CASE("the account name comes from BlobEndpoint when only a SAS is given") {
  const auto cs = parse_connection_string(
      "BlobEndpoint=https://sasonly.blob.core.windows.net;SharedAccessSignature=sv=1&sig=x");
  CHECK(cs.account_name == "sasonly");
  CHECK(cs.credential().type == dataport::credential_config::kind::sas);
}

TEST_CASE("UseDevelopmentStorage=true means the emulator account") {
  const auto cs = parse_connection_string(
      "UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://proxy:1");
  CHECK(cs.development_storage);
  CHECK(cs.account_name == "devstoreaccount1");
  CHECK(cs.account_key == dataport::development_account_key);
  CHECK(cs.blob_service_url() == "http://127.0.0.1:10000/devstoreaccount1");
  CHECK(cs.credential().type == dataport::credential_config::kind::shared_key);
  CHECK(cs.credential().account_name == "devstoreaccount1");
}

TEST_CASE("keys are case-insensitive, whitespace and empty segments are tolerated") {
  const auto cs = parse_connection_string(
      " accountname = acct2 ; ; accountkey=k3y== ; defaultendpointsprotocol=HTTP ;");
  CHECK(cs.account_name == "acct2");
  CHECK(cs.account_key == "k3y==");
  CHECK(cs.protocol == "http");
  CHECK(cs.blob_service_url() == "http://acct2.blob.core.windows.net");
  CHECK(parse_connection_string("AccountName=anon1").credential().type ==
        dataport::credential_config::kind::anonymous);
}

TEST_CASE("connection string errors name the problem and never the key") {
  const auto no_eq = error_of("AccountName=acct;SuperSecretKeyMaterial123");
  CHECK_THAT(no_eq, Catch::Contains("segment without '='"));
  CHECK_THAT(no_eq, !Catch::Contains("SuperSecretKeyMaterial123"));

  const auto no_account = error_of("AccountKey=SuperSecretKeyMaterial123==");
  CHECK_THAT(no_account, Catch::Contains("has no AccountName"));
  CHECK_THAT(no_account, !Catch::Contains("SuperSecretKeyMaterial123"));

  CHECK_THAT(error_of("DefaultEndpointsProtocol=ftp;AccountName=a"),
             Catch::Contains("must be https or http"));
}
