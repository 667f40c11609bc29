// Reads that check their bytes: --verify-md5's ranges against the service's transactional MD5,
// and the MD5 of a whole object (for destinations that need the source's Content-MD5).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "dataport/metrics.hpp"
#include "dataport/object_store.hpp"

namespace dataport::transfer_detail {

struct checked_range {
  std::string path;     ///< the object in the source store
  std::string etag;     ///< every read is pinned to it (If-Match)
  std::string display;  ///< the file's name in messages
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

/// Reads `range` in pieces of at most object_store::max_checked_range (4 MiB), each with the
/// server's MD5 of that piece, through `scratch`. Bytes reach `deliver(position, bytes)` as they
/// stream; when a piece's MD5 does not match, `retract(bytes)` is called for the bytes of that
/// piece already delivered, the piece is read again (up to `retry_budget` times, counted in
/// counter::retries and counter::checksum_mismatches) and then the read fails with
/// errc::protocol. Returns the bytes read (short only at the end of the object). Runs on the
/// caller's executor; the callbacks run there too.
boost::asio::awaitable<read_result> read_checked(
    object_store& source, const checked_range& range, std::span<std::byte> scratch,
    const std::function<void(std::uint64_t position, std::span<const std::byte>)>& deliver,
    const std::function<void(std::uint64_t bytes)>& retract, unsigned retry_budget,
    metrics& counters);

/// Base64 MD5 of the whole object (`info.size` bytes, pinned to `info.etag`), read in 4 MiB
/// ranges.
boost::asio::awaitable<std::string> object_md5(object_store& source, const std::string& path,
                                               const object_info& info);

}  // namespace dataport::transfer_detail
