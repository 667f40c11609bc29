// Decoding of List Blobs responses (EnumerationResults XML).
//
// The decoder is defensive: responses are size-capped by the caller, a DOCTYPE is refused
// outright (the service never sends one; it is how entity-expansion attacks start), and any
// malformed or truncated document is errc::protocol naming the URL and what was wrong.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dataport/object_store.hpp"

namespace dataport::storage_detail {

struct listing_page {
  std::vector<object_info> entries;  ///< blobs first, then prefixes, as the service sent them
  std::string next_marker;           ///< empty when this is the last page
};

/// Decodes one page. Blob names become object_info::path relative to the container (Encoded
/// names are percent-decoded); BlobPrefix entries become directories without their trailing
/// '/'; a blob named exactly `list_prefix` (a folder marker) is skipped. ETags are quoted so
/// they compare equal to the ETag header of HEAD/GET. `url_for_messages` must be redacted.
listing_page parse_list_blobs(std::string_view xml, std::string_view list_prefix,
                              std::string_view url_for_messages);

}  // namespace dataport::storage_detail
