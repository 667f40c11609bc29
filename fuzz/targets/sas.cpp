// Fuzz target: SAS handling (dataport/auth/sas.hpp).
// Input byte 0 chooses the mode:
//  - even: the rest is a SAS token. sas_expiry_text/parse_iso8601 never crash; a parsed expiry
//    re-formats and re-parses to itself (to the second) unless it saturated; a date the clock
//    cannot hold saturates (so 9999-12-31 is never "expired"); check_sas_not_expired throws
//    exactly when the expiry is unparsable (invalid_argument) or not after `now`
//    (authentication_failed); its message and redact_url(append_sas(url, token)) never contain
//    the signature (the token is also tried with "&sig=<marker>" appended).
//  - odd: bytes 1-8 are seconds since the epoch; format_iso8601 → parse_iso8601 is the identity
//    for every time the clock can hold.
#include <chrono>
#include <cstring>
#include <string>

#include "../fuzz_check.hpp"
#include "dataport/auth/sas.hpp"
#include "dataport/error.hpp"
#include "dataport/redact.hpp"

namespace {

using std::chrono::system_clock;
constexpr std::string_view sig_marker = "Qz9SigMarkerQx7w";
constexpr std::string_view url = "https://acct.blob.core.windows.net/data/a%20b.bin?comp=x";

// A fixed "now" (2026-01-01T00:00:00Z) so a run behaves the same on every machine and day.
const system_clock::time_point fixed_now = system_clock::from_time_t(1767225600);

void check_expiry_handling(std::string_view token, bool has_marker) {
  const auto se = dataport::auth::sas_expiry_text(token);
  std::optional<system_clock::time_point> expiry;
  if (se) expiry = dataport::auth::parse_iso8601(*se);
  if (expiry && *expiry != system_clock::time_point::max() &&
      *expiry != system_clock::time_point::min()) {
    const auto text = dataport::auth::format_iso8601(*expiry);
    const auto again = dataport::auth::parse_iso8601(text);
    const auto whole = std::chrono::time_point_cast<std::chrono::seconds>(*expiry);
    FUZZ_CHECK(again && *again == whole, "'" + *se + "' formats as '" + text + "'");
  }
  if (se && se->starts_with("9999-")) {
    FUZZ_CHECK(!expiry || *expiry == system_clock::time_point::max(), *se);
  }
  try {
    dataport::auth::check_sas_not_expired(token, fixed_now);
    FUZZ_CHECK(!se || (expiry && *expiry > fixed_now), "an expired or invalid SAS passed");
  } catch (const dataport::error& e) {
    if (!se || !expiry) {
      FUZZ_CHECK(se && !expiry && e.code() == dataport::errc::invalid_argument, e.what());
    } else {
      FUZZ_CHECK(*expiry <= fixed_now && e.code() == dataport::errc::authentication_failed,
                 e.what());
    }
    if (has_marker) FUZZ_CHECK(!dataport_fuzz::contains(e.what(), sig_marker), e.what());
  }
  const std::string appended = dataport::auth::append_sas(url, token);
  FUZZ_CHECK(appended.starts_with(url), appended);
  FUZZ_CHECK(appended.find_first_of("# +", url.size()) == std::string::npos, appended);
  if (has_marker) {
    FUZZ_CHECK(!dataport_fuzz::contains(dataport::redact_url(appended), sig_marker), appended);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || size > 4096) return 0;
  if (data[0] % 2 == 1) {
    if (size < 9) return 0;
    std::int64_t seconds = 0;
    std::memcpy(&seconds, data + 1, sizeof seconds);
    // Years 0000-9999 as formatted with four digits, within what system_clock can hold.
    const auto limit =
        std::chrono::duration_cast<std::chrono::seconds>(system_clock::duration::max());
    if (seconds <= -limit.count() || seconds >= limit.count()) return 0;
    const system_clock::time_point when{std::chrono::seconds{seconds}};
    const auto text = dataport::auth::format_iso8601(when);
    const auto parsed = dataport::auth::parse_iso8601(text);
    FUZZ_CHECK(parsed && *parsed == when, text);
    return 0;
  }
  const std::string_view token = dataport_fuzz::as_text(data + 1, size - 1);
  check_expiry_handling(token, false);
  if (!dataport_fuzz::mentions_marker(token, sig_marker)) {
    check_expiry_handling(std::string(token) + "&sig=" + std::string(sig_marker), true);
  }
  return 0;
}
