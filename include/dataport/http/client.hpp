// dataport::http::client — asynchronous HTTP/1.1 over Boost.Beast with pooled keep-alive
// connections, TLS verification, timeouts on every operation and a retry policy.
//
// Layers, top to bottom (each wraps the next through the `transport` interface):
//   client::send  → retry loop (backoff + jitter + Retry-After; prepare() before each try;
//                   resume cut ranged bodies; redirects)
//                 → transport::round_trip (one attempt on a pooled connection)
// Tests replace the transport with a fake and the clock/sleeper/jitter with deterministic ones.
//
// Thread-safety: a client may be used concurrently from any number of coroutines on the
// runtime's io_context. Ownership: the client must outlive every send in flight.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "dataport/error.hpp"
#include "dataport/http/message.hpp"
#include "dataport/settings.hpp"

namespace dataport {
class metrics;
}

namespace dataport::http {

/// What a transport throws on a failed attempt: a dataport::error (network/timeout/tls/protocol)
/// plus what the retry layer needs to decide. A transport may also throw a plain dataport::error;
/// the retry layer then assumes the request was sent and no response headers arrived.
class transport_error : public dataport::error {
 public:
  /// `request_sent`: false only when no byte of the request reached the socket (e.g. connect
  /// refused), so even a non-idempotent request may be retried. `status`/`headers`: the response
  /// head when the failure cut the body (0/empty when it came before the headers).
  transport_error(errc code, const std::string& message, bool request_sent, unsigned status = 0,
                  header_list headers = {})
      : dataport::error(code, message),
        request_sent_(request_sent),
        status_(status),
        headers_(std::move(headers)) {}

  bool request_sent() const noexcept { return request_sent_; }
  unsigned status() const noexcept { return status_; }
  const header_list& headers() const noexcept { return headers_; }

 private:
  bool request_sent_;
  unsigned status_;
  header_list headers_;
};

/// One attempt: send the request on some connection and read the response. Throws
/// dataport::error (network/timeout/tls/protocol) on transport failures. On a body cut after
/// k bytes, throws and reports k through `received` (so the retry layer can resume).
class transport {
 public:
  virtual ~transport() = default;
  virtual boost::asio::awaitable<response> round_trip(const request& req,
                                                      const send_options& options,
                                                      std::size_t& received) = 0;
};

/// Time and randomness seams for the retry policy.
struct retry_seams {
  /// Suspends for the given delay (default: an asio steady_timer).
  std::function<boost::asio::awaitable<void>(std::chrono::milliseconds)> sleep;
  /// Returns a value in [0, 1) for jitter (default: a thread-local PRNG).
  std::function<double()> jitter;
  /// Wall clock, for HTTP-date Retry-After values (default: system_clock::now).
  std::function<std::chrono::system_clock::time_point()> now;
};

/// Computes the delay before retry number `attempt` (1-based): exponential from base, capped at
/// max, with full jitter in [delay/2, delay]; a server-provided delay (Retry-After & co) wins,
/// capped at max.
std::chrono::milliseconds retry_delay(unsigned attempt, std::chrono::milliseconds base,
                                      std::chrono::milliseconds max, double jitter01,
                                      std::optional<std::chrono::milliseconds> server_delay);

/// Parses the server's requested delay from retry-after-ms, x-ms-retry-after-ms or Retry-After
/// (delta-seconds or HTTP-date relative to `now`). Garbage yields nullopt, never throws.
std::optional<std::chrono::milliseconds> parse_retry_after(
    const header_list& headers, std::chrono::system_clock::time_point now);

/// The production seams: an asio steady_timer on the current executor, a thread-local PRNG and
/// system_clock::now. Missing members of a caller's seams are filled from these.
retry_seams default_retry_seams();

/// A random UUID v4 in the canonical 8-4-4-4-12 lowercase form (x-ms-client-request-id).
std::string make_uuid_v4();

/// True for statuses retried on idempotent requests: 408, 429, 500, 502, 503, 504.
bool is_retryable_status(unsigned status) noexcept;

class client {
 public:
  /// Builds the production client: a Beast transport with one pool per (scheme, host, port).
  client(boost::asio::any_io_executor executor, const settings& config,
         std::shared_ptr<metrics> counters = nullptr);
  /// Builds a client over any transport (tests).
  client(boost::asio::any_io_executor executor, const settings& config,
         std::shared_ptr<transport> transport, retry_seams seams,
         std::shared_ptr<metrics> counters = nullptr);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Sends with retries. Returns the final response whatever its status (non-retryable statuses
  /// such as 404 come back at once; retryable ones come back after the budget is spent). Throws
  /// dataport::error for transport failures that persist past the budget.
  boost::asio::awaitable<response> send(request req, send_options options = {});

  /// Closes idle pooled connections (for clean shutdown).
  void close_idle();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace dataport::http
