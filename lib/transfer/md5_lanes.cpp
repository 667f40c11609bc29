// Two-lane MD5 (design in transfer/detail/md5_lanes.hpp). RFC 1321; the 64 steps are written out
// so the compiler can interleave two digests' chains step by step.
#include "transfer/detail/md5_lanes.hpp"

#include <bit>
#include <cstring>

#include "storage/detail/wire.hpp"

namespace dataport::transfer_detail {
namespace {

inline std::uint32_t load_le32(const std::byte* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  if constexpr (std::endian::native == std::endian::big) {
    v = (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
  }
  return v;
}

inline std::uint32_t f_round(std::uint32_t b, std::uint32_t c, std::uint32_t d) {
  return d ^ (b & (c ^ d));
}
inline std::uint32_t g_round(std::uint32_t b, std::uint32_t c, std::uint32_t d) {
  return c ^ (d & (b ^ c));
}
inline std::uint32_t h_round(std::uint32_t b, std::uint32_t c, std::uint32_t d) {
  return b ^ c ^ d;
}
inline std::uint32_t i_round(std::uint32_t b, std::uint32_t c, std::uint32_t d) {
  return c ^ (b | ~d);
}
#define F f_round
#define G g_round
#define H h_round
#define I i_round

// clang-format off
#define DP_MD5_ALL_STEPS \
  STEP(F, a, b, c, d, m[0], 0xd76aa478u, 7); \
  STEP(F, d, a, b, c, m[1], 0xe8c7b756u, 12); \
  STEP(F, c, d, a, b, m[2], 0x242070dbu, 17); \
  STEP(F, b, c, d, a, m[3], 0xc1bdceeeu, 22); \
  STEP(F, a, b, c, d, m[4], 0xf57c0fafu, 7); \
  STEP(F, d, a, b, c, m[5], 0x4787c62au, 12); \
  STEP(F, c, d, a, b, m[6], 0xa8304613u, 17); \
  STEP(F, b, c, d, a, m[7], 0xfd469501u, 22); \
  STEP(F, a, b, c, d, m[8], 0x698098d8u, 7); \
  STEP(F, d, a, b, c, m[9], 0x8b44f7afu, 12); \
  STEP(F, c, d, a, b, m[10], 0xffff5bb1u, 17); \
  STEP(F, b, c, d, a, m[11], 0x895cd7beu, 22); \
  STEP(F, a, b, c, d, m[12], 0x6b901122u, 7); \
  STEP(F, d, a, b, c, m[13], 0xfd987193u, 12); \
  STEP(F, c, d, a, b, m[14], 0xa679438eu, 17); \
  STEP(F, b, c, d, a, m[15], 0x49b40821u, 22); \
  STEP(G, a, b, c, d, m[1], 0xf61e2562u, 5); \
  STEP(G, d, a, b, c, m[6], 0xc040b340u, 9); \
  STEP(G, c, d, a, b, m[11], 0x265e5a51u, 14); \
  STEP(G, b, c, d, a, m[0], 0xe9b6c7aau, 20); \
  STEP(G, a, b, c, d, m[5], 0xd62f105du, 5); \
  STEP(G, d, a, b, c, m[10], 0x02441453u, 9); \
  STEP(G, c, d, a, b, m[15], 0xd8a1e681u, 14); \
  STEP(G, b, c, d, a, m[4], 0xe7d3fbc8u, 20); \
  STEP(G, a, b, c, d, m[9], 0x21e1cde6u, 5); \
  STEP(G, d, a, b, c, m[14], 0xc33707d6u, 9); \
  STEP(G, c, d, a, b, m[3], 0xf4d50d87u, 14); \
  STEP(G, b, c, d, a, m[8], 0x455a14edu, 20); \
  STEP(G, a, b, c, d, m[13], 0xa9e3e905u, 5); \
  STEP(G, d, a, b, c, m[2], 0xfcefa3f8u, 9); \
  STEP(G, c, d, a, b, m[7], 0x676f02d9u, 14); \
  STEP(G, b, c, d, a, m[12], 0x8d2a4c8au, 20); \
  STEP(H, a, b, c, d, m[5], 0xfffa3942u, 4); \
  STEP(H, d, a, b, c, m[8], 0x8771f681u, 11); \
  STEP(H, c, d, a, b, m[11], 0x6d9d6122u, 16); \
  STEP(H, b, c, d, a, m[14], 0xfde5380cu, 23); \
  STEP(H, a, b, c, d, m[1], 0xa4beea44u, 4); \
  STEP(H, d, a, b, c, m[4], 0x4bdecfa9u, 11); \
  STEP(H, c, d, a, b, m[7], 0xf6bb4b60u, 16); \
  STEP(H, b, c, d, a, m[10], 0xbebfbc70u, 23); \
  STEP(H, a, b, c, d, m[13], 0x289b7ec6u, 4); \
  STEP(H, d, a, b, c, m[0], 0xeaa127fau, 11); \
  STEP(H, c, d, a, b, m[3], 0xd4ef3085u, 16); \
  STEP(H, b, c, d, a, m[6], 0x04881d05u, 23); \
  STEP(H, a, b, c, d, m[9], 0xd9d4d039u, 4); \
  STEP(H, d, a, b, c, m[12], 0xe6db99e5u, 11); \
  STEP(H, c, d, a, b, m[15], 0x1fa27cf8u, 16); \
  STEP(H, b, c, d, a, m[2], 0xc4ac5665u, 23); \
  STEP(I, a, b, c, d, m[0], 0xf4292244u, 6); \
  STEP(I, d, a, b, c, m[7], 0x432aff97u, 10); \
  STEP(I, c, d, a, b, m[14], 0xab9423a7u, 15); \
  STEP(I, b, c, d, a, m[5], 0xfc93a039u, 21); \
  STEP(I, a, b, c, d, m[12], 0x655b59c3u, 6); \
  STEP(I, d, a, b, c, m[3], 0x8f0ccc92u, 10); \
  STEP(I, c, d, a, b, m[10], 0xffeff47du, 15); \
  STEP(I, b, c, d, a, m[1], 0x85845dd1u, 21); \
  STEP(I, a, b, c, d, m[8], 0x6fa87e4fu, 6); \
  STEP(I, d, a, b, c, m[15], 0xfe2ce6e0u, 10); \
  STEP(I, c, d, a, b, m[6], 0xa3014314u, 15); \
  STEP(I, b, c, d, a, m[13], 0x4e0811a1u, 21); \
  STEP(I, a, b, c, d, m[4], 0xf7537e82u, 6); \
  STEP(I, d, a, b, c, m[11], 0xbd3af235u, 10); \
  STEP(I, c, d, a, b, m[2], 0x2ad7d2bbu, 15); \
  STEP(I, b, c, d, a, m[9], 0xeb86d391u, 21);
// clang-format on

void compress_one(std::array<std::uint32_t, 4>& h, const std::byte* block) {
  std::uint32_t m[16];
  for (int i = 0; i < 16; ++i) m[i] = load_le32(block + 4 * i);
  std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
#define STEP(f, a, b, c, d, x, k, s) a = std::rotl(a + f(b, c, d) + (x) + (k), s) + b
  DP_MD5_ALL_STEPS
#undef STEP
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
}

// The same block into two digests: each step advances both chains, which share the message word.
void compress_two(std::array<std::uint32_t, 4>& hx, std::array<std::uint32_t, 4>& hy,
                  const std::byte* block) {
  std::uint32_t m[16];
  for (int i = 0; i < 16; ++i) m[i] = load_le32(block + 4 * i);
  std::uint32_t a0 = hx[0], b0 = hx[1], c0 = hx[2], d0 = hx[3];
  std::uint32_t a1 = hy[0], b1 = hy[1], c1 = hy[2], d1 = hy[3];
#define STEP(f, a, b, c, d, x, k, s)                                  \
  a##0 = std::rotl(a##0 + f(b##0, c##0, d##0) + (x) + (k), s) + b##0; \
  a##1 = std::rotl(a##1 + f(b##1, c##1, d##1) + (x) + (k), s) + b##1
  DP_MD5_ALL_STEPS
#undef STEP
  hx[0] += a0;
  hx[1] += b0;
  hx[2] += c0;
  hx[3] += d0;
  hy[0] += a1;
  hy[1] += b1;
  hy[2] += c1;
  hy[3] += d1;
}

#undef DP_MD5_ALL_STEPS
#undef F
#undef G
#undef H
#undef I

}  // namespace

void md5_state::update(std::span<const std::byte> data) {
  std::size_t buffered = static_cast<std::size_t>(length % 64);
  length += data.size();
  if (buffered > 0) {
    const std::size_t take = std::min(data.size(), 64 - buffered);
    std::memcpy(tail.data() + buffered, data.data(), take);
    data = data.subspan(take);
    if (buffered + take < 64) return;
    compress_one(h, tail.data());
  }
  for (; data.size() >= 64; data = data.subspan(64)) compress_one(h, data.data());
  std::memcpy(tail.data(), data.data(), data.size());
}

std::array<std::uint8_t, 16> md5_state::finish() {
  const std::uint64_t bits = length * 8;
  std::array<std::byte, 72> pad{};
  pad[0] = std::byte{0x80};
  const std::size_t buffered = static_cast<std::size_t>(length % 64);
  const std::size_t pad_length = (buffered < 56 ? 56 : 120) - buffered;
  for (int i = 0; i < 8; ++i) pad[pad_length + i] = static_cast<std::byte>(bits >> (8 * i));
  update(std::span(pad).first(pad_length + 8));
  std::array<std::uint8_t, 16> digest{};
  for (int i = 0; i < 16; ++i) digest[i] = static_cast<std::uint8_t>(h[i / 4] >> (8 * (i % 4)));
  return digest;
}

std::string md5_state::finish_base64() {
  const auto digest = finish();
  return storage_detail::base64_encode(std::as_bytes(std::span(digest)));
}

void md5_update_both(md5_state& x, md5_state& y, std::span<const std::byte> data) {
  if (x.length % 64 != 0 || y.length % 64 != 0) {
    x.update(data);
    y.update(data);
    return;
  }
  const std::size_t whole = data.size() - data.size() % 64;
  for (std::size_t at = 0; at < whole; at += 64) compress_two(x.h, y.h, data.data() + at);
  x.length += whole;
  y.length += whole;
  x.update(data.subspan(whole));
  y.update(data.subspan(whole));
}

}  // namespace dataport::transfer_detail
