// The CRC-32C kernels behind dataport::crc32c, exposed so tests can check each one against the
// others on this machine. All take and return the public convention (the register is inverted
// on entry and exit), so kernel(b, kernel(a, 0)) == kernel(a || b, 0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace dataport::cache_detail {

/// Byte-at-a-time table; any CPU.
std::uint32_t crc32c_table(std::span<const std::byte> data, std::uint32_t crc) noexcept;

/// The SSE4.2 crc32 instruction in three interleaved lanes. Only when lanes_supported().
std::uint32_t crc32c_lanes(std::span<const std::byte> data, std::uint32_t crc) noexcept;
bool lanes_supported() noexcept;

/// Carry-less multiplication folding 256 bytes per step in four 512-bit registers (AVX-512 +
/// VPCLMULQDQ), the crc32 instruction for the last 16 bytes and the tail. Only when
/// folding_supported() (which implies lanes_supported()).
std::uint32_t crc32c_folding(std::span<const std::byte> data, std::uint32_t crc) noexcept;
bool folding_supported() noexcept;

}  // namespace dataport::cache_detail
