// Fuzz target: the disk-cache file header (cache_detail::decode_header / encode_header).
// Input byte 0 chooses the mode:
//  - even: the rest is the start of a cache file. decode_header returns nullopt or a header
//    whose size fits in the bytes, whose ETag is within the limit, and which re-encodes (padded
//    to its header_size) to exactly the bytes it came from. Single-bit corruptions of a decoded
//    header's checked part are never accepted as the same header.
//  - odd: the rest gives a header (hash, length, CRC, ETag, padding); encode → decode returns it.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "../fuzz_check.hpp"
#include "cache/detail/cache_file_format.hpp"

namespace {

namespace cd = dataport::cache_detail;

bool same(const cd::file_header& a, const cd::file_header& b) {
  return a.hash == b.hash && a.etag == b.etag && a.length == b.length && a.data_crc == b.data_crc &&
         a.header_size == b.header_size;
}

void decode_mode(std::span<const std::byte> bytes) {
  const auto header = cd::decode_header(bytes);
  if (!header) return;
  FUZZ_CHECK(header->header_size <= bytes.size(), "header larger than its input");
  FUZZ_CHECK(header->etag.size() <= cd::max_etag_length, "ETag over the limit");
  const auto encoded = cd::encode_header(*header, header->header_size);
  FUZZ_CHECK(encoded.size() == header->header_size, "re-encoded to another size");
  FUZZ_CHECK(std::equal(encoded.begin(), encoded.end(), bytes.begin()),
             "re-encoded to other bytes");
  // Flip one bit inside the checksummed part (everything before the padding).
  const std::size_t checked = 64 + header->etag.size() + 4;
  std::vector<std::byte> corrupt(bytes.begin(), bytes.end());
  const std::size_t bit = header->length % (checked * 8);
  corrupt[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
  const auto decoded = cd::decode_header(corrupt);
  FUZZ_CHECK(!decoded || !same(*decoded, *header), "a corrupted header decoded as the original");
}

void encode_mode(const std::uint8_t* data, std::size_t size) {
  cd::file_header header;
  std::size_t pos = 0;
  auto take = [&](void* out, std::size_t n) {
    const std::size_t k = std::min(n, size - pos);
    std::memcpy(out, data + pos, k);
    pos += k;
  };
  take(header.hash.data(), header.hash.size());
  take(&header.length, sizeof header.length);
  take(&header.data_crc, sizeof header.data_crc);
  std::uint16_t pad = 0;
  take(&pad, sizeof pad);
  const std::size_t etag_length = std::min<std::size_t>(size - pos, cd::max_etag_length);
  header.etag.assign(reinterpret_cast<const char*>(data + pos), etag_length);
  const auto encoded = cd::encode_header(header, pad % 8192);
  const auto decoded = cd::decode_header(encoded);
  FUZZ_CHECK(decoded.has_value(), "an encoded header does not decode");
  header.header_size = static_cast<std::uint32_t>(encoded.size());
  FUZZ_CHECK(same(*decoded, header), "encode → decode changed the header");
  // Any prefix shorter than the header is rejected.
  const auto cut = std::span<const std::byte>(encoded).first(pad % encoded.size());
  FUZZ_CHECK(!cd::decode_header(cut), "a truncated header decoded");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || size > 16384) return 0;
  if (data[0] % 2 == 1) {
    encode_mode(data + 1, size - 1);
  } else {
    decode_mode(std::as_bytes(std::span(data + 1, size - 1)));
  }
  return 0;
}
