// readable_file's public entry points: thin checks (whole-file mode, the calling thread) in front
// of the shared state in readable_file::core (lib/io/readable_file.cpp).
#include "io/detail/readable_file_core.hpp"

#include <boost/asio/use_future.hpp>

#include "dataport/context.hpp"
#include "dataport/error.hpp"
#include "dataport/location.hpp"

namespace dataport {

namespace asio = boost::asio;

readable_file::readable_file(std::shared_ptr<core> state) : core_(std::move(state)) {}

readable_file::~readable_file() {
  core_->close();
}

asio::awaitable<std::size_t> readable_file::read_at(std::uint64_t offset,
                                                    std::span<std::byte> into) {
  co_return co_await core_->read(offset, into);
}

std::size_t readable_file::read_at_blocking(std::uint64_t offset, std::span<std::byte> into) {
  if (core_->whole) {  // a local pread: no hop through the I/O threads
    const std::size_t n = core_->whole->read_at(offset, into);
    core_->svc.counters->add(counter::reader_bytes_returned, n);
    return n;
  }
  if (core_->svc.io.get_executor().running_in_this_thread()) {
    throw_error(errc::internal,
                "read_at_blocking() was called from an I/O thread; co_await read_at()");
  }
  return core_->read_blocking(offset, into);
}

std::vector<block_view> readable_file::view_blocking(std::uint64_t offset, std::size_t length) {
  if (core_->whole) {
    throw_error(errc::internal,
                "view_blocking() is not available in whole-file mode; use "
                "read_at_blocking()");
  }
  if (core_->svc.io.get_executor().running_in_this_thread()) {
    throw_error(errc::internal,
                "view_blocking() was called from an I/O thread; co_await read_at()");
  }
  std::size_t total = 0;
  const auto needed = core_->prepare(offset, length, total);
  if (total == 0) return {};
  core_->wait_blocking(needed);
  return core_->views(offset, total, needed);
}

std::uint64_t readable_file::size() const noexcept {
  return core_->info.size;
}
const std::string& readable_file::etag() const noexcept {
  return core_->info.etag;
}
const object_info& readable_file::info() const noexcept {
  return core_->info;
}
bool readable_file::is_whole_file() const noexcept {
  return core_->whole != nullptr;
}
void readable_file::close() {
  core_->close();
}

std::shared_ptr<readable_file> readable_file::open_blocking(
    std::shared_ptr<reader_services> services, std::shared_ptr<object_store> store,
    std::string path, std::optional<object_info> known) {
  auto& io = services->io();
  if (io.get_executor().running_in_this_thread()) {
    throw_error(errc::internal, "open_blocking() was called from an I/O thread; co_await open()");
  }
  // Known attributes in block mode: open() would do no I/O, so the file is made here rather than
  // through a coroutine on an I/O thread and a future (two thread hand-offs per open: a mount
  // opening thousands of small files spent them on every one).
  if (known && !known->is_directory && !services->state().whole_file_mode()) {
    auto state = std::make_shared<core>(std::move(services), std::move(store), std::move(path),
                                        std::move(*known));
    return std::make_shared<readable_file>(std::move(state));
  }
  return asio::co_spawn(
             io, open(std::move(services), std::move(store), std::move(path), std::move(known)),
             asio::use_future)
      .get();
}

std::shared_ptr<readable_file> readable_file::open_blocking(
    context& ctx, std::shared_ptr<reader_services> services, const location& where) {
  return open_blocking(std::move(services), ctx.open_store(where), store_path(where));
}

}  // namespace dataport
