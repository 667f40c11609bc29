// Internal state of one dataport FUSE mount, shared by the request handlers (fuse/ops_*.cpp) and
// the session (fuse/mount_session.cpp). Not a public header.
#pragma once

#define FUSE_USE_VERSION FUSE_MAKE_VERSION(3, 12)
#include <fuse3/fuse_lowlevel.h>

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dataport/context.hpp"
#include "dataport/error.hpp"
#include "dataport/mount.hpp"
#include "dataport/object_store.hpp"
#include "dataport/readable_file.hpp"

namespace dataport::fuse_adapter {

/// Kernel readahead of a mount, bytes: asked for at FUSE init (max_readahead) and set on the
/// mount's backing device after mounting, so sequential readers keep several requests in flight.
inline constexpr unsigned kernel_readahead = 4u << 20;

/// ino ↔ path, with the kernel's lookup counts (an inode lives until forget brings it to 0).
class inode_table {
 public:
  inode_table();
  /// The inode of `path` (made if new) with its lookup count raised by one.
  fuse_ino_t acquire(const std::string& path);
  /// The path of `ino`, or nullopt when the kernel forgot it.
  std::optional<std::string> path_of(fuse_ino_t ino) const;
  void forget(fuse_ino_t ino, std::uint64_t count);
  /// Moves `from` (and, for folders, everything under it) to `to`.
  void rename(const std::string& from, const std::string& to);

 private:
  struct node {
    std::string path;
    std::uint64_t lookups = 0;
  };
  mutable std::mutex mutex_;
  std::unordered_map<fuse_ino_t, node> by_ino_;
  std::unordered_map<std::string, fuse_ino_t> by_path_;
  fuse_ino_t next_ = 2;
};

/// A file being written through an rw mount: its bytes live in a local staging file.
struct staged_file {
  std::mutex mutex;
  int fd = -1;
  std::string staging_path;
  bool dirty = false;
  /// errno of a failed local write (ENOSPC on the staging disk...). While set, flush/fsync/close
  /// report EIO and upload nothing (the bytes that fitted are not the file the caller wrote); the
  /// data stays staged and is reported at unmount. Truncating the file to 0 clears it.
  int write_error = 0;
  unsigned open_count = 0;
  ~staged_file();
};

struct file_handle {
  std::string path;                       ///< path inside the mount
  std::shared_ptr<readable_file> reader;  ///< remote version (read-only opens)
  std::shared_ptr<staged_file> staged;    ///< local copy (rw opens and files written here)
};

/// One listed name; `info` is what the listing said (attributes for readdirplus), or nullopt for
/// names known only locally (rw mounts), whose attributes come from filesystem::attributes().
struct dir_entry {
  std::string name;
  bool is_directory = false;
  std::optional<object_info> info;
};

struct dir_handle {
  std::mutex mutex;
  std::string path;
  std::unique_ptr<list_pager> pager;
  std::vector<dir_entry> entries;                      ///< after . and ..
  std::unordered_map<std::string, std::size_t> index;  ///< name → position in entries
  bool done = false;
};

struct filesystem {
  context* ctx = nullptr;
  std::shared_ptr<object_store> store;
  std::shared_ptr<reader_services> services;
  std::string store_id;
  std::string prefix;        ///< store path of the mount root ("" = container root)
  bool single_file = false;  ///< the URI named one file: the root holds just that file
  std::string single_name;
  bool read_write = false;
  uid_t uid = 0;
  gid_t gid = 0;
  double ttl_seconds = 86400;
  std::string staging_dir;
  std::string source;  ///< redacted description for logs
  inode_table inodes;

  // request counts (mount_session::requests())
  std::atomic<std::uint64_t> lookups{0};
  std::atomic<std::uint64_t> getattrs{0};
  std::atomic<std::uint64_t> readdirs{0};
  std::atomic<std::uint64_t> readdirplus{0};

  std::mutex mutex;                                        // guards the maps below
  std::unordered_map<std::string, std::string> last_etag;  ///< path → ETag of the last open
  std::unordered_set<std::string> logged;
  std::unordered_map<std::string, std::shared_ptr<staged_file>> staged;
  std::set<std::string> local_dirs;  ///< folders made by mkdir that hold nothing remote yet

  // helpers (fuse/filesystem.cpp)
  std::string store_path_of(const std::string& rel) const;
  /// Attributes of `rel` (staged files and local folders first, then the attribute cache).
  std::optional<struct stat> attributes(const std::string& rel, fuse_ino_t ino);
  struct stat make_stat(fuse_ino_t ino, bool dir, std::uint64_t size,
                        std::optional<std::chrono::system_clock::time_point> mtime) const;
  /// errno for an exception in flight; logs it once per (path, errno).
  int errno_of(std::exception_ptr failure, const std::string& rel, std::string_view what);
  std::shared_ptr<staged_file> staged_of(const std::string& rel);
  /// Uploads a dirty staged file (block upload, all or nothing). Throws on failure.
  void upload(const std::string& rel, staged_file& file);
  void invalidate(const std::string& rel);
  /// Logs `message` about `path` once per mount (hidden names, blob/folder conflicts).
  void log_once(const std::string& key, const std::string& message);
  /// When a listing shows a blob and a folder with the same name, the folder wins: records that
  /// for `store_path` (so lookups agree) and logs the hidden blob once.
  void prefer_folder(const std::string& store_path);
  /// True when a folder has the same name as the blob at `store_path` (checked once per TTL).
  bool folder_shadows(const std::string& store_path);
  /// Attribute-cache namespace of the folder checks above.
  std::string folder_check_id() const;
  /// Seeds the attribute cache (and the folder check of a blob) with a listed entry.
  void seed(const object_info& info);
  /// Lists `dir_rel` once per attribute TTL (first page) and seeds the cache with its entries, so
  /// lookups by name in a folder nobody listed cost one listing, not a stat and a folder check
  /// per name. The first name looked up in a folder is not worth a listing (one file opened in a
  /// large folder): the call returns at once and that name gets its own stat; the second one
  /// lists. Single-flight (prime_mutex).
  void prime_folder(const std::string& dir_rel);
  std::mutex prime_mutex;
};

/// True when `name` is a usable POSIX file name (not empty, ".", "..", no '/', NUL, ≤ 255 bytes).
bool valid_name(std::string_view name);
std::string join_path(const std::string& dir, std::string_view name);
std::string parent_path(const std::string& rel);
/// The last '/'-separated component of `path` (all of it when there is no '/').
std::string name_of(const std::string& path);

/// The libfuse operation table (fuse/ops_read.cpp and fuse/ops_write.cpp).
const fuse_lowlevel_ops& operations(bool read_write);
void add_write_operations(fuse_lowlevel_ops& ops);

inline filesystem& fs_of(fuse_req_t req) {
  return *static_cast<filesystem*>(fuse_req_userdata(req));
}

}  // namespace dataport::fuse_adapter
