// `dataport cat`: writes a file (or a byte range of it) to standard output. The version is pinned
// at the start (ETag), so a file overwritten while it is read fails instead of mixing versions.
// Two ranges are read concurrently while the previous one is written.
#include <vector>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <fmt/format.h>

#include "app.hpp"
#include "dataport/error.hpp"
#include "dataport/object_store.hpp"
#include "output.hpp"

namespace dataport::cli {
namespace {

using namespace boost::asio::experimental::awaitable_operators;

struct cat_flags {
  std::string uri;
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> length;
};

constexpr std::size_t cat_chunk = 4u << 20;

boost::asio::awaitable<std::uint64_t> cat_file(object_store& store, const location& where,
                                               const cat_flags& flags) {
  const std::string path = store_path(where);
  const object_info info = co_await store.stat(path);
  if (info.is_directory) {
    throw_error(
        errc::invalid_argument,
        fmt::format("'{}' is a folder: use `dataport ls` to list it, or name a file", where.path));
  }
  if (flags.offset > info.size) {
    throw_error(
        errc::invalid_argument,
        fmt::format("--offset {} is past the end of the file ({} bytes)", flags.offset, info.size));
  }
  std::uint64_t end = info.size;
  if (flags.length) end = std::min<std::uint64_t>(end, flags.offset + *flags.length);
  const bool ranged = store.capabilities().ranged_reads;
  std::vector<std::byte> first(cat_chunk), second(cat_chunk);
  std::uint64_t position = flags.offset;
  while (position < end) {
    const auto want_first =
        static_cast<std::size_t>(std::min<std::uint64_t>(cat_chunk, end - position));
    const std::uint64_t second_at = position + want_first;
    const auto want_second =
        ranged ? static_cast<std::size_t>(std::min<std::uint64_t>(cat_chunk, end - second_at)) : 0;
    read_result a, b;
    if (want_second > 0) {
      std::tie(a, b) = co_await (
          store.read_range(path, position, std::span(first).first(want_first), info.etag) &&
          store.read_range(path, second_at, std::span(second).first(want_second), info.etag));
    } else {
      a = co_await store.read_range(path, position, std::span(first).first(want_first), info.etag);
    }
    if (a.bytes == 0) break;  // the object shrank: If-Match would normally have caught it
    write_stdout(first.data(), a.bytes);
    position += a.bytes;
    if (want_second > 0 && a.bytes == want_first) {
      write_stdout(second.data(), b.bytes);
      position += b.bytes;
      if (b.bytes < want_second) break;
    }
  }
  co_return position - flags.offset;
}

}  // namespace

void add_cat_command(CLI::App& app, app_state& state, std::optional<int>& result) {
  auto* cmd = app.add_subcommand("cat", "Write a file, or a byte range of it, to standard output");
  auto flags = std::make_shared<cat_flags>();
  cmd->add_option("URI", flags->uri, "file URI")->required();
  cmd->add_option("--offset", flags->offset, "first byte to write (default 0)");
  cmd->add_option("--length", flags->length, "number of bytes to write (default: to the end)");
  cmd->footer(uri_help);
  cmd->callback([&state, &result, flags] {
    auto& ctx = state.ctx();
    const location where = ctx.resolve(flags->uri);
    auto store = ctx.open_store(where);
    ctx.run(cat_file(*store, where, *flags));
    result = 0;
  });
}

}  // namespace dataport::cli
