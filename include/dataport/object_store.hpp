// dataport::object_store — the one interface every storage backend implements.
//
// A store is rooted at a container (blob/dfs), a web server origin (https) or the file system
// root (local). Paths are '/'-separated, relative to that root, decoded (no percent-encoding),
// without a leading '/'. Directories are virtual for blob storage (a prefix ending in '/').
//
// Reads are pinned to a version: read_range takes the ETag seen at stat/open and the backend
// sends If-Match, so a changed object fails with errc::changed instead of mixing versions.
//
// Thread-safety: every method may be called concurrently from coroutines on the runtime's
// io_context. Ownership: stores are shared (std::shared_ptr); a list_pager keeps its store alive.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

namespace dataport {

struct object_info {
  std::string path;        ///< relative to the store root; directories end without '/'
  std::uint64_t size = 0;  ///< bytes (0 for directories)
  std::string etag;        ///< opaque version tag, quoted as the server sent it; empty if none
  std::optional<std::chrono::system_clock::time_point> last_modified;
  std::string content_md5;  ///< base64 MD5 of the whole object when the server knows it
  std::string content_type;
  bool is_directory = false;
};

struct list_options {
  std::string prefix;         ///< folder to list (treated as a directory: "a/b" lists "a/b/…")
  bool recursive = false;     ///< false: one level, sub-folders come back as directories
  unsigned page_size = 5000;  ///< entries per service page (blob maximum 5000)
  /// The first page asks for at most 200 entries so the first names arrive quickly (readdir).
  /// false: every page asks for page_size (callers that want the bulk: fewer requests; and
  /// Azurite answers a small page very slowly where many names fold into a few sub-folders:
  /// 3.6 s for 200 entries of a root whose 22,000 blobs sit in three folders, 0.2 s for 5000).
  bool quick_first_page = true;
};

class object_store;
/// Whether anything exists under `prefix` (a folder's existence; "" = the store's root, which
/// also proves the store answers: errors such as a missing container or refused credentials
/// are thrown; below the root, a listing the store answers with not_found counts as no entries,
/// as on a web server without that folder). Lists one entry, flat where the store has
/// paged_flat_listing (blob: the service answers that in constant time however the names below are
/// grouped); more requests only when the service returns an empty page with a continuation. Same
/// thread-safety as list().
boost::asio::awaitable<bool> has_entries(object_store& store, std::string prefix);

/// Lazily paged listing: each next_page() issues at most one service request.
class list_pager {
 public:
  virtual ~list_pager() = default;
  /// The next page of entries (possibly empty while more remain), or nullopt when done.
  virtual boost::asio::awaitable<std::optional<std::vector<object_info>>> next_page() = 0;
};

struct put_options {
  std::string content_type;  ///< empty = guess from the extension
  std::string content_md5;   ///< base64 MD5 of the whole object, stored as the blob's Content-MD5
  bool overwrite = true;     ///< false: fail with already_exists if the object exists
};

/// Result of a ranged read.
struct read_result {
  std::size_t bytes = 0;          ///< bytes written into the buffer (short only at end of object)
  std::string etag;               ///< version the bytes belong to
  std::uint64_t object_size = 0;  ///< total size from Content-Range, when the server sent it
  std::string
      range_md5;  ///< base64 MD5 of the bytes sent, from read_range_to_checked (may be empty)
};

struct store_capabilities {
  bool ranged_reads = true;  ///< false: read_range works only from offset 0 as one stream
  bool writable = true;
  bool block_upload = true;  ///< stage_block/commit_blocks available
  /// A recursive listing's first page costs one request whatever lies below the prefix (blob);
  /// false where it walks the whole tree first (local folders).
  bool paged_flat_listing = false;
  /// put_from_url / stage_block_from_url work: the service itself copies from a URL (blob).
  bool copies_from_url = false;
};

class object_store {
 public:
  virtual ~object_store() = default;

  /// Size, ETag and kind of `path`. A blob prefix with children is a directory. Throws
  /// errc::not_found when neither exists.
  virtual boost::asio::awaitable<object_info> stat(std::string path) = 0;

  virtual std::unique_ptr<list_pager> list(list_options options) = 0;

  /// Reads up to into.size() bytes at `offset`. With a non-empty `if_match` the read fails with
  /// errc::changed if the object's ETag differs. Reading at or past the end returns 0 bytes.
  virtual boost::asio::awaitable<read_result> read_range(std::string path, std::uint64_t offset,
                                                         std::span<std::byte> into,
                                                         std::string if_match) = 0;

  /// Piece-by-piece delivery of a byte range (see read_range_to).
  using byte_sink = std::function<void(std::span<const std::byte>)>;

  /// Streams [offset, offset + length) to `sink` in order, reading through `scratch` (any size
  /// from 1 byte), pinned to `if_match` like read_range. Returns the bytes delivered (short only
  /// at the end of the object). Backends that can stream one request through a small buffer do
  /// (blob); the default issues scratch-sized read_range calls. An exception from the sink ends
  /// the read. Memory stays at scratch.size() whatever the length.
  virtual boost::asio::awaitable<read_result> read_range_to(std::string path, std::uint64_t offset,
                                                            std::uint64_t length,
                                                            std::span<std::byte> scratch,
                                                            byte_sink sink, std::string if_match);

  /// Where read_range_into puts the next bytes: memory of at least one byte, asked for before
  /// every read from the service and valid until the sink has received the piece read into it.
  using byte_room = std::function<std::span<std::byte>()>;

  /// Like read_range_to, but every read lands in memory the caller gives (`room`), so each piece
  /// the sink receives is a filled part of the caller's own memory: a reader that assembles
  /// blocks needs neither a scratch buffer nor a copy. Blob streams one request straight into
  /// it; the default reads through read_range_to and copies into the rooms. Same pinning, errors
  /// and results as read_range_to.
  virtual boost::asio::awaitable<read_result> read_range_into(std::string path,
                                                              std::uint64_t offset,
                                                              std::uint64_t length, byte_room room,
                                                              byte_sink sink, std::string if_match);

  /// Largest range read_range_to_checked can have the server checksum (Blob service: 4 MiB).
  static constexpr std::uint64_t max_checked_range = 4 * 1024 * 1024;

  /// Like read_range_to, and asks the server for a transactional MD5 of the range, returned in
  /// read_result::range_md5 (base64) for the caller to compare with the bytes it received.
  /// `length` must be at most max_checked_range. Backends without range checksums (the default)
  /// return an empty range_md5: the caller cannot verify and says so.
  virtual boost::asio::awaitable<read_result> read_range_to_checked(
      std::string path, std::uint64_t offset, std::uint64_t length, std::span<std::byte> scratch,
      byte_sink sink, std::string if_match);

  /// Writes a whole object in one request.
  virtual boost::asio::awaitable<object_info> put(std::string path, std::span<const std::byte> data,
                                                  put_options options) = 0;

  /// Stages one block of a block upload; `block_id` is the raw id (the backend base64-encodes;
  /// all ids of one blob must have the same length). `content_md5` (base64) is optional.
  virtual boost::asio::awaitable<void> stage_block(std::string path, std::string block_id,
                                                   std::span<const std::byte> data,
                                                   std::string content_md5) = 0;

  /// Makes the staged blocks, in order, the object's content (atomically).
  virtual boost::asio::awaitable<object_info> commit_blocks(std::string path,
                                                            std::vector<std::string> block_ids,
                                                            put_options options) = 0;

  /// Grows an object that was built from blocks, without re-sending what it already holds: the
  /// object becomes the blocks `committed_ids` (exactly the ids of its previous commit, in order)
  /// followed by `new_ids` (staged with stage_block since). `committed_size` is the object's
  /// current size in bytes. Live log upload uses it so the remote object stays a prefix of a
  /// growing local file. blob: one Put Block List naming every id (<Latest>), atomic; local and
  /// memory: the new blocks' bytes are appended in place after checking the current size
  /// (errc::changed when it differs); https and the default: errc::unsupported.
  virtual boost::asio::awaitable<object_info> append_blocks(std::string path,
                                                            std::vector<std::string> committed_ids,
                                                            std::uint64_t committed_size,
                                                            std::vector<std::string> new_ids,
                                                            put_options options);

  /// Server-side copy, source side: a URL from which another blob service can read `path`,
  /// carrying its own read grant (credential::read_grant), or nullopt when this store cannot give
  /// one (the default; bearer tokens). The URL is a SECRET: never log it.
  virtual std::optional<std::string> copy_source_url(const std::string& path) const;

  /// Largest object put_from_url copies in one request (Copy Blob From URL: 256 MiB).
  static constexpr std::uint64_t max_put_from_url = 256ull << 20;

  /// Server-side copy, destination side (capabilities().copies_from_url): makes `path` a copy of
  /// the object at `source_url` (from copy_source_url; at most max_put_from_url bytes) in one
  /// synchronous request, pinned to `source_etag` (errc::changed when the source moved on);
  /// no byte passes through this process. options.overwrite = false fails with already_exists.
  /// The default throws errc::unsupported.
  virtual boost::asio::awaitable<void> put_from_url(std::string path, std::string source_url,
                                                    std::string source_etag, put_options options);

  /// Server-side copy inside one account, any size (Copy Blob): true when the service finished
  /// it within the request (Azure copies inside one account synchronously; Azurite always).
  /// When the service would copy in the background instead, the pending copy is aborted and its
  /// blob removed, and the result is false: the caller copies another way. Pinned to
  /// `source_etag`; options.overwrite = false fails with already_exists. Callers use it only
  /// when nothing would be lost (the destination does not exist: options.overwrite = false).
  /// The default returns false.
  virtual boost::asio::awaitable<bool> copy_within_account(std::string path, std::string source_url,
                                                           std::string source_etag,
                                                           put_options options);

  /// Stages bytes [offset, offset + length) of `source_url` as block `block_id` of `path` (Put
  /// Block From URL), pinned to `source_etag`; commit_blocks makes them the object. The default
  /// throws errc::unsupported.
  virtual boost::asio::awaitable<void> stage_block_from_url(std::string path, std::string block_id,
                                                            std::string source_url,
                                                            std::uint64_t offset,
                                                            std::uint64_t length,
                                                            std::string source_etag);

  /// Deletes an object. Throws not_found if it does not exist.
  virtual boost::asio::awaitable<void> remove(std::string path) = 0;

  /// Creates the container (blob); already existing is not an error.
  virtual boost::asio::awaitable<void> create_container() = 0;

  virtual store_capabilities capabilities() const noexcept = 0;

  /// Human-readable root (service URL + container), secrets redacted, for messages.
  virtual std::string describe() const = 0;
};

}  // namespace dataport
