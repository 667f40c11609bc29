// Bearer-token cache with single-flight refresh.
//
// A token is refreshed 5 minutes before it expires, or at half its lifetime for tokens that live
// less than 10 minutes. While one coroutine fetches, the others wait for that one fetch (they
// never start their own); when the cached token is still valid they keep using it instead of
// waiting. A failed refresh is reported to every waiter; while the old token is still valid it
// keeps being used and the next attempt is delayed by 30 s, so a broken endpoint is not hammered.
//
// Time comes from an injectable clock so tests never sleep.
// Thread-safety: get() may be called concurrently from any thread/executor.
// Ownership: the cache must outlive every get() in flight.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

namespace dataport::auth {

using clock_fn = std::function<std::chrono::system_clock::time_point()>;

/// The system clock (default for every clock_fn).
clock_fn system_clock_fn();

struct access_token {
  std::string value;                                                ///< SECRET
  std::optional<std::chrono::system_clock::time_point> expires_on;  ///< nullopt = unknown
};

/// The `exp` claim of a JWT (seconds since the epoch), or nullopt for opaque tokens.
std::optional<std::chrono::system_clock::time_point> jwt_expiry(std::string_view token);

/// When a token obtained at `obtained` and expiring at `expires_on` should be refreshed.
std::chrono::system_clock::time_point refresh_time(
    std::chrono::system_clock::time_point obtained,
    std::chrono::system_clock::time_point expires_on);

class token_cache {
 public:
  /// Fetches a fresh token; throws dataport::error on failure. Never called concurrently.
  using fetch_fn = std::function<boost::asio::awaitable<access_token>()>;

  token_cache(fetch_fn fetch, clock_fn clock = {});
  ~token_cache();
  token_cache(const token_cache&) = delete;
  token_cache& operator=(const token_cache&) = delete;

  /// A valid token (fetching one when needed). Throws what the fetch threw when no valid token
  /// is available.
  boost::asio::awaitable<std::string> get();

  /// Number of fetches started so far (for tests and metrics).
  std::size_t fetch_count() const;

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace dataport::auth
