// MD5 as the Blob service uses it (base64 of the 16-byte digest), for Content-MD5 checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace dataport::transfer_detail {

std::string md5_base64(std::span<const std::byte> data);
/// MD5 of the first `size` bytes of an open file (read with pread); throws errc::io.
std::string md5_base64_of_fd(int fd, std::uint64_t size);

}  // namespace dataport::transfer_detail

namespace dataport::transfer_detail {

/// Incremental MD5 (for files read piece by piece).
class md5_stream {
 public:
  md5_stream();
  ~md5_stream();
  md5_stream(const md5_stream&) = delete;
  md5_stream& operator=(const md5_stream&) = delete;
  void update(std::span<const std::byte> data);
  std::string finish_base64();

 private:
  void* ctx_;
};

}  // namespace dataport::transfer_detail
