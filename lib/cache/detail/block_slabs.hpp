// Layout of the disk tier's block slabs (design in dataport/disk_cache.hpp). Blocks live in slots
// of slab files, one file per slot capacity: slot i of `<capacity>.slab` starts at byte
// i × (4096 + capacity) and holds a one-page header (cache_file_format.hpp) then the block's bytes
// zero-padded to whole pages. The rest of a slot is a hole; a free slot is all hole.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dataport::cache_detail {

inline constexpr std::uint64_t slot_header_size = 4096;  ///< bytes; one page (O_DIRECT)
inline constexpr std::uint64_t smallest_slot_capacity = 64u << 10;

/// Bytes of `n` rounded up to whole pages.
inline constexpr std::uint64_t whole_pages(std::uint64_t n) {
  return (n + 4095) / 4096 * 4096;
}

/// Data bytes of the slots that hold a block of `length` bytes: the next power of two, at least
/// 64 KiB (a 2 MiB block gets a 2 MiB slot, a 500 KiB one 512 KiB, 2 MiB + 1 byte 4 MiB).
inline constexpr std::uint64_t slot_capacity(std::uint64_t length) {
  return std::bit_ceil(std::max<std::uint64_t>(length, smallest_slot_capacity));
}

/// Distance between two slots of a slab of `capacity`.
inline constexpr std::uint64_t slot_stride(std::uint64_t capacity) {
  return slot_header_size + capacity;
}

/// Disk bytes a block of `length` bytes uses in its slot (header page + whole data pages).
inline constexpr std::uint64_t slot_usage(std::uint64_t length) {
  return slot_header_size + whole_pages(length);
}

/// "<capacity>.slab", e.g. "2097152.slab".
inline std::string slab_file_name(std::uint64_t capacity) {
  return std::to_string(capacity) + ".slab";
}

/// The capacity named by a slab file name, or nullopt for any other name (or a capacity that
/// slot_capacity() never gives).
std::optional<std::uint64_t> parse_slab_file_name(std::string_view name);

}  // namespace dataport::cache_detail
