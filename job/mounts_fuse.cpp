// Mounts for jobs, on top of mount_session (fuse/).
#include "dataport/log.hpp"
#include "dataport/mount.hpp"
#include "job/detail/mounts.hpp"

namespace dataport::job::detail {
namespace {

class fuse_job_mount final : public job_mount {
 public:
  fuse_job_mount(context& ctx, const location& where, const std::string& mountpoint,
                 bool read_write, const std::string& cache_dir) {
    mount_options options;
    options.read_write = read_write;
    options.cache_dir = cache_dir;
    session_.start(ctx, where, mountpoint, options);
  }
  fuse_job_mount(context& ctx, std::shared_ptr<object_store> store, const std::string& identity,
                 const std::string& mountpoint, const std::string& cache_dir) {
    mount_options options;
    options.cache_dir = cache_dir;
    session_.start(ctx, std::move(store), identity, mountpoint, options);
  }

  ~fuse_job_mount() override {
    if (!waited_) {
      session_.unmount();
      (void)session_.wait();
    }
  }

  std::vector<std::string> unmount_and_wait() override {
    std::vector<std::string> problems;
    if (waited_) return problems;
    waited_ = true;
    session_.unmount();
    for (const auto& left : session_.wait()) {
      problems.push_back("'" + left.path + "' written through " + session_.mountpoint() +
                         " was not uploaded (its data is kept in " + left.staging_file + ")");
    }
    return problems;
  }

 private:
  mount_session session_;
  bool waited_ = false;
};

}  // namespace

bool mounts_supported() noexcept {
  return true;
}

std::unique_ptr<job_mount> mount_location(context& ctx, const location& where,
                                          const std::string& mountpoint, bool read_write,
                                          const std::string& cache_dir) {
  return std::make_unique<fuse_job_mount>(ctx, where, mountpoint, read_write, cache_dir);
}

std::unique_ptr<job_mount> mount_store(context& ctx, std::shared_ptr<object_store> store,
                                       const std::string& identity, const std::string& mountpoint,
                                       const std::string& cache_dir) {
  return std::make_unique<fuse_job_mount>(ctx, std::move(store), identity, mountpoint, cache_dir);
}

}  // namespace dataport::job::detail
