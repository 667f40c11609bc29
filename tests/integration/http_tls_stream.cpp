// The HTTP client's TLS stream (lib/http/detail/tls_stream.hpp) against real nginx over https and
// against TCP listeners that stay silent or hang up: bodies byte-identical however the reads are
// cut (many records per read, or a few bytes), idle and handshake timeouts from its lazy timer,
// and abrupt closes reported as network errors, never hangs.
#pragma GCC diagnostic ignored "-Wnull-dereference"  // GCC 12, inside Asio (see http_nginx.cpp)

#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

#include <fmt/format.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "support/client_calls.hpp"

using namespace dataport;
using namespace dataport::http;
using namespace dataport::test;
using std::chrono::milliseconds;

namespace {

std::string https_url(const std::string& path) {
  return servers().at("nginx").at("https_url").get<std::string>() + path;
}

response fetch_sync(const settings& config, std::string url, send_options options = {},
                    std::shared_ptr<metrics> counters = nullptr) {
  request r;
  r.url = std::move(url);
  return client_fetch(config, std::move(r), std::move(options), std::move(counters));
}

}  // namespace

TEST_CASE("https bodies are byte-identical into a buffer, through a small scratch and in rooms") {
  const auto path = unique_name("tls") + "/data.bin";
  const auto data = random_bytes((8u << 20) + 12345, 41);
  write_www_file(path, data);
  const auto url = https_url("/files/" + path);
  const auto expected = sha256_hex(data);
  auto counters = std::make_shared<metrics>();

  SECTION("one buffer: each read returns as many records as are ready") {
    std::vector<std::byte> buffer(data.size());
    send_options o;
    o.body_into = std::span<std::byte>(buffer);
    const auto r = fetch_sync(client_settings(), url, o, counters);
    CHECK(r.body_size == data.size());
    CHECK(sha256_hex(buffer) == expected);
  }
  SECTION("a 1000-byte scratch: a record is split over several reads") {
    std::vector<std::byte> scratch(1000), got;
    send_options o;
    o.body_into = std::span<std::byte>(scratch);
    o.body_sink = [&](std::span<const std::byte> piece) {
      got.insert(got.end(), piece.begin(), piece.end());
    };
    fetch_sync(client_settings(), url, o, counters);
    CHECK(sha256_hex(got) == expected);
  }
  SECTION("rooms of 3 KiB, then a range that ends inside a record") {
    std::vector<std::byte> target(data.size());
    std::size_t placed = 0;  // each read lands in the room asked for just before it
    bool in_place = true;
    send_options o;
    o.body_into = std::span<std::byte>();
    o.body_room = [&] {
      return std::span<std::byte>(target.data() + placed,
                                  std::min<std::size_t>(3072, target.size() - placed));
    };
    o.body_sink = [&](std::span<const std::byte> piece) {
      in_place = in_place && piece.data() == target.data() + placed;
      placed += piece.size();
    };
    fetch_sync(client_settings(), url, o, counters);
    CHECK(placed == data.size());
    CHECK(in_place);
    CHECK(sha256_hex(target) == expected);

    request ranged;
    ranged.url = url;
    ranged.headers = {{"Range", "bytes=100000-100040"}};
    const auto part = client_fetch(client_settings(), ranged, {}, counters);
    CHECK(part.status == 206);
    CHECK(part.body == to_string(std::span(data).subspan(100000, 41)));
  }
  CHECK(counters->get(counter::transport_errors) == 0);
}

TEST_CASE("https: a slow body completes under an idle timeout longer than its gaps") {
  // /slow/ sends 2 MB/s: 3 MiB take about 1.5 s, past the 1 s idle timeout, which only the
  // silence between bursts must stay under.
  const auto path = unique_name("tls") + "/slow.bin";
  const auto data = random_bytes(3u << 20, 42);
  write_www_file(path, data);
  settings s = client_settings();
  s.idle_timeout = milliseconds(1000);
  s.http_retry_count = 0;
  std::vector<std::byte> buffer(data.size());
  send_options o;
  o.body_into = std::span<std::byte>(buffer);
  const auto started = std::chrono::steady_clock::now();
  const auto r = fetch_sync(s, https_url("/slow/" + path), o);
  CHECK(std::chrono::steady_clock::now() - started > s.idle_timeout);
  CHECK(r.status == 200);
  CHECK(sha256_hex(buffer) == sha256_hex(data));
}

TEST_CASE("https: a server that accepts and never answers fails the handshake at the deadline") {
  boost::asio::io_context io;
  // The kernel completes TCP connections into the backlog: nobody ever reads the ClientHello.
  boost::asio::ip::tcp::acceptor silent(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const auto port = silent.local_endpoint().port();
  settings s = client_settings();
  s.connect_timeout = milliseconds(400);
  s.http_retry_count = 0;
  std::string message;
  const auto started = std::chrono::steady_clock::now();
  CHECK(code_of([&] { fetch_sync(s, fmt::format("https://127.0.0.1:{}/x", port)); }, &message) ==
        errc::timeout);
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(took >= milliseconds(400));
  CHECK(took < milliseconds(5000));
  CHECK(message.find("TLS handshake") != std::string::npos);
  CHECK(message.find("DATAPORT_CONNECT_TIMEOUT_MS") != std::string::npos);
}

TEST_CASE("https: a server that hangs up during the handshake is a network error") {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor closer(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const auto port = closer.local_endpoint().port();
  std::thread hang_up([&] {
    boost::system::error_code ec;
    auto peer = closer.accept(ec);
    if (!ec) peer.close(ec);
  });
  settings s = client_settings();
  s.http_retry_count = 0;
  std::string message;
  const auto code =
      code_of([&] { fetch_sync(s, fmt::format("https://127.0.0.1:{}/x", port)); }, &message);
  hang_up.join();
  CHECK(code == errc::network);
  CHECK(message.find("TLS handshake") != std::string::npos);
}

TEST_CASE("https: a body that stalls fails at the idle timeout, not at the connect deadline") {
  // A TLS server of the test's own (the fixture's certificate): it answers with headers and
  // 1000 of 100000 body bytes, then waits until the client hangs up. The connection's timer
  // was armed at the connect deadline (30 s); the idle timeout (300 ms) is earlier.
  const auto tls_dir =
      std::filesystem::path(servers().at("ca_file").get<std::string>()).parent_path();
  boost::asio::io_context io;
  boost::asio::ssl::context server_tls(boost::asio::ssl::context::tls_server);
  server_tls.use_certificate_chain_file((tls_dir / "server.pem").string());
  server_tls.use_private_key_file((tls_dir / "server.key").string(),
                                  boost::asio::ssl::context::pem);
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const auto port = acceptor.local_endpoint().port();
  std::thread server([&] {
    boost::system::error_code ec;
    boost::asio::ssl::stream<boost::asio::ip::tcp::socket> peer(acceptor.accept(ec), server_tls);
    if (ec) return;
    peer.handshake(boost::asio::ssl::stream_base::server, ec);
    boost::asio::streambuf request;
    if (!ec) boost::asio::read_until(peer, request, "\r\n\r\n", ec);
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n";
    const std::string first(1000, 'x');
    if (!ec) boost::asio::write(peer, boost::asio::buffer(head + first), ec);
    char byte = 0;
    if (!ec) peer.read_some(boost::asio::buffer(&byte, 1), ec);  // until the client hangs up
  });
  settings s = client_settings();
  s.connect_timeout = milliseconds(30000);
  s.idle_timeout = milliseconds(300);
  s.http_retry_count = 0;
  std::vector<std::byte> buffer(100000);
  send_options o;
  o.body_into = std::span<std::byte>(buffer);
  std::string message;
  const auto started = std::chrono::steady_clock::now();
  const auto code =
      code_of([&] { fetch_sync(s, fmt::format("https://127.0.0.1:{}/stall", port), o); }, &message);
  const auto took = std::chrono::steady_clock::now() - started;
  server.join();
  CHECK(code == errc::timeout);
  CHECK(message.find("reading the response body") != std::string::npos);
  CHECK(took >= milliseconds(300));
  CHECK(took < milliseconds(5000));
}
