// The Beast transport against tiny scripted servers on 127.0.0.1 in the same io_context:
// stale pooled connections are replayed once, unreusable connections are not pooled, and
// malformed or cut responses map to the right error categories.
// GCC 12 reports a false -Wnull-dereference inside Boost.Asio's any_io_executor comparison when
// co_spawn is inlined at -O2; the code is Boost's, not ours.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "support/test_support.hpp"  // first: it includes Asio with a GCC false positive silenced
#include "dataport/http/client.hpp"

#include <array>
#include <functional>

#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "dataport/error.hpp"
#include "dataport/metrics.hpp"

using namespace dataport;
using namespace dataport::http;
namespace asio = boost::asio;
using asio::use_awaitable;
using asio::ip::tcp;

namespace {

/// What the server does with each request on a connection, in order; an empty string means
/// "close the connection without answering"; a reply ending in `hold` is sent without the
/// marker and the connection then stays open, silent, until the client gives up.
using connection_script = std::vector<std::string>;
constexpr std::string_view hold = "<hold>";

asio::awaitable<void> serve(tcp::acceptor& acceptor, std::vector<connection_script> scripts,
                            int& requests_seen) {
  for (auto& script : scripts) {
    auto socket = co_await acceptor.async_accept(use_awaitable);
    asio::streambuf in;
    for (const auto& reply : script) {
      const auto n = co_await asio::async_read_until(socket, in, "\r\n\r\n", use_awaitable);
      in.consume(n);
      ++requests_seen;
      if (reply.empty()) break;
      const bool silent = reply.ends_with(hold);
      co_await asio::async_write(
          socket, asio::buffer(reply, reply.size() - (silent ? hold.size() : 0)), use_awaitable);
      if (silent) {
        char byte = 0;
        boost::system::error_code ec;  // the client closing is the expected end
        co_await socket.async_read_some(asio::buffer(&byte, 1),
                                        asio::redirect_error(use_awaitable, ec));
        break;
      }
    }
    socket.close();
  }
}

struct loopback {
  asio::io_context io;
  tcp::acceptor acceptor{io, {asio::ip::make_address("127.0.0.1"), 0}};
  std::shared_ptr<metrics> counters = std::make_shared<metrics>();
  settings config;
  int requests_seen = 0;
  std::function<void(send_options&)> tweak;  ///< applied to every request's options

  loopback() {
    config.retry_base_delay = std::chrono::milliseconds(0);
    config.retry_max_delay = std::chrono::milliseconds(0);
    config.idle_timeout = std::chrono::milliseconds(2000);
  }

  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) +
           std::string(path);
  }

  /// Runs the server script and `count` sequential GETs on one client; returns their bodies or
  /// the first error.
  std::vector<std::string> run(std::vector<connection_script> scripts, int count,
                               unsigned retry_count = 0) {
    asio::co_spawn(io, serve(acceptor, std::move(scripts), requests_seen), asio::detached);
    std::vector<std::string> bodies;
    std::exception_ptr failure;
    auto client_task = [&]() -> asio::awaitable<void> {
      client c(co_await asio::this_coro::executor, config, counters);
      for (int i = 0; i < count; ++i) {
        request req;
        req.url = url("/r" + std::to_string(i));
        send_options o;
        o.retry_count = retry_count;
        if (tweak) tweak(o);
        bodies.push_back((co_await c.send(req, o)).body);
      }
    };
    asio::co_spawn(io, client_task(), [&](std::exception_ptr e) {
      failure = e;
      io.stop();
    });
    io.run();
    if (failure) std::rethrow_exception(failure);
    return bodies;
  }
};

std::string ok(std::string_view body, bool close = false) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         (close ? "Connection: close\r\n" : "") + "\r\n" + std::string(body);
}

using test::code_of;

}  // namespace

TEST_CASE("keep-alive responses are reused on one connection") {
  loopback lb;
  const auto bodies = lb.run({{ok("a"), ok("bb"), ok("ccc")}}, 3);
  CHECK(bodies == std::vector<std::string>{"a", "bb", "ccc"});
  CHECK(lb.counters->get(counter::connections_opened) == 1);
  CHECK(lb.counters->get(counter::requests) == 3);
}

TEST_CASE("a pooled connection closed by the server is replayed once on a fresh one") {
  loopback lb;
  // Connection 1 answers once, then reads the next request and closes without answering (the
  // race where a server drops an idle keep-alive connection just as the client reuses it).
  const auto bodies = lb.run({{ok("first"), ""}, {ok("second")}}, 2);
  CHECK(bodies == std::vector<std::string>{"first", "second"});
  CHECK(lb.counters->get(counter::connections_opened) == 2);
  CHECK(lb.counters->get(counter::transport_errors) == 0);
  CHECK(lb.counters->get(counter::retries) == 0);
  CHECK(lb.requests_seen == 3);
}

TEST_CASE("Connection: close responses are not pooled") {
  loopback lb;
  const auto bodies = lb.run({{ok("x", true)}, {ok("y", true)}}, 2);
  CHECK(bodies == std::vector<std::string>{"x", "y"});
  CHECK(lb.counters->get(counter::connections_opened) == 2);
}

TEST_CASE("a fresh connection closed before the response is a network error") {
  loopback lb;
  CHECK(code_of([&] { lb.run({{""}}, 1); }) == errc::network);
}

TEST_CASE("a malformed status line is a protocol error and is not retried") {
  loopback lb;
  CHECK(code_of([&] { lb.run({{"HTTP/1.1 abc Broken\r\n\r\n"}}, 1, 3); }) == errc::protocol);
  CHECK(lb.requests_seen == 1);
}

TEST_CASE("a body shorter than its Content-Length is a network error (cut)") {
  loopback lb;
  CHECK(code_of([&] {
          lb.run({{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-this"}}, 1);
        }) == errc::network);
}

TEST_CASE("a silent server trips the idle timeout") {
  loopback lb;
  lb.config.idle_timeout = std::chrono::milliseconds(150);
  // The server reads the request and then sends only part of the headers, never the rest.
  CHECK(code_of([&] { lb.run({{"HTTP/1.1 200 OK\r\nContent-<hold>"}}, 1); }) == errc::timeout);
}

TEST_CASE("a body_room that gives no memory is an internal error, not a busy loop") {
  loopback lb;
  std::array<std::byte, 4> memory{};
  std::size_t rooms = 0, sunk = 0;
  lb.tweak = [&](send_options& o) {
    o.body_into = std::span<std::byte>{};
    o.body_sink = [&](std::span<const std::byte> piece) { sunk += piece.size(); };
    o.body_room = [&]() -> std::span<std::byte> {
      return rooms++ == 0 ? std::span<std::byte>(memory) : std::span<std::byte>{};
    };
  };
  CHECK(code_of([&] { lb.run({{ok("abcdefghij")}}, 1); }) == errc::internal);
  CHECK(sunk == 4);
  CHECK(rooms == 2);
}
