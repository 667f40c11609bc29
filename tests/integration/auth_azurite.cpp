// Credentials against real servers: Shared Key, SAS and managed-identity bearer tokens signing
// requests sent by dataport's http::client to Azurite (http, and https with --oauth basic), with
// tokens from the loopback token server. Everything runs on 127.0.0.1.
// GCC 12 at -O2 reports a false "potential null pointer dereference" inside Boost.Asio's
// any_executor comparison; it is a middle-end warning, so only a file-wide pragma silences it.
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "dataport/auth/credentials.hpp"
#include "dataport/auth/sas.hpp"
#include "dataport/auth/shared_key.hpp"
#include "dataport/credential.hpp"
#include "dataport/error.hpp"
#include "dataport/http/client.hpp"
#include "dataport/redact.hpp"
#include "support/test_support.hpp"

using namespace dataport;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view api_version = "2021-08-06";

// One io_context and one client per test; run() drives a coroutine to completion on it.
struct harness {
  boost::asio::io_context io;
  settings config;
  std::unique_ptr<http::client> client;

  harness() {
    config.ca_file = test::servers()["ca_file"].get<std::string>();
    config.http_retry_count = 3;
    config.retry_base_delay = 10ms;
    config.retry_max_delay = 50ms;
    client = std::make_unique<http::client>(io.get_executor(), config);
  }

  template <class T>
  T run(boost::asio::awaitable<T> work) {
    std::exception_ptr failure;
    std::optional<T> result;
    boost::asio::co_spawn(io, std::move(work), [&](std::exception_ptr e, T value) {
      failure = e;
      if (!e) result.emplace(std::move(value));
    });
    io.restart();
    io.run();
    if (failure) std::rethrow_exception(failure);
    return std::move(*result);
  }

  http::response send(std::shared_ptr<credential> cred, std::string method, std::string url,
                      std::span<const std::byte> body = {}, http::header_list headers = {}) {
    http::request req;
    req.method = std::move(method);
    req.url = std::move(url);
    req.body = body;
    req.headers = std::move(headers);
    req.headers.emplace_back("x-ms-version", std::string(api_version));
    if (!body.empty() || req.method == "PUT") {
      req.headers.emplace_back("Content-Length", std::to_string(body.size()));
    }
    http::send_options options;
    options.prepare = [cred](http::request& r) -> boost::asio::awaitable<void> {
      http::set_header(r.headers, "x-ms-date",
                       auth::rfc1123_date(std::chrono::system_clock::now()));
      co_await cred->apply(r);
    };
    return run(client->send(std::move(req), std::move(options)));
  }
};

std::string blob_url() {
  return test::servers()["azurite"]["blob_url"].get<std::string>();
}
std::string https_blob_url() {
  return test::servers()["azurite_https"]["blob_url"].get<std::string>();
}
std::string token_url() {
  return test::servers()["token_server"]["url"].get<std::string>();
}

std::string error_code(const http::response& resp) {
  auto code = resp.header("x-ms-error-code");
  return code ? std::string(*code) : std::string();
}

void token_control(const nlohmann::json& body) {
  test::http_call_options o;
  o.method = "POST";
  o.body = body.dump();
  o.headers = {{"Content-Type", "application/json"}};
  auto reply = test::http_call(token_url() + "/__control", o);
  REQUIRE(reply.status == 200);
}

nlohmann::json token_requests() {
  return nlohmann::json::parse(test::http_call(token_url() + "/__requests").body);
}

}  // namespace

TEST_CASE("Shared Key: create container, put blob, get blob (emulator path-style URLs)") {
  harness h;
  auto cred = auth::make_shared_key_credential("devstoreaccount1", test::well_known_key());
  std::string container = test::unique_name("sk");
  std::string base = blob_url() + "/devstoreaccount1/" + container;
  auto created = h.send(cred, "PUT", base + "?restype=container");
  REQUIRE(created.status == 201);

  auto data = test::random_bytes(100'000, 7);
  std::string blob = base + "/dir/with%20space%2Bplus.bin";
  auto put = h.send(cred, "PUT", blob, data, {{"x-ms-blob-type", "BlockBlob"}});
  REQUIRE(put.status == 201);
  auto got = h.send(cred, "GET", blob);
  REQUIRE(got.status == 200);
  CHECK(test::sha256_hex(std::as_bytes(std::span(got.body))) == test::sha256_hex(data));
  // A listing with query parameters signs them too.
  auto list = h.send(cred, "GET", base + "?restype=container&comp=list&prefix=dir%2F");
  CHECK(list.status == 200);
  CHECK(list.body.find("with space+plus.bin") != std::string::npos);
}

TEST_CASE("Shared Key with a wrong key gets 403 AuthenticationFailed and no retry") {
  harness h;
  auto other_key = test::servers()["azurite"]["accounts"]["dataportsecond"].get<std::string>();
  auto cred = auth::make_shared_key_credential("devstoreaccount1", other_key);
  auto resp =
      h.send(cred, "PUT",
             blob_url() + "/devstoreaccount1/" + test::unique_name("wrong") + "?restype=container");
  CHECK(resp.status == 403);
  // Azure answers a bad signature with AuthenticationFailed; Azurite reports the same failure as
  // AuthorizationFailure (AuthenticationMiddlewareFactory). Either way the service code is there.
  auto code = error_code(resp);
  CHECK((code == "AuthenticationFailed" || code == "AuthorizationFailure"));

  // The same key is right for its own account (second account of the emulator).
  auto own = auth::make_shared_key_credential("dataportsecond", other_key);
  CHECK(h.send(own, "PUT",
               blob_url() + "/dataportsecond/" + test::unique_name("own") + "?restype=container")
            .status == 201);
}

TEST_CASE("SAS: read works, a read-only SAS cannot write, an expired SAS is refused up front") {
  harness h;
  auto key_cred = auth::make_shared_key_credential("devstoreaccount1", test::well_known_key());
  std::string container = test::unique_name("sas");
  std::string base = blob_url() + "/devstoreaccount1/" + container;
  REQUIRE(h.send(key_cred, "PUT", base + "?restype=container").status == 201);
  auto data = test::random_bytes(4096, 11);
  REQUIRE(h.send(key_cred, "PUT", base + "/a%20b.txt", data, {{"x-ms-blob-type", "BlockBlob"}})
              .status == 201);

  auto now = std::chrono::system_clock::now();
  SECTION("blob service SAS for reading") {
    auth::blob_service_sas_options o;
    o.account = "devstoreaccount1";
    o.account_key = test::well_known_key();
    o.container = container;
    o.blob = "a b.txt";
    o.permissions = "r";
    o.start = now - 5min;
    o.expiry = now + 1h;
    auto sas = auth::generate_blob_service_sas(o);
    auto cred = auth::make_sas_credential(sas);
    auto got = h.send(cred, "GET", base + "/a%20b.txt");
    REQUIRE(got.status == 200);
    CHECK(test::sha256_hex(std::as_bytes(std::span(got.body))) == test::sha256_hex(data));
  }
  SECTION("read-only account SAS: read ok, write 403") {
    auth::account_sas_options o;
    o.account = "devstoreaccount1";
    o.account_key = test::well_known_key();
    o.permissions = "rl";
    o.start = now - 5min;
    o.expiry = now + 1h;
    auto sas = auth::generate_account_sas(o);
    auto cred = auth::make_sas_credential("?" + sas);
    CHECK(h.send(cred, "GET", base + "/a%20b.txt").status == 200);
    CHECK(h.send(cred, "GET", base + "?restype=container&comp=list").status == 200);
    auto put = h.send(cred, "PUT", base + "/new.txt", data, {{"x-ms-blob-type", "BlockBlob"}});
    CHECK(put.status == 403);
    CHECK_FALSE(error_code(put).empty());
    // The signature is never visible in redacted text.
    auto sig_start = sas.find("sig=") + 4;
    CHECK(redact_text(base + "?" + sas).find(sas.substr(sig_start)) == std::string::npos);
  }
  SECTION("expired SAS") {
    auth::account_sas_options o;
    o.account = "devstoreaccount1";
    o.account_key = test::well_known_key();
    o.start = now - 2h;
    o.expiry = now - 1h;
    auto sas = auth::generate_account_sas(o);
    auto cred = auth::make_sas_credential(sas);
    try {
      h.send(cred, "GET", base + "/a%20b.txt");
      FAIL("expected an error");
    } catch (const error& e) {
      CHECK(e.code() == errc::authentication_failed);
      std::string m = e.what();
      CHECK(m.find("expired at") != std::string::npos);
      CHECK(m.find("sig") == std::string::npos);
    }
  }
}

TEST_CASE("managed identity (IMDS style) bearer token against https Azurite with --oauth basic") {
  harness h;
  token_control({{"reset", true}});
  auth::managed_identity_options options;
  options.env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "DATAPORT_IMDS_ENDPOINT") return token_url();
    return std::nullopt;
  };
  options.sleep = [](std::chrono::milliseconds) -> boost::asio::awaitable<void> { co_return; };
  http::client* client = h.client.get();
  auto sender = [client](http::request req) -> boost::asio::awaitable<http::response> {
    co_return co_await client->send(std::move(req));
  };
  auto cred = auth::make_managed_identity_credential(sender, options);

  std::string container = test::unique_name("oauth");
  std::string base = https_blob_url() + "/devstoreaccount1/" + container;
  auto created = h.send(cred, "PUT", base + "?restype=container");
  REQUIRE(created.status == 201);
  auto data = test::random_bytes(50'000, 3);
  REQUIRE(h.send(cred, "PUT", base + "/blob.bin", data, {{"x-ms-blob-type", "BlockBlob"}}).status ==
          201);
  auto got = h.send(cred, "GET", base + "/blob.bin");
  REQUIRE(got.status == 200);
  CHECK(test::sha256_hex(std::as_bytes(std::span(got.body))) == test::sha256_hex(data));

  // One token served all three requests; the IMDS request carried Metadata: true.
  auto log = token_requests();
  REQUIRE(log.size() == 1);
  CHECK(log[0]["path"] == "/metadata/identity/oauth2/token");
  CHECK(log[0]["headers"]["metadata"] == "true");
  CHECK(log[0]["query"]["api-version"] == "2018-02-01");
  CHECK(log[0]["query"]["resource"] == "https://storage.azure.com/");

  // Without a token, the https emulator refuses the request.
  auto anonymous = h.send(auth::make_anonymous_credential(), "GET", base + "/blob.bin");
  CHECK(anonymous.status >= 400);
}

TEST_CASE("managed identity (IDENTITY_ENDPOINT style): 404 and 500 are retried, then success") {
  harness h;
  token_control({{"reset", true}, {"fail", {404, 500}}});
  auth::managed_identity_options options;
  options.env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "IDENTITY_ENDPOINT") return token_url() + "/msi/token";
    if (name == "IDENTITY_HEADER") return "test-identity-header";
    return std::nullopt;
  };
  options.client_id = "11111111-2222-3333-4444-555555555555";
  options.sleep = [](std::chrono::milliseconds) -> boost::asio::awaitable<void> { co_return; };
  http::client* client = h.client.get();
  auto sender = [client](http::request req) -> boost::asio::awaitable<http::response> {
    co_return co_await client->send(std::move(req));
  };
  auto cred = auth::make_managed_identity_credential(sender, options);
  auto resp = h.send(cred, "GET", https_blob_url() + "/devstoreaccount1?comp=list");
  CHECK(resp.status == 200);
  auto log = token_requests();
  REQUIRE(log.size() == 3);
  CHECK(log[2]["headers"]["x-identity-header"] == "test-identity-header");
  CHECK(log[2]["query"]["client_id"] == options.client_id);
}

TEST_CASE("managed identity failure names the endpoint and status, not the token") {
  harness h;
  token_control({{"reset", true}, {"fail", {403}}});
  auth::managed_identity_options options;
  options.env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "MSI_ENDPOINT") return token_url() + "/msi2/token";
    if (name == "MSI_SECRET") return "test-msi-secret";
    return std::nullopt;
  };
  http::client* client = h.client.get();
  auto sender = [client](http::request req) -> boost::asio::awaitable<http::response> {
    co_return co_await client->send(std::move(req));
  };
  auto cred = auth::make_managed_identity_credential(sender, options);
  try {
    h.send(cred, "GET", https_blob_url() + "/devstoreaccount1?comp=list");
    FAIL("expected an error");
  } catch (const error& e) {
    CHECK(e.code() == errc::authentication_failed);
    std::string m = e.what();
    CHECK(m.find("/msi2/token") != std::string::npos);
    CHECK(m.find("403") != std::string::npos);
    CHECK(m.find("test-msi-secret") == std::string::npos);
  }
  token_control({{"reset", true}});
}
