// Running the job's command: `bash -c` in its own process group, stdout and stderr through one
// pipe (so their interleaving is kept, as in the platform's std_log.txt), SIGINT/SIGTERM
// forwarded to the group and SIGKILL after a grace period.
//
// Thread-safety: one command at a time per process (the signal handlers are process-wide).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace dataport::job::detail {

struct command_request {
  std::string command;                   ///< passed to bash -c
  std::string working_dir;               ///< the child's cwd
  std::vector<std::string> environment;  ///< NAME=value, the child's whole environment
  std::chrono::seconds kill_grace{30};   ///< forwarded signal → SIGKILL of the group
};

struct command_outcome {
  int exit_code = 0;  ///< the exit status, or 128+N after signal N
  int forwarded_signal = 0;
};

/// Installs SIGINT/SIGTERM handlers that record the signal and forward it to the running
/// command's group (if any). The destructor restores the previous handlers.
class signal_guard {
 public:
  signal_guard();
  ~signal_guard();
  signal_guard(const signal_guard&) = delete;
  signal_guard& operator=(const signal_guard&) = delete;

  /// The first SIGINT/SIGTERM received since construction, 0 if none.
  static int received() noexcept;
  /// How many were received (a second one during the final uploads cancels them).
  static int count() noexcept;
};

/// Runs the command and blocks until it and its pipe are done; `on_output` gets every chunk of
/// output. Throws dataport::error(io) when bash cannot be started.
command_outcome run_command(const command_request& request,
                            const std::function<void(std::string_view)>& on_output);

}  // namespace dataport::job::detail
