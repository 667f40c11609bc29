// dataport::mount_session — a resolved location served as a FUSE file system (ro_mount, rw_mount).
//
// Reads go through dataport::readable_file (pinned ETag, block or whole-file mode, caches);
// metadata through the attribute cache (DATASET_MOUNT_ATTRIBUTE_CACHE_TTL). In read-write mode
// writes land in a staging file under <cache dir>/staging/ and are uploaded (block upload, all or
// nothing) at flush/fsync/close; failures are reported to the caller as EIO. Design notes and
// limits: docs/mount.md; implementation in fuse/.
//
// Threads: start() mounts and starts the libfuse multithreaded loop on its own threads; FUSE
// requests block on the context's I/O threads, so the context must outlive the session.
//
// Thread-safety: unmount() may be called from any thread (also while wait() blocks in another);
// start() and wait() from one owning thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dataport/location.hpp"
#include "dataport/presets.hpp"

namespace dataport {

class context;
class object_store;

struct mount_options {
  bool read_write = false;         ///< rw_mount: create/write/delete through the mount
  bool allow_other = false;        ///< let other users in (needs user_allow_other for non-root)
  std::optional<bool> block_mode;  ///< overrides DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED
  std::optional<preset> reader_preset;    ///< applied before block_mode / cache_dir
  std::string cache_dir;                  ///< overrides DATAPORT_CACHE_DIR (disk cache and staging)
  std::vector<std::string> fuse_options;  ///< extra -o options passed to libfuse
  unsigned max_threads = 32;              ///< FUSE worker threads at most
};

/// Files written through an rw mount that could not be uploaded by the end of the unmount.
struct pending_upload {
  std::string path;          ///< path inside the mount
  std::string staging_file;  ///< local file that still holds the data
};

class mount_session {
 public:
  mount_session();
  ~mount_session();  ///< unmounts and waits if still mounted
  mount_session(const mount_session&) = delete;
  mount_session& operator=(const mount_session&) = delete;

  /// Resolves `uri`, checks the remote root and the mountpoint (an existing empty directory),
  /// mounts and starts serving. Returns once the kernel mount exists. Throws dataport::error:
  /// not_found (missing container/folder), invalid_argument (bad mountpoint), io (mount failed).
  void start(context& ctx, std::string_view uri, const std::string& mountpoint,
             mount_options options = {});
  void start(context& ctx, const location& where, const std::string& mountpoint,
             mount_options options = {});

  /// Serves an already-open store: the root of `store` is the mount root (always a folder).
  /// `identity` names the source in logs and namespaces attribute/block cache entries, so two
  /// stores with the same identity must hold the same data (e.g. "mltable:<hash of the file
  /// set>"). The store is shared: the session keeps it alive until wait() returns. Throws like
  /// the overloads above (the root is probed with one listing page). The URI and location
  /// overloads resolve, open the store and end up here.
  void start(context& ctx, std::shared_ptr<object_store> store, std::string identity,
             const std::string& mountpoint, mount_options options = {});

  /// Blocks until the file system is unmounted (unmount(), fusermount3 -u, umount), then gives
  /// pending uploads DATASET_UNMOUNT_TIMEOUT_SECONDS and returns what is left (also logged).
  std::vector<pending_upload> wait();

  /// Asks for a (lazy) unmount and returns at once; wait() returns when the kernel lets go.
  void unmount();

  bool running() const noexcept;
  const std::string& mountpoint() const noexcept;

  /// Requests the kernel sent so far (diagnostics and tests): with readdirplus, `ls -l` of a
  /// listed folder costs no lookup or getattr per entry.
  struct request_counts {
    std::uint64_t lookups = 0;
    std::uint64_t getattrs = 0;
    std::uint64_t readdirs = 0;     ///< plain readdir calls
    std::uint64_t readdirplus = 0;  ///< readdirplus calls
  };
  request_counts requests() const noexcept;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

/// What `dataport mount` and dataport-mount run. Foreground: serves until unmounted or SIGINT /
/// SIGTERM / SIGHUP, then returns 0 (1 when uploads were left in the staging folder). Background:
/// forks, and the parent returns 0 after printing "Mount started." once the mount answers, or
/// prints the reason and returns non-zero. `make_context` is called in the serving process (after
/// the fork: no threads may exist before it). Errors go to stderr with the "dataport: error:"
/// prefix.
int run_mount(const std::function<context&()>& make_context, const std::string& uri,
              const std::string& mountpoint, const mount_options& options, bool foreground);

/// Unmounts a dataport (or any FUSE) mountpoint: umount2(MNT_DETACH) as root, fusermount3 -u -z
/// otherwise. Throws dataport::error(io) naming the mountpoint when that fails.
void unmount_path(const std::string& mountpoint);

}  // namespace dataport
