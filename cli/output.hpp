// Output helpers shared by the commands: JSON shapes and human formats.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "dataport/location.hpp"
#include "dataport/object_store.hpp"

namespace dataport::cli {

nlohmann::json to_json(const object_info& info);
nlohmann::json to_json(const location& where);  ///< secrets never included
std::string format_time(std::optional<std::chrono::system_clock::time_point> when);
std::string format_bytes(std::uint64_t bytes);  ///< "1.5 MiB"
/// Writes all bytes to stdout; throws errc::io (for example on a closed pipe).
void write_stdout(const void* data, std::size_t size);

}  // namespace dataport::cli
