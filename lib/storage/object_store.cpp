// Default implementations of object_store's optional operations.
#include "dataport/object_store.hpp"

#include "dataport/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace dataport {

boost::asio::awaitable<bool> has_entries(object_store& store, std::string prefix) {
  const bool root = prefix.empty();
  list_options probe;
  probe.prefix = std::move(prefix);
  probe.page_size = 1;
  probe.recursive = store.capabilities().paged_flat_listing;
  auto pager = store.list(std::move(probe));
  try {
    while (auto page = co_await pager->next_page()) {
      if (!page->empty()) co_return true;
    }
  } catch (const error& e) {
    // Below the root, a folder the server does not know has no entries: a web server answers
    // its listing with 404 where a blob service lists an empty prefix (the mount's check of
    // whether a file "x" is also a folder "x/" made every file opened by name vanish).
    if (root || e.code() != errc::not_found) throw;
  }
  co_return false;
}

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

boost::asio::awaitable<read_result> object_store::read_range_into(std::string path,
                                                                  std::uint64_t offset,
                                                                  std::uint64_t length,
                                                                  byte_room room, byte_sink sink,
                                                                  std::string if_match) {
  // Through read_range_to and a scratch buffer (the backend's own request pattern), each piece
  // copied into the caller's rooms.
  const auto scratch_size =
      static_cast<std::size_t>(std::clamp<std::uint64_t>(length, 1, 256 << 10));
  const auto scratch = std::make_unique_for_overwrite<std::byte[]>(scratch_size);
  auto into_rooms = [&](std::span<const std::byte> piece) {
    while (!piece.empty()) {
      const std::span<std::byte> into = room();
      if (into.empty()) throw_error(errc::internal, "read_range_into: the room is empty");
      const std::size_t n = std::min(into.size(), piece.size());
      std::memcpy(into.data(), piece.data(), n);
      sink(into.first(n));
      piece = piece.subspan(n);
    }
  };
  co_return co_await read_range_to(std::move(path), offset, length,
                                   std::span<std::byte>(scratch.get(), scratch_size), into_rooms,
                                   std::move(if_match));
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

std::optional<std::string> object_store::copy_source_url(const std::string&) const {
  return std::nullopt;
}

boost::asio::awaitable<void> object_store::put_from_url(std::string path, std::string, std::string,
                                                        put_options) {
  throw_error(errc::unsupported, fmt::format("cannot copy into '{}' from a URL: {} has no "
                                             "server-side copy",
                                             path, describe()));
}

boost::asio::awaitable<bool> object_store::copy_within_account(std::string, std::string,
                                                               std::string, put_options) {
  co_return false;
}

boost::asio::awaitable<void> object_store::stage_block_from_url(std::string path, std::string,
                                                                std::string, std::uint64_t,
                                                                std::uint64_t, std::string) {
  throw_error(errc::unsupported, fmt::format("cannot copy into '{}' from a URL: {} has no "
                                             "server-side copy",
                                             path, describe()));
}

}  // namespace dataport
