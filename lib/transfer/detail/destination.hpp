// Where the transfer engine writes: a local folder or an object store. Private to lib/transfer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "dataport/error.hpp"
#include "dataport/object_store.hpp"
#include "dataport/transfer.hpp"

namespace dataport::transfer_detail {

/// One file on its way to the destination.
struct file_plan {
  std::string relative;  ///< destination path relative to the destination root ('/'-separated)
  object_info source;    ///< size and ETag pinned from the listing
  std::uint64_t chunk_size = 0;
  std::uint32_t chunk_count = 0;  ///< 0 for an empty file
  /// Server-side, one chunk: the whole object with object_store::copy_within_account.
  bool copy_whole = false;
};

/// Receives the chunks of one file, possibly concurrently and out of order.
class file_writer {
 public:
  virtual ~file_writer() = default;
  virtual boost::asio::awaitable<void> write(std::uint32_t index, std::uint64_t offset,
                                             std::span<const std::byte> data) = 0;
  /// True when pieces of a chunk can be written as they arrive (write_piece): the engine then
  /// streams each chunk through a small cache-hot buffer instead of holding it whole.
  virtual bool accepts_pieces() const noexcept { return false; }
  /// Writes one piece at `offset`, synchronously; only called when accepts_pieces().
  virtual void write_piece(std::uint64_t offset, std::span<const std::byte> data);
  /// Alignment in bytes that write_direct needs, or 0 when this writer has no direct path.
  virtual std::size_t direct_alignment() const noexcept { return 0; }
  /// Writes `data` at `offset` bypassing the page cache, synchronously. The offset, the size and
  /// the address of `data` are multiples of direct_alignment(). The last piece of a file may be
  /// padded past its end: commit() cuts the file back to the source's size. Only called when
  /// direct_alignment() is not 0.
  virtual void write_direct(std::uint64_t offset, std::span<const std::byte> data);
  /// Server-side copy of chunk `index` (bytes [offset, offset + length) of the source) from
  /// `source_url` (object_store::copy_source_url, a SECRET), pinned to `source_etag`: no byte
  /// passes through this process. Only called when the destination copies_from_url(); the
  /// default throws errc::unsupported.
  virtual boost::asio::awaitable<void> copy_from(std::uint32_t index, std::uint64_t offset,
                                                 std::uint64_t length, std::string source_url,
                                                 std::string source_etag);
  /// Makes the file visible under its final name. Called once, after every chunk was written.
  virtual boost::asio::awaitable<void> commit() = 0;
  /// Called when a chunk of this file failed (its write() may never come): writers that wait
  /// for chunks in order stop waiting. Must not throw; may run on any thread.
  virtual void give_up() noexcept {}
  /// Removes whatever was written (the final name is never touched). Must not throw.
  virtual void abort() noexcept = 0;
};

/// Result of opening: a writer, or the reason the item is skipped (a hostile name, an identical
/// file already there). Failures are thrown as dataport::error.
struct open_result {
  std::unique_ptr<file_writer> writer;
  std::optional<std::string> skip_reason;
  errc skip_code = errc::ok;  ///< ok: a benign skip (identical); else a problem (hostile name)
};

class destination {
 public:
  virtual ~destination() = default;
  virtual boost::asio::awaitable<open_result> open(const file_plan& plan) = 0;
  /// True when its writers accept pieces (file_writer::accepts_pieces): chunk size then costs no
  /// memory and the engine may size chunks per file (adaptive_chunk_size).
  virtual bool takes_pieces() const noexcept { return false; }
  /// True when its writers can copy chunks server-side (file_writer::copy_from).
  virtual bool copies_from_url() const noexcept { return false; }
  /// Whole-file Content-MD5 check after commit preparation; local destinations can verify.
  virtual std::string describe() const = 0;
};

struct destination_settings {
  if_exists_policy if_exists = if_exists_policy::fail;
  bool fsync = false;
  bool verify_md5 = false;
  bool direct_io = false;  ///< local: O_DIRECT writes where the engine can align them
};

/// A local folder (created if missing). `root` is absolute.
std::unique_ptr<destination> make_local_destination(const std::string& root,
                                                    destination_settings settings);

/// A prefix in an object store ("" = the container root).
std::unique_ptr<destination> make_store_destination(std::shared_ptr<object_store> store,
                                                    std::string prefix,
                                                    destination_settings settings);

}  // namespace dataport::transfer_detail
