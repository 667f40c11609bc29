// `dataport mount URI MOUNTPOINT` and `dataport unmount MOUNTPOINT`: the platform's ro_mount and
// rw_mount from the command line. The work is in the FUSE adapter (dataport/mount.hpp); this file
// only maps flags to mount_options. Built only with DATAPORT_WITH_FUSE.
#ifdef DATAPORT_WITH_FUSE
#include <memory>

#include "app.hpp"
#include "dataport/error.hpp"
#include "dataport/mount.hpp"
#include "dataport/presets.hpp"

namespace dataport::cli {
namespace {

struct mount_flags {
  std::string uri;
  std::string mountpoint;
  bool read_write = false;
  std::string mode;
  std::string preset_name;
  std::string cache_dir;
  bool foreground = false;
  bool allow_other = false;
  std::vector<std::string> fuse_options;
  std::string log_file;
};

mount_options to_options(const mount_flags& flags) {
  mount_options options;
  options.read_write = flags.read_write;
  options.allow_other = flags.allow_other;
  options.cache_dir = flags.cache_dir;
  for (const auto& group : flags.fuse_options) {
    std::size_t start = 0;
    while (start <= group.size()) {
      const auto comma = group.find(',', start);
      const auto item =
          group.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!item.empty()) options.fuse_options.push_back(item);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  if (!flags.mode.empty()) {
    if (flags.mode == "block") {
      options.block_mode = true;
    } else if (flags.mode == "whole-file" || flags.mode == "whole_file") {
      options.block_mode = false;
    } else {
      throw_error(errc::invalid_argument,
                  "--mode must be 'block' or 'whole-file', got '" + flags.mode + "'");
    }
  }
  if (!flags.preset_name.empty()) {
    options.reader_preset = parse_preset(flags.preset_name);
    if (!options.reader_preset) {
      std::string known;
      for (auto p : all_presets())
        known += std::string(known.empty() ? "" : ", ") + std::string(to_string(p));
      throw_error(errc::invalid_argument,
                  "unknown --preset '" + flags.preset_name + "'; known: " + known);
    }
  }
  return options;
}

}  // namespace

void add_mount_command(CLI::App& app, app_state& state, std::optional<int>& result) {
  auto* cmd =
      app.add_subcommand("mount", "Mount a URI as a folder (read-only by default, --rw to write)");
  auto flags = std::make_shared<mount_flags>();
  cmd->add_option("URI", flags->uri, "container, folder, file, datastore path or data asset")
      ->required();
  cmd->add_option("MOUNTPOINT", flags->mountpoint, "an existing empty folder")->required();
  cmd->add_flag("--rw", flags->read_write, "read-write mount: writes are uploaded at close/fsync");
  cmd->add_option("--mode", flags->mode, "block (default) or whole-file");
  cmd->add_option(
      "--preset", flags->preset_name,
      "large-sequential, large-parallel, small-files-once, small-files-epochs, large-random");
  cmd->add_option("--cache-dir", flags->cache_dir,
                  "cache and staging folder (default DATAPORT_CACHE_DIR)");
  cmd->add_flag("--foreground,-f", flags->foreground, "serve in this process until unmounted");
  cmd->add_flag("--allow-other", flags->allow_other, "let other users read the mount");
  cmd->add_option("-o", flags->fuse_options, "extra FUSE mount options (comma separated)");
  cmd->add_option("--log-file", flags->log_file, "append the mount's log lines to this file");
  cmd->footer(uri_help);
  cmd->callback([&state, &result, flags] {
    state.set_default_log_level(log::level::warn);
    const mount_options options = to_options(*flags);
    const std::string log_file = flags->log_file;
    result = run_mount(
        [&state, log_file]() -> context& {
          if (!log_file.empty()) log::set_file(log_file);
          return state.ctx();
        },
        flags->uri, flags->mountpoint, options, flags->foreground);
  });

  auto* un = app.add_subcommand("unmount", "Unmount a folder mounted by `dataport mount`");
  auto mountpoint = std::make_shared<std::string>();
  un->add_option("MOUNTPOINT", *mountpoint, "the mounted folder")->required();
  un->callback([&result, mountpoint] {
    unmount_path(*mountpoint);
    result = 0;
  });
}

}  // namespace dataport::cli
#endif
