// Code snapshot and live logs for a job run (see detail/staging.hpp): the snapshot plan
// (.amlignore/.gitignore, size and file-count limits) from dataport/snapshot.hpp, the live
// upload of ./logs from dataport/log_streamer.hpp.
#include "job/detail/staging.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "dataport/error.hpp"
#include "dataport/log_streamer.hpp"
#include "dataport/redact.hpp"
#include "dataport/snapshot.hpp"
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
    const snapshot::plan plan =
        snapshot::make_plan(spec.code, snapshot::limits::from_settings(ctx.config()));
    fs::create_directories(snapshot_dir);
    for (const auto& file : plan.files) {
      const fs::path to = fs::path(snapshot_dir) / file.relative_path;
      std::error_code ec;
      fs::create_directories(to.parent_path(), ec);
      if (!ec)
        fs::copy_file(fs::path(spec.code) / file.relative_path, to,
                      fs::copy_options::overwrite_existing, ec);
      if (ec)
        throw_error(errc::io, fmt::format("cannot copy {} into the snapshot: {}",
                                          file.relative_path, ec.message()));
    }
    log.line("INFO",
             fmt::format("Snapshot of {}: {} files, {} bytes ({} entries ignored)", spec.code,
                         plan.files.size(), plan.total_bytes, plan.ignored_count));
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
  std::unique_ptr<log_streamer> streamer;
};

log_sync::log_sync(context& ctx, std::string local_dir, std::string remote_uri,
                   std::chrono::milliseconds interval)
    : impl_(std::make_unique<impl>()) {
  impl_->streamer = std::make_unique<log_streamer>(ctx, std::filesystem::path(local_dir),
                                                   std::move(remote_uri), interval);
}

log_sync::~log_sync() = default;

void log_sync::start() {
  impl_->streamer->start();
}

std::vector<std::string> log_sync::stop(std::chrono::seconds timeout) {
  std::vector<std::string> problems;
  impl_->streamer->stop(timeout);
  // One more round reports whether every file made it (it also retries the ones that did not).
  if (!impl_->streamer->sync_now())
    problems.push_back("some files of ./logs could not be uploaded (see the log above)");
  return problems;
}

}  // namespace dataport::job::detail
