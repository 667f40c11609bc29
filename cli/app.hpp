// Shared state of the `dataport` command line: global options and the runtime they build.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "dataport/context.hpp"
#include "dataport/log.hpp"

namespace dataport::cli {

struct global_options {
  std::string workspace_file;
  std::vector<std::string> set_values;  ///< NAME=VALUE settings overrides
  std::string log_level;
  bool verbose = false;
  bool quiet = false;
  bool print_metrics = false;
  std::string preset;  ///< --preset NAME (reader/mount settings for a scenario)
  unsigned io_threads = 0;
};

/// Lazily builds the context from the global options (settings from the environment, then the
/// --set overrides, which win). Throws dataport::error for bad settings.
class app_state {
 public:
  explicit app_state(global_options& options) : options_(options) {}
  context& ctx();
  /// The log level used when neither -v, -q, --log-level nor DATAPORT_LOG_LEVEL says otherwise:
  /// warn for quick commands, info for transfers (activity lines with durations and settings).
  void set_default_log_level(log::level level) { default_level_ = level; }
  const global_options& options() const { return options_; }
  bool has_context() const { return ctx_ != nullptr; }

 private:
  global_options& options_;
  std::unique_ptr<context> ctx_;
  log::level default_level_ = log::level::warn;
};

/// Each command registers itself on the app and sets a callback that returns an exit code.
using command_result = int;
void add_resolve_command(CLI::App& app, app_state& state, std::optional<int>& result);
void add_ls_command(CLI::App& app, app_state& state, std::optional<int>& result);
void add_stat_command(CLI::App& app, app_state& state, std::optional<int>& result);
void add_cat_command(CLI::App& app, app_state& state, std::optional<int>& result);
void add_put_command(CLI::App& app, app_state& state, std::optional<int>& result);
void add_cp_command(CLI::App& app, app_state& state, std::optional<int>& result);
void add_job_command(CLI::App& app, app_state& state, std::optional<int>& result);
void add_snapshot_command(CLI::App& app, app_state& state, std::optional<int>& result);
void add_mltable_command(CLI::App& app, app_state& state, std::optional<int>& result);
#ifdef DATAPORT_WITH_FUSE
void add_mount_command(CLI::App& app, app_state& state, std::optional<int>& result);
#endif

/// The URI forms, for --help footers.
extern const char* const uri_help;

}  // namespace dataport::cli
