// `dataport snapshot DIR`: what a job's code snapshot of DIR would include (after .amlignore /
// .gitignore), the totals against the limits, what was left out and the biggest items. Exit 0
// within the limits; past a limit the report is still printed, then the platform's error (exit 1).
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app.hpp"
#include "dataport/error.hpp"
#include "dataport/redact.hpp"
#include "dataport/snapshot.hpp"
#include "output.hpp"

namespace dataport::cli {
namespace {

struct snapshot_flags {
  std::string dir;
  bool json = false;
  std::optional<std::uint64_t> max_size_mb;
  std::optional<std::uint64_t> max_files;
};

nlohmann::json to_json(const snapshot::plan& p, const snapshot::limits& lim,
                       const std::string& error) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : p.files) files.push_back({{"path", f.relative_path}, {"size", f.size}});
  nlohmann::json biggest_files = nlohmann::json::array();
  for (const auto& f : p.biggest_files)
    biggest_files.push_back({{"path", f.relative_path}, {"size", f.size}});
  nlohmann::json biggest_folders = nlohmann::json::array();
  for (const auto& f : p.biggest_folders) {
    biggest_folders.push_back({{"path", f.relative_path}, {"size", f.bytes}, {"files", f.files}});
  }
  nlohmann::json out = {{"root", p.root.string()},
                        {"files", std::move(files)},
                        {"file_count", p.files.size()},
                        {"total_bytes", p.total_bytes},
                        {"ignored_count", p.ignored_count},
                        {"ignore_files", p.ignore_files},
                        {"biggest_files", std::move(biggest_files)},
                        {"biggest_folders", std::move(biggest_folders)},
                        {"limits", {{"max_bytes", lim.max_bytes}, {"max_files", lim.max_files}}},
                        {"within_limits", error.empty()}};
  if (!error.empty()) out["error"] = error;
  return out;
}

void print_human(const snapshot::plan& p, const snapshot::limits& lim) {
  std::string text;
  for (const auto& f : p.files) text += fmt::format("{:>12}  {}\n", f.size, f.relative_path);
  if (!p.biggest_folders.empty()) {
    text += "Biggest folders:\n";
    for (const auto& f : p.biggest_folders) {
      text += fmt::format("  {:>10}  {:>6} files  {}/\n", format_bytes(f.bytes), f.files,
                          f.relative_path);
    }
  }
  if (!p.biggest_files.empty()) {
    text += "Biggest files:\n";
    for (const auto& f : p.biggest_files)
      text += fmt::format("  {:>10}  {}\n", format_bytes(f.size), f.relative_path);
  }
  std::string ignore_files;
  for (const auto& f : p.ignore_files) ignore_files += (ignore_files.empty() ? "" : ", ") + f;
  text += fmt::format("Ignore files: {}\n", ignore_files.empty() ? "none" : ignore_files);
  text += fmt::format(
      "Snapshot of {}: {} files, {} ({} bytes); {} entries ignored; limits {} files, {} "
      "bytes\n",
      p.root.string(), p.files.size(), format_bytes(p.total_bytes), p.total_bytes, p.ignored_count,
      lim.max_files, lim.max_bytes);
  write_stdout(text.data(), text.size());
}

}  // namespace

void add_snapshot_command(CLI::App& app, app_state& state, std::optional<int>& result) {
  auto* cmd = app.add_subcommand(
      "snapshot",
      "Show what a job's code snapshot of DIR includes (.amlignore/.gitignore), the "
      "totals against the limits and the biggest items");
  auto flags = std::make_shared<snapshot_flags>();
  cmd->add_option("DIR", flags->dir, "the job's code folder")->required();
  cmd->add_flag("--json", flags->json, "one JSON object (files, totals, biggest, limits)");
  cmd->add_option("--max-size-mb", flags->max_size_mb,
                  "size limit in MB (default 300 or AZUREML_SNAPSHOT_MAX_SIZE_MB)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 20));
  cmd->add_option("--max-files", flags->max_files,
                  "file-count limit (default 2000 or AZUREML_SNAPSHOT_MAX_FILES)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100'000'000}));
  cmd->callback([&state, &result, flags] {
    auto config = state.ctx().config();
    if (flags->max_size_mb) config.snapshot_max_size_mb = *flags->max_size_mb;
    if (flags->max_files) config.snapshot_max_files = *flags->max_files;
    const auto lim = snapshot::limits::from_settings(config);
    const auto plan = snapshot::scan(flags->dir);
    const auto error = snapshot::limit_error(plan, lim);
    if (flags->json) {
      const auto text = to_json(plan, lim, error).dump() + "\n";
      write_stdout(text.data(), text.size());
    } else {
      print_human(plan, lim);
    }
    if (!error.empty()) {
      std::fprintf(stderr, "dataport: error: %s\n", redact_text(error).c_str());
      result = 1;
      return;
    }
    result = 0;
  });
}

}  // namespace dataport::cli
