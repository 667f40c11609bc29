// Beast transport: see lib/http/detail/beast_transport.hpp for the design.
//
// Every asynchronous step uses redirect_error so that a failure arrives as an error_code with
// the phase it happened in; the phase decides the error category, whether the request may have
// reached the server (request_sent) and whether a reused connection was merely stale.
#include "http/detail/beast_transport.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "dataport/log.hpp"
#include "dataport/metrics.hpp"
#include "dataport/redact.hpp"
#include "http/detail/target_url.hpp"
#include "http/detail/tls_stream.hpp"

namespace dataport::http::detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

constexpr std::uint32_t header_limit = 64 * 1024;  // Azure responses carry many x-ms-* headers

enum class phase { resolve, connect, handshake, write, read_header, read_body };

std::string_view describe(phase p) {
  switch (p) {
    case phase::resolve:
      return "resolving the host";
    case phase::connect:
      return "connecting";
    case phase::handshake:
      return "in the TLS handshake";
    case phase::write:
      return "sending the request";
    case phase::read_header:
      return "waiting for the response headers";
    case phase::read_body:
      return "reading the response body";
  }
  return "";
}

bool is_certificate_failure(const beast::error_code& ec) {
  return ec.category() == asio::error::get_ssl_category() &&
         ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED;
}

errc classify(const beast::error_code& ec) {
  if (ec == beast::error::timeout) return errc::timeout;
  if (is_certificate_failure(ec)) return errc::tls;
  if (ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category()) {
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message) {
      return errc::network;
    }
    return errc::protocol;
  }
  return errc::network;  // refused, reset, EOF, DNS, other TLS failures, stream_truncated
}

struct failure {
  beast::error_code ec;
  phase where = phase::write;
  bool got_response_byte = false;
};

/// The user-facing message: what failed, where, and what to do. Never a header value.
std::string failure_message(const request& req, const std::string& redacted, const failure& f,
                            const settings& config) {
  const auto code = classify(f.ec);
  const auto what = f.ec.message();
  switch (code) {
    case errc::timeout:
      if (f.where <= phase::handshake) {
        return fmt::format(
            "{} {}: could not connect within {} ms ({}). Check that the host is "
            "reachable, or raise DATAPORT_CONNECT_TIMEOUT_MS",
            req.method, redacted, config.connect_timeout.count(), describe(f.where));
      }
      return fmt::format(
          "{} {}: no progress for {} ms {} (idle timeout). The server or network "
          "stalled; raise DATAPORT_IDLE_TIMEOUT_MS if the link is only slow",
          req.method, redacted, config.idle_timeout.count(), describe(f.where));
    case errc::tls:
      return fmt::format(
          "{} {}: TLS certificate verification failed ({}). If the server uses a "
          "private CA, give its PEM bundle with DATAPORT_CA_FILE (or "
          "SSL_CERT_FILE); if the certificate names another host, use the host "
          "name it was issued for",
          req.method, redacted, what);
    case errc::protocol:
      return fmt::format(
          "{} {}: malformed HTTP response ({}) {}. The server or a proxy in "
          "between is misbehaving",
          req.method, redacted, what, describe(f.where));
    default:
      return fmt::format("{} {}: {} {}. Check that the server is running and reachable", req.method,
                         redacted, what, describe(f.where));
  }
}

/// A pooled connection the server has closed (or that has unread bytes) must not be reused.
bool still_open(int fd) {
  char byte = 0;
  const auto n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

bool is_2xx(unsigned status) {
  return status >= 200 && status < 300;
}

}  // namespace

struct beast_transport::connection {
  std::string origin;
  std::optional<beast::tcp_stream> plain;
  std::unique_ptr<tls_stream> tls;
  beast::flat_buffer buffer;

  int native_handle() {
    return tls ? tls->socket().native_handle() : plain->socket().native_handle();
  }
  /// The idle timeout for the operations that follow.
  void expires_after(std::chrono::steady_clock::duration budget) {
    if (tls) {
      tls->expires_after(budget);
    } else {
      plain->expires_after(budget);
    }
  }
  /// Between exchanges a connection has no deadline (and no timer pending).
  void expires_never() {
    if (tls) {
      tls->expires_never();
    } else {
      plain->expires_never();
    }
  }
};

namespace {

using connection = beast_transport::connection;

struct exchange_result {
  std::optional<failure> failed;
  response resp;
  bool keep_alive = false;
};

template <class Parser>
void copy_head(const Parser& parser, response& resp) {
  const auto& head = parser.get();
  resp.status = head.result_int();
  resp.reason = std::string(head.reason());
  for (const auto& field : head) {
    resp.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
}

constexpr std::size_t read_buffer_capacity = 64 * 1024;

/// Writes the request and reads the response on one connection. Failures come back in
/// exchange_result::failed; protocol violations found here (a body longer than body_into) too.
template <class Stream>
asio::awaitable<exchange_result> exchange(Stream& stream, connection& conn, const request& req,
                                          const target_url& url, const send_options& options,
                                          const settings& config, metrics* counters,
                                          std::size_t& received) {
  exchange_result out;
  beast::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  // Beast reads max(512, free capacity) bytes at a time: without room, a response is read in
  // 512-byte pieces (millions of recv calls per GiB).
  if (conn.buffer.capacity() < read_buffer_capacity) conn.buffer.reserve(read_buffer_capacity);

  bhttp::request<bhttp::span_body<const char>> msg;
  msg.version(11);
  msg.method_string(req.method);
  msg.target(url.target);
  for (const auto& [name, value] : req.headers) msg.insert(name, value);
  if (msg.find(bhttp::field::host) == msg.end()) msg.set(bhttp::field::host, url.host_header);
  if (msg.find(bhttp::field::user_agent) == msg.end())
    msg.set(bhttp::field::user_agent, "dataport/0.1");
  msg.body() = {reinterpret_cast<const char*>(req.body.data()), req.body.size()};
  if (!req.body.empty() || req.method == "PUT" || req.method == "POST" || req.method == "PATCH") {
    msg.content_length(req.body.size());
  }

  bhttp::request_serializer<bhttp::span_body<const char>> serializer{msg};
  while (!serializer.is_done()) {
    conn.expires_after(config.idle_timeout);
    co_await bhttp::async_write_some(stream, serializer, token);
    if (ec) {
      out.failed = failure{ec, phase::write, false};
      co_return out;
    }
  }
  if (counters) counters->add(counter::bytes_sent, req.body.size());

  const auto started = clock_type::now();
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.header_limit(header_limit);
  parser.body_limit(boost::none);  // bounded by body_into below, or by max_body after conversion
  if (req.method == "HEAD") parser.skip(true);  // HEAD responses have no body
  conn.expires_after(config.idle_timeout);
  co_await bhttp::async_read_header(stream, conn.buffer, parser, token);
  if (ec) {
    out.failed = failure{ec, phase::read_header, parser.got_some()};
    co_return out;
  }
  if (counters) {
    counters->record_latency(
        std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - started));
  }
  copy_head(parser, out.resp);

  if (options.body_into && is_2xx(out.resp.status) && !parser.is_done()) {
    // Buffered mode fills body_into in place; streamed mode (a body_sink) reuses body_into as a
    // scratch buffer and hands every piece to the sink before the next read.
    const auto dest = *options.body_into;
    const auto& sink = options.body_sink;
    const auto declared = parser.content_length();
    if (!sink && declared && *declared > dest.size()) {
      out.failed = failure{bhttp::error::body_limit, phase::read_body, true};
      co_return out;
    }
    std::size_t got = 0;
    const auto& next_room = options.body_room;
    // A sink with a scratch buffer (no body_room) gets the scratch only once it is full (or the
    // body ended, or the read failed): with many connections at once a read returns a few KiB,
    // and each piece would cost the sink a write of its own. `held` bytes are read, not yet sunk.
    const bool fill_scratch = sink && !next_room;
    std::size_t held = 0;
    auto flush = [&] {
      if (held == 0) return;
      const auto piece = dest.first(held);
      held = 0;
      sink(piece);
      received = got;
    };
    auto room = [&] {
      if (!sink) return dest.subspan(got);
      if (fill_scratch) {
        if (held == dest.size()) flush();
        return dest.subspan(held);
      }
      if (!next_room) return dest;
      const auto given = next_room();
      // An empty room would make every read return 0 bytes: a busy loop, never an answer.
      if (given.empty()) throw_error(errc::internal, "body_room gave no memory (a dataport bug)");
      return given;
    };
    auto take = [&](std::span<std::byte> piece) {
      got += piece.size();
      if (counters) counters->add(counter::bytes_received, piece.size());
      if (fill_scratch) {
        held += piece.size();
        if (held == dest.size()) flush();
        return;  // `received` counts sunk bytes only: a resumed read continues after them
      }
      if (sink && !piece.empty()) sink(piece);
      received = got;
    };
    if (declared && !parser.chunked()) {
      // A body of known length goes straight from the socket into the buffer, with reads as
      // large as the room left (no 512-byte parser reads, no second copy); the bytes already
      // buffered behind the header are copied first.
      const auto length = static_cast<std::size_t>(*declared);
      while (got < length && conn.buffer.size() > 0) {
        const auto space = room();
        const auto into = space.first(std::min({space.size(), length - got, conn.buffer.size()}));
        asio::buffer_copy(asio::buffer(into.data(), into.size()), conn.buffer.data());
        conn.buffer.consume(into.size());
        take(into);
      }
      while (got < length) {
        const auto space = room();
        const auto into = space.first(std::min(space.size(), length - got));
        conn.expires_after(config.idle_timeout);  // idle, not total: re-armed per read
        const std::size_t n =
            co_await stream.async_read_some(asio::buffer(into.data(), into.size()), token);
        take(into.first(n));
        if (ec) {
          flush();
          out.failed = failure{ec, phase::read_body, true};
          co_return out;
        }
      }
    } else {
      // Chunked or read-until-close bodies go through the parser, re-pointed at the room left
      // before each read.
      char probe = 0;  // a read past a full buffer lands here and proves the body is too long
      while (!parser.is_done()) {
        const auto into = room();
        const bool full = into.empty();
        auto& body = parser.get().body();
        body.data = full ? &probe : reinterpret_cast<char*>(into.data());
        body.size = full ? 1 : into.size();
        body.more = true;
        const auto offered = body.size;
        conn.expires_after(config.idle_timeout);  // idle, not total: re-armed per chunk
        co_await bhttp::async_read_some(stream, conn.buffer, parser, token);
        const auto n = offered - body.size;
        if (full && n > 0) {
          out.failed = failure{bhttp::error::body_limit, phase::read_body, true};
          co_return out;
        }
        take(into.first(n));
        if (ec == bhttp::error::need_buffer) ec = {};
        if (ec) {
          flush();
          out.failed = failure{ec, phase::read_body, true};
          co_return out;
        }
      }
    }
    flush();
    out.resp.body_size = got;
    out.keep_alive = parser.keep_alive();
    co_return out;
  }

  bhttp::response_parser<bhttp::string_body> text{std::move(parser)};
  // The header was parsed without a limit, so a declared length is checked here; the parser
  // enforces max_body itself for chunked and read-until-close bodies.
  text.body_limit(options.max_body);
  if (!text.is_done() && text.content_length() && *text.content_length() > options.max_body) {
    out.failed = failure{bhttp::error::body_limit, phase::read_body, true};
    co_return out;
  }
  while (!text.is_done()) {
    conn.expires_after(config.idle_timeout);
    const auto before = text.get().body().size();
    co_await bhttp::async_read_some(stream, conn.buffer, text, token);
    const auto now_size = text.get().body().size();
    received = now_size;
    if (counters) counters->add(counter::bytes_received, now_size - before);
    if (ec) {
      out.failed = failure{ec, phase::read_body, true};
      co_return out;
    }
  }
  out.resp.body = std::move(text.get().body());
  out.resp.body_size = out.resp.body.size();
  out.keep_alive = text.keep_alive();
  co_return out;
}

}  // namespace

beast_transport::beast_transport(asio::any_io_executor executor, const settings& config,
                                 std::shared_ptr<metrics> counters)
    : executor_(std::move(executor)), config_(config), metrics_(std::move(counters)) {}

beast_transport::~beast_transport() = default;

asio::ssl::context& beast_transport::tls_context() {
  std::lock_guard lock(tls_mutex_);
  if (tls_context_) return *tls_context_;
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  // TLS 1.2 or newer, forward-secret AEAD suites only, AES-128-GCM first (as Go and browsers on
  // AES-NI hardware): it costs both ends ~30 % less CPU than OpenSSL's default AES-256-GCM.
  SSL_CTX* native = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_ciphersuites(native,
                               "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                               "TLS_CHACHA20_POLY1305_SHA256") != 1 ||
      SSL_CTX_set_cipher_list(native,
                              "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                              "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                              "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305") != 1) {
    throw_error(errc::internal, "cannot configure the TLS cipher suites (OpenSSL refused them)");
  }
  if (!config_.tls_verify) {
    static std::once_flag warned;
    std::call_once(warned, [] {
      log::warn("http",
                "TLS certificate verification is OFF (DATAPORT_TLS_VERIFY=false): "
                "connections can be intercepted; turn it back on outside tests");
    });
    ctx->set_verify_mode(asio::ssl::verify_none);
  } else {
    ctx->set_verify_mode(asio::ssl::verify_peer);
    std::string ca_file = config_.ca_file;
    if (ca_file.empty()) {
      if (const char* env = std::getenv("SSL_CERT_FILE"); env && *env) ca_file = env;
    }
    beast::error_code ec;
    if (!ca_file.empty()) {
      ctx->load_verify_file(ca_file, ec);
      if (ec) {
        throw_error(errc::invalid_argument,
                    fmt::format("cannot load the CA bundle '{}' ({}): point DATAPORT_CA_FILE or "
                                "SSL_CERT_FILE at a readable PEM file",
                                ca_file, ec.message()));
      }
    } else {
      ctx->set_default_verify_paths(ec);
      if (ec) log::warn("http", "no system CA paths ({}); set DATAPORT_CA_FILE", ec.message());
    }
  }
  tls_context_ = std::move(ctx);
  return *tls_context_;
}

std::unique_ptr<connection> beast_transport::take_idle(const std::string& origin) {
  std::lock_guard lock(pool_mutex_);
  auto it = idle_.find(origin);
  if (it == idle_.end()) return nullptr;
  auto& list = it->second;
  while (!list.empty()) {
    auto conn = std::move(list.back());
    list.pop_back();
    if (conn->buffer.size() == 0 && still_open(conn->native_handle())) {
      return conn;
    }
  }
  return nullptr;
}

void beast_transport::give_back(std::unique_ptr<connection> conn) {
  std::lock_guard lock(pool_mutex_);
  auto& list = idle_[conn->origin];
  if (list.size() < max_idle_per_origin) list.push_back(std::move(conn));
}

void beast_transport::close_idle() {
  std::lock_guard lock(pool_mutex_);
  idle_.clear();
}

std::size_t beast_transport::idle_count() const {
  std::lock_guard lock(pool_mutex_);
  std::size_t n = 0;
  for (const auto& [origin, list] : idle_) n += list.size();
  return n;
}

asio::awaitable<std::unique_ptr<connection>> beast_transport::open(const target_url& url,
                                                                   const std::string& redacted) {
  const auto deadline = clock_type::now() + config_.connect_timeout;
  beast::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  auto fail = [&](phase where) {
    if (metrics_) metrics_->add(counter::transport_errors);
    request shown;
    shown.method = "CONNECT";
    failure f{ec, where, false};
    throw transport_error(classify(ec), failure_message(shown, redacted, f, config_), false);
  };

  // The resolver has no expiry of its own: a timer cancels it at the connect deadline.
  tcp::resolver resolver(executor_);
  asio::steady_timer resolve_timer(executor_, deadline);
  auto timed_out = std::make_shared<bool>(false);
  resolve_timer.async_wait([&resolver, timed_out](const beast::error_code& timer_ec) {
    if (!timer_ec) {  // operation_aborted means the resolve finished first; nothing to do
      *timed_out = true;
      resolver.cancel();
    }
  });
  auto endpoints = co_await resolver.async_resolve(url.host, std::to_string(url.port), token);
  resolve_timer.cancel();
  if (*timed_out) ec = beast::error::timeout;
  if (ec) fail(phase::resolve);

  auto conn = std::make_unique<connection>();
  conn->origin = url.origin();
  beast::tcp_stream connected(executor_);
  connected.expires_at(deadline);
  co_await connected.async_connect(endpoints, token);
  if (ec) fail(phase::connect);
  connected.socket().set_option(tcp::no_delay(true), ec);  // latency hint only; ignore failure
  ec = {};
  connected.expires_never();

  if (url.https()) {
    conn->tls =
        std::make_unique<tls_stream>(connected.release_socket(), tls_context().native_handle(),
                                     url.host, url.host_is_ip, config_.tls_verify);
    conn->tls->expires_at(deadline);
    co_await conn->tls->async_handshake(token);
    if (ec) fail(phase::handshake);
  } else {
    conn->plain.emplace(std::move(connected));
  }
  if (metrics_) metrics_->add(counter::connections_opened);
  co_return conn;
}

asio::awaitable<response> beast_transport::round_trip(const request& req,
                                                      const send_options& options,
                                                      std::size_t& received) {
  received = 0;
  const auto url = parse_target_url(req.url);
  const auto redacted = redact_url(req.url);
  if (metrics_) metrics_->add(counter::requests);

  auto conn = take_idle(url.origin());
  bool reused = conn != nullptr;
  for (;;) {
    if (!conn) conn = co_await open(url, redacted);
    exchange_result result;
    if (conn->tls) {
      result = co_await exchange(*conn->tls, *conn, req, url, options, config_, metrics_.get(),
                                 received);
    } else {
      result = co_await exchange(*conn->plain, *conn, req, url, options, config_, metrics_.get(),
                                 received);
    }
    if (!result.failed) {
      conn->expires_never();
      if (result.keep_alive) give_back(std::move(conn));
      co_return std::move(result.resp);
    }
    const auto& f = *result.failed;
    conn.reset();  // a failed connection is never reused
    const bool stale =
        reused && f.ec != beast::error::timeout &&
        (f.where == phase::write || (f.where == phase::read_header && !f.got_response_byte));
    if (stale) {
      // The server closed the idle connection meanwhile: replay once on a fresh one.
      log::trace("http", "{} {}: pooled connection was closed by the server ({}); reconnecting",
                 req.method, redacted, f.ec.message());
      reused = false;
      received = 0;
      continue;
    }
    if (metrics_) metrics_->add(counter::transport_errors);
    throw transport_error(classify(f.ec), failure_message(req, redacted, f, config_), true,
                          result.resp.status, std::move(result.resp.headers));
  }
}

}  // namespace dataport::http::detail
