// Mounts in a build without FUSE (DATAPORT_BUILD_FUSE=OFF): refused with the way out.
#include "dataport/error.hpp"
#include "job/detail/mounts.hpp"

namespace dataport::job::detail {

bool mounts_supported() noexcept {
  return false;
}

std::unique_ptr<job_mount> mount_location(context&, const location&, const std::string&, bool,
                                          const std::string&) {
  throw_error(errc::unsupported,
              "this dataport was built without FUSE (DATAPORT_BUILD_FUSE=OFF), so ro_mount, "
              "rw_mount and eval_mount are not available: use mode download (inputs) or upload "
              "(outputs), or rebuild with FUSE");
}

std::unique_ptr<job_mount> mount_store(context& ctx, std::shared_ptr<object_store>,
                                       const std::string&, const std::string& mountpoint,
                                       const std::string& cache_dir) {
  return mount_location(ctx, location{}, mountpoint, false, cache_dir);
}

}  // namespace dataport::job::detail
