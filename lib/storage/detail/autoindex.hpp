// Decoding of nginx autoindex HTML pages (the https backend's listing).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "dataport/object_store.hpp"

namespace dataport::storage_detail {

/// Entries of an nginx autoindex page ("Index of /x/"), or nullopt when `html` is not one.
/// Paths are `folder` + "/" + decoded name (just the name when `folder` is empty); sizes come
/// from the exact-size column ("-" for directories); "../" is skipped. Sorted by path.
std::optional<std::vector<object_info>> parse_autoindex(std::string_view html,
                                                        std::string_view folder);

}  // namespace dataport::storage_detail
