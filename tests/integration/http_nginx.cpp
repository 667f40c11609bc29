// The HTTP client against real nginx (http and https with the test CA) and the fault proxy:
// bodies byte-identical, ranges, HEAD, keep-alive reuse, TLS verification, idle (not total)
// timeouts, the redirect policy, and recovery from cut bodies and silent servers.
// GCC 12 reports a false -Wnull-dereference inside Boost.Asio's any_io_executor comparison when
// run_async's co_spawn is inlined at -O2; the code is Boost's, not ours.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "dataport/http/client.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>

#include "dataport/error.hpp"
#include "dataport/metrics.hpp"
#include "support/client_calls.hpp"
#include "support/test_support.hpp"

using namespace dataport;
using namespace dataport::http;
using namespace dataport::test;
using std::chrono::milliseconds;

namespace {

std::string nginx(std::string_view scheme) {
  return servers().at("nginx").at(std::string(scheme) + "_url").get<std::string>();
}

struct published {
  std::string path;  ///< "folder/name", served under /files/, /slow/, /redirect-same/ ...
  std::vector<std::byte> data;
};

published publish(std::size_t size, std::uint64_t seed) {
  published p{unique_name("http") + "/data.bin", random_bytes(size, seed)};
  write_www_file(p.path, p.data);
  return p;
}

request get(std::string url, header_list headers = {}) {
  request r;
  r.url = std::move(url);
  r.headers = std::move(headers);
  return r;
}

response fetch_sync(const settings& config, request req, send_options options = {},
                    std::shared_ptr<metrics> counters = nullptr) {
  return client_fetch(config, std::move(req), std::move(options), std::move(counters));
}

unsigned unused_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();  // closed on return: nothing listens there any more
}

}  // namespace

TEST_CASE("GET into a caller buffer is byte-identical") {
  const auto file = publish(3u << 20, 11);
  std::vector<std::byte> buffer(file.data.size());
  send_options o;
  o.body_into = std::span<std::byte>(buffer);
  auto counters = std::make_shared<metrics>();
  const auto r =
      fetch_sync(client_settings(), get(nginx("http") + "/files/" + file.path), o, counters);
  CHECK(r.status == 200);
  CHECK(r.body.empty());
  CHECK(r.body_size == file.data.size());
  CHECK(sha256_hex(buffer) == sha256_hex(file.data));
  CHECK(counters->get(counter::bytes_received) == file.data.size());
  CHECK(counters->get(counter::requests) == 1);
}

TEST_CASE("GET into a string body, and a body over max_body is refused") {
  const auto file = publish(100000, 12);
  const auto r = fetch_sync(client_settings(), get(nginx("http") + "/files/" + file.path));
  CHECK(r.status == 200);
  CHECK(r.body == to_string(file.data));
  send_options small;
  small.max_body = 1000;
  CHECK(code_of([&] {
          fetch_sync(client_settings(), get(nginx("http") + "/files/" + file.path), small);
        }) == errc::protocol);
}

TEST_CASE("Range GET returns 206 with exactly the requested bytes") {
  const auto file = publish(50000, 13);
  std::vector<std::byte> buffer(1000);
  send_options o;
  o.body_into = std::span<std::byte>(buffer);
  const auto r =
      fetch_sync(client_settings(),
                 get(nginx("http") + "/files/" + file.path, {{"Range", "bytes=1000-1999"}}), o);
  CHECK(r.status == 206);
  CHECK(r.body_size == 1000);
  CHECK(r.header("content-range") == std::optional<std::string_view>("bytes 1000-1999/50000"));
  CHECK(std::equal(buffer.begin(), buffer.end(), file.data.begin() + 1000));
}

TEST_CASE("a body longer than body_into is a protocol error") {
  const auto file = publish(5000, 14);
  std::vector<std::byte> buffer(100);
  send_options o;
  o.body_into = std::span<std::byte>(buffer);
  CHECK(code_of([&] {
          fetch_sync(client_settings(), get(nginx("http") + "/files/" + file.path), o);
        }) == errc::protocol);
}

TEST_CASE("HEAD reports size and ETag without a body - 404 comes back as a response") {
  const auto file = publish(12345, 15);
  request head = get(nginx("http") + "/files/" + file.path);
  head.method = "HEAD";
  const auto r = fetch_sync(client_settings(), head);
  CHECK(r.status == 200);
  CHECK(r.header("content-length") == std::optional<std::string_view>("12345"));
  CHECK(r.header("etag").has_value());
  CHECK(r.body.empty());
  CHECK(r.body_size == 0);
  const auto missing =
      fetch_sync(client_settings(), get(nginx("http") + "/files/" + file.path + ".nope"));
  CHECK(missing.status == 404);
}

namespace {
boost::asio::awaitable<std::vector<std::string>> twenty_gets(settings config,
                                                             std::shared_ptr<metrics> counters,
                                                             std::string url) {
  client c(co_await boost::asio::this_coro::executor, config, counters);
  std::vector<std::string> bodies;
  for (int i = 0; i < 20; ++i) {
    request head = get(url);
    if (i % 5 == 4) head.method = "HEAD";  // HEAD responses must not break the framing
    bodies.push_back((co_await c.send(head)).body);
  }
  co_return bodies;
}
}  // namespace

TEST_CASE("sequential requests reuse one keep-alive connection") {
  const auto file = publish(4096, 16);
  for (const char* scheme : {"http", "https"}) {
    INFO(scheme);
    auto counters = std::make_shared<metrics>();
    const auto bodies =
        run_async(twenty_gets(client_settings(), counters, nginx(scheme) + "/files/" + file.path));
    for (std::size_t i = 0; i < bodies.size(); ++i) {
      CHECK(bodies[i] == (i % 5 == 4 ? std::string() : to_string(file.data)));
    }
    CHECK(counters->get(counter::requests) == 20);
    CHECK(counters->get(counter::connections_opened) == 1);
  }
}

TEST_CASE("https verifies the server with the CA bundle and refuses without it") {
  const auto file = publish(2048, 17);
  const auto url = nginx("https") + "/files/" + file.path;
  CHECK(fetch_sync(client_settings(), get(url)).body == to_string(file.data));

  ::unsetenv("SSL_CERT_FILE");  // make sure no test CA sneaks in through the environment
  settings no_ca = client_settings();
  no_ca.ca_file.clear();
  std::string message;
  CHECK(code_of([&] { fetch_sync(no_ca, get(url + "?sig=verysecretsignature")); }, &message) ==
        errc::tls);
  CHECK(message.find("DATAPORT_CA_FILE") != std::string::npos);
  CHECK(message.find("127.0.0.1") != std::string::npos);
  CHECK(message.find("verysecretsignature") == std::string::npos);

  settings insecure = no_ca;
  insecure.tls_verify = false;
  CHECK(fetch_sync(insecure, get(url)).status == 200);
}

TEST_CASE("a certificate for another name is refused") {
  auto url = nginx("https");
  url.replace(url.find("127.0.0.1"), 9, "localhost");
  std::string message;
  CHECK(code_of([&] { fetch_sync(client_settings(), get(url + "/files/x")); }, &message) ==
        errc::tls);
  CHECK(message.find("host name") != std::string::npos);
}

TEST_CASE("a slow but moving body completes under a short idle timeout") {
  // /slow/ is limited to 2 MB/s (nginx sends bursts about a second apart): about 4 s in total,
  // well past an idle timeout that is still longer than the gaps between bursts.
  const auto file = publish(8u << 20, 18);
  settings s = client_settings();
  s.idle_timeout = milliseconds(2500);
  std::vector<std::byte> buffer(file.data.size());
  send_options o;
  o.body_into = std::span<std::byte>(buffer);
  o.retry_count = 0;
  const auto started = std::chrono::steady_clock::now();
  const auto r = fetch_sync(s, get(nginx("http") + "/slow/" + file.path), o);
  CHECK(std::chrono::steady_clock::now() - started > s.idle_timeout);
  CHECK(r.status == 200);
  CHECK(sha256_hex(buffer) == sha256_hex(file.data));
}

TEST_CASE("redirect policy with real nginx") {
  const auto file = publish(777, 19);
  send_options follow;
  follow.max_redirects = 3;
  SECTION("same origin: followed when allowed, returned otherwise") {
    const auto url = nginx("http") + "/redirect-same/" + file.path;
    const auto r = fetch_sync(client_settings(), get(url), follow);
    CHECK(r.status == 200);
    CHECK(r.body == to_string(file.data));
    CHECK(fetch_sync(client_settings(), get(url)).status == 307);
  }
  SECTION("another host: never followed") {
    const auto r =
        fetch_sync(client_settings(), get(nginx("http") + "/redirect-other/" + file.path), follow);
    CHECK(r.status == 307);
    CHECK(r.header("location")->find("127.0.0.2") != std::string_view::npos);
  }
  SECTION("https to http: never followed") {
    const auto r =
        fetch_sync(client_settings(), get(nginx("https") + "/redirect-http/" + file.path), follow);
    CHECK(r.status == 307);
    CHECK(r.header("location")->starts_with("http://"));
  }
}

TEST_CASE("connection refused is retried, then reported with what to do") {
  settings s = client_settings();
  s.http_retry_count = 2;
  s.retry_base_delay = milliseconds(0);
  s.retry_max_delay = milliseconds(0);
  auto counters = std::make_shared<metrics>();
  std::string message;
  const auto url = "http://127.0.0.1:" + std::to_string(unused_port()) + "/x";
  CHECK(code_of([&] { fetch_sync(s, get(url), {}, counters); }, &message) ==
        errc::transient_exhausted);
  CHECK(message.find("3 attempts") != std::string::npos);
  CHECK(message.find(url) != std::string::npos);
  CHECK(message.find("AZUREML_DATASET_HTTP_RETRY_COUNT") != std::string::npos);
  CHECK(counters->get(counter::transport_errors) == 3);
  CHECK(counters->get(counter::retries) == 2);
}

TEST_CASE("unsupported schemes are refused before any connection") {
  CHECK(code_of([&] { fetch_sync(client_settings(), get("ftp://127.0.0.1/x")); }) ==
        errc::invalid_argument);
}

TEST_CASE("a body cut at 50% resumes from the offset and is identical") {
  const auto file = publish(1u << 20, 20);
  fault_proxy proxy(nginx("http"));
  proxy.set_rules(nlohmann::json::parse(
      R"([{"match": {"method": "GET"}, "times": 1, "action": {"cut_body_at": 0.5}}])"));
  std::vector<std::byte> buffer(file.data.size() - 100);
  send_options o;
  o.body_into = std::span<std::byte>(buffer);
  auto counters = std::make_shared<metrics>();
  const auto r = fetch_sync(client_settings(),
                            get(proxy.url() + "/files/" + file.path,
                                {{"Range", "bytes=100-" + std::to_string(file.data.size() - 1)}}),
                            o, counters);
  CHECK(r.status == 206);
  CHECK(r.body_size == buffer.size());
  CHECK(sha256_hex(buffer) == sha256_hex(std::span(file.data).subspan(100)));
  CHECK(counters->get(counter::resumed_bodies) == 1);
  const auto log = proxy.requests();
  REQUIRE(log.size() == 2);
  CHECK(log[0]["range"] == "bytes=100-" + std::to_string(file.data.size() - 1));
  const auto cut = buffer.size() / 2;
  CHECK(log[1]["range"] ==
        "bytes=" + std::to_string(100 + cut) + "-" + std::to_string(file.data.size() - 1));
  CHECK(!log[1]["if_match"].get<std::string>().empty());
  CHECK(log[0]["x_ms_client_request_id"] == log[1]["x_ms_client_request_id"]);
}

TEST_CASE("headers then silence: the idle timeout fires and the retry completes") {
  const auto file = publish(10000, 21);
  fault_proxy proxy(nginx("http"));
  proxy.set_rules(nlohmann::json::parse(
      R"([{"match": {"method": "GET"}, "times": 1, "action": {"headers_then_silence": true}}])"));
  settings s = client_settings();
  s.idle_timeout = milliseconds(300);
  auto counters = std::make_shared<metrics>();
  const auto started = std::chrono::steady_clock::now();
  const auto r = fetch_sync(s, get(proxy.url() + "/files/" + file.path), {}, counters);
  CHECK(r.status == 200);
  CHECK(r.body == to_string(file.data));
  CHECK(std::chrono::steady_clock::now() - started >= milliseconds(300));
  CHECK(counters->get(counter::transport_errors) == 1);
  CHECK(proxy.requests().size() == 2);
}

TEST_CASE("a silent server with no retries left is a timeout error") {
  const auto file = publish(1000, 22);
  fault_proxy proxy(nginx("http"));
  proxy.set_rules(nlohmann::json::parse(
      R"([{"match": {"method": "GET"}, "action": {"headers_then_silence": true}}])"));
  settings s = client_settings();
  s.idle_timeout = milliseconds(200);
  s.http_retry_count = 0;
  std::string message;
  CHECK(code_of([&] { fetch_sync(s, get(proxy.url() + "/files/" + file.path)); }, &message) ==
        errc::timeout);
  CHECK(message.find("DATAPORT_IDLE_TIMEOUT_MS") != std::string::npos);
}

TEST_CASE("503s from the server are retried with the same client request id") {
  const auto file = publish(500, 23);
  fault_proxy proxy(nginx("http"));
  proxy.set_rules(nlohmann::json::parse(
      R"([{"match": {"method": "GET"}, "times": 2, "action": {"status": 503, "headers": {"Retry-After": "0"}}}])"));
  const auto r = fetch_sync(client_settings(), get(proxy.url() + "/files/" + file.path));
  CHECK(r.status == 200);
  CHECK(r.body == to_string(file.data));
  const auto log = proxy.requests();
  REQUIRE(log.size() == 3);
  CHECK(log[0]["x_ms_client_request_id"] == log[2]["x_ms_client_request_id"]);
}
