// Object-store destination: a blob appears whole or not at all.
//
// A one-chunk file is a single Put Blob; a larger one is staged block by block (fixed-length
// block ids carrying a per-attempt nonce, each block with its Content-MD5) and committed with
// one Put Block List that also sets the blob's Content-MD5: chunks arrive concurrently and out of
// order, so each one waits its turn to feed the whole-file MD5 before it is staged (the earliest
// unhashed chunk is always held by a running worker, so the wait is short and cannot deadlock; a
// chunk that fails releases the waiters through give_up()). --if-exists fail costs no extra
// request: the write itself carries If-None-Match: * (put_options::overwrite = false).
// skip-identical asks for the blob's properties first.
#include <mutex>
#include <random>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "dataport/error.hpp"
#include "dataport/local_path.hpp"
#include "transfer/detail/destination.hpp"
#include "transfer/detail/md5.hpp"
#include "transfer/detail/md5_lanes.hpp"

namespace dataport::transfer_detail {
namespace {

std::string join_path(const std::string& prefix, const std::string& relative) {
  if (prefix.empty()) return relative;
  if (prefix.back() == '/') return prefix + relative;
  return prefix + "/" + relative;
}

std::uint32_t random_nonce() {
  thread_local std::mt19937 engine{std::random_device{}()};
  return static_cast<std::uint32_t>(engine());
}

/// Runs `put`, a whole-blob write made with If-None-Match: * unless `overwrite`. A retried write
/// whose first answer was lost finds "its own" blob: that is success, recognised by the Content-MD5
/// and size it was written with (without an MD5 it cannot be told apart: already exists).
template <class Put>
boost::asio::awaitable<void> put_once(object_store& store, const std::string& path, bool overwrite,
                                      const std::string& md5, std::uint64_t size, Put put) {
  bool exists = false;
  try {
    co_await put();
  } catch (const dataport::error& e) {
    if (e.code() != errc::already_exists || overwrite) throw;
    exists = true;
  }
  if (!exists) co_return;
  const object_info existing = co_await store.stat(path);
  if (!md5.empty() && existing.content_md5 == md5 && existing.size == size) co_return;
  throw_error(errc::already_exists,
              fmt::format("'{}' already exists at the destination: use --if-exists overwrite or "
                          "skip-identical",
                          path));
}

class store_writer final : public file_writer {
 public:
  store_writer(std::shared_ptr<object_store> store, std::string path, file_plan plan,
               destination_settings settings)
      : store_(std::move(store)),
        path_(std::move(path)),
        plan_(std::move(plan)),
        settings_(settings),
        nonce_(random_nonce()) {}

  boost::asio::awaitable<void> write(std::uint32_t index, std::uint64_t,
                                     std::span<const std::byte> data) override {
    if (plan_.chunk_count == 1) {
      put_options options;
      options.overwrite = settings_.if_exists != if_exists_policy::fail;
      options.content_md5 = md5_base64(data);
      co_await put_once(*store_, path_, options.overwrite, options.content_md5, data.size(),
                        [&] { return store_->put(path_, data, options); });
      co_return;
    }
    const std::string block_md5 = co_await hash_in_order(index, data);
    co_await store_->stage_block(path_, block_id(index), data, block_md5);
  }

  boost::asio::awaitable<void> copy_from(std::uint32_t index, std::uint64_t offset,
                                         std::uint64_t length, std::string source_url,
                                         std::string source_etag) override {
    if (plan_.copy_whole) {
      put_options options;
      options.overwrite = false;  // only used where nothing can be lost (the engine checks)
      if (!co_await store_->copy_within_account(path_, std::move(source_url),
                                                std::move(source_etag), options)) {
        throw_error(errc::unsupported,
                    "the service would have copied it in the background (aborted, nothing left)");
      }
      co_return;
    }
    if (plan_.chunk_count == 1) {
      put_options options;
      options.overwrite = settings_.if_exists != if_exists_policy::fail;
      // The service copies the source's Content-MD5: that recognises a retried copy's own blob.
      co_await put_once(
          *store_, path_, options.overwrite, plan_.source.content_md5, plan_.source.size,
          [&] { return store_->put_from_url(path_, source_url, source_etag, options); });
      co_return;
    }
    co_await store_->stage_block_from_url(path_, block_id(index), std::move(source_url), offset,
                                          length, std::move(source_etag));
  }

  void give_up() noexcept override {
    std::lock_guard lock(turn_mutex_);
    gave_up_ = true;
    wake_waiters();
  }

  boost::asio::awaitable<void> commit() override {
    if (plan_.chunk_count == 1) co_return;  // the Put Blob was the commit
    std::vector<std::string> ids;
    ids.reserve(plan_.chunk_count);
    for (std::uint32_t i = 0; i < plan_.chunk_count; ++i) ids.push_back(block_id(i));
    put_options options;
    options.overwrite = settings_.if_exists != if_exists_policy::fail;
    options.content_md5 = plan_.source.content_md5;
    if (options.content_md5.empty()) {
      std::lock_guard lock(turn_mutex_);
      if (!gave_up_ && next_to_hash_ == plan_.chunk_count)
        options.content_md5 = whole_.finish_base64();
    }
    co_await store_->commit_blocks(path_, std::move(ids), options);
  }

  void abort() noexcept override {
    // Staged blocks that are never committed are discarded by the service (after a week on
    // Azure); the blob itself was never touched.
  }

 private:
  /// Waits until every chunk before `index` fed the whole-file MD5, then computes the block's
  /// base64 MD5 and feeds the whole-file MD5 in one pass over the bytes (md5_update_both: the two
  /// digests cost about what one costs; two separate passes were most of an upload's CPU). The
  /// pass is serial per file, so one file's upload is capped at one core's MD5 rate (~700 MB/s
  /// here). After give_up() it stops waiting.
  boost::asio::awaitable<std::string> hash_in_order(std::uint32_t index,
                                                    std::span<const std::byte> data) {
    auto executor = co_await boost::asio::this_coro::executor;
    for (;;) {
      auto wake = std::make_shared<wake_channel>(executor, 1);
      {
        std::lock_guard lock(turn_mutex_);
        if (gave_up_) co_return md5_base64(data);
        if (next_to_hash_ == index) break;
        waiters_.push_back(wake);
      }
      // A wake-up sent before this wait starts is kept by the channel: none is lost.
      co_await wake->async_receive(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
    md5_state block;
    md5_update_both(whole_, block, data);  // only this chunk is here until next_to_hash_ moves
    std::lock_guard lock(turn_mutex_);
    ++next_to_hash_;
    wake_waiters();
    co_return block.finish_base64();
  }

  using wake_channel =
      boost::asio::experimental::concurrent_channel<void(boost::system::error_code)>;

  /// Wakes every chunk waiting for its turn (they check again). Called with turn_mutex_ held.
  void wake_waiters() {
    for (auto& waiter : waiters_) waiter->try_send(boost::system::error_code{});
    waiters_.clear();
  }

  std::string block_id(std::uint32_t index) const {
    return fmt::format("dataport-{:08x}-{:08}", nonce_, index);
  }

  std::shared_ptr<object_store> store_;
  std::string path_;
  file_plan plan_;
  destination_settings settings_;
  std::uint32_t nonce_;
  std::mutex turn_mutex_;                               // guards the four members below
  std::vector<std::shared_ptr<wake_channel>> waiters_;  // chunks waiting for their turn
  std::uint32_t next_to_hash_ = 0;
  bool gave_up_ = false;
  md5_state whole_;  // the chunks hashed so far, in order
};

/// An empty file is one Put Blob with no body.
class empty_writer final : public file_writer {
 public:
  empty_writer(std::shared_ptr<object_store> store, std::string path, destination_settings settings)
      : store_(std::move(store)), path_(std::move(path)), settings_(settings) {}
  boost::asio::awaitable<void> write(std::uint32_t, std::uint64_t,
                                     std::span<const std::byte>) override {
    co_return;
  }
  boost::asio::awaitable<void> commit() override {
    put_options options;
    options.overwrite = settings_.if_exists != if_exists_policy::fail;
    options.content_md5 = md5_base64(std::span<const std::byte>());
    co_await put_once(*store_, path_, options.overwrite, options.content_md5, 0,
                      [&] { return store_->put(path_, {}, options); });
  }
  void abort() noexcept override {}

 private:
  std::shared_ptr<object_store> store_;
  std::string path_;
  destination_settings settings_;
};

class store_destination final : public destination {
 public:
  store_destination(std::shared_ptr<object_store> store, std::string prefix,
                    destination_settings settings)
      : store_(std::move(store)), prefix_(std::move(prefix)), settings_(settings) {}

  boost::asio::awaitable<open_result> open(const file_plan& plan) override {
    // Remote names are validated like local ones: "." and ".." segments, control characters and
    // empty segments make blobs that most tools (and the emulator) cannot handle.
    const auto mapped = map_remote_name(plan.relative);
    if (const auto* rejected = std::get_if<rejected_name>(&mapped)) {
      co_return open_result{nullptr, fmt::format("not written: {}", rejected->reason),
                            errc::invalid_argument};
    }
    const std::string path = join_path(prefix_, plan.relative);
    if (settings_.if_exists == if_exists_policy::skip_identical) {
      std::optional<object_info> existing;
      try {
        existing = co_await store_->stat(path);
      } catch (const dataport::error& e) {
        if (e.code() != errc::not_found) throw;
      }
      if (existing && !existing->is_directory) {
        const bool same_md5 = !existing->content_md5.empty() && !plan.source.content_md5.empty() &&
                              existing->content_md5 == plan.source.content_md5;
        if (existing->size == plan.source.size && same_md5) {
          co_return open_result{nullptr, "identical blob already at the destination"};
        }
        throw_error(errc::already_exists,
                    fmt::format("'{}' exists and differs from the source (or has no Content-MD5 "
                                "to compare): use --if-exists overwrite to replace it",
                                path));
      }
    }
    if (plan.chunk_count == 0) {
      co_return open_result{std::make_unique<empty_writer>(store_, path, settings_), std::nullopt};
    }
    co_return open_result{std::make_unique<store_writer>(store_, path, plan, settings_),
                          std::nullopt};
  }

  bool copies_from_url() const noexcept override { return store_->capabilities().copies_from_url; }

  std::string describe() const override { return store_->describe() + "/" + prefix_; }

 private:
  std::shared_ptr<object_store> store_;
  std::string prefix_;
  destination_settings settings_;
};

}  // namespace

void file_writer::write_piece(std::uint64_t, std::span<const std::byte>) {
  throw_error(errc::internal, "this destination does not take pieces");
}

void file_writer::write_direct(std::uint64_t, std::span<const std::byte>) {
  throw_error(errc::internal, "this destination has no direct writes");
}

boost::asio::awaitable<void> file_writer::copy_from(std::uint32_t, std::uint64_t, std::uint64_t,
                                                    std::string, std::string) {
  throw_error(errc::unsupported, "this destination cannot copy from a URL");
}

std::unique_ptr<destination> make_store_destination(std::shared_ptr<object_store> store,
                                                    std::string prefix,
                                                    destination_settings settings) {
  return std::make_unique<store_destination>(std::move(store), std::move(prefix), settings);
}

}  // namespace dataport::transfer_detail
