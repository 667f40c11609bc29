// The header every disk-cache file starts with (see dataport/disk_cache.hpp). Little endian:
//   magic "DPCACHE\n" | u32 format version | u32 header size | 32-byte key hash | u64 length |
//   u32 CRC-32C of the bytes | u32 ETag length | ETag | u32 CRC-32C of the header so far |
//   zero padding up to the header size.
// decode_header() accepts only a complete, self-consistent header of the current version; the
// caller then checks the key hash, ETag, length and data CRC against what it expects.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace dataport::cache_detail {

inline constexpr std::uint32_t format_version = 1;
inline constexpr std::size_t max_etag_length = 1024;
inline constexpr std::size_t whole_file_header_size = 4096;

using key_hash = std::array<unsigned char, 32>;

struct file_header {
  key_hash hash{};
  std::string etag;
  std::uint64_t length = 0;
  std::uint32_t data_crc = 0;
  std::uint32_t header_size = 0;  ///< filled by encode/decode
};

/// Encodes `header`; pads to `pad_to` bytes when larger than the natural size.
std::vector<std::byte> encode_header(const file_header& header, std::size_t pad_to = 0);

/// Decodes the header at the start of `bytes`, or nullopt when it is not a valid header of this
/// format version (wrong magic, version, sizes, header checksum, non-zero padding, or not enough
/// bytes). A decoded header re-encodes (with pad_to = header_size) to exactly those bytes.
std::optional<file_header> decode_header(std::span<const std::byte> bytes);

/// SHA-256 of `text` (names of cache files).
key_hash hash_key(const std::string& text);
std::string to_hex(const key_hash& hash);

}  // namespace dataport::cache_detail
