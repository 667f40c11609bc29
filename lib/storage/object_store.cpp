// Default implementations of object_store's optional operations.
#include "dataport/object_store.hpp"

#include "dataport/error.hpp"

#include <fmt/format.h>

namespace dataport {

boost::asio::awaitable<read_result> object_store::read_range_to(
    std::string path, std::uint64_t offset, std::uint64_t length, std::span<std::byte> scratch,
    byte_sink sink, std::string if_match) {
  if (scratch.empty()) throw_error(errc::internal, "read_range_to needs a scratch buffer");
  read_result total;
  total.etag = if_match;
  while (total.bytes < length) {
    const auto want =
        static_cast<std::size_t>(std::min<std::uint64_t>(scratch.size(), length - total.bytes));
    const read_result piece =
        co_await read_range(path, offset + total.bytes, scratch.first(want), if_match);
    if (piece.bytes > 0) sink(scratch.first(piece.bytes));
    total.bytes += piece.bytes;
    total.etag = piece.etag;
    total.object_size = piece.object_size;
    if (piece.bytes < want) break;  // end of the object
  }
  co_return total;
}

boost::asio::awaitable<read_result> object_store::read_range_to_checked(
    std::string path, std::uint64_t offset, std::uint64_t length, std::span<std::byte> scratch,
    byte_sink sink, std::string if_match) {
  read_result result = co_await read_range_to(std::move(path), offset, length, scratch,
                                              std::move(sink), std::move(if_match));
  result.range_md5.clear();
  co_return result;
}

boost::asio::awaitable<object_info> object_store::append_blocks(std::string path,
                                                                std::vector<std::string>,
                                                                std::uint64_t,
                                                                std::vector<std::string>,
                                                                put_options) {
  throw_error(errc::unsupported,
              fmt::format("cannot append blocks to '{}': {} does not support growing an object "
                          "(use a blob, ADLS Gen2 or local destination)",
                          path, describe()));
}

}  // namespace dataport
