// Decoding of nginx autoindex HTML pages (the https backend's listing).
#pragma once

#include <chrono>
#include <optional>
#include <string_view>
#include <vector>

#include "dataport/object_store.hpp"

namespace dataport::storage_detail {

/// Entries of an nginx autoindex page ("Index of /x/"), or nullopt when `html` is not one.
/// Paths are `folder` + "/" + decoded name (just the name when `folder` is empty); sizes come
/// from the exact-size column ("-" for directories), last_modified from the date column; "../"
/// is skipped. Sorted by path.
std::optional<std::vector<object_info>> parse_autoindex(std::string_view html,
                                                        std::string_view folder);

/// An autoindex date ("22-Nov-2026 10:00", taken as UTC), or nullopt when it is not one.
std::optional<std::chrono::system_clock::time_point> parse_autoindex_time(std::string_view text);

}  // namespace dataport::storage_detail
