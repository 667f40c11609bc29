// The production transport: HTTP/1.1 over Boost.Beast with one keep-alive pool per origin.
//
// One round_trip is one coroutine, top to bottom: take an idle connection (or resolve, connect
// and TLS-handshake a new one under connect_timeout), write the request and read the response
// with idle_timeout re-armed before every chunk, then park the connection for reuse when the
// server keeps it alive. A pooled connection the server has closed meanwhile fails before any
// response byte; that attempt is replayed once on a fresh connection, invisible to retries.
//
// Thread-safety: round_trip may run concurrently from many coroutines; the pool is guarded by a
// mutex and a connection is owned by exactly one round_trip at a time.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ssl/context.hpp>

#include "dataport/http/client.hpp"
#include "dataport/settings.hpp"

namespace dataport::http::detail {

struct target_url;

class beast_transport final : public transport {
 public:
  /// Idle connections kept per origin; more are closed when returned.
  static constexpr std::size_t max_idle_per_origin = 64;

  beast_transport(boost::asio::any_io_executor executor, const settings& config,
                  std::shared_ptr<metrics> counters);
  ~beast_transport() override;

  boost::asio::awaitable<response> round_trip(const request& req, const send_options& options,
                                              std::size_t& received) override;

  /// Closes every idle pooled connection.
  void close_idle();
  /// Idle connections currently pooled (all origins), for tests and diagnostics.
  std::size_t idle_count() const;

  struct connection;

 private:
  boost::asio::awaitable<std::unique_ptr<connection>> open(const target_url& url,
                                                           const std::string& redacted);
  std::unique_ptr<connection> take_idle(const std::string& origin);
  void give_back(std::unique_ptr<connection> conn);
  boost::asio::ssl::context& tls_context();

  boost::asio::any_io_executor executor_;
  settings config_;
  std::shared_ptr<metrics> metrics_;

  mutable std::mutex pool_mutex_;
  std::map<std::string, std::vector<std::unique_ptr<connection>>> idle_;

  std::mutex tls_mutex_;
  std::unique_ptr<boost::asio::ssl::context> tls_context_;
};

}  // namespace dataport::http::detail
