// Credentials wired to dataport's http::client over a fake transport: make_credential for every
// kind, and managed-identity requests where the client retries 429/5xx and the credential retries
// 404. Nothing leaves the process.
// GCC 12 at -O2 reports a false "potential null pointer dereference" inside Boost.Asio's
// any_executor comparison; it is a middle-end warning, so only a file-wide pragma silences it.
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <catch2/catch.hpp>

#include <deque>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "dataport/auth/credentials.hpp"
#include "dataport/credential.hpp"
#include "dataport/error.hpp"
#include "dataport/http/client.hpp"

using namespace dataport;
using namespace std::chrono_literals;

namespace {

class fake_transport final : public http::transport {
 public:
  std::deque<http::response> replies;
  std::vector<http::request> seen;

  boost::asio::awaitable<http::response> round_trip(const http::request& req,
                                                    const http::send_options&,
                                                    std::size_t&) override {
    seen.push_back(req);
    REQUIRE_FALSE(replies.empty());
    auto next = replies.front();
    replies.pop_front();
    co_return next;
  }
};

http::response reply(unsigned status, std::string body = {}) {
  http::response r;
  r.status = status;
  r.body = std::move(body);
  r.body_size = r.body.size();
  return r;
}

http::retry_seams instant_seams() {
  http::retry_seams seams;
  seams.sleep = [](std::chrono::milliseconds) -> boost::asio::awaitable<void> { co_return; };
  seams.jitter = [] { return 0.5; };
  seams.now = [] { return std::chrono::system_clock::now(); };
  return seams;
}

template <class T>
T run(boost::asio::io_context& io, boost::asio::awaitable<T> work) {
  auto future = boost::asio::co_spawn(io, std::move(work), boost::asio::use_future);
  io.restart();
  io.run();
  return future.get();
}

std::string header(const http::request& req, std::string_view name) {
  auto value = http::find_header(req.headers, name);
  return value ? std::string(*value) : "<missing>";
}

}  // namespace

TEST_CASE("make_credential builds every kind without touching the network") {
  boost::asio::io_context io;
  auto transport = std::make_shared<fake_transport>();
  http::client client(io.get_executor(), settings{}, transport, instant_seams());

  credential_config anonymous;
  CHECK(make_credential(anonymous, client)->kind_name() == "anonymous");
  CHECK_FALSE(make_credential(anonymous, client)->is_secret_bearing());

  credential_config key;
  key.type = credential_config::kind::shared_key;
  key.account_name = "devstoreaccount1";
  key.account_key =
      "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
  auto shared = make_credential(key, client);
  http::request req;
  req.url = "http://127.0.0.1:1/devstoreaccount1/c";
  run(io, shared->apply(req));
  CHECK(header(req, "Authorization").starts_with("SharedKey devstoreaccount1:"));

  credential_config sas;
  sas.type = credential_config::kind::sas;
  sas.sas_token = "sv=2021-08-06&sig=abcdefghijk";
  http::request sas_req;
  sas_req.url = "http://127.0.0.1:1/a/c/b";
  run(io, make_credential(sas, client)->apply(sas_req));
  CHECK(sas_req.url == "http://127.0.0.1:1/a/c/b?sv=2021-08-06&sig=abcdefghijk");

  credential_config bearer;
  bearer.type = credential_config::kind::bearer_static;
  bearer.token = "opaque-static-token";
  http::request bearer_req;
  run(io, make_credential(bearer, client)->apply(bearer_req));
  CHECK(header(bearer_req, "Authorization") == "Bearer opaque-static-token");
  CHECK(transport->seen.empty());
}

TEST_CASE(
    "managed identity through http::client: 500 retried by the client, 404 by the credential") {
  boost::asio::io_context io;
  auto transport = std::make_shared<fake_transport>();
  settings config;
  config.http_retry_count = 3;
  http::client client(io.get_executor(), config, transport, instant_seams());
  transport->replies = {reply(500), reply(404),
                        reply(200, R"({"access_token":"mi-token-123456","expires_in":"3600"})")};

  auth::managed_identity_options options;
  options.env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "DATAPORT_IMDS_ENDPOINT") return "http://127.0.0.1:9";
    return std::nullopt;
  };
  std::vector<std::chrono::milliseconds> credential_sleeps;
  options.sleep = [&](std::chrono::milliseconds d) -> boost::asio::awaitable<void> {
    credential_sleeps.push_back(d);
    co_return;
  };
  auto* c = &client;
  auto cred = auth::make_managed_identity_credential(
      [c](http::request r) -> boost::asio::awaitable<http::response> {
        co_return co_await c->send(std::move(r));
      },
      options);
  http::request req;
  req.url = "https://127.0.0.1:1/devstoreaccount1/c/b";
  run(io, cred->apply(req));
  CHECK(header(req, "Authorization") == "Bearer mi-token-123456");
  REQUIRE(transport->seen.size() == 3);
  for (const auto& sent : transport->seen) {
    CHECK(sent.url.starts_with("http://127.0.0.1:9/metadata/identity/oauth2/token?"));
    CHECK(header(sent, "Metadata") == "true");
  }
  CHECK(credential_sleeps.size() == 1);  // only the 404 was retried by the credential
}
