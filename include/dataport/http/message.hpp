// HTTP request/response values shared by the client, the retry layer, credentials and backends.
//
// Thread-safety: plain value types.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

namespace dataport::http {

/// Ordered header list; names compare case-insensitively through the helpers below.
using header_list = std::vector<std::pair<std::string, std::string>>;

/// First value of header `name` (case-insensitive), or nullopt.
std::optional<std::string_view> find_header(const header_list& headers, std::string_view name);
/// Replaces every `name` header by one with `value`.
void set_header(header_list& headers, std::string_view name, std::string value);
void remove_header(header_list& headers, std::string_view name);

struct request {
  std::string method = "GET";  ///< "GET", "HEAD", "PUT", "DELETE", "POST"
  std::string url;             ///< absolute URL, path and query percent-encoded
  header_list headers;
  std::span<const std::byte> body;  ///< not owned: must outlive the send (retries resend it)
  bool idempotent = true;           ///< only idempotent requests are retried after being sent
};

struct response {
  unsigned status = 0;
  std::string reason;
  header_list headers;
  std::string body;           ///< the body, unless it was read into send_options::body_into
  std::size_t body_size = 0;  ///< bytes of body received (into `body` or into body_into)

  std::optional<std::string_view> header(std::string_view name) const {
    return find_header(headers, name);
  }
};

/// What a send does besides the round trip. Defaults suit small control requests.
struct send_options {
  /// Called before every attempt (first and each retry) to set x-ms-date, signatures, tokens:
  /// signing happens last so it covers the final request. May suspend (token refresh).
  std::function<boost::asio::awaitable<void>(request&)> prepare;

  /// When set, a 2xx body is read straight into this buffer (ranged reads). A longer body is a
  /// protocol error. Error bodies (non-2xx) still go to response::body.
  std::optional<std::span<std::byte>> body_into;

  /// With body_into as a scratch buffer: a 2xx body is delivered piece by piece, each piece read
  /// into body_into and passed to body_sink before the buffer is reused, so a body of any length
  /// streams through a small, cache-hot buffer. On a resumed ranged read the sink continues with
  /// the bytes after those it already received. An exception from the sink ends the request.
  std::function<void(std::span<const std::byte>)> body_sink;

  /// Streamed mode only (with body_sink): where the next bytes go, asked for before every read
  /// from the connection; the piece read there is then passed to body_sink. Must never return
  /// empty memory. Lets a caller receive a body straight into its own buffers (no copy out of
  /// the scratch); body_into may then be empty. Unset: body_into is the scratch of every read.
  std::function<std::span<std::byte>()> body_room;

  /// Largest body accepted into response::body (bytes).
  std::size_t max_body = 64u << 20;

  /// A ranged GET whose body is cut is retried from the received offset (Range moved forward,
  /// If-Match pinned to the first response's ETag). Requires body_into and a "Range" header.
  bool resume_ranges = true;

  /// Redirect policy: signed requests never follow; public requests follow same-origin
  /// redirects only, never https → http. Maximum hops.
  unsigned max_redirects = 0;

  /// Overrides the client's retry count for this request (nullopt = settings).
  std::optional<unsigned> retry_count;
};

}  // namespace dataport::http
