// `dataport job run JOB.yaml`: a command job run locally (see include/dataport/job.hpp and
// docs/jobs.md). The command's output is echoed (to stdout, or to stderr with --json so stdout
// holds only the result object); the exit code is the command's (128+N after signal N; 1 when it
// succeeded but an upload failed; 2 for a bad job file).
#include <cstdio>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app.hpp"
#include "dataport/error.hpp"
#include "dataport/job.hpp"
#include "dataport/log.hpp"
#include "dataport/redact.hpp"

namespace dataport::cli {
namespace {

struct job_flags {
  std::string file;
  std::string name;
  bool json = false;
  bool keep_work_dir = false;
  std::string work_dir;
  long log_interval_ms = 2000;
};

void print_result(const job::run_result& r, bool json) {
  if (json) {
    nlohmann::json outputs = nlohmann::json::object();
    for (const auto& o : r.outputs)
      outputs[o.name] = {{"mode", o.mode}, {"uri", o.uri}, {"local_path", o.local_path}};
    nlohmann::json j{{"name", r.name},
                     {"exit_code", r.exit_code},
                     {"command_exit_code", r.command_exit_code},
                     {"signal", r.signal},
                     {"run_uri", r.run_uri},
                     {"snapshot_uri", r.run_uri + "snapshot/"},
                     {"outputs_uri", r.run_uri + "outputs/"},
                     {"logs_uri", r.run_uri + "logs/"},
                     {"outputs", outputs},
                     {"problems", r.problems},
                     {"duration_ms", r.duration.count()}};
    if (!r.work_dir.empty()) j["work_dir"] = r.work_dir;
    std::cout << j.dump() << std::endl;
    return;
  }
  std::cerr << fmt::format("\nJob {} {} (command exit code {}) in {:.1f} s\n", r.name,
                           r.exit_code == 0 ? "completed" : "failed", r.command_exit_code,
                           static_cast<double>(r.duration.count()) / 1000.0);
  std::cerr << "  run history: " << r.run_uri << "\n";
  std::cerr << "    snapshot/  outputs/ (./outputs)  logs/ (./logs, user_logs/std_log.txt, "
               "data_capability/data-runtime.log)\n";
  for (const auto& o : r.outputs)
    std::cerr << fmt::format("  output {} ({}): {}\n", o.name, o.mode, o.uri);
  if (!r.work_dir.empty()) std::cerr << "  work folder kept: " << r.work_dir << "\n";
  for (const auto& p : r.problems) std::cerr << "  problem: " << redact_text(p) << "\n";
}

int run_job_command(app_state& state, const job_flags& flags) {
  state.set_default_log_level(log::level::warn);
  if (flags.log_interval_ms < 100 || flags.log_interval_ms > 3'600'000)
    throw_error(errc::invalid_argument,
                fmt::format("--log-interval-ms {} is out of range: use 100 to 3600000",
                            flags.log_interval_ms));
  const job::job_spec spec = job::load_job(flags.file);
  for (const auto& w : spec.warnings) std::cerr << "dataport: warning: " << w << "\n";
  auto& ctx = state.ctx();  // settings (environment, --set, --preset) and log level
  context_options base;
  base.config = ctx.config();
  base.workspace_file = state.options().workspace_file;
  base.io_threads = state.options().io_threads;

  job::run_options options;
  options.name = flags.name;
  options.work_dir = flags.work_dir;
  options.keep_work_dir = flags.keep_work_dir;
  options.log_interval = std::chrono::milliseconds(flags.log_interval_ms);
  std::FILE* echo = flags.json ? stderr : stdout;
  if (!state.options().quiet) {
    options.on_output = [echo](std::string_view chunk) {
      std::fwrite(chunk.data(), 1, chunk.size(), echo);
      std::fflush(echo);
    };
  }
  const job::run_result result = job::run_job(base, spec, options);
  print_result(result, flags.json);
  return result.exit_code;
}

}  // namespace

void add_job_command(CLI::App& app, app_state& state, std::optional<int>& result) {
  auto* job_cmd = app.add_subcommand("job", "Run a command job locally (the platform's YAML)");
  job_cmd->require_subcommand(1);
  auto* run = job_cmd->add_subcommand(
      "run",
      "Run a command job: inputs by mode (download, ro_mount, direct), outputs (upload, "
      "rw_mount), code snapshot, ./outputs and ./logs recorded under the default datastore");
  auto flags = std::make_shared<job_flags>();
  run->add_option("JOB", flags->file, "the job file (YAML, the platform's command job)")
      ->required();
  run->add_option("--name", flags->name, "the job name (default: name: in the file, else new)");
  run->add_flag("--json", flags->json,
                "print the result as one JSON object on stdout (the command's output goes to "
                "stderr)");
  run->add_flag("--keep-workdir", flags->keep_work_dir,
                "keep the work folder (working folder, downloaded inputs, output folders)");
  run->add_option("--work-dir", flags->work_dir,
                  "use this (new or empty) folder as the work folder");
  run->add_option("--log-interval-ms", flags->log_interval_ms,
                  "how often ./logs is uploaded while the command runs (default 2000)");
  run->footer(
      "Exit code: the command's (128+N after signal N), 1 when it succeeded but an upload "
      "failed, 2 for a bad job file. SIGINT/SIGTERM are forwarded to the command; outputs and "
      "logs are still uploaded within AZUREML_OUTPUT_UPLOAD_TIMEOUT_SEC (default 600). "
      "See docs/jobs.md.");
  run->callback([&state, &result, flags] { result = run_job_command(state, *flags); });
}

}  // namespace dataport::cli
