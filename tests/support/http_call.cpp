// A deliberately tiny HTTP/1.1 client for tests: one connection per call, the whole body in a
// string, no retries, no redirects. It exists so fixture checks and proxy control do not depend
// on dataport's own HTTP stack (the thing under test). It runs a coroutine on a private
// io_context so every operation gets a Beast timeout.
#include "support/test_support.hpp"  // first: it shields Boost.Asio from a GCC false warning

#include <algorithm>
#include <cctype>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "dataport/error.hpp"

namespace dataport::test {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct parsed_url {
  bool https = false;
  std::string host;
  std::string port;
  std::string target;
};

parsed_url parse_url(std::string_view url) {
  parsed_url out;
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    out.https = true;
    rest = url.substr(8);
  } else {
    throw_error(errc::invalid_argument,
                "http_call needs an http:// or https:// URL, got " + std::string(url));
  }
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  const auto colon = authority.rfind(':');
  if (colon == std::string_view::npos) {
    out.host = std::string(authority);
    out.port = out.https ? "443" : "80";
  } else {
    out.host = std::string(authority.substr(0, colon));
    out.port = std::string(authority.substr(colon + 1));
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

http::request<http::string_body> make_request(const parsed_url& url,
                                              const http_call_options& options) {
  http::request<http::string_body> req;
  req.method_string(options.method);
  req.target(url.target);
  req.version(11);
  req.set(http::field::host, url.host + ":" + url.port);
  req.set(http::field::connection, "close");
  for (const auto& [name, value] : options.headers) req.set(name, value);
  req.body() = options.body;
  if (!options.body.empty() || options.method == "PUT" || options.method == "POST") {
    req.prepare_payload();
  }
  return req;
}

template <class Stream>
asio::awaitable<http_reply> exchange(Stream& stream, beast::tcp_stream& lowest,
                                     http::request<http::string_body>& req,
                                     const http_call_options& options) {
  lowest.expires_after(options.timeout);
  co_await http::async_write(stream, req, asio::use_awaitable);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::uint64_t{1} << 32);
  parser.skip(options.method == "HEAD");
  lowest.expires_after(options.timeout);
  co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
  auto& res = parser.get();
  http_reply reply;
  reply.status = res.result_int();
  for (const auto& field : res) {
    reply.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  reply.body = std::move(res.body());
  co_return reply;
}

asio::awaitable<http_reply> call(parsed_url url, http_call_options options) {
  auto executor = co_await asio::this_coro::executor;
  tcp::resolver resolver(executor);
  const auto endpoints = co_await resolver.async_resolve(url.host, url.port, asio::use_awaitable);
  auto req = make_request(url, options);
  if (!url.https) {
    beast::tcp_stream stream(executor);
    stream.expires_after(options.timeout);
    co_await stream.async_connect(endpoints, asio::use_awaitable);
    co_return co_await exchange(stream, stream, req, options);
  }
  asio::ssl::context context(asio::ssl::context::tls_client);
  context.set_verify_mode(asio::ssl::verify_peer);
  context.load_verify_file(options.ca_file.empty() ? servers().at("ca_file").get<std::string>()
                                                   : options.ca_file);
  beast::ssl_stream<beast::tcp_stream> stream(executor, context);
  stream.set_verify_callback(asio::ssl::host_name_verification(url.host));
  beast::get_lowest_layer(stream).expires_after(options.timeout);
  co_await beast::get_lowest_layer(stream).async_connect(endpoints, asio::use_awaitable);
  beast::get_lowest_layer(stream).expires_after(options.timeout);
  co_await stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
  co_return co_await exchange(stream, beast::get_lowest_layer(stream), req, options);
}

}  // namespace

std::string http_reply::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return {};
}

bool http_reply::has_header(std::string_view name) const {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& field) { return iequals(field.first, name); });
}

http_reply http_call(std::string_view url, const http_call_options& options) {
  const parsed_url parsed = parse_url(url);
  try {
    return run_async(call(parsed, options));
  } catch (const boost::system::system_error& e) {
    const bool timed_out = e.code() == beast::error::timeout;
    const bool tls = e.code().category() == asio::error::get_ssl_category();
    throw dataport::error(timed_out ? errc::timeout
                          : tls     ? errc::tls
                                    : errc::network,
                          options.method + " " + std::string(url) + " failed: " + e.what() +
                              "; is the test server running?");
  }
}

}  // namespace dataport::test
