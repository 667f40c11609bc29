// CRC-32C for the disk-cache block headers. Chosen over a cryptographic hash because every disk
// hit verifies the whole block, and every block written is summed. Three kernels, picked once
// by what the CPU has: carry-less folding with AVX-512 (crc32c_folding.cpp, ~2x the next on
// cached data), the SSE4.2 crc32 instruction in three lanes (~25 GB/s), a table (~0.5 GB/s).
#include <array>
#include <cstring>

#include "cache/detail/crc32c_kernels.hpp"
#include "dataport/block_cache.hpp"

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace dataport {
namespace cache_detail {
namespace {

constexpr std::uint32_t polynomial = 0x82F63B78u;  // reflected Castagnoli

constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ polynomial : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr auto table = make_table();

std::uint32_t crc_software(const unsigned char* p, std::size_t n, std::uint32_t crc) noexcept {
  for (std::size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint64_t crc_words(const unsigned char* p, std::size_t words,
                                                          std::uint64_t c) noexcept {
  for (std::size_t i = 0; i < words; ++i) {
    std::uint64_t word;
    std::memcpy(&word, p + 8 * i, 8);
    c = _mm_crc32_u64(c, word);
  }
  return c;
}

// The crc32 instruction takes 3 cycles but can start one per cycle: three independent lanes
// run ~3x faster than one. Each lane's register is then moved past the bytes of the lanes after
// it ("append `lane` zero bytes", a linear map on the 32-bit register, applied by table) and
// XORed in: crc(S, A||B) = zeros_|B|(crc(S, A)) ^ crc(0, B).
constexpr std::size_t lane = 4096;  // bytes per lane; blocks under 3 lanes use one lane

struct zeros_operator {
  std::array<std::array<std::uint32_t, 256>, 4> table{};  // [byte of the register][its value]
  std::uint32_t apply(std::uint32_t c) const noexcept {
    return table[0][c & 0xFFu] ^ table[1][(c >> 8) & 0xFFu] ^ table[2][(c >> 16) & 0xFFu] ^
           table[3][c >> 24];
  }
};

const zeros_operator& lane_zeros() noexcept {
  static const zeros_operator op = [] {
    zeros_operator z;
    const std::array<unsigned char, lane> zeros{};
    std::array<std::uint32_t, 32> basis{};  // the map applied to each single-bit register
    for (unsigned bit = 0; bit < 32; ++bit) {
      basis[bit] = static_cast<std::uint32_t>(crc_words(zeros.data(), lane / 8, 1ull << bit));
    }
    for (unsigned k = 0; k < 4; ++k) {
      for (unsigned v = 0; v < 256; ++v) {
        std::uint32_t out = 0;
        for (unsigned b = 0; b < 8; ++b)
          if (v & (1u << b)) out ^= basis[8 * k + b];
        z.table[k][v] = out;
      }
    }
    return z;
  }();
  return op;
}

__attribute__((target("sse4.2"))) std::uint32_t crc_hardware(const unsigned char* p, std::size_t n,
                                                             std::uint32_t crc) noexcept {
  std::uint64_t c = crc;
  if (n >= 3 * lane) {
    const auto& zeros = lane_zeros();
    while (n >= 3 * lane) {
      std::uint64_t c0 = c, c1 = 0, c2 = 0;
      for (std::size_t i = 0; i < lane; i += 8) {
        std::uint64_t w0, w1, w2;
        std::memcpy(&w0, p + i, 8);
        std::memcpy(&w1, p + lane + i, 8);
        std::memcpy(&w2, p + 2 * lane + i, 8);
        c0 = _mm_crc32_u64(c0, w0);
        c1 = _mm_crc32_u64(c1, w1);
        c2 = _mm_crc32_u64(c2, w2);
      }
      const auto ab = zeros.apply(static_cast<std::uint32_t>(c0)) ^ static_cast<std::uint32_t>(c1);
      c = zeros.apply(ab) ^ static_cast<std::uint32_t>(c2);
      p += 3 * lane;
      n -= 3 * lane;
    }
  }
  c = crc_words(p, n / 8, c);
  p += n / 8 * 8;
  n %= 8;
  auto c32 = static_cast<std::uint32_t>(c);
  while (n > 0) {
    c32 = _mm_crc32_u8(c32, *p++);
    --n;
  }
  return c32;
}
#endif

}  // namespace

std::uint32_t crc32c_table(std::span<const std::byte> data, std::uint32_t crc) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  return ~crc_software(p, data.size(), ~crc);
}

bool lanes_supported() noexcept {
#if defined(__x86_64__)
  static const bool supported = __builtin_cpu_supports("sse4.2");
  return supported;
#else
  return false;
#endif
}

std::uint32_t crc32c_lanes(std::span<const std::byte> data, std::uint32_t crc) noexcept {
#if defined(__x86_64__)
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  return ~crc_hardware(p, data.size(), ~crc);
#else
  return crc32c_table(data, crc);
#endif
}

}  // namespace cache_detail

std::uint32_t crc32c(std::span<const std::byte> data, std::uint32_t crc) noexcept {
  using kernel = std::uint32_t (*)(std::span<const std::byte>, std::uint32_t) noexcept;
  static const kernel chosen = cache_detail::folding_supported() ? cache_detail::crc32c_folding
                               : cache_detail::lanes_supported() ? cache_detail::crc32c_lanes
                                                                 : cache_detail::crc32c_table;
  return chosen(data, crc);
}

}  // namespace dataport
