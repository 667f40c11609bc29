// CRC-32C by carry-less multiplication ("folding"), for CPUs with AVX-512 and VPCLMULQDQ.
//
// The bit-reflected CRC treats the message as a polynomial M over GF(2), first byte highest, and
// the CRC is M * x^32 mod P. Any 16-byte piece S followed by D more bytes may be replaced by
// S * x^(8D) mod P added into the bytes it moves onto; a 128-bit S is two 64-bit halves, each
// multiplied by a precomputed x^n mod P (one pclmul each), and the product still fits in 128
// bits. So four 512-bit registers (sixteen 16-byte pieces, 256 bytes) fold forward over the
// data 256 bytes per step, then onto each other, then onto one 16-byte piece whose CRC (with
// the rest of the bytes) the crc32 instruction takes: congruent inputs give the same CRC. No
// Barrett reduction is needed. The constants are computed at start, checked by the unit test
// against the byte-wise table on every length class.
#include <array>

#include "cache/detail/crc32c_kernels.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace dataport::cache_detail {

#if defined(__x86_64__)
namespace {

// x^n mod P as a bit-reflected 64-bit operand for pclmul: the term x^d sits at bit 63 - d.
// pclmul of two such operands yields their product times x in 128-bit reflected form (bit k is
// x^(127 - k)), which is why each constant is x^(n - 1).
constexpr std::uint64_t reflected_x_power_mod_p(unsigned n) {
  std::uint64_t r = 1;  // normal form, bit d = x^d
  for (unsigned i = 0; i < n; ++i) {
    r <<= 1;
    if (r & (1ull << 32)) r ^= 0x11EDC6F41ull;  // P = x^32 + ... (Castagnoli, normal form)
  }
  std::uint64_t out = 0;
  for (unsigned d = 0; d < 32; ++d)
    if (r & (1ull << d)) out |= 1ull << (63 - d);
  return out;
}

// The pair that moves a 16-byte piece forward by `bytes`: the low half (bytes 0-7, the higher
// powers) needs x^(64 + 8 bytes), the high half x^(8 bytes).
struct fold_constants {
  std::uint64_t low;
  std::uint64_t high;
};
constexpr fold_constants fold_by(unsigned bytes) {
  return {reflected_x_power_mod_p(64 + 8 * bytes - 1), reflected_x_power_mod_p(8 * bytes - 1)};
}
constexpr fold_constants by256 = fold_by(256), by64 = fold_by(64), by48 = fold_by(48),
                         by32 = fold_by(32), by16 = fold_by(16);

#define DATAPORT_FOLDING_TARGET __attribute__((target("avx512f,avx512vl,vpclmulqdq,pclmul,sse4.2")))

DATAPORT_FOLDING_TARGET inline __m512i broadcast(fold_constants k) {
  const auto low = static_cast<long long>(k.low), high = static_cast<long long>(k.high);
  return _mm512_set_epi64(high, low, high, low, high, low, high, low);
}

// One 16-byte piece of x. (The masked form: GCC 12 warns on the unmasked one's undefined
// source operand.)
DATAPORT_FOLDING_TARGET inline __m128i piece(__m512i x, int index) {
  switch (index) {
    case 0:
      return _mm512_mask_extracti32x4_epi32(_mm_setzero_si128(), 0xF, x, 0);
    case 1:
      return _mm512_mask_extracti32x4_epi32(_mm_setzero_si128(), 0xF, x, 1);
    case 2:
      return _mm512_mask_extracti32x4_epi32(_mm_setzero_si128(), 0xF, x, 2);
    default:
      return _mm512_mask_extracti32x4_epi32(_mm_setzero_si128(), 0xF, x, 3);
  }
}

// fold(x) ^ next, as one three-way XOR.
DATAPORT_FOLDING_TARGET inline __m512i fold_into(__m512i x, __m512i k, __m512i next) {
  return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00),
                                   _mm512_clmulepi64_epi128(x, k, 0x11), next, 0x96);
}

DATAPORT_FOLDING_TARGET inline __m128i fold_into(__m128i x, fold_constants k, __m128i next) {
  const __m128i kk = _mm_set_epi64x(static_cast<long long>(k.high), static_cast<long long>(k.low));
  return _mm_xor_si128(
      _mm_xor_si128(_mm_clmulepi64_si128(x, kk, 0x00), _mm_clmulepi64_si128(x, kk, 0x11)), next);
}

// `crc` is the raw register (already inverted). Needs n >= 256.
DATAPORT_FOLDING_TARGET std::uint32_t crc_fold(const unsigned char* p, std::size_t n,
                                               std::uint32_t crc) noexcept {
  __m512i x0 = _mm512_loadu_si512(p);
  __m512i x1 = _mm512_loadu_si512(p + 64);
  __m512i x2 = _mm512_loadu_si512(p + 128);
  __m512i x3 = _mm512_loadu_si512(p + 192);
  // The register enters as the first four bytes XORed with it.
  x0 = _mm512_xor_si512(x0, _mm512_zextsi128_si512(_mm_cvtsi32_si128(static_cast<int>(crc))));
  p += 256;
  n -= 256;
  const __m512i k256 = broadcast(by256);
  while (n >= 256) {
    x0 = fold_into(x0, k256, _mm512_loadu_si512(p));
    x1 = fold_into(x1, k256, _mm512_loadu_si512(p + 64));
    x2 = fold_into(x2, k256, _mm512_loadu_si512(p + 128));
    x3 = fold_into(x3, k256, _mm512_loadu_si512(p + 192));
    p += 256;
    n -= 256;
  }
  const __m512i k64 = broadcast(by64);
  __m512i x = fold_into(fold_into(fold_into(x0, k64, x1), k64, x2), k64, x3);
  for (; n >= 64; p += 64, n -= 64) x = fold_into(x, k64, _mm512_loadu_si512(p));
  // The four 16-byte pieces of the last 64 bytes onto the last one.
  __m128i s = piece(x, 3);
  s = fold_into(piece(x, 2), by16, s);
  s = fold_into(piece(x, 1), by32, s);
  s = fold_into(piece(x, 0), by48, s);
  std::uint64_t c = _mm_crc32_u64(0, static_cast<std::uint64_t>(_mm_cvtsi128_si64(s)));
  c = _mm_crc32_u64(c, static_cast<std::uint64_t>(_mm_extract_epi64(s, 1)));
  // The tail (under 64 bytes) through the crc32 kernel, in its inverted convention.
  const std::span tail(reinterpret_cast<const std::byte*>(p), n);
  return ~crc32c_lanes(tail, ~static_cast<std::uint32_t>(c));
}

#undef DATAPORT_FOLDING_TARGET

}  // namespace

bool folding_supported() noexcept {
  static const bool supported =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("vpclmulqdq") && __builtin_cpu_supports("pclmul") && lanes_supported();
  return supported;
}

std::uint32_t crc32c_folding(std::span<const std::byte> data, std::uint32_t crc) noexcept {
  if (data.size() < 256) return crc32c_lanes(data, crc);
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  return ~crc_fold(p, data.size(), ~crc);
}

#else

bool folding_supported() noexcept {
  return false;
}
std::uint32_t crc32c_folding(std::span<const std::byte> data, std::uint32_t crc) noexcept {
  return crc32c_table(data, crc);
}

#endif

}  // namespace dataport::cache_detail
