// The conformance suite against Azurite: Shared Key, account SAS, an anonymous public container
// and bearer tokens over https; plus the Blob-only error cases (wrong key, pagination loop).
#include <chrono>

#include <nlohmann/json.hpp>

#include "conformance_suite.hpp"
#include "dataport/auth/sas.hpp"
#include "dataport/credential.hpp"
#include "dataport/http/client.hpp"
#include "dataport/storage.hpp"

namespace {

using namespace dataport;
constexpr const char* account = "devstoreaccount1";

struct azurite_parts {
  std::shared_ptr<http::client> client;
  location where;
};

azurite_parts azurite_parts_for(conformance::target& t, const char* server) {
  settings config;
  config.ca_file = test::servers().at("ca_file").get<std::string>();
  config.http_retry_count = 2;
  azurite_parts parts;
  parts.client = std::make_shared<http::client>(t.io->get_executor(), config);
  parts.where.backend = backend_kind::blob;
  parts.where.service_url =
      test::servers().at(server).at("blob_url").get<std::string>() + "/" + account;
  parts.where.account = account;
  parts.where.container = test::unique_name("conf");
  return parts;
}

std::shared_ptr<credential> shared_key(http::client& client,
                                       std::string key = test::well_known_key()) {
  credential_config config;
  config.type = credential_config::kind::shared_key;
  config.account_name = account;
  config.account_key = std::move(key);
  return make_credential(config, client);
}

conformance::target shared_key_target() {
  conformance::target t;
  t.name = "azurite shared key";
  auto parts = azurite_parts_for(t, "azurite");
  t.store = make_blob_store(parts.where, parts.client, shared_key(*parts.client));
  t.run(t.store->create_container());
  t.seed = conformance::seed_through(t.io, t.store, t.root);
  return t;
}

conformance::target sas_target() {
  conformance::target t;
  t.name = "azurite sas";
  auto parts = azurite_parts_for(t, "azurite");
  auth::account_sas_options sas;
  sas.account = account;
  sas.account_key = test::well_known_key();
  sas.permissions = "rwdlac";
  sas.expiry = std::chrono::system_clock::now() + std::chrono::hours(2);
  credential_config config;
  config.type = credential_config::kind::sas;
  config.sas_token = auth::generate_account_sas(sas);
  t.store = make_blob_store(parts.where, parts.client, make_credential(config, *parts.client));
  t.run(t.store->create_container());
  t.seed = conformance::seed_through(t.io, t.store, t.root);
  return t;
}

conformance::target anonymous_target() {
  conformance::target t;
  t.name = "azurite anonymous";
  auto parts = azurite_parts_for(t, "azurite");
  blob_store_options admin_options;
  admin_options.public_access = "container";
  auto admin = make_blob_store(parts.where, parts.client, shared_key(*parts.client), admin_options);
  t.run(admin->create_container());
  t.store = make_blob_store(parts.where, parts.client, nullptr);
  t.seed = conformance::seed_through(t.io, admin, t.root);
  t.writable = false;
  t.writes_unsupported = false;  // refused by the service, not by the backend
  return t;
}

std::string token_from_server() {
  const auto base = test::servers().at("token_server").at("url").get<std::string>();
  test::http_call_options options;
  options.headers = {{"Metadata", "true"}};
  const auto reply =
      test::http_call(base + "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=" +
                          "https%3A%2F%2Fstorage.azure.com%2F",
                      options);
  REQUIRE(reply.status == 200);
  return nlohmann::json::parse(reply.body).at("access_token").get<std::string>();
}

conformance::target bearer_https_target() {
  conformance::target t;
  t.name = "azurite bearer https";
  auto parts = azurite_parts_for(t, "azurite_https");
  credential_config config;
  config.type = credential_config::kind::bearer_static;
  config.token = token_from_server();
  t.store = make_blob_store(parts.where, parts.client, make_credential(config, *parts.client));
  t.run(t.store->create_container());
  t.seed = conformance::seed_through(t.io, t.store, t.root);
  return t;
}

}  // namespace

CONFORMANCE_CASES("azurite shared key", shared_key_target)
CONFORMANCE_CASES("azurite sas", sas_target)
CONFORMANCE_CASES("azurite anonymous", anonymous_target)
CONFORMANCE_CASES("azurite bearer https", bearer_https_target)

TEST_CASE("azurite: a wrong key is authentication_failed with code and request id, no key",
          "[conformance]") {
  auto t = shared_key_target();
  const auto data = test::to_bytes("secret data");
  t.run(t.store->put("a.txt", data, put_options{}));
  const std::string wrong_key =
      "d3JvbmdrZXl3cm9uZ2tleXdyb25na2V5d3JvbmdrZXl3cm9uZ2tleXdyb25na2V5d3JvbmdrZXl3cm9uZ2tleQ==";
  auto parts = azurite_parts_for(t, "azurite");
  location where = parts.where;
  where.container = t.store->describe().substr(t.store->describe().rfind('/') + 1);
  auto bad = make_blob_store(where, parts.client, shared_key(*parts.client, wrong_key));
  for (int op = 0; op < 2; ++op) {
    std::string message;
    service_details details;
    const auto code = conformance::code_of(
        [&] {
          if (op == 0) {
            t.run(bad->stat("a.txt"));
          } else {
            std::vector<std::byte> buffer(4);
            t.run(bad->read_range("a.txt", 0, buffer, ""));
          }
        },
        &message, &details);
    INFO(message);
    CHECK(code == errc::authentication_failed);
    CHECK(details.http_status == 403);
    CHECK_FALSE(details.service_code.empty());
    CHECK_FALSE(details.request_id.empty());
    CHECK(message.find(wrong_key) == std::string::npos);
    CHECK(message.find(test::well_known_key()) == std::string::npos);
    CHECK_THAT(message, Catch::Contains("check the account key"));
  }
}

TEST_CASE("azurite: a missing container is not_found naming the container", "[conformance]") {
  conformance::target t;
  auto parts = azurite_parts_for(t, "azurite");
  auto store = make_blob_store(parts.where, parts.client, shared_key(*parts.client));
  std::string message;
  CHECK(conformance::code_of([&] { t.run(store->stat("x")); }, &message) == errc::not_found);
  CHECK_THAT(message, Catch::Contains(parts.where.container));
  std::vector<std::byte> buffer(4);
  CHECK(conformance::code_of([&] { t.run(store->read_range("x", 0, buffer, "")); }) ==
        errc::not_found);
  CHECK(conformance::code_of([&] {
          auto pager = store->list({});
          t.run(pager->next_page());
        }) == errc::not_found);
  // Creating it twice is fine.
  t.run(store->create_container());
  t.run(store->create_container());
  CHECK(t.run(store->stat("")).is_directory);
}

TEST_CASE("azurite: dfs locations are served by the blob backend", "[conformance]") {
  conformance::target t;
  auto parts = azurite_parts_for(t, "azurite");
  parts.where.backend = backend_kind::dfs;
  auto store = make_store(parts.where, parts.client, shared_key(*parts.client));
  t.run(store->create_container());
  const auto data = test::random_bytes(777, 77);
  t.run(store->put("x/y.bin", data, put_options{}));
  std::vector<std::byte> buffer(1000);
  const auto result = t.run(store->read_range("x/y.bin", 0, buffer, ""));
  buffer.resize(result.bytes);
  CHECK(buffer == data);
}
