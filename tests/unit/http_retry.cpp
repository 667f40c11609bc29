// The retry layer over a scripted transport: what is retried, how long it waits, what each
// attempt looks like, and how it gives up. No network, no real sleeping.
// GCC 12 reports a false -Wnull-dereference inside Boost.Asio's any_io_executor comparison when
// run_async's co_spawn is inlined at -O2; the code is Boost's, not ours.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "dataport/http/client.hpp"

#include <catch2/catch.hpp>
#include <regex>

#include "dataport/metrics.hpp"
#include "http/detail/scripted_transport.hpp"
#include "support/test_support.hpp"

using namespace dataport;
using namespace dataport::http;
using dataport::test::run_async;
using std::chrono::milliseconds;

namespace {

struct harness {
  std::shared_ptr<testing::scripted_transport> transport =
      std::make_shared<testing::scripted_transport>();
  testing::recorded_seams clock;
  std::shared_ptr<metrics> counters = std::make_shared<metrics>();
  settings config;

  harness() {
    config.http_retry_count = 7;
    config.retry_base_delay = milliseconds(100);
    config.retry_max_delay = milliseconds(30000);
  }

  response send(request req, send_options options = {}) {
    return run_async(run(std::move(req), std::move(options)));
  }

  boost::asio::awaitable<response> run(request req, send_options options) {
    client c(co_await boost::asio::this_coro::executor, config, transport, clock.seams(), counters);
    co_return co_await c.send(std::move(req), std::move(options));
  }
};

request get(std::string url = "http://127.0.0.1:9/c/blob?sig=topsecretsignature") {
  request r;
  r.url = std::move(url);
  return r;
}

}  // namespace

TEST_CASE("retryable statuses are retried until success") {
  harness h;
  h.transport->push_response(503);
  h.transport->push_response(500);
  h.transport->push_response(200, {}, "ok");
  const auto r = h.send(get());
  CHECK(r.status == 200);
  CHECK(r.body == "ok");
  CHECK(h.transport->calls.size() == 3);
  CHECK(h.clock.sleeps.size() == 2);
  CHECK(h.counters->get(counter::retries) == 2);
  CHECK(h.counters->get(counter::throttled) == 1);
}

TEST_CASE("every retryable status is retried once, others come back at once") {
  for (unsigned status : {408u, 429u, 500u, 502u, 503u, 504u}) {
    INFO(status);
    harness h;
    h.transport->push_response(status);
    h.transport->push_response(200);
    CHECK(h.send(get()).status == 200);
    CHECK(h.transport->calls.size() == 2);
  }
  for (unsigned status : {400u, 401u, 403u, 404u, 409u, 412u, 416u}) {
    INFO(status);
    harness h;
    h.transport->push_response(status, {{"x-ms-error-code", "Whatever"}});
    const auto r = h.send(get());
    CHECK(r.status == status);
    CHECK(h.transport->calls.size() == 1);
    CHECK(h.clock.sleeps.empty());
    CHECK(h.counters->get(counter::http_errors) == 1);
  }
}

TEST_CASE("a retryable status past the budget is returned as the final response") {
  harness h;
  h.config.http_retry_count = 3;
  for (int i = 0; i < 4; ++i) h.transport->push_response(500);
  CHECK(h.send(get()).status == 500);
  CHECK(h.transport->calls.size() == 4);
  CHECK(h.clock.sleeps.size() == 3);
  CHECK(h.transport->remaining() == 0);
}

TEST_CASE("send_options::retry_count overrides the settings") {
  harness h;
  for (int i = 0; i < 2; ++i) h.transport->push_response(503);
  send_options o;
  o.retry_count = 1;
  CHECK(h.send(get(), o).status == 503);
  CHECK(h.transport->calls.size() == 2);
}

TEST_CASE("backoff grows exponentially and is capped at retry_max_delay") {
  harness h;
  h.config.retry_base_delay = milliseconds(100);
  h.config.retry_max_delay = milliseconds(1000);
  h.config.http_retry_count = 6;
  for (int i = 0; i < 6; ++i) h.transport->push_response(502);
  h.transport->push_response(200);
  h.clock.jitter = 1.0;
  CHECK(h.send(get()).status == 200);
  const std::vector<milliseconds> expected = {milliseconds(100),  milliseconds(200),
                                              milliseconds(400),  milliseconds(800),
                                              milliseconds(1000), milliseconds(1000)};
  CHECK(h.clock.sleeps == expected);
}

TEST_CASE("jitter scales the backoff down to half") {
  harness h;
  h.clock.jitter = 0.0;
  h.transport->push_response(503);
  h.transport->push_response(503);
  h.transport->push_response(200);
  h.send(get());
  CHECK(h.clock.sleeps == std::vector<milliseconds>{milliseconds(50), milliseconds(100)});
}

TEST_CASE("server-requested delays are honoured, capped, and garbage falls back to backoff") {
  harness h;
  h.config.retry_max_delay = milliseconds(5000);
  h.transport->push_response(429, {{"Retry-After", "2"}});
  h.transport->push_response(503, {{"x-ms-retry-after-ms", "750"}});
  h.transport->push_response(503, {{"retry-after-ms", "40"}});
  h.transport->push_response(429, {{"Retry-After", "3600"}});
  h.transport->push_response(503, {{"Retry-After", "-5"}});
  h.transport->push_response(503, {{"Retry-After", "Thu, 01 Jan 1970 00:00:00 GMT"}});
  h.transport->push_response(200);
  h.clock.jitter = 1.0;
  CHECK(h.send(get()).status == 200);
  const std::vector<milliseconds> expected = {milliseconds(2000), milliseconds(750),
                                              milliseconds(40),   milliseconds(5000),
                                              milliseconds(1600), milliseconds(0)};
  CHECK(h.clock.sleeps == expected);
}

TEST_CASE("Retry-After as an HTTP-date uses the injected clock") {
  harness h;
  h.clock.now = std::chrono::sys_days{std::chrono::year{2026} / 3 / 1};
  h.transport->push_response(503, {{"Retry-After", "Sun, 01 Mar 2026 00:00:04 GMT"}});
  h.transport->push_response(200);
  h.send(get());
  CHECK(h.clock.sleeps == std::vector<milliseconds>{milliseconds(4000)});
}

TEST_CASE("prepare runs once per attempt on a fresh copy of the request") {
  harness h;
  h.transport->push_response(500);
  h.transport->push_response(503);
  h.transport->push_response(200);
  int calls = 0;
  send_options o;
  o.prepare = [&calls](request& r) -> boost::asio::awaitable<void> {
    ++calls;
    // Appending (not setting) proves each attempt starts from the caller's original headers.
    r.headers.emplace_back("x-ms-date", "date-" + std::to_string(calls));
    r.headers.emplace_back("Authorization", "SharedKey acct:sig" + std::to_string(calls));
    co_return;
  };
  request req = get();
  req.headers = {{"x-ms-version", "2023-11-03"}};
  CHECK(h.send(req, o).status == 200);
  CHECK(calls == 3);
  REQUIRE(h.transport->calls.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& seen = h.transport->calls[i].req.headers;
    CHECK(std::count_if(seen.begin(), seen.end(),
                        [](const auto& f) { return f.first == "x-ms-date"; }) == 1);
    CHECK(find_header(seen, "x-ms-date") ==
          std::optional<std::string_view>("date-" + std::to_string(i + 1)));
    CHECK(find_header(seen, "x-ms-version") == std::optional<std::string_view>("2023-11-03"));
  }
}

TEST_CASE("the same x-ms-client-request-id is sent on every attempt") {
  const std::regex uuid("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  harness h;
  h.transport->push_error(errc::network);
  h.transport->push_response(503);
  h.transport->push_response(200);
  h.send(get());
  REQUIRE(h.transport->calls.size() == 3);
  const auto id =
      std::string(*find_header(h.transport->calls[0].req.headers, "x-ms-client-request-id"));
  CHECK(std::regex_match(id, uuid));
  for (const auto& call : h.transport->calls) {
    CHECK(find_header(call.req.headers, "x-ms-client-request-id") ==
          std::optional<std::string_view>(id));
  }

  harness given;
  given.transport->push_response(500);
  given.transport->push_response(200);
  request req = get();
  req.headers = {{"X-MS-Client-Request-Id", "caller-id"}};
  given.send(req);
  for (const auto& call : given.transport->calls) {
    CHECK(find_header(call.req.headers, "x-ms-client-request-id") ==
          std::optional<std::string_view>("caller-id"));
    CHECK(call.req.headers.size() == 1);
  }
}

TEST_CASE("network and timeout failures are retried - tls and protocol are not") {
  harness h;
  h.transport->push_error(errc::network);
  h.transport->push_error(errc::timeout);
  h.transport->push_response(200);
  CHECK(h.send(get()).status == 200);
  CHECK(h.transport->calls.size() == 3);

  for (errc code : {errc::tls, errc::protocol, errc::invalid_argument}) {
    harness once;
    once.transport->push_error(code);
    try {
      once.send(get());
      FAIL("no exception");
    } catch (const error& e) {
      CHECK(e.code() == code);
    }
    CHECK(once.transport->calls.size() == 1);
    CHECK(once.clock.sleeps.empty());
  }
}

TEST_CASE("a transport failure past the budget says what happened and what to do") {
  harness h;
  h.config.http_retry_count = 3;
  for (int i = 0; i < 4; ++i) h.transport->push_error(errc::network);
  try {
    h.send(get());
    FAIL("no exception");
  } catch (const error& e) {
    const std::string text = e.what();
    CHECK(e.code() == errc::transient_exhausted);
    CHECK(text.find("4 attempts") != std::string::npos);
    CHECK(text.find("127.0.0.1:9/c/blob") != std::string::npos);
    CHECK(text.find("scripted failure") != std::string::npos);
    CHECK(text.find("AZUREML_DATASET_HTTP_RETRY_COUNT") != std::string::npos);
    CHECK(text.find("topsecretsignature") == std::string::npos);
  }
  CHECK(h.transport->calls.size() == 4);
  CHECK(h.clock.sleeps.size() == 3);
}

TEST_CASE("with a zero budget the original transport error comes back") {
  harness h;
  h.config.http_retry_count = 0;
  h.transport->push_error(errc::timeout);
  try {
    h.send(get());
    FAIL("no exception");
  } catch (const error& e) {
    CHECK(e.code() == errc::timeout);
  }
}

TEST_CASE("non-idempotent requests are retried only when nothing was sent") {
  SECTION("retryable status: returned, not retried") {
    harness h;
    h.transport->push_response(503);
    request req = get();
    req.method = "POST";
    req.idempotent = false;
    CHECK(h.send(req).status == 503);
    CHECK(h.transport->calls.size() == 1);
  }
  SECTION("failure after sending: thrown at once") {
    harness h;
    h.transport->push_error(errc::network, /*request_sent=*/true);
    request req = get();
    req.idempotent = false;
    CHECK_THROWS_AS(h.send(req), error);
    CHECK(h.transport->calls.size() == 1);
  }
  SECTION("a plain dataport::error counts as sent") {
    harness h;
    h.transport->push([](const request&, const send_options&, std::size_t&) -> response {
      throw error(errc::network, "reset");
    });
    request req = get();
    req.idempotent = false;
    CHECK_THROWS_AS(h.send(req), error);
    CHECK(h.transport->calls.size() == 1);
  }
  SECTION("connect refused before any byte: retried") {
    harness h;
    h.transport->push_error(errc::network, /*request_sent=*/false);
    h.transport->push_response(201);
    request req = get();
    req.method = "PUT";
    req.idempotent = false;
    CHECK(h.send(req).status == 201);
    CHECK(h.transport->calls.size() == 2);
  }
}
