#include "transfer/detail/md5.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "dataport/error.hpp"
#include "storage/detail/wire.hpp"

namespace dataport::transfer_detail {
namespace {

struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};

std::string to_base64(const unsigned char* digest, unsigned length) {
  return storage_detail::base64_encode(std::as_bytes(std::span(digest, length)));
}

}  // namespace

std::string md5_base64(std::span<const std::byte> data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_md5(), nullptr);
  return to_base64(digest, length);
}

std::string md5_base64_of_fd(int fd, std::uint64_t size) {
  std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> ctx(EVP_MD_CTX_new());
  EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr);
  std::vector<unsigned char> buffer(1u << 20);
  std::uint64_t offset = 0;
  while (offset < size) {
    const ssize_t n = ::pread(fd, buffer.data(), buffer.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw_error(errc::io,
                  fmt::format("cannot read back the file for its MD5 check: {}",
                              n == 0 ? "file shorter than expected" : std::strerror(errno)));
    }
    EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned length = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &length);
  return to_base64(digest, length);
}

}  // namespace dataport::transfer_detail

namespace dataport::transfer_detail {

md5_stream::md5_stream() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_md5(), nullptr);
}
md5_stream::~md5_stream() {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
}
void md5_stream::update(std::span<const std::byte> data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
}
std::string md5_stream::finish_base64() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned length = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), digest, &length);
  return to_base64(digest, length);
}

}  // namespace dataport::transfer_detail
