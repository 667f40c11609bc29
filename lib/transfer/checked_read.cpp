// Checked reads (see detail/checked_read.hpp): the --verify-md5 loop and whole-object MD5s.
#include "transfer/detail/checked_read.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "dataport/error.hpp"
#include "dataport/log.hpp"
#include "transfer/detail/md5.hpp"

namespace dataport::transfer_detail {

boost::asio::awaitable<read_result> read_checked(
    object_store& source, const checked_range& range, std::span<std::byte> scratch,
    const std::function<void(std::uint64_t position, std::span<const std::byte>)>& deliver,
    const std::function<void(std::uint64_t bytes)>& retract, unsigned retry_budget,
    metrics& counters) {
  read_result total;
  total.etag = range.etag;
  while (total.bytes < range.length) {
    const std::uint64_t start = range.offset + total.bytes;
    const std::uint64_t want =
        std::min<std::uint64_t>(object_store::max_checked_range, range.length - total.bytes);
    for (unsigned attempt = 0;; ++attempt) {
      md5_stream md5;
      std::uint64_t position = start;
      object_store::byte_sink sink = [&](std::span<const std::byte> piece) {
        md5.update(piece);
        deliver(position, piece);
        position += piece.size();
      };
      const read_result r = co_await source.read_range_to_checked(range.path, start, want, scratch,
                                                                  std::move(sink), range.etag);
      const std::string actual = md5.finish_base64();
      if (r.range_md5.empty() || r.range_md5 == actual) {
        total.bytes += r.bytes;
        total.etag = r.etag;
        if (r.bytes < want) co_return total;  // end of the object: the caller reports it
        break;
      }
      counters.add(counter::checksum_mismatches);
      retract(r.bytes);
      const std::string where =
          fmt::format("bytes {}-{} of '{}'", start, start + want - 1, range.display);
      if (attempt >= retry_budget) {
        throw_error(errc::protocol,
                    fmt::format("{} arrived corrupted {} times in a row (MD5 {} but the server "
                                "says {}); check the network path (proxies, NICs) to the "
                                "storage account",
                                where, attempt + 1, actual, r.range_md5));
      }
      counters.add(counter::retries);
      log::warn("transfer",
                "{} do not match the server's MD5 ({} but the server says {}): reading them "
                "again (retry {} of {})",
                where, actual, r.range_md5, attempt + 1, retry_budget);
    }
  }
  co_return total;
}

boost::asio::awaitable<std::string> object_md5(object_store& source, const std::string& path,
                                               const object_info& info) {
  std::vector<std::byte> buffer(
      static_cast<std::size_t>(std::min<std::uint64_t>(info.size, 4u << 20)));
  md5_stream md5;
  for (std::uint64_t offset = 0; offset < info.size;) {
    const auto want =
        static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), info.size - offset));
    auto r = co_await source.read_range(path, offset, std::span(buffer).first(want), info.etag);
    if (r.bytes == 0) break;
    md5.update(std::span(buffer).first(r.bytes));
    offset += r.bytes;
  }
  co_return md5.finish_base64();
}

}  // namespace dataport::transfer_detail
