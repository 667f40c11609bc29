// The transfer engine (see include/dataport/transfer.hpp for the contract).
//
// Shape: one producer coroutine lists the source lazily and turns each file into a job of
// chunks; a bounded channel carries chunk tasks to `threads` worker coroutines; each worker owns
// one buffer, reads its chunk from the source (If-Match: the listed ETag) and hands it to the
// file's writer; the worker that finishes a job's last chunk commits or aborts it. So:
//  - memory is bounded by workers × chunk size, whatever the file sizes;
//  - transfers start with the first listing page, and the channel's capacity keeps the listing
//    only a little ahead of the transfers;
//  - a failed chunk fails only its file (the others go on) unless fail_fast is set.
// Blob → blob copies whose source can grant the destination service read access are
// server-side (plan.server_side): a chunk is then one Copy Blob From URL (files up to 256 MiB),
// one Copy Blob (larger files inside one account, --if-exists fail) or Put Block From URL (64 MiB+
// blocks); no buffer is used, and a refusal turns the rest of the transfer into streaming (the
// refused file starts over, streamed).
// Everything runs on the context's I/O threads; the progress callback is driven by a timer.
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "dataport/context.hpp"
#include "dataport/log.hpp"
#include "dataport/metrics.hpp"
#include "dataport/redact.hpp"
#include "dataport/transfer.hpp"
#include "transfer/detail/checked_read.hpp"
#include "transfer/detail/destination.hpp"
#include "transfer/detail/direct_read.hpp"
#include "transfer/detail/md5.hpp"
#include "transfer/detail/plan.hpp"

namespace dataport::transfer_detail {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;

struct file_job {
  file_plan plan;
  std::string source_path;
  std::unique_ptr<file_writer> writer;
  std::atomic<std::uint32_t> remaining{0};
  std::atomic<bool> failed{false};
  std::mutex failure_mutex;
  std::string failure;
  errc failure_code = errc::ok;
  bool restarted = false;
  bool server_side = false;  // chunks are copied by the destination service (copy_from)
  bool fall_back = false;    // a server-side chunk was refused: start the file over, streamed

  void fail(errc code, const std::string& reason) {
    {
      std::lock_guard lock(failure_mutex);
      if (failed.exchange(true)) return;
      failure_code = code;
      failure = reason;
    }
    if (writer) writer->give_up();
  }
};

struct chunk_task {
  std::shared_ptr<file_job> job;
  std::uint32_t index = 0;
};

using chunk_channel =
    asio::experimental::concurrent_channel<void(boost::system::error_code, chunk_task)>;
/// Slice that streamed chunks pass through: small enough to stay in a core's L2 cache, large
/// enough that each read and pwrite moves plenty of bytes.
constexpr std::size_t stream_slice = 512 * 1024;
/// Alignment of every worker buffer: what O_DIRECT writes need (file_writer::direct_alignment).
constexpr std::align_val_t buffer_alignment{4096};

using done_channel = asio::experimental::concurrent_channel<void(boost::system::error_code)>;

std::uint64_t chunk_length(const file_plan& plan, std::uint32_t index) {
  const std::uint64_t offset = std::uint64_t{index} * plan.chunk_size;
  return std::min(plan.chunk_size, plan.source.size - offset);
}

class engine {
 public:
  engine(context& ctx, copy_plan plan, const transfer_options& options)
      : ctx_(ctx), plan_(std::move(plan)), options_(options) {
    const auto& config = ctx.config();
    workers_ = options.threads ? options.threads : config.effective_downloader_threads();
    chunk_size_ = options.chunk_size ? options.chunk_size : config.chunk_size;
    const std::uint64_t budget =
        options.inflight_bytes ? options.inflight_bytes : config.inflight_bytes;
    // Bound memory: every worker holds at most one chunk.
    chunk_size_ = std::max<std::uint64_t>(
        256 * 1024, std::min<std::uint64_t>(chunk_size_, budget / std::max(1u, workers_)));
    // A destination that takes pieces streams every chunk through a small buffer, so the chunk
    // size costs no memory there: unless the caller chose one, each file gets its own
    // (adaptive_chunk_size: DATAPORT_SPLIT_THRESHOLD, then as few ranges as keep the workers busy).
    if (options.chunk_size == 0 && plan_.target->takes_pieces()) {
      adaptive_ = true;
      min_chunk_ = std::max<std::uint64_t>(config.chunk_size, 256 * 1024);
      split_threshold_ = config.split_threshold;
    }
    server_side_ = plan_.server_side;
    server_side_single_max_ =
        std::min<std::uint64_t>(options.server_side_single_max, object_store::max_put_from_url);
    server_side_block_ =
        options.server_side_block
            ? options.server_side_block
            : std::max<std::uint64_t>(options.chunk_size ? options.chunk_size : config.chunk_size,
                                      64ull << 20);
  }

  awaitable<void> run() {
    auto executor = co_await asio::this_coro::executor;
    chunk_channel channel(executor, workers_ * 2);
    // Completion: every spawned coroutine counts down; the last one posts to `done` (a channel,
    // so the signal is kept even if it comes before run() starts waiting).
    done_channel done(executor, 1);
    active_ = workers_ + 2;  // workers, the producer, the progress reporter
    auto finished_one = [this, &done](std::exception_ptr error) {
      if (error) end_with(std::move(error));
      if (--active_ == 0) done.try_send(boost::system::error_code{});
    };
    for (unsigned i = 0; i < workers_; ++i) {
      asio::co_spawn(executor, worker(channel), finished_one);
    }
    asio::co_spawn(executor, produce_then_stop_workers(channel), finished_one);
    asio::co_spawn(executor, report_progress(), finished_one);
    co_await done.async_receive(asio::as_tuple(use_awaitable));
    report_now();
    if (fatal_) std::rethrow_exception(fatal_);
  }

  transfer_summary take_summary() {
    summary_.files_done = done_;
    summary_.files_failed = failed_count_;
    summary_.files_skipped = skipped_count_;
    summary_.files_copied_by_service = copied_by_service_;
    summary_.bytes = bytes_done_;
    // Only a cancellation asked for by the caller; --fail-fast and fatal errors stop the
    // transfer too, but they are reported as failures.
    summary_.cancelled = options_.cancel && options_.cancel->cancelled();
    return std::move(summary_);
  }

  std::uint64_t chunk_size() const { return chunk_size_; }
  /// The chunk setting in effect, for the log line.
  std::string chunk_description() const {
    if (server_side_) {
      return fmt::format("server-side copy (one request up to {} bytes, else blocks of {} bytes)",
                         server_side_single_max_, server_side_block_);
    }
    if (!adaptive_) return fmt::format("{} bytes", chunk_size_);
    return fmt::format("adaptive (files over {} bytes split into ranges of at least {} bytes)",
                       split_threshold_, min_chunk_);
  }
  unsigned workers() const { return workers_; }

 private:
  bool cancelled() const {
    return stop_.load() || (options_.cancel && options_.cancel->cancelled());
  }

  /// Lists and enqueues, then sends one stop task per worker. (Closing the channel instead would
  /// drop tasks still buffered in it.)
  awaitable<void> produce_then_stop_workers(chunk_channel& channel) {
    std::exception_ptr error;
    try {
      co_await produce(channel);
    } catch (...) {
      error = std::current_exception();
    }
    listing_done_ = true;
    for (unsigned i = 0; i < workers_; ++i) {
      chunk_task stop;
      co_await channel.async_send(boost::system::error_code{}, std::move(stop), use_awaitable);
    }
    if (error) std::rethrow_exception(error);
  }

  awaitable<void> produce(chunk_channel& channel) {
    if (plan_.single_file) {
      co_await enqueue(channel, *plan_.single_file, plan_.single_relative);
      co_return;
    }
    auto pager = plan_.source->list({.prefix = plan_.source_root, .recursive = true});
    while (!cancelled()) {
      auto page = co_await pager->next_page();
      if (!page) break;
      // Files of this page not enqueued yet: what adaptive chunking knows is waiting.
      std::uint64_t pending = 0;
      for (const auto& entry : *page) pending += entry.is_directory ? 0 : 1;
      for (const auto& entry : *page) {
        if (entry.is_directory) continue;
        if (cancelled()) break;
        co_await enqueue(channel, entry, relative_to_root(plan_.source_root, entry.path),
                         pending--);
      }
    }
    listing_done_ = true;
  }

  /// `pending`: files known to be waiting, this one included (adaptive chunking).
  awaitable<void> enqueue(chunk_channel& channel, const object_info& info, std::string relative,
                          std::uint64_t pending = 1) {
    ++files_known_;
    bytes_known_ += info.size;
    auto job = std::make_shared<file_job>();
    job->source_path = info.path;
    job->server_side = server_side_;
    std::uint64_t chunk =
        adaptive_ ? adaptive_chunk_size(info.size, pending, workers_, min_chunk_, split_threshold_)
                  : chunk_size_;
    bool copy_whole = false;
    if (job->server_side) {
      copy_whole = info.size > server_side_single_max_ && plan_.server_side_within_account;
      chunk = info.size <= server_side_single_max_ || copy_whole
                  ? std::max<std::uint64_t>(info.size, 1)
                  : server_side_block_;
    }
    job->plan = make_file_plan(std::move(relative), info, chunk);
    job->plan.copy_whole = copy_whole;
    const bool opened = co_await open_job(*job);
    if (!opened) co_return;
    if (job->plan.chunk_count == 0) {
      co_await finish(*job);
      co_return;
    }
    job->remaining = job->plan.chunk_count;
    for (std::uint32_t i = 0; i < job->plan.chunk_count; ++i) {
      // A named task: GCC 12 may destroy a temporary argument of a co_await'ed asio operation
      // before the operation has taken its copy.
      chunk_task task{job, i};
      co_await channel.async_send(boost::system::error_code{}, std::move(task), use_awaitable);
    }
  }

  /// Opens the job's writer; false when the item was skipped or failed.
  awaitable<bool> open_job(file_job& job) {
    try {
      if (plan_.needs_source_md5 && job.plan.source.content_md5.empty()) {
        job.plan.source.content_md5 =
            co_await object_md5(*plan_.source, job.source_path, job.plan.source);
      }
      auto opened = co_await plan_.target->open(job.plan);
      if (opened.skip_reason) {
        record_skip(job.plan.relative, *opened.skip_reason, opened.skip_code);
        co_return false;
      }
      job.writer = std::move(opened.writer);
      co_return true;
    } catch (const dataport::error& e) {
      record_failure(job.plan.relative, e.code(), e.what());
    }
    co_return false;
  }

  awaitable<void> worker(chunk_channel& channel) {
    chunk_buffer buffer;
    for (;;) {
      // One call per task, so every task's state lives in its own coroutine frame (GCC 12
      // mishandles some loop-scoped variables that live across co_await in a coroutine).
      std::tuple<boost::system::error_code, chunk_task> received =
          co_await channel.async_receive(asio::as_tuple(use_awaitable));
      if (std::get<0>(received) || !std::get<1>(received).job) break;  // stop task or closed
      co_await handle(std::move(std::get<1>(received)), buffer);
    }
  }

  struct aligned_delete {
    void operator()(std::byte* p) const noexcept { ::operator delete[](p, buffer_alignment); }
  };
  struct chunk_buffer {
    std::unique_ptr<std::byte[], aligned_delete> data;
    std::size_t capacity = 0;
  };

  /// The alignment of direct writes for this job's chunks, or 0 (write through the page cache):
  /// every chunk must start on an aligned offset (a file of one chunk does), and verified copies
  /// go through write_piece.
  std::size_t direct_alignment(const file_job& job) const {
    if (options_.verify_md5 || !job.writer->accepts_pieces()) return 0;
    const std::size_t alignment = job.writer->direct_alignment();
    if (alignment == 0 || alignment > static_cast<std::size_t>(buffer_alignment) ||
        (job.plan.chunk_count > 1 && job.plan.chunk_size % alignment != 0)) {
      return 0;
    }
    return alignment;
  }

  awaitable<void> handle(chunk_task task, chunk_buffer& buffer) {
    file_job& job = *task.job;
    if (cancelled()) job.fail(errc::cancelled, "cancelled");
    if (!job.failed && job.server_side) {
      co_await copy_chunk_server_side(job, task.index);
    } else if (!job.failed) {
      const auto length = static_cast<std::size_t>(chunk_length(job.plan, task.index));
      const std::size_t alignment = direct_alignment(job);
      co_await copy_chunk(job, task.index, length, room_for(job, length, alignment, buffer),
                          alignment);
    }
    if (--job.remaining == 0) co_await finish(job);
  }

  /// The part of `buffer` (grown when needed) that a chunk of `length` bytes goes through: the
  /// whole chunk; a small slice when the writer takes pieces; two aligned halves (read_direct)
  /// when it writes direct.
  std::span<std::byte> room_for(const file_job& job, std::size_t length, std::size_t alignment,
                                chunk_buffer& buffer) const {
    const std::size_t needed =
        alignment ? direct_buffer_size(length, alignment)
                  : (job.writer->accepts_pieces() ? std::min(length, stream_slice) : length);
    if (buffer.capacity < needed) {
      buffer.data.reset(static_cast<std::byte*>(::operator new[](needed, buffer_alignment)));
      buffer.capacity = needed;
    }
    return std::span(buffer.data.get(), needed);
  }

  /// Copies chunk `index` (`length` bytes). `buffer` holds the whole chunk, or, when the writer
  /// accepts pieces, is the scratch buffer the chunk streams through; with a direct `alignment`
  /// (direct_alignment), the two halves read_direct writes from.
  awaitable<void> copy_chunk(file_job& job, std::uint32_t index, std::size_t length,
                             std::span<std::byte> buffer, std::size_t alignment) {
    const std::uint64_t offset = std::uint64_t{index} * job.plan.chunk_size;
    try {
      read_result r;
      if (options_.verify_md5) {
        r = co_await copy_chunk_checked(job, offset, length, buffer);
        if (!job.writer->accepts_pieces() && r.bytes == length) {
          co_await job.writer->write(index, offset, buffer.first(length));
          bytes_done_ += length;
        }
      } else if (alignment != 0) {
        const direct_range range{job.source_path, job.plan.source.etag, offset, length};
        r = co_await read_direct(*plan_.source, range, buffer, alignment, *job.writer, disk_pool_,
                                 [this](std::size_t n) { bytes_done_ += n; });
      } else if (job.writer->accepts_pieces()) {
        std::uint64_t position = offset;
        file_writer& writer = *job.writer;
        object_store::byte_sink sink = [&writer, &position,
                                        this](std::span<const std::byte> piece) {
          writer.write_piece(position, piece);
          position += piece.size();
          bytes_done_ += piece.size();
        };
        r = co_await plan_.source->read_range_to(job.source_path, offset, length, buffer,
                                                 std::move(sink), job.plan.source.etag);
      } else {
        r = co_await plan_.source->read_range(job.source_path, offset, buffer.first(length),
                                              job.plan.source.etag);
        if (r.bytes == length) {
          co_await job.writer->write(index, offset, buffer.first(length));
          bytes_done_ += length;
        }
      }
      if (r.bytes != length) {
        throw_error(errc::changed, fmt::format("the source became shorter during the copy ({} "
                                               "bytes at offset {} instead of {})",
                                               r.bytes, offset, length));
      }
    } catch (const dataport::error& e) {
      stop_if_fatal(e);
      job.fail(e.code(), e.what());
    } catch (const std::exception& e) {
      job.fail(errc::internal, e.what());
    }
  }

  /// Has the destination service copy chunk `index` from the source's URL. A refusal (anything
  /// but "the source changed", "already exists" or cancellation) marks the file to start over,
  /// streamed, and turns server-side copy off for the rest of the transfer.
  awaitable<void> copy_chunk_server_side(file_job& job, std::uint32_t index) {
    const std::uint64_t offset = std::uint64_t{index} * job.plan.chunk_size;
    const std::uint64_t length = chunk_length(job.plan, index);
    try {
      if (!server_side_) {
        throw_error(errc::unsupported, "server-side copy was turned off by an earlier refusal");
      }
      auto url = plan_.source->copy_source_url(job.source_path);
      if (!url) throw_error(errc::unsupported, "the source cannot grant read access by URL");
      co_await job.writer->copy_from(index, offset, length, std::move(*url), job.plan.source.etag);
      bytes_done_ += length;
    } catch (const dataport::error& e) {
      const bool refused = e.code() != errc::changed && e.code() != errc::already_exists &&
                           e.code() != errc::cancelled && !cancelled();
      if (refused) {
        job.fall_back = true;
        if (server_side_.exchange(false)) {
          log::warn("transfer",
                    "server-side copy refused for '{}' ({}): streaming the files through "
                    "dataport instead",
                    job.plan.relative, e.what());
        }
      }
      job.fail(e.code(), e.what());
    } catch (const std::exception& e) {
      job.fail(errc::internal, e.what());
    }
  }

  /// --verify-md5: reads [offset, offset + length) in ranges of at most 4 MiB, each with the
  /// server's transactional MD5, hashing the bytes as they stream to the writer (pieces) or into
  /// `buffer` (whole chunks). A range whose bytes do not match is read again, up to the HTTP retry
  /// budget, then the file fails with errc::protocol. Returns the bytes read.
  awaitable<read_result> copy_chunk_checked(file_job& job, std::uint64_t offset, std::size_t length,
                                            std::span<std::byte> buffer) {
    const bool pieces = job.writer->accepts_pieces();
    std::vector<std::byte> own_scratch;
    std::span<std::byte> scratch = buffer;
    if (!pieces) {
      own_scratch.resize(std::min<std::size_t>(length, stream_slice));
      scratch = own_scratch;
    }
    file_writer& writer = *job.writer;
    auto deliver = [&](std::uint64_t position, std::span<const std::byte> piece) {
      if (pieces) {
        writer.write_piece(position, piece);
        bytes_done_ += piece.size();
      } else {
        std::memcpy(buffer.data() + (position - offset), piece.data(), piece.size());
      }
    };
    auto retract = [&](std::uint64_t bytes) {
      if (pieces) bytes_done_ -= bytes;  // the piece is read and written again
    };
    const checked_range range{job.source_path, job.plan.source.etag, job.plan.relative, offset,
                              length};
    co_return co_await read_checked(*plan_.source, range, scratch, deliver, retract,
                                    ctx_.config().http_retry_count, *ctx_.counters());
  }

  awaitable<void> finish(file_job& job) {
    if (!job.failed) {
      try {
        co_await job.writer->commit();
        ++done_;
        ctx_.counters()->add(counter::files_done);
        if (job.server_side && job.plan.chunk_count > 0) ++copied_by_service_;
        co_return;
      } catch (const dataport::error& e) {
        stop_if_fatal(e);
        job.fail(e.code(), e.what());
      }
    }
    job.writer->abort();
    if (job.fall_back && !cancelled()) {
      co_await restart(job, "server-side copy was refused; streaming it");
      co_return;
    }
    if (job.failure_code == errc::changed && options_.restart_on_change && !job.restarted) {
      co_await restart(job, "changed during the copy; starting it over");
      co_return;
    }
    if (job.failure_code == errc::cancelled) co_return;
    std::string reason = job.failure;
    if (job.failure_code == errc::changed) {
      reason = fmt::format(
          "changed during download: {} (use --restart-on-change to start it over "
          "once)",
          job.failure);
    }
    record_failure(job.plan.relative, job.failure_code, reason);
  }

  /// Copies a file again, streamed, sequentially, at the source's current version: a source that
  /// changed mid-copy (once), or a refused server-side copy (`why` says which).
  awaitable<void> restart(file_job& old_job, std::string_view why) {
    log::warn("transfer", "'{}': {}", old_job.plan.relative, why);
    auto job = std::make_shared<file_job>();
    job->restarted = old_job.restarted || !old_job.fall_back;
    job->source_path = old_job.source_path;
    try {
      const object_info now = co_await plan_.source->stat(old_job.source_path);
      job->plan = make_file_plan(old_job.plan.relative, now, chunk_size_);
    } catch (const dataport::error& e) {
      record_failure(old_job.plan.relative, e.code(), e.what());
      co_return;
    }
    const bool opened = co_await open_job(*job);
    if (!opened) co_return;
    chunk_buffer buffer;
    const std::size_t alignment = direct_alignment(*job);
    for (std::uint32_t i = 0; i < job->plan.chunk_count && !job->failed; ++i) {
      const auto length = static_cast<std::size_t>(chunk_length(job->plan, i));
      co_await copy_chunk(*job, i, length, room_for(*job, length, alignment, buffer), alignment);
    }
    co_await finish(*job);
  }

  /// Stops the transfer; run() rethrows `error` (the first one given). A missing container ends
  /// it too: every later file would fail the same way (one message, not one per file).
  void end_with(std::exception_ptr error) {
    std::lock_guard lock(summary_mutex_);
    if (!fatal_) fatal_ = std::move(error);
    stop_ = true;
  }
  void stop_if_fatal(const dataport::error& e) {
    if (e.details().service_code == "ContainerNotFound") end_with(std::make_exception_ptr(e));
  }

  void record_failure(const std::string& path, errc code, const std::string& reason) {
    ++failed_count_;
    ctx_.counters()->add(counter::files_failed);
    log::info("transfer", "failed: {}: {}", path, reason);
    {
      std::lock_guard lock(summary_mutex_);
      summary_.failed.push_back({path, reason, code});
    }
    if (options_.fail_fast) stop_ = true;
  }

  void record_skip(const std::string& path, const std::string& reason, errc code) {
    ++skipped_count_;
    ctx_.counters()->add(counter::files_skipped);
    log::info("transfer", "skipped: {}: {}", path, reason);
    std::lock_guard lock(summary_mutex_);
    summary_.skipped.push_back({path, reason, code});
  }

  /// Reports every progress_interval while work remains (it is one of the counted coroutines,
  /// so the engine outlives it).
  awaitable<void> report_progress() {
    if (!options_.on_progress) co_return;
    // Short ticks, so the engine never waits a whole interval for the reporter to notice the
    // end; the callback itself runs once per interval.
    asio::steady_timer timer(co_await asio::this_coro::executor);
    auto next_report = std::chrono::steady_clock::now() + options_.progress_interval;
    while (active_.load() > 1) {
      timer.expires_after(std::chrono::milliseconds(20));
      co_await timer.async_wait(asio::as_tuple(use_awaitable));
      if (active_.load() > 1 && std::chrono::steady_clock::now() >= next_report) {
        report_now();
        next_report += options_.progress_interval;
      }
    }
  }

  void report_now() {
    if (!options_.on_progress) return;
    transfer_progress p;
    p.files_known = files_known_;
    p.listing_done = listing_done_ || plan_.single_file.has_value();
    p.files_done = done_;
    p.files_failed = failed_count_;
    p.files_skipped = skipped_count_;
    p.bytes_known = bytes_known_;
    p.bytes_done = bytes_done_;
    p.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started_);
    options_.on_progress(p);
  }

  context& ctx_;
  copy_plan plan_;
  const transfer_options& options_;
  unsigned workers_ = 1;
  std::uint64_t chunk_size_ = 0;
  bool adaptive_ = false;                     // per-file chunk sizes (see the constructor)
  std::uint64_t min_chunk_ = 0;               // adaptive: smallest range of a split file
  std::uint64_t split_threshold_ = 0;         // adaptive: files up to this size are one request
  std::atomic<bool> server_side_{false};      // chunks copied by the service (off after a refusal)
  std::uint64_t server_side_single_max_ = 0;  // server-side: larger files are blocks
  std::uint64_t server_side_block_ = 0;       // server-side block size
  std::exception_ptr fatal_;
  std::atomic<bool> stop_{false};
  std::atomic<unsigned> active_{0};
  std::atomic<bool> listing_done_{false};
  std::atomic<std::uint64_t> files_known_{0}, bytes_known_{0}, bytes_done_{0};
  std::atomic<std::uint64_t> done_{0}, failed_count_{0}, skipped_count_{0};
  std::atomic<std::uint64_t> copied_by_service_{0};
  std::mutex summary_mutex_;
  transfer_summary summary_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  /// Runs direct writes (read_direct) off the I/O threads; last, so it is joined first,
  /// after every write it ran has been waited for.
  asio::thread_pool disk_pool_{2};
};

}  // namespace
}  // namespace dataport::transfer_detail

namespace dataport {

transfer_summary copy(context& ctx, const location& source, const location& destination,
                      const transfer_options& options) {
  transfer_detail::copy_plan plan = transfer_detail::plan_copy(ctx, source, destination, options);
  return transfer_detail::execute_plan(
      ctx, std::move(plan), options,
      fmt::format("{} → {}", redact_url(source.source_uri), redact_url(destination.source_uri)));
}

namespace transfer_detail {

transfer_summary execute_plan(context& ctx, copy_plan plan, const transfer_options& options,
                              const std::string& description) {
  const auto started = std::chrono::steady_clock::now();
  const auto& counters = *ctx.counters();
  const auto requests_before = counters.get(counter::requests);
  const auto retries_before = counters.get(counter::retries);

  transfer_detail::engine engine(ctx, std::move(plan), options);
  log::info("transfer",
            "copy started: {} (threads={}, chunk={}, if-exists={}, "
            "verify-md5={}, direct-io={})",
            description, engine.workers(), engine.chunk_description(), to_string(options.if_exists),
            options.verify_md5, options.direct_io.value_or(ctx.config().direct_io));
  ctx.run(engine.run());
  transfer_summary summary = engine.take_summary();
  summary.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  summary.requests = counters.get(counter::requests) - requests_before;
  summary.retries = counters.get(counter::retries) - retries_before;
  log::info("transfer",
            "copy completed in {} ms: {} files, {} bytes, {} failed, {} skipped, {} "
            "requests, {} retries",
            summary.duration.count(), summary.files_done, summary.bytes, summary.files_failed,
            summary.files_skipped, summary.requests, summary.retries);
  return summary;
}

}  // namespace transfer_detail

}  // namespace dataport
