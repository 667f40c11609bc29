// Ranged-GET body placement (see detail/range_body.hpp).
#include "storage/detail/range_body.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "dataport/error.hpp"
#include "storage/detail/wire.hpp"

namespace dataport::storage_detail {

placed_range place_range_body(unsigned status, std::string_view content_range,
                              std::string_view content_length, std::size_t body_size,
                              std::uint64_t offset, std::span<std::byte> into,
                              std::string_view where) {
  placed_range placed;
  if (status == 206 && body_size == 0) {
    // Azurite answers a range starting at the end with "206 bytes N-(N-1)/N" and no body.
    if (const auto slash = content_range.rfind('/'); slash != std::string_view::npos) {
      placed.object_size = parse_u64(content_range.substr(slash + 1)).value_or(0);
    }
    return placed;
  }
  if (status == 206) {
    const auto range = parse_content_range(content_range);
    if (!range || !range->first || *range->first != offset) {
      throw_error(errc::protocol,
                  fmt::format("the server answered a read of {} at offset {} with Content-Range "
                              "'{}', which does not start at the requested offset; retry, and "
                              "check any proxy in between if it persists",
                              where, offset, content_range));
    }
    placed.bytes = std::min(body_size, into.size());
    placed.object_size = range->total.value_or(0);
    return placed;
  }
  // 200: the whole object, from byte 0 (it fitted in `into`, or the client would have failed).
  const std::uint64_t size = parse_u64(content_length).value_or(body_size);
  placed.object_size = size;
  const std::size_t available = std::min<std::size_t>(body_size, into.size());
  if (offset >= available) return placed;
  placed.bytes = available - static_cast<std::size_t>(offset);
  if (offset > 0) std::memmove(into.data(), into.data() + offset, placed.bytes);
  return placed;
}

std::uint64_t check_streamed_range(unsigned status, std::string_view content_range,
                                   std::size_t body_size, std::uint64_t offset,
                                   std::uint64_t length, std::string_view where) {
  const auto range = parse_content_range(content_range);
  const bool right_start = range ? range->first == offset : (status == 200 && offset == 0);
  if (!right_start || body_size > length) {
    throw_error(errc::protocol,
                fmt::format("the server answered a read of {} at offset {} with another range "
                            "('{}'); retry, and check any proxy in between",
                            where, offset, content_range));
  }
  return range ? range->total.value_or(0) : 0;
}

}  // namespace dataport::storage_detail
