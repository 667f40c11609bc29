// Fuzz target: dataport::parse_connection_string.
// Properties: parse either succeeds or throws dataport::error(invalid_argument); a parsed string
// has a protocol of https/http, an account name, a blob service URL, and a credential that
// matches the secrets it carried; and no error text contains an AccountKey or
// SharedAccessSignature value, whether the pair is well separated or a ';' is missing (the
// input is also parsed with marker secrets added before and after it).
#include <string>

#include "../fuzz_check.hpp"
#include "dataport/connection_string.hpp"
#include "dataport/error.hpp"

namespace {

constexpr std::string_view key_marker = "Qz9KeyMarkerQx7w";

void check_parse(std::string_view text, bool check_secret) {
  using kind = dataport::credential_config::kind;
  try {
    const auto cs = dataport::parse_connection_string(text);
    FUZZ_CHECK(cs.protocol == "https" || cs.protocol == "http", cs.protocol);
    FUZZ_CHECK(!cs.account_name.empty(), "parsed without an account name");
    FUZZ_CHECK(!cs.blob_service_url().empty(), "empty blob service URL");
    FUZZ_CHECK(cs.blob_endpoint.size() <= 1 || !cs.blob_endpoint.ends_with('/'), cs.blob_endpoint);
    const auto credential = cs.credential();
    if (!cs.account_key.empty()) {
      FUZZ_CHECK(credential.type == kind::shared_key && credential.account_key == cs.account_key,
                 "an account key did not give a shared_key credential");
    } else if (!cs.sas_token.empty()) {
      FUZZ_CHECK(credential.type == kind::sas && credential.sas_token == cs.sas_token,
                 "a SAS did not give a sas credential");
    }
    if (cs.development_storage) {
      FUZZ_CHECK(cs.account_name == dataport::development_account_name, cs.account_name);
    }
  } catch (const dataport::error& e) {
    FUZZ_CHECK(e.code() == dataport::errc::invalid_argument, e.what());
    if (check_secret) FUZZ_CHECK(!dataport_fuzz::contains(e.what(), key_marker), e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 4096) return 0;
  const std::string_view text = dataport_fuzz::as_text(data, size);
  check_parse(text, false);
  if (dataport_fuzz::mentions_marker(text, key_marker)) return 0;
  const std::string key = "AccountKey=" + std::string(key_marker);
  const std::string sas = "SharedAccessSignature=sv=2021-08-06&sig=" + std::string(key_marker);
  for (const std::string& pair : {key, sas}) {
    check_parse(std::string(text) + ";" + pair, true);
    check_parse(std::string(text) + " " + pair, true);  // a ';' forgotten
    check_parse(pair + ";" + std::string(text), true);
    check_parse(pair + " " + std::string(text), true);
  }
  return 0;
}
