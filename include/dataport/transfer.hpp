// dataport::copy — the transfer engine behind `dataport cp`, the platform's download and upload
// modes, and remote-to-remote copies.
//
// One engine for every direction: a source object_store is listed lazily (pages stream into the
// plan while earlier files are already moving), each file is cut into chunks, and a fixed set of
// workers (RSLEX_DOWNLOADER_THREADS) moves chunks: read_range from the source (pinned to the
// listed ETag with If-Match) and write to the destination. Memory is bounded: each worker owns one
// chunk buffer, and the chunk size is reduced so that workers × chunk ≤ DATAPORT_INFLIGHT_BYTES.
//
// Destinations:
//  - local: every file is written to a hidden ".<name>.dataport-partial" created with
//    O_CREAT|O_EXCL|O_NOFOLLOW under a directory opened with O_NOFOLLOW, then renamed; a failed
//    file leaves nothing under its final name. Remote names are mapped with map_remote_name():
//    a hostile name is skipped with its reason, never written outside the destination.
//  - remote: a one-chunk file is one Put Blob; a larger one is staged block by block and appears
//    only at Put Block List (all or nothing).
//
// Thread-safety: copy() blocks the calling thread (not an I/O thread) until the transfer ends;
// callbacks run on I/O threads and must be quick. cancel() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataport/error.hpp"
#include "dataport/location.hpp"

namespace dataport {

class context;

enum class if_exists_policy {
  fail,            ///< an existing destination file is a failed item (the platform's default)
  overwrite,       ///< replace it
  skip_identical,  ///< skip when size and recorded ETag (or Content-MD5) match; else fail
};

/// "fail", "overwrite", "skip-identical".
std::string_view to_string(if_exists_policy policy) noexcept;

/// Parses "fail", "overwrite", "skip-identical"; throws invalid_argument naming `what`.
if_exists_policy parse_if_exists(std::string_view text, std::string_view what);

class cancel_token {
 public:
  void cancel() noexcept { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const noexcept { return cancelled_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> cancelled_{false};
};

struct transfer_progress {
  std::uint64_t files_known = 0;  ///< files listed so far
  bool listing_done = false;      ///< files_known is final
  std::uint64_t files_done = 0;
  std::uint64_t files_failed = 0;
  std::uint64_t files_skipped = 0;
  std::uint64_t bytes_known = 0;  ///< bytes of the files listed so far
  std::uint64_t bytes_done = 0;   ///< bytes written to the destination
  std::chrono::milliseconds elapsed{0};
};

struct transfer_problem {
  std::string path;    ///< source path relative to the copied root
  std::string reason;  ///< what went wrong and what to do
  errc code = errc::ok;
};

struct transfer_summary {
  std::uint64_t files_done = 0;
  std::uint64_t files_failed = 0;
  std::uint64_t files_skipped = 0;
  std::uint64_t bytes = 0;  ///< bytes written to the destination
  std::chrono::milliseconds duration{0};
  std::uint64_t requests = 0;  ///< HTTP attempts during the transfer
  std::uint64_t retries = 0;
  /// Files the destination service copied itself (server-side copy: no byte through dataport).
  std::uint64_t files_copied_by_service = 0;
  std::vector<transfer_problem> failed;
  std::vector<transfer_problem> skipped;
  bool cancelled = false;
};

struct transfer_options {
  bool recursive = false;            ///< required to copy a folder
  unsigned threads = 0;              ///< chunk operations in flight; 0 = RSLEX_DOWNLOADER_THREADS
  std::uint64_t chunk_size = 0;      ///< bytes per ranged read / block; 0 = DATAPORT_CHUNK_SIZE
  std::uint64_t inflight_bytes = 0;  ///< 0 = DATAPORT_INFLIGHT_BYTES
  if_exists_policy if_exists = if_exists_policy::fail;
  /// Check the bytes: ranges of at most 4 MiB carry the server's transactional MD5 (blob sources;
  /// a corrupted range is read again, up to the HTTP retry budget, counted in
  /// checksum_mismatches), and the whole-file Content-MD5 is checked when the source has one.
  bool verify_md5 = false;
  bool fail_fast = false;  ///< stop everything at the first failed file
  bool fsync = false;      ///< fsync each local file before it is renamed into place
  /// Local files of 1 MiB and more are written with O_DIRECT (page-aligned 1 MiB writes from
  /// reused buffers; the page cache is neither filled nor dirtied); a file system that refuses
  /// O_DIRECT gets ordinary writes. unset = DATAPORT_DIRECT_IO.
  std::optional<bool> direct_io;
  bool restart_on_change = false;  ///< a source changed mid-copy is restarted once (else failed)
  bool create_container = false;   ///< create the destination container first (if missing)
  /// Blob → blob: let the destination service copy the bytes itself (Copy Blob From URL up to
  /// 256 MiB, else Put Block From URL per 64 MiB+ block, each pinned to the source's ETag) when
  /// the source can grant it read access (Shared Key: a 2-hour read-only SAS for that blob; SAS;
  /// public). A refused server-side copy falls back to streaming, once, with a warning. false:
  /// every byte streams through dataport.
  bool server_side_copy = true;
  /// Server-side copy: files up to this size are one Copy Blob From URL (the service's limit is
  /// 256 MiB); larger ones are blocks of server_side_block bytes (0 = the chunk size, at least
  /// 64 MiB). Tuning and tests.
  std::uint64_t server_side_single_max = 256ull << 20;
  std::uint64_t server_side_block = 0;
  /// Called about every progress_interval and once at the end, on an I/O thread.
  std::function<void(const transfer_progress&)> on_progress;
  std::chrono::milliseconds progress_interval{200};
  std::shared_ptr<cancel_token> cancel;
};

/// Copies `source` to `destination` (local ↔ remote, remote → remote, local → local).
/// A file source goes to `destination` itself, or into it when the destination is an existing
/// folder or ends with '/'. A folder source (needs options.recursive) copies its contents into
/// the destination folder. Per-file failures are collected in the summary; errors that stop the
/// whole transfer (the source does not exist, the destination root cannot be created, a folder
/// without recursive) are thrown as dataport::error.
transfer_summary copy(context& ctx, const location& source, const location& destination,
                      const transfer_options& options);

}  // namespace dataport
