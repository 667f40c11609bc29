// Bearer-token cache with single-flight refresh; see include/dataport/auth/token_cache.hpp.
//
// Waiters park on a per-waiter concurrent_channel with room for one message: the fetching
// coroutine try_send()s to each when the flight lands, which is thread-safe and cannot be lost
// even if the waiter has not started receiving yet.
#include "dataport/auth/token_cache.hpp"

#include <mutex>
#include <vector>

#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "auth/detail/encoding.hpp"
#include "dataport/error.hpp"
#include "dataport/log.hpp"
#include "dataport/redact.hpp"

namespace dataport::auth {
namespace {

using wake_channel = boost::asio::experimental::concurrent_channel<void(boost::system::error_code)>;
using namespace std::chrono_literals;

constexpr auto failed_refresh_backoff = 30s;

struct flight {
  std::exception_ptr error;  // set when the fetch failed
  std::vector<std::shared_ptr<wake_channel>> waiters;
};

}  // namespace

clock_fn system_clock_fn() {
  return [] { return std::chrono::system_clock::now(); };
}

std::optional<std::chrono::system_clock::time_point> jwt_expiry(std::string_view token) {
  auto first = token.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  auto second = token.find('.', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  auto payload = detail::base64url_decode(token.substr(first + 1, second - first - 1));
  if (!payload) return std::nullopt;
  auto claims = nlohmann::json::parse(*payload, nullptr, false);
  if (claims.is_discarded() || !claims.is_object() || !claims.contains("exp")) return std::nullopt;
  const auto& exp = claims["exp"];
  if (!exp.is_number()) return std::nullopt;
  return std::chrono::system_clock::time_point{} + std::chrono::seconds{exp.get<std::int64_t>()};
}

std::chrono::system_clock::time_point refresh_time(
    std::chrono::system_clock::time_point obtained,
    std::chrono::system_clock::time_point expires_on) {
  auto lifetime = expires_on - obtained;
  if (lifetime < 10min) return obtained + lifetime / 2;
  return expires_on - 5min;
}

struct token_cache::state {
  fetch_fn fetch;
  clock_fn clock;
  mutable std::mutex mutex;
  std::optional<access_token> cached;                    // guarded by mutex
  std::chrono::system_clock::time_point refresh_at{};    // guarded by mutex
  std::chrono::system_clock::time_point next_attempt{};  // after a failed refresh
  std::shared_ptr<flight> current;                       // non-null while a fetch runs
  std::size_t fetches = 0;

  bool valid(std::chrono::system_clock::time_point now) const {
    return cached && (!cached->expires_on || now < *cached->expires_on);
  }
};

token_cache::token_cache(fetch_fn fetch, clock_fn clock) : state_(std::make_shared<state>()) {
  state_->fetch = std::move(fetch);
  state_->clock = clock ? std::move(clock) : system_clock_fn();
}

token_cache::~token_cache() = default;

std::size_t token_cache::fetch_count() const {
  std::lock_guard lock(state_->mutex);
  return state_->fetches;
}

boost::asio::awaitable<std::string> token_cache::get() {
  auto s = state_;
  auto executor = co_await boost::asio::this_coro::executor;
  for (;;) {
    std::shared_ptr<flight> joined;
    std::shared_ptr<wake_channel> channel;
    std::shared_ptr<flight> mine;
    {
      std::lock_guard lock(s->mutex);
      auto now = s->clock();
      bool fresh = s->cached && (!s->cached->expires_on || now < s->refresh_at);
      if (fresh) co_return s->cached->value;
      // A still-valid token is used while someone else refreshes or while we back off.
      if (s->valid(now) && (s->current || now < s->next_attempt)) co_return s->cached->value;
      if (s->current) {
        joined = s->current;
        channel = std::make_shared<wake_channel>(executor, 1);
        joined->waiters.push_back(channel);
      } else {
        mine = std::make_shared<flight>();
        s->current = mine;
        ++s->fetches;
      }
    }

    if (joined) {
      co_await channel->async_receive(boost::asio::use_awaitable);
      std::lock_guard lock(s->mutex);
      if (joined->error && !s->valid(s->clock())) std::rethrow_exception(joined->error);
      continue;  // the cache now holds the new token (or a still-valid old one)
    }

    std::optional<access_token> token;
    std::exception_ptr failure;
    try {
      token = co_await s->fetch();
    } catch (...) {
      failure = std::current_exception();
    }
    std::vector<std::shared_ptr<wake_channel>> waiters;
    bool use_old = false;
    std::string result;
    {
      std::lock_guard lock(s->mutex);
      auto now = s->clock();
      if (token) {
        register_secret(token->value);
        s->refresh_at = token->expires_on ? refresh_time(now, *token->expires_on) : now;
        s->cached = std::move(token);
        s->next_attempt = {};
        result = s->cached->value;
      } else {
        mine->error = failure;
        s->next_attempt = now + failed_refresh_backoff;
        use_old = s->valid(now);
        if (use_old) result = s->cached->value;
      }
      waiters = std::move(mine->waiters);
      s->current.reset();
    }
    for (auto& waiter : waiters) waiter->try_send(boost::system::error_code{});
    if (failure && !use_old) std::rethrow_exception(failure);
    if (failure) {
      log::warn("auth", "token refresh failed; using the current token until it expires");
    }
    co_return result;
  }
}

}  // namespace dataport::auth
