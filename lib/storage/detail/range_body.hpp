// Placing the body of a ranged GET into the caller's buffer, whichever way the server answered.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace dataport::storage_detail {

struct placed_range {
  std::size_t bytes = 0;          ///< bytes of the requested range now at the start of `into`
  std::uint64_t object_size = 0;  ///< total object size when known, else 0
};

/// `into` holds `body_size` body bytes. A 206 must start at `offset` (else errc::protocol). A 200
/// means the server ignored Range and sent the whole object from byte 0: the requested slice is
/// moved to the front of `into`. `where` (redacted) names the object in error messages.
placed_range place_range_body(unsigned status, std::string_view content_range,
                              std::string_view content_length, std::size_t body_size,
                              std::uint64_t offset, std::span<std::byte> into,
                              std::string_view where);

/// Checks a streamed ranged read, whose body already went to the caller's sink: the response
/// must start at `offset` (a 206 with that Content-Range, or a 200 for offset 0) and hold at most
/// `length` bytes. Returns the object size from Content-Range (0 when unknown); anything else is
/// another range, so what was delivered is wrong: errc::protocol naming `where` (redacted).
std::uint64_t check_streamed_range(unsigned status, std::string_view content_range,
                                   std::size_t body_size, std::uint64_t offset,
                                   std::uint64_t length, std::string_view where);

}  // namespace dataport::storage_detail
