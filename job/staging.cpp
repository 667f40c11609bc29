// Code snapshot and logs upload for a job run (see detail/staging.hpp).
#include "job/detail/staging.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "dataport/error.hpp"
#include "dataport/redact.hpp"
#include "job/detail/bindings.hpp"

namespace dataport::job::detail {
namespace {

namespace fs = std::filesystem;

void copy_tree(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
  if (ec) throw_error(errc::io, fmt::format("cannot copy {} to {}: {}", from, to, ec.message()));
}

}  // namespace

void stage_code_snapshot(context& ctx, const job_spec& spec, const std::string& snapshot_dir,
                         const std::string& working_dir, const std::string& remote_uri,
                         activity_log& log) {
  if (spec.code.empty()) return;
  activity_log::activity act(log, "snapshot", "code=" + spec.code);
  try {
    fs::create_directories(snapshot_dir);
    copy_tree(spec.code, snapshot_dir);
    auto problems = upload_folder(ctx, snapshot_dir, remote_uri, nullptr);
    if (!problems.empty())
      throw_error(errc::io,
                  fmt::format("the code snapshot could not be uploaded: {}", problems.front()));
    copy_tree(snapshot_dir, working_dir);
    act.success();
  } catch (const std::exception& e) {
    act.failure(e.what());
    throw;
  }
}

struct log_sync::impl {
  context& ctx;
  std::string local_dir;
  std::string remote_uri;
  std::chrono::milliseconds interval;
};

log_sync::log_sync(context& ctx, std::string local_dir, std::string remote_uri,
                   std::chrono::milliseconds interval)
    : impl_(std::make_unique<impl>(
          impl{ctx, std::move(local_dir), std::move(remote_uri), interval})) {}

log_sync::~log_sync() = default;

void log_sync::start() {}

std::vector<std::string> log_sync::stop(const std::shared_ptr<cancel_token>& cancel) {
  return upload_folder(impl_->ctx, impl_->local_dir, impl_->remote_uri, cancel);
}

}  // namespace dataport::job::detail
