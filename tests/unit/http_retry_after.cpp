// Backoff arithmetic and parsing of server-requested delays (untrusted header values).
#include <catch2/catch.hpp>

#include "dataport/http/client.hpp"

using namespace dataport::http;
using std::chrono::milliseconds;

namespace {

// Thu, 01 Jan 2026 00:00:00 GMT
const auto base_time = std::chrono::sys_days{std::chrono::year{2026} / 1 / 1};

std::optional<milliseconds> parse(header_list headers) {
  return parse_retry_after(headers, std::chrono::system_clock::time_point(base_time));
}

}  // namespace

TEST_CASE("Retry-After in delta-seconds") {
  CHECK(parse({{"Retry-After", "3"}}) == milliseconds(3000));
  CHECK(parse({{"retry-after", " 0 "}}) == milliseconds(0));
  CHECK(parse({{"RETRY-AFTER", "120"}}) == milliseconds(120000));
}

TEST_CASE("retry-after-ms and x-ms-retry-after-ms are milliseconds and win over Retry-After") {
  CHECK(parse({{"retry-after-ms", "250"}}) == milliseconds(250));
  CHECK(parse({{"x-ms-retry-after-ms", "1500"}}) == milliseconds(1500));
  CHECK(parse({{"Retry-After", "9"}, {"x-ms-retry-after-ms", "40"}}) == milliseconds(40));
  CHECK(parse({{"x-ms-retry-after-ms", "40"}, {"retry-after-ms", "10"}}) == milliseconds(10));
  // A garbage ms header falls through to a good Retry-After.
  CHECK(parse({{"retry-after-ms", "soon"}, {"Retry-After", "2"}}) == milliseconds(2000));
}

TEST_CASE("Retry-After as an HTTP-date is relative to now") {
  CHECK(parse({{"Retry-After", "Thu, 01 Jan 2026 00:00:07 GMT"}}) == milliseconds(7000));
  CHECK(parse({{"Retry-After", "Thu, 01 Jan 2026 01:00:00 GMT"}}) == milliseconds(3600000));
  // A date in the past means "now".
  CHECK(parse({{"Retry-After", "Wed, 31 Dec 2025 23:59:00 GMT"}}) == milliseconds(0));
}

TEST_CASE("garbage Retry-After values yield nullopt, never throw") {
  for (const char* bad :
       {"", "-1", "abc", "1.5", "3s", "99999999999999999999999", "9223372036854775807", "100000000",
        "Thu, 01 Jan 2026 00:00:07", "Thu, 32 Jan 2026 00:00:07 GMT",
        "Xxx, 01 Foo 2026 00:00:07 GMT", "Thu, 01 Jan 2126 00:00:07 GMT", "0x10", "+5"}) {
    INFO("'" << bad << "'");
    CHECK_FALSE(parse({{"Retry-After", bad}}).has_value());
    CHECK_FALSE(parse({{"retry-after-ms", bad}}).has_value());
    CHECK_FALSE(parse({{"x-ms-retry-after-ms", bad}}).has_value());
  }
  CHECK_FALSE(parse({}).has_value());
  CHECK_FALSE(parse({{"Content-Type", "text/plain"}}).has_value());
}

TEST_CASE("backoff doubles per attempt and is capped") {
  const milliseconds base(100), max(1000);
  CHECK(retry_delay(1, base, max, 1.0, std::nullopt) == milliseconds(100));
  CHECK(retry_delay(2, base, max, 1.0, std::nullopt) == milliseconds(200));
  CHECK(retry_delay(3, base, max, 1.0, std::nullopt) == milliseconds(400));
  CHECK(retry_delay(4, base, max, 1.0, std::nullopt) == milliseconds(800));
  CHECK(retry_delay(5, base, max, 1.0, std::nullopt) == milliseconds(1000));
  CHECK(retry_delay(60, base, max, 1.0, std::nullopt) == milliseconds(1000));
  CHECK(retry_delay(4000000000u, base, max, 1.0, std::nullopt) == milliseconds(1000));
}

TEST_CASE("jitter keeps every delay within [delay/2, delay]") {
  const milliseconds base(200), max(30000);
  for (unsigned attempt = 1; attempt <= 10; ++attempt) {
    const auto full = retry_delay(attempt, base, max, 1.0, std::nullopt);
    CHECK(retry_delay(attempt, base, max, 0.0, std::nullopt) == full / 2);
    for (double j = 0.0; j < 1.0; j += 0.05) {
      const auto d = retry_delay(attempt, base, max, j, std::nullopt);
      CHECK(d >= full / 2);
      CHECK(d <= full);
    }
  }
  // Out-of-range jitter values are clamped rather than trusted.
  CHECK(retry_delay(1, base, max, -3.0, std::nullopt) == milliseconds(100));
  CHECK(retry_delay(1, base, max, 7.0, std::nullopt) == milliseconds(200));
}

TEST_CASE("a server-requested delay wins over backoff but is capped at the maximum") {
  const milliseconds base(200), max(5000);
  CHECK(retry_delay(1, base, max, 0.3, milliseconds(1234)) == milliseconds(1234));
  CHECK(retry_delay(7, base, max, 0.3, milliseconds(0)) == milliseconds(0));
  CHECK(retry_delay(1, base, max, 0.3, milliseconds(60000)) == milliseconds(5000));
}

TEST_CASE("zero base delay gives zero delays") {
  CHECK(retry_delay(3, milliseconds(0), milliseconds(0), 0.7, std::nullopt) == milliseconds(0));
}

TEST_CASE("retryable statuses are exactly 408, 429, 500, 502, 503, 504") {
  for (unsigned s : {408u, 429u, 500u, 502u, 503u, 504u}) CHECK(is_retryable_status(s));
  for (unsigned s :
       {200u, 206u, 301u, 304u, 400u, 401u, 403u, 404u, 409u, 412u, 416u, 501u, 505u}) {
    INFO(s);
    CHECK_FALSE(is_retryable_status(s));
  }
}

TEST_CASE("default seams: jitter in [0,1), now near the system clock") {
  auto seams = default_retry_seams();
  for (int i = 0; i < 1000; ++i) {
    const double j = seams.jitter();
    CHECK(j >= 0.0);
    CHECK(j < 1.0);
  }
  const auto delta = seams.now() - std::chrono::system_clock::now();
  CHECK(std::chrono::abs(delta) < std::chrono::seconds(5));
}
