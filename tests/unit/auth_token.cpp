// Bearer tokens: JWT expiry, the single-flight cache with a fake clock, managed-identity endpoint
// selection (injected environment), response parsing, bounded 404 retries, token files. No test
// sends anything over a network: identity requests go to fake senders.
// GCC 12 at -O2 reports a false "potential null pointer dereference" inside Boost.Asio's
// any_executor comparison; it is a middle-end warning, so only a file-wide pragma silences it.
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include "dataport/auth/token_cache.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include "auth/detail/encoding.hpp"
#include "dataport/auth/credentials.hpp"
#include "dataport/auth/managed_identity.hpp"
#include "dataport/error.hpp"
#include "dataport/redact.hpp"

using namespace dataport;
using namespace std::chrono_literals;
using std::chrono::system_clock;

namespace {

struct fake_clock {
  std::shared_ptr<system_clock::time_point> now = std::make_shared<system_clock::time_point>(
      std::chrono::sys_days{std::chrono::year{2026} / 11 / 22});
  auth::clock_fn fn() const {
    return [now = now] { return *now; };
  }
  void advance(system_clock::duration d) const { *now += d; }
  std::int64_t epoch() const {
    return std::chrono::duration_cast<std::chrono::seconds>(now->time_since_epoch()).count();
  }
};

std::string b64url(std::string_view text) {
  std::string out = auth::detail::base64_encode(text);
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

std::string make_jwt(std::int64_t exp, std::string_view id = "x") {
  return b64url(R"({"alg":"none"})") + "." +
         b64url(std::string(R"({"aud":"https://storage.azure.com","id":")") + std::string(id) +
                R"(","exp":)" + std::to_string(exp) + "}") +
         ".c2ln";
}

template <class T>
T run(boost::asio::awaitable<T> work) {
  boost::asio::io_context io;
  auto future = boost::asio::co_spawn(io, std::move(work), boost::asio::use_future);
  io.run();
  return future.get();
}

boost::asio::awaitable<void> yield_a_few(int n) {
  for (int i = 0; i < n; ++i) co_await boost::asio::post(boost::asio::use_awaitable);
}

std::string header(const http::request& req, std::string_view name) {
  for (const auto& [k, v] : req.headers) {
    if (auth::detail::to_lower(k) == auth::detail::to_lower(name)) return v;
  }
  return "<missing>";
}

settings::env_lookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

struct scripted_sender {
  struct reply {
    unsigned status;
    std::string body;
  };
  std::shared_ptr<std::vector<reply>> replies = std::make_shared<std::vector<reply>>();
  std::shared_ptr<std::vector<http::request>> seen = std::make_shared<std::vector<http::request>>();
  auth::identity_sender fn() const {
    return [replies = replies,
            seen = seen](http::request req) -> boost::asio::awaitable<http::response> {
      seen->push_back(req);
      REQUIRE_FALSE(replies->empty());
      auto next = replies->front();
      replies->erase(replies->begin());
      http::response resp;
      resp.status = next.status;
      resp.body = next.body;
      co_return resp;
    };
  }
};

}  // namespace

TEST_CASE("jwt_expiry reads exp - opaque tokens have none") {
  CHECK(auth::jwt_expiry(make_jwt(1800000000)) == system_clock::time_point{} + 1800000000s);
  CHECK_FALSE(auth::jwt_expiry("opaque-token"));
  CHECK_FALSE(auth::jwt_expiry("a.!!!.c"));
  CHECK_FALSE(auth::jwt_expiry(b64url("{}") + "." + b64url(R"({"exp":"soon"})") + "."));
}

TEST_CASE("refresh 5 minutes before expiry, or at half-life for short tokens") {
  system_clock::time_point t0{};
  CHECK(auth::refresh_time(t0, t0 + 1h) == t0 + 55min);
  CHECK(auth::refresh_time(t0, t0 + 4min) == t0 + 2min);
}

TEST_CASE("token cache: reuses the token, refreshes before expiry, with a fake clock") {
  fake_clock clock;
  int fetches = 0;
  auth::token_cache cache(
      [&]() -> boost::asio::awaitable<auth::access_token> {
        ++fetches;
        co_return auth::access_token{"token-" + std::to_string(fetches), *clock.now + 1h};
      },
      clock.fn());
  CHECK(run(cache.get()) == "token-1");
  clock.advance(54min);
  CHECK(run(cache.get()) == "token-1");
  clock.advance(2min);  // inside the 5-minute window
  CHECK(run(cache.get()) == "token-2");
  CHECK(run(cache.get()) == "token-2");
  CHECK(cache.fetch_count() == 2);
}

TEST_CASE("token cache: single flight for many concurrent waiters") {
  fake_clock clock;
  std::atomic<int> fetches{0};
  auth::token_cache cache(
      [&]() -> boost::asio::awaitable<auth::access_token> {
        ++fetches;
        co_await yield_a_few(20);  // let every other caller arrive and park
        co_return auth::access_token{"shared-token-value", *clock.now + 1h};
      },
      clock.fn());
  boost::asio::io_context io;
  std::vector<std::future<std::string>> results;
  for (int i = 0; i < 16; ++i) {
    results.push_back(boost::asio::co_spawn(io, cache.get(), boost::asio::use_future));
  }
  io.run();
  for (auto& r : results) CHECK(r.get() == "shared-token-value");
  CHECK(fetches == 1);
}

TEST_CASE("token cache: a failed fetch reaches every waiter once - no valid token means error") {
  fake_clock clock;
  int fetches = 0;
  auth::token_cache cache(
      [&]() -> boost::asio::awaitable<auth::access_token> {
        ++fetches;
        co_await yield_a_few(10);
        throw_error(errc::authentication_failed, "endpoint said no");
      },
      clock.fn());
  boost::asio::io_context io;
  std::vector<std::future<std::string>> results;
  for (int i = 0; i < 5; ++i) {
    results.push_back(boost::asio::co_spawn(io, cache.get(), boost::asio::use_future));
  }
  io.run();
  for (auto& r : results) CHECK_THROWS_AS(r.get(), error);
  CHECK(fetches == 1);
}

TEST_CASE("token cache: a failed refresh keeps the still-valid token and backs off") {
  fake_clock clock;
  int fetches = 0;
  bool fail = false;
  auth::token_cache cache(
      [&]() -> boost::asio::awaitable<auth::access_token> {
        ++fetches;
        if (fail) throw_error(errc::authentication_failed, "down");
        co_return auth::access_token{"t" + std::to_string(fetches), *clock.now + 1h};
      },
      clock.fn());
  CHECK(run(cache.get()) == "t1");
  fail = true;
  clock.advance(56min);
  CHECK(run(cache.get()) == "t1");  // refresh failed, old token still valid
  CHECK(run(cache.get()) == "t1");  // within the back-off: no new fetch
  CHECK(fetches == 2);
  clock.advance(5min);  // now expired: the error surfaces
  CHECK_THROWS_AS(run(cache.get()), error);
  fail = false;
  clock.advance(1min);
  CHECK(run(cache.get()) == "t4");
}

TEST_CASE("identity endpoint style selection from an injected environment") {
  SECTION("IDENTITY_ENDPOINT + IDENTITY_HEADER") {
    auto r =
        auth::make_identity_request(env_of({{"IDENTITY_ENDPOINT", "http://127.0.0.1:9/msi/token"},
                                            {"IDENTITY_HEADER", "header-secret-123"},
                                            {"MSI_ENDPOINT", "http://127.0.0.1:9/msi2/token"},
                                            {"MSI_SECRET", "s"}}),
                                    "https://storage.azure.com/", "cid");
    CHECK(r.style == auth::identity_style::identity_endpoint);
    CHECK(r.request.url ==
          "http://127.0.0.1:9/msi/token?resource=https%3A%2F%2Fstorage.azure.com%2F&"
          "api-version=2019-08-01&client_id=cid");
    CHECK(header(r.request, "X-IDENTITY-HEADER") == "header-secret-123");
    CHECK(redact_text("x header-secret-123 y").find("header-secret-123") == std::string::npos);
  }
  SECTION("MSI_ENDPOINT + MSI_SECRET") {
    auto r =
        auth::make_identity_request(env_of({{"MSI_ENDPOINT", "http://127.0.0.1:9/msi2/token"},
                                            {"MSI_SECRET", "msi-secret-xyz"},
                                            {"IDENTITY_ENDPOINT", "http://127.0.0.1:9/only-half"}}),
                                    "https://storage.azure.com/", "cid");
    CHECK(r.style == auth::identity_style::msi_endpoint);
    CHECK(r.request.url ==
          "http://127.0.0.1:9/msi2/token?resource=https%3A%2F%2Fstorage.azure.com%2F&"
          "api-version=2017-09-01&clientid=cid");
    CHECK(header(r.request, "secret") == "msi-secret-xyz");
  }
  SECTION("IMDS with the loopback override") {
    auto r =
        auth::make_identity_request(env_of({{"DATAPORT_IMDS_ENDPOINT", "http://127.0.0.1:9/"}}),
                                    "https://storage.azure.com/", "");
    CHECK(r.style == auth::identity_style::imds);
    CHECK(r.request.url ==
          "http://127.0.0.1:9/metadata/identity/oauth2/token?api-version=2018-02-01&"
          "resource=https%3A%2F%2Fstorage.azure.com%2F");
    CHECK(header(r.request, "Metadata") == "true");
  }
  SECTION("IMDS default address when nothing is set (request built, never sent)") {
    auto r = auth::make_identity_request(env_of({}), "https://storage.azure.com/", "");
    CHECK(r.request.url.starts_with("http://169.254.169.254/metadata/identity/oauth2/token?"));
  }
}

TEST_CASE("identity responses: expires_on epoch, MSI date format, expires_in, JWT exp") {
  fake_clock clock;
  auto a = auth::parse_identity_response(R"({"access_token":"tok-a","expires_on":"1800000000"})",
                                         *clock.now);
  CHECK(a.value == "tok-a");
  CHECK(a.expires_on == system_clock::time_point{} + 1800000000s);
  auto b = auth::parse_identity_response(
      R"({"access_token":"tok-b","expires_on":"09/14/2017 00:00:00 PM +00:00"})", *clock.now);
  CHECK(b.expires_on ==
        system_clock::time_point(std::chrono::sys_days{std::chrono::year{2017} / 9 / 14} + 12h));
  auto c =
      auth::parse_identity_response(R"({"access_token":"tok-c","expires_in":3599})", *clock.now);
  CHECK(c.expires_on == *clock.now + 3599s);
  auto jwt = make_jwt(clock.epoch() + 100);
  auto d = auth::parse_identity_response(R"({"access_token":")" + jwt + R"("})", *clock.now);
  CHECK(d.expires_on == *clock.now + 100s);
  try {
    auth::parse_identity_response(R"({"token":"body-secret-0000"})", *clock.now);
    FAIL("expected an error");
  } catch (const error& e) {
    CHECK(e.code() == errc::protocol);
    CHECK(std::string(e.what()).find("body-secret-0000") == std::string::npos);
  }
}

TEST_CASE("managed identity: 404 retried a bounded number of times, then success") {
  fake_clock clock;
  scripted_sender sender;
  std::string token = make_jwt(clock.epoch() + 3600, "mi");
  *sender.replies = {
      {404, ""}, {404, ""}, {200, R"({"access_token":")" + token + R"(","expires_in":"3600"})"}};
  std::vector<std::chrono::milliseconds> sleeps;
  auth::managed_identity_options options;
  options.env = env_of({{"DATAPORT_IMDS_ENDPOINT", "http://127.0.0.1:9"}});
  options.clock = clock.fn();
  options.sleep = [&](std::chrono::milliseconds d) -> boost::asio::awaitable<void> {
    sleeps.push_back(d);
    co_return;
  };
  auto cred = auth::make_managed_identity_credential(sender.fn(), options);
  http::request req;
  req.url = "https://127.0.0.1:1/devstoreaccount1/c/b";
  req.headers = {{"x-ms-version", "2015-02-21"}};
  run(cred->apply(req));
  CHECK(header(req, "Authorization") == "Bearer " + token);
  CHECK(header(req, "x-ms-version") == "2020-04-08");
  CHECK(sleeps == std::vector<std::chrono::milliseconds>{1000ms, 2000ms});
  CHECK(sender.seen->size() == 3);
  // Cached: a second request sends nothing.
  http::request again;
  run(cred->apply(again));
  CHECK(header(again, "Authorization") == "Bearer " + token);
  CHECK(sender.seen->size() == 3);
  // Near expiry a refresh happens.
  *sender.replies = {{200, R"({"access_token":"second-token-value","expires_in":"3600"})"}};
  clock.advance(56min);
  http::request later;
  run(cred->apply(later));
  CHECK(header(later, "Authorization") == "Bearer second-token-value");
}

TEST_CASE("managed identity failures name the endpoint and status, never secrets") {
  fake_clock clock;
  scripted_sender sender;
  auth::managed_identity_options options;
  options.env = env_of({{"IDENTITY_ENDPOINT", "http://127.0.0.1:9/msi/token"},
                        {"IDENTITY_HEADER", "identity-header-secret"}});
  options.clock = clock.fn();
  options.not_found_retries = 2;
  options.sleep = [](std::chrono::milliseconds) -> boost::asio::awaitable<void> { co_return; };
  auto request = auth::make_identity_request(options.env, options.resource, "");

  SECTION("404 past the bounded retries") {
    *sender.replies = {{404, ""}, {404, ""}, {404, ""}};
    try {
      run(auth::fetch_managed_identity_token(sender.fn(), request, options));
      FAIL("expected an error");
    } catch (const error& e) {
      CHECK(e.code() == errc::authentication_failed);
      CHECK(e.details().http_status == 404);
      std::string m = e.what();
      CHECK(m.find("127.0.0.1:9/msi/token") != std::string::npos);
      CHECK(m.find("404") != std::string::npos);
      CHECK(m.find("identity-header-secret") == std::string::npos);
    }
    CHECK(sender.seen->size() == 3);
  }
  SECTION("500 after the client's own retries is reported at once") {
    *sender.replies = {{500, R"({"error":"x","error_description":"boom access_token=eyJleaked"})"}};
    try {
      run(auth::fetch_managed_identity_token(sender.fn(), request, options));
      FAIL("expected an error");
    } catch (const error& e) {
      CHECK(e.code() == errc::authentication_failed);
      CHECK(e.details().http_status == 500);
      CHECK(std::string(e.what()).find("boom") != std::string::npos);
    }
    CHECK(sender.seen->size() == 1);
  }
}

TEST_CASE("static bearer token: header, x-ms-version, and refusal once its exp passed") {
  fake_clock clock;
  auto token = make_jwt(clock.epoch() + 60, "static");
  auto cred = auth::make_static_token_credential(token, clock.fn());
  http::request req;
  run(cred->apply(req));
  CHECK(header(req, "Authorization") == "Bearer " + token);
  CHECK(header(req, "x-ms-version") == "2020-04-08");
  clock.advance(2min);
  http::request late;
  try {
    run(cred->apply(late));
    FAIL("expected an error");
  } catch (const error& e) {
    CHECK(e.code() == errc::authentication_failed);
    CHECK(std::string(e.what()).find(token) == std::string::npos);
  }
}

TEST_CASE("token file: re-read when the mtime changes - an expired token is refused") {
  fake_clock clock;
  auto dir = std::filesystem::temp_directory_path() /
             ("dataport_auth_token_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = (dir / "token").string();
  auto write = [&](const std::string& text, std::int64_t mtime) {
    std::ofstream(path, std::ios::trunc) << text << "\n";
    struct timespec times[2] = {{mtime, 0}, {mtime, 0}};
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
  };
  auto first = make_jwt(clock.epoch() + 3600, "first");
  write(first, 1000);
  auto cred = auth::make_token_file_credential(path, clock.fn());
  http::request a;
  run(cred->apply(a));
  CHECK(header(a, "Authorization") == "Bearer " + first);

  auto second = make_jwt(clock.epoch() + 3600, "second");
  write(second, 2000);
  http::request b;
  run(cred->apply(b));
  CHECK(header(b, "Authorization") == "Bearer " + second);

  // Same mtime but the token is near expiry: the file is read again.
  auto third = make_jwt(clock.epoch() + 7200, "third");
  write(third, 2000);
  clock.advance(56min);
  http::request c;
  run(cred->apply(c));
  CHECK(header(c, "Authorization") == "Bearer " + third);

  clock.advance(3h);
  http::request d;
  CHECK_THROWS_AS(run(cred->apply(d)), error);
  std::filesystem::remove_all(dir);
}
