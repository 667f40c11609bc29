// Fuzz target: dataport::parse_uri / format_uri.
// Properties: parse either succeeds or throws dataport::error(invalid_argument); a parsed URI
// round-trips (parse(format(x, true)) == x, and the canonical text is a fixed point); the
// secret-free form parses to x without its query; and an error never quotes a SAS signature
// (the input is also parsed with "?sig=<marker>" / "&sig=<marker>" appended).
#include <optional>
#include <string>

#include "../fuzz_check.hpp"
#include "dataport/error.hpp"
#include "dataport/uri.hpp"

namespace {

constexpr std::string_view sig_marker = "Qz9SigMarkerQx7w";

std::string describe(const dataport::parsed_uri& uri) {
  return std::string(dataport::to_string(uri.kind)) + " host=" + uri.host +
         " account=" + uri.account + " container=" + uri.container + " path=" + uri.path +
         " datastore=" + uri.datastore + " asset=" + uri.asset_name + ":" + uri.asset_version;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using dataport::parse_uri;
  if (size > 4096) return 0;
  const std::string_view text = dataport_fuzz::as_text(data, size);

  std::optional<dataport::parsed_uri> parsed;
  try {
    parsed = parse_uri(text);
  } catch (const dataport::error& e) {
    FUZZ_CHECK(e.code() == dataport::errc::invalid_argument, e.what());
  }
  if (parsed) {
    const std::string canonical = dataport::format_uri(*parsed, true);
    std::optional<dataport::parsed_uri> again;
    try {
      again = parse_uri(canonical);
    } catch (const dataport::error& e) {
      FUZZ_CHECK(false, "the canonical form does not parse: '" + canonical + "': " + e.what());
    }
    FUZZ_CHECK(*again == *parsed, "parse(format(x)) != x: '" + canonical + "' gives " +
                                      describe(*again) + ", expected " + describe(*parsed));
    FUZZ_CHECK(dataport::format_uri(*again, true) == canonical, canonical);

    auto without_query = *parsed;
    without_query.query.clear();
    const std::string public_form = dataport::format_uri(*parsed, false);
    FUZZ_CHECK(public_form == dataport::format_uri(without_query, true), public_form);
    if (!parsed->query.empty()) {
      FUZZ_CHECK(parse_uri(public_form) == without_query, public_form);
    }
  }

  if (!dataport_fuzz::mentions_marker(text, sig_marker)) {
    std::string with_sig(text);
    with_sig += text.find('?') == std::string_view::npos ? "?sig=" : "&sig=";
    with_sig += sig_marker;
    try {
      parse_uri(with_sig);
    } catch (const dataport::error& e) {
      FUZZ_CHECK(!dataport_fuzz::contains(e.what(), sig_marker), e.what());
    }
  }
  return 0;
}
