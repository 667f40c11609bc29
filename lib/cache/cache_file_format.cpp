// Encoder and decoder of the disk-cache file header (detail/cache_file_format.hpp).
#include "cache/detail/cache_file_format.hpp"

#include <algorithm>
#include <cstring>

#include <openssl/evp.h>

#include "dataport/block_cache.hpp"

namespace dataport::cache_detail {
namespace {

constexpr char magic[8] = {'D', 'P', 'C', 'A', 'C', 'H', 'E', '\n'};
constexpr std::size_t fixed_size = 8 + 4 + 4 + 32 + 8 + 4 + 4;

template <class T>
void put(std::vector<std::byte>& out, T value) {
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    out.push_back(static_cast<std::byte>((static_cast<std::uint64_t>(value) >> (8 * i)) & 0xFF));
  }
}

template <class T>
T get(std::span<const std::byte> in, std::size_t at) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    value |= static_cast<std::uint64_t>(std::to_integer<unsigned>(in[at + i])) << (8 * i);
  }
  return static_cast<T>(value);
}

}  // namespace

std::vector<std::byte> encode_header(const file_header& header, std::size_t pad_to) {
  std::vector<std::byte> out;
  const std::size_t natural = fixed_size + header.etag.size() + 4;
  const std::size_t total = std::max(natural, pad_to);
  out.reserve(total);
  for (char c : magic) out.push_back(static_cast<std::byte>(c));
  put<std::uint32_t>(out, format_version);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(total));
  for (unsigned char c : header.hash) out.push_back(static_cast<std::byte>(c));
  put<std::uint64_t>(out, header.length);
  put<std::uint32_t>(out, header.data_crc);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(header.etag.size()));
  for (char c : header.etag) out.push_back(static_cast<std::byte>(c));
  put<std::uint32_t>(out, crc32c(out));
  out.resize(total, std::byte{0});
  return out;
}

std::optional<file_header> decode_header(std::span<const std::byte> bytes) {
  if (bytes.size() < fixed_size + 4) return std::nullopt;
  if (std::memcmp(bytes.data(), magic, sizeof magic) != 0) return std::nullopt;
  if (get<std::uint32_t>(bytes, 8) != format_version) return std::nullopt;
  file_header header;
  header.header_size = get<std::uint32_t>(bytes, 12);
  const auto etag_length = get<std::uint32_t>(bytes, 60);
  if (etag_length > max_etag_length) return std::nullopt;
  const std::size_t natural = fixed_size + etag_length + 4;
  if (header.header_size < natural || header.header_size > bytes.size()) return std::nullopt;
  if (get<std::uint32_t>(bytes, fixed_size + etag_length) !=
      crc32c(bytes.first(fixed_size + etag_length))) {
    return std::nullopt;
  }
  // The padding is not covered by the checksum; encode_header writes zeros, so anything else
  // is not a header this format wrote (and a decoded header re-encodes to the same bytes).
  const auto padding = bytes.subspan(natural, header.header_size - natural);
  if (std::any_of(padding.begin(), padding.end(), [](std::byte b) { return b != std::byte{0}; })) {
    return std::nullopt;
  }
  std::memcpy(header.hash.data(), bytes.data() + 16, 32);
  header.length = get<std::uint64_t>(bytes, 48);
  header.data_crc = get<std::uint32_t>(bytes, 56);
  header.etag.assign(reinterpret_cast<const char*>(bytes.data()) + fixed_size, etag_length);
  return header;
}

key_hash hash_key(const std::string& text) {
  key_hash out{};
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), out.data(), &length, EVP_sha256(), nullptr);
  return out;
}

std::string to_hex(const key_hash& hash) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (unsigned char c : hash) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

}  // namespace dataport::cache_detail
