// The job's view of FUSE mounts (ro_mount inputs, rw_mount outputs). Built from mount_session
// when dataport has FUSE (mounts_fuse.cpp); without it (DATAPORT_BUILD_FUSE=OFF) every mount
// mode is refused with a message saying so and what to use instead (mounts_none.cpp).
//
// Thread-safety: one owner thread per job_mount.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dataport/context.hpp"
#include "dataport/location.hpp"
#include "dataport/object_store.hpp"

namespace dataport::job::detail {

class job_mount {
 public:
  virtual ~job_mount() = default;  ///< unmounts (lazily) if still mounted
  /// Unmounts and waits (pending rw uploads get DATASET_UNMOUNT_TIMEOUT_SECONDS); returns one
  /// message per file that could not be uploaded.
  virtual std::vector<std::string> unmount_and_wait() = 0;
};

/// True when this build can mount.
bool mounts_supported() noexcept;

/// Mounts `where` on the empty folder `mountpoint` (read-only or read-write), with the mount
/// caches and staging files under `cache_dir`. Throws dataport::error (unsupported without
/// FUSE; not_found, io, invalid_argument from the mount).
std::unique_ptr<job_mount> mount_location(context& ctx, const location& where,
                                          const std::string& mountpoint, bool read_write,
                                          const std::string& cache_dir);

/// Mounts an open store (an evaluated MLTable's file set) read-only at its root; `identity`
/// names it in logs and keeps its cache entries apart. Same errors as mount_location.
std::unique_ptr<job_mount> mount_store(context& ctx, std::shared_ptr<object_store> store,
                                       const std::string& identity, const std::string& mountpoint,
                                       const std::string& cache_dir);

}  // namespace dataport::job::detail
