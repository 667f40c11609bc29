// MD5 computed here rather than by OpenSSL for one reason: an upload needs two digests of the
// same bytes (the block's Content-MD5 and the running MD5 of the whole file), and MD5 is one long
// dependency chain per digest, so a CPU core runs two chains fed by the same message words almost
// as fast as one. md5_update_both() does that: one pass over the bytes instead of two.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace dataport::transfer_detail {

/// One MD5 in progress. Not thread-safe; cheap to copy (88 bytes).
struct md5_state {
  std::array<std::uint32_t, 4> h{0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};
  std::uint64_t length = 0;          ///< bytes fed so far
  std::array<std::byte, 64> tail{};  ///< the last length % 64 bytes, not yet compressed

  void update(std::span<const std::byte> data);
  /// The digest (the state is spent afterwards).
  std::array<std::uint8_t, 16> finish();
  /// base64 of the digest, as Content-MD5 carries it.
  std::string finish_base64();
};

/// Feeds `data` to both states. When both are at a 64-byte boundary (every chunk of an upload is
/// a multiple of 64 bytes, but possibly the last) each 64-byte block is read once and compressed
/// into both digests in one interleaved pass; otherwise it is two ordinary updates.
void md5_update_both(md5_state& x, md5_state& y, std::span<const std::byte> data);

}  // namespace dataport::transfer_detail
