// The run's code snapshot and its logs/ folder on the remote side.
//
// Thread-safety: used from the job's thread only (log_sync runs its own uploader thread).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "dataport/context.hpp"
#include "dataport/job.hpp"
#include "dataport/transfer.hpp"
#include "job/detail/activity_log.hpp"

namespace dataport::job::detail {

/// Copies the code folder's snapshot (the files its .amlignore/.gitignore keep, within the
/// snapshot limits) into `snapshot_dir`, uploads it to `remote_uri` and copies it into
/// `working_dir`. Nothing happens without a code folder. Throws dataport::error (limits,
/// unreadable files, upload failures).
void stage_code_snapshot(context& ctx, const job_spec& spec, const std::string& snapshot_dir,
                         const std::string& working_dir, const std::string& remote_uri,
                         activity_log& log);

/// Keeps a remote folder in step with a local logs folder while the command runs (new and grown
/// files every `interval`, through dataport::log_streamer).
class log_sync {
 public:
  log_sync(context& ctx, std::string local_dir, std::string remote_uri,
           std::chrono::milliseconds interval);
  ~log_sync();
  log_sync(const log_sync&) = delete;
  log_sync& operator=(const log_sync&) = delete;

  void start();
  /// Stops the live upload and sends everything one last time, within `timeout`. Returns the
  /// problems.
  std::vector<std::string> stop(std::chrono::seconds timeout);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace dataport::job::detail
