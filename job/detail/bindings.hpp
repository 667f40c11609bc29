// Inputs and outputs by mode: what the command gets for each ${{inputs.x}} / ${{outputs.y}} and
// what has to happen after it ends (unmount, upload).
//
// Thread-safety: used from the job's thread only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dataport/context.hpp"
#include "dataport/job.hpp"
#include "dataport/transfer.hpp"
#include "job/detail/activity_log.hpp"
#include "job/detail/mounts.hpp"

namespace dataport::job::detail {

struct bound_input {
  std::string name;
  std::string value;  ///< the local path, the URI (direct) or the literal value
  std::unique_ptr<job_mount> mount;
};

struct bound_output {
  std::string name;
  data_mode mode = data_mode::upload;
  data_type type = data_type::uri_folder;
  std::string uri;         ///< the expanded remote URI (as written, secrets redacted when shown)
  location where;          ///< resolved uri
  std::string local_root;  ///< the folder that is uploaded or mounted
  std::string value;       ///< what the command gets
  std::unique_ptr<job_mount> mount;
};

/// Where the job's local folders are.
struct job_folders {
  std::string root;     ///< the work folder
  std::string working;  ///< the command's cwd (code snapshot, ./outputs, ./logs)
  std::string inputs;
  std::string outputs;
  std::string cache;  ///< mount caches and rw staging
};

/// Refuses, before anything runs, what this build cannot do (mount modes without FUSE, MLTable
/// evaluation not available). Throws invalid_argument/unsupported naming the input or output.
void check_modes_supported(const job_spec& spec);

/// Downloads, mounts or passes through one input. Throws dataport::error naming the input.
bound_input bind_input(context& ctx, const input_spec& in, const job_folders& folders,
                       activity_log& log);

/// Prepares one output (folder to write, rw mount, or direct URI).
bound_output bind_output(context& ctx, const output_spec& out, const std::string& uri,
                         const job_folders& folders, activity_log& log);

/// After the command: unmounts an rw_mount output or uploads an upload output. Returns the
/// problems (empty when everything landed). Never throws.
std::vector<std::string> finish_output(context& ctx, bound_output& out, activity_log& log,
                                       const std::shared_ptr<cancel_token>& cancel);

/// Uploads a local folder's contents to a remote folder URI (overwrite, container created).
/// Returns the problems. Never throws. A missing or empty folder uploads nothing.
std::vector<std::string> upload_folder(context& ctx, const std::string& local_folder,
                                       const std::string& remote_folder_uri,
                                       const std::shared_ptr<cancel_token>& cancel);

}  // namespace dataport::job::detail
