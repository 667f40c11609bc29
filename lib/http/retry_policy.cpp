// Retry policy pieces: which statuses are transient, how long to wait, what the server asked for.
//
// Backoff is exponential from settings.retry_base_delay, capped at retry_max_delay, with jitter
// in [delay/2, delay] so that many clients hit by the same outage do not retry in lockstep. A
// delay requested by the server (retry-after-ms, x-ms-retry-after-ms, Retry-After) wins but is
// capped too. Header values are untrusted: anything odd falls back to normal backoff.
#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <random>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "dataport/http/client.hpp"

namespace dataport::http {
namespace {

using std::chrono::milliseconds;

// A server asking for more than a day is not asking for a retry; treat it as garbage.
constexpr std::int64_t max_server_delay_ms = 24LL * 3600 * 1000;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// Non-negative decimal integer no larger than `limit`, the whole string; else nullopt.
std::optional<std::int64_t> parse_count(std::string_view text, std::int64_t limit) {
  text = trim(text);
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < 0 || value > limit) {
    return std::nullopt;
  }
  return value;
}

/// IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), the only HTTP-date form servers still send.
/// Whole seconds since the epoch (never converted to system_clock's nanoseconds, which end in
/// 2262: a hostile date must not overflow).
std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view text) {
  text = trim(text);
  static constexpr std::array<std::string_view, 12> months = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (text.size() != 29 || text[3] != ',' || text.substr(26) != "GMT") return std::nullopt;
  auto number = [&](std::size_t pos, std::size_t len) -> std::optional<int> {
    int v = 0;
    auto part = text.substr(pos, len);
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (ec != std::errc{} || end != part.data() + part.size()) return std::nullopt;
    return v;
  };
  auto day = number(5, 2), year = number(12, 4), hour = number(17, 2), minute = number(20, 2),
       second = number(23, 2);
  auto month_it = std::find(months.begin(), months.end(), text.substr(8, 3));
  if (!day || !year || !hour || !minute || !second || month_it == months.end()) return std::nullopt;
  if (*day < 1 || *day > 31 || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  using namespace std::chrono;
  const year_month_day ymd{std::chrono::year{*year},
                           std::chrono::month{static_cast<unsigned>(month_it - months.begin() + 1)},
                           std::chrono::day{static_cast<unsigned>(*day)}};
  if (!ymd.ok()) return std::nullopt;
  return sys_days{ymd} + hours{*hour} + minutes{*minute} + seconds{*second};
}

std::mt19937_64& thread_prng() {
  thread_local std::mt19937_64 prng{[] {
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) ^ device();
  }()};
  return prng;
}

}  // namespace

bool is_retryable_status(unsigned status) noexcept {
  switch (status) {
    case 408:
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      return true;
    default:
      return false;
  }
}

milliseconds retry_delay(unsigned attempt, milliseconds base, milliseconds max, double jitter01,
                         std::optional<milliseconds> server_delay) {
  if (max.count() < 0) max = milliseconds{0};
  if (server_delay) return std::clamp(*server_delay, milliseconds{0}, max);
  if (base.count() <= 0) return milliseconds{0};
  // base × 2^(attempt-1), computed without overflow: stop doubling once past the cap.
  std::int64_t delay = base.count();
  for (unsigned i = 1; i < attempt && delay < max.count(); ++i) {
    delay = delay > max.count() / 2 ? max.count() : delay * 2;
  }
  delay = std::min(delay, static_cast<std::int64_t>(max.count()));
  const double j = std::clamp(jitter01, 0.0, 1.0);
  const auto half = static_cast<double>(delay) / 2.0;
  return milliseconds{static_cast<std::int64_t>(half + j * half)};
}

std::optional<milliseconds> parse_retry_after(const header_list& headers,
                                              std::chrono::system_clock::time_point now) {
  for (std::string_view name : {"retry-after-ms", "x-ms-retry-after-ms"}) {
    if (auto value = find_header(headers, name)) {
      if (auto ms = parse_count(*value, max_server_delay_ms)) return milliseconds{*ms};
    }
  }
  auto value = find_header(headers, "retry-after");
  if (!value) return std::nullopt;
  if (auto seconds = parse_count(*value, max_server_delay_ms / 1000)) {
    return milliseconds{*seconds * 1000};
  }
  if (auto when = parse_http_date(*value)) {
    // In seconds: any 4-digit year fits, and the result is known to be within a day before it
    // is turned into milliseconds.
    const auto delta = *when - std::chrono::floor<std::chrono::seconds>(now);
    if (delta.count() * 1000 > max_server_delay_ms) return std::nullopt;
    return std::max(std::chrono::duration_cast<milliseconds>(delta), milliseconds{0});
  }
  return std::nullopt;
}

retry_seams default_retry_seams() {
  retry_seams seams;
  seams.sleep = [](milliseconds delay) -> boost::asio::awaitable<void> {
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, delay);
    co_await timer.async_wait(boost::asio::use_awaitable);
  };
  seams.jitter = [] { return std::uniform_real_distribution<double>(0.0, 1.0)(thread_prng()); };
  seams.now = [] { return std::chrono::system_clock::now(); };
  return seams;
}

std::string make_uuid_v4() {
  auto& prng = thread_prng();
  std::uint64_t hi = prng(), lo = prng();
  hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char text[37];
  std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
  return text;
}

}  // namespace dataport::http
