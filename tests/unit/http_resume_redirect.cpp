// Resuming cut ranged bodies and the redirect policy, over a scripted transport.
// GCC 12 reports a false -Wnull-dereference inside Boost.Asio's any_io_executor comparison when
// run_async's co_spawn is inlined at -O2; the code is Boost's, not ours.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "dataport/http/client.hpp"

#include <catch2/catch.hpp>
#include <charconv>

#include "dataport/metrics.hpp"
#include "http/detail/scripted_transport.hpp"
#include "support/test_support.hpp"

using namespace dataport;
using namespace dataport::http;
using dataport::test::random_bytes;
using dataport::test::run_async;
using std::chrono::milliseconds;

namespace {

struct harness {
  std::shared_ptr<testing::scripted_transport> transport =
      std::make_shared<testing::scripted_transport>();
  testing::recorded_seams clock;
  std::shared_ptr<metrics> counters = std::make_shared<metrics>();
  settings config;

  response send(request req, send_options options = {}) {
    return run_async(run(std::move(req), std::move(options)));
  }

  boost::asio::awaitable<response> run(request req, send_options options) {
    client c(co_await boost::asio::this_coro::executor, config, transport, clock.seams(), counters);
    co_return co_await c.send(std::move(req), std::move(options));
  }
};

/// A step serving `Range: bytes=a-b` of `object` into body_into, cut after `cut` bytes (a
/// transport_error carrying the 206 head, like the Beast transport reports a cut body).
testing::scripted_transport::step serve_range(const std::vector<std::byte>& object,
                                              std::string etag, std::size_t cut) {
  return [&object, etag, cut](const request& req, const send_options& o,
                              std::size_t& received) -> response {
    auto range = std::string(*find_header(req.headers, "range"));
    std::size_t first = 0, last = 0;
    const auto dash = range.find('-');
    std::from_chars(range.data() + 6, range.data() + dash, first);
    std::from_chars(range.data() + dash + 1, range.data() + range.size(), last);
    const std::size_t length = last - first + 1;
    REQUIRE(o.body_into);
    REQUIRE(o.body_into->size() >= length);
    const std::size_t n = std::min(length, cut);
    std::copy_n(object.begin() + static_cast<std::ptrdiff_t>(first), n, o.body_into->begin());
    received = n;
    header_list head = {
        {"ETag", etag},
        {"Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" +
                              std::to_string(object.size())}};
    if (n < length) throw transport_error(errc::network, "body cut", true, 206, head);
    response r;
    r.status = 206;
    r.headers = head;
    r.body_size = n;
    return r;
  };
}

}  // namespace

TEST_CASE("a cut ranged body resumes from the received offset with If-Match pinned") {
  const auto object = random_bytes(1000, 42);
  harness h;
  h.transport->push(serve_range(object, "\"v1\"", 300));
  h.transport->push(serve_range(object, "\"v1\"", 200));
  h.transport->push(serve_range(object, "\"v1\"", 100000));
  std::vector<std::byte> buffer(800);
  request req;
  req.url = "http://127.0.0.1:9/c/blob";
  req.headers = {{"Range", "bytes=100-899"}};
  send_options o;
  o.body_into = std::span<std::byte>(buffer);
  const auto r = h.send(req, o);
  CHECK(r.status == 206);
  CHECK(r.body_size == 800);
  CHECK(std::equal(buffer.begin(), buffer.end(), object.begin() + 100));
  REQUIRE(h.transport->calls.size() == 3);
  CHECK(find_header(h.transport->calls[0].req.headers, "range") ==
        std::optional<std::string_view>("bytes=100-899"));
  CHECK_FALSE(find_header(h.transport->calls[0].req.headers, "if-match"));
  CHECK(find_header(h.transport->calls[1].req.headers, "range") ==
        std::optional<std::string_view>("bytes=400-899"));
  CHECK(find_header(h.transport->calls[1].req.headers, "if-match") ==
        std::optional<std::string_view>("\"v1\""));
  CHECK(h.transport->calls[1].body_into->data() == buffer.data() + 300);
  CHECK(h.transport->calls[1].body_into->size() == 500);
  CHECK(find_header(h.transport->calls[2].req.headers, "range") ==
        std::optional<std::string_view>("bytes=600-899"));
  CHECK(find_header(h.transport->calls[2].req.headers, "if-match") ==
        std::optional<std::string_view>("\"v1\""));
  CHECK(h.counters->get(counter::resumed_bodies) == 2);
}

TEST_CASE("a resumed read keeps the caller's own If-Match and signs the moved range") {
  const auto object = random_bytes(64, 7);
  harness h;
  h.transport->push(serve_range(object, "\"server\"", 10));
  h.transport->push(serve_range(object, "\"server\"", 1000));
  std::vector<std::byte> buffer(64);
  request req;
  req.url = "http://127.0.0.1:9/c/blob";
  req.headers = {{"Range", "bytes=0-63"}, {"If-Match", "\"mine\""}};
  send_options o;
  o.body_into = std::span<std::byte>(buffer);
  std::vector<std::string> signed_ranges;
  o.prepare = [&](request& r) -> boost::asio::awaitable<void> {
    signed_ranges.emplace_back(*find_header(r.headers, "range"));
    co_return;
  };
  h.send(req, o);
  CHECK(buffer == object);
  CHECK(signed_ranges == std::vector<std::string>{"bytes=0-63", "bytes=10-63"});
  CHECK(find_header(h.transport->calls[1].req.headers, "if-match") ==
        std::optional<std::string_view>("\"mine\""));
}

TEST_CASE("a changed object on resume comes back as 412, not mixed bytes") {
  const auto object = random_bytes(100, 3);
  harness h;
  h.transport->push(serve_range(object, "\"v1\"", 50));
  h.transport->push_response(412, {{"x-ms-error-code", "ConditionNotMet"}});
  std::vector<std::byte> buffer(100);
  request req;
  req.url = "http://127.0.0.1:9/c/blob";
  req.headers = {{"Range", "bytes=0-99"}};
  send_options o;
  o.body_into = std::span<std::byte>(buffer);
  CHECK(h.send(req, o).status == 412);
  CHECK(h.transport->calls.size() == 2);
}

TEST_CASE("without resume_ranges a cut body restarts from the beginning") {
  const auto object = random_bytes(100, 5);
  harness h;
  h.transport->push(serve_range(object, "\"v1\"", 50));
  h.transport->push(serve_range(object, "\"v1\"", 1000));
  std::vector<std::byte> buffer(100);
  request req;
  req.url = "http://127.0.0.1:9/c/blob";
  req.headers = {{"Range", "bytes=0-99"}};
  send_options o;
  o.body_into = std::span<std::byte>(buffer);
  o.resume_ranges = false;
  h.send(req, o);
  CHECK(buffer == object);
  CHECK(find_header(h.transport->calls[1].req.headers, "range") ==
        std::optional<std::string_view>("bytes=0-99"));
  CHECK(h.counters->get(counter::resumed_bodies) == 0);
}

TEST_CASE("redirects are not followed by default") {
  harness h;
  h.transport->push_response(307, {{"Location", "/files/x"}});
  request req;
  req.url = "http://127.0.0.1:9/redirect-same/x";
  const auto r = h.send(req);
  CHECK(r.status == 307);
  CHECK(h.transport->calls.size() == 1);
}

TEST_CASE("same-origin redirects are followed up to max_redirects") {
  for (unsigned status : {301u, 302u, 303u, 307u, 308u}) {
    INFO(status);
    harness h;
    h.transport->push_response(status, {{"Location", "/files/x?y=1"}});
    h.transport->push_response(200, {}, "payload");
    request req;
    req.url = "http://127.0.0.1:9/redirect-same/x";
    send_options o;
    o.max_redirects = 3;
    const auto r = h.send(req, o);
    CHECK(r.status == 200);
    CHECK(r.body == "payload");
    REQUIRE(h.transport->calls.size() == 2);
    CHECK(h.transport->calls[1].req.url == "http://127.0.0.1:9/files/x?y=1");
    CHECK(h.clock.sleeps.empty());
  }
  harness chain;
  for (int i = 0; i < 5; ++i) chain.transport->push_response(302, {{"Location", "/next"}});
  request req;
  req.url = "http://127.0.0.1:9/start";
  send_options o;
  o.max_redirects = 2;
  CHECK(chain.send(req, o).status == 302);
  CHECK(chain.transport->calls.size() == 3);
}

TEST_CASE("redirects to another host, port or scheme are never followed") {
  for (const char* location : {"http://127.0.0.2:9/files/x", "http://127.0.0.1:10/files/x",
                               "http://127.0.0.1:443/files/x", "ftp://127.0.0.1:443/x"}) {
    INFO(location);
    harness h;
    h.transport->push_response(307, {{"Location", location}});
    request req;
    req.url = "https://127.0.0.1:443/redirect-http/x";
    send_options o;
    o.max_redirects = 5;
    CHECK(h.send(req, o).status == 307);
    CHECK(h.transport->calls.size() == 1);
  }
}
