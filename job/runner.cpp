// Running a command job locally, in the platform's order:
//
//   1. settings: the job's environment_variables that name dataport settings (DATASET_*, RSLEX_*,
//      AZUREML_*) override the process's, for this job's own data access (a context of its own);
//   2. the run's history folder azureml://datastores/<default>/paths/ExperimentRun/dcid.<name>/
//      must not exist yet (a job name is used once, as on the platform);
//   3. the code folder is snapshotted into the working folder and uploaded to snapshot/;
//   4. inputs are downloaded, mounted or passed through; outputs get a folder, an rw mount or a
//      URI; ${{...}} in the command is substituted and AZURE_ML_INPUT_/AZURE_ML_OUTPUT_ exported;
//   5. `bash -c <command>` runs in the working folder in its own process group; its output goes
//      to logs/user_logs/std_log.txt (and to the caller); SIGINT/SIGTERM are forwarded;
//   6. whatever happened: mounts are unmounted, upload outputs and ./outputs uploaded, logs sent,
//      all within AZUREML_OUTPUT_UPLOAD_TIMEOUT_SEC (a second signal cuts the uploads short).
//
// The working folder's ./logs (which also holds user_logs/ and data_capability/) is the run's
// logs/ folder, streamed while the command runs (new and grown files every --log-interval-ms).
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "dataport/error.hpp"
#include "dataport/job.hpp"
#include "dataport/log.hpp"
#include "dataport/object_store.hpp"
#include "dataport/redact.hpp"
#include "dataport/workspace.hpp"
#include "job/detail/activity_log.hpp"
#include "job/detail/bindings.hpp"
#include "job/detail/process.hpp"
#include "job/detail/staging.hpp"

extern char** environ;

namespace dataport::job {
namespace {

namespace fs = std::filesystem;
using namespace detail;

std::string generated_name() {
  std::random_device device;
  std::mt19937_64 rng(device());
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", &tm);
  return fmt::format("job_{}_{:06x}", stamp, rng() & 0xffffff);
}

bool is_setting_prefix(std::string_view name) {
  for (std::string_view prefix : {"DATASET_", "RSLEX_", "AZUREML_DATASET_", "DATAPORT_"})
    if (name.rfind(prefix, 0) == 0) return true;
  return false;
}

/// The job's settings: the base ones with the job's environment_variables applied.
settings job_settings(const settings& base, const job_spec& spec, std::vector<std::string>& notes) {
  settings config = base;
  const auto known = config.describe();
  for (const auto& [name, value] : spec.environment_variables) {
    if (known.contains(name)) {
      try {
        config.set(name, value);
      } catch (const error& e) {
        throw_error(errc::invalid_argument,
                    fmt::format("{}: environment_variables: {}", spec.file, e.what()));
      }
    } else if (is_setting_prefix(name)) {
      notes.push_back(
          fmt::format("{} is not a setting dataport knows: it is only passed to the "
                      "command",
                      name));
    }
  }
  try {
    config.validate();
  } catch (const error& e) {
    throw_error(errc::invalid_argument,
                fmt::format("{}: environment_variables: {}", spec.file, e.what()));
  }
  return config;
}

std::string make_work_root(const run_options& options, const std::string& name) {
  std::error_code ec;
  if (!options.work_dir.empty()) {
    const std::string root = fs::absolute(options.work_dir).lexically_normal().string();
    fs::create_directories(root, ec);
    if (ec || !fs::is_directory(root, ec))
      throw_error(errc::invalid_argument,
                  fmt::format("--work-dir '{}' cannot be created: {}", root, ec.message()));
    if (!fs::is_empty(root, ec))
      throw_error(errc::invalid_argument,
                  fmt::format("--work-dir '{}' is not empty: name an empty or new folder", root));
    return root;
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = fmt::format("{}/dataport-job-{}-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
  if (!::mkdtemp(pattern.data()))
    throw_error(errc::io, fmt::format("cannot create a work folder under {}: {}",
                                      tmp && *tmp ? tmp : "/tmp", std::strerror(errno)));
  return pattern;
}

/// Mount points under `root` still in /proc/self/mounts (a work folder is never removed while
/// something is mounted inside it).
bool has_mounts_under(const std::string& root) {
  std::ifstream mounts("/proc/self/mounts");
  std::string device, point;
  std::string rest;
  while (mounts >> device >> point) {
    std::getline(mounts, rest);
    if (point == root || point.rfind(root + "/", 0) == 0) return true;
  }
  return false;
}

/// Cancels the final uploads at the deadline or when a new signal arrives.
class upload_watchdog {
 public:
  upload_watchdog(std::chrono::seconds timeout, std::shared_ptr<cancel_token> token)
      : token_(std::move(token)),
        deadline_(std::chrono::steady_clock::now() + timeout),
        signals_at_start_(signal_guard::count()),
        thread_([this] { watch(); }) {}
  ~upload_watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  bool fired() const { return fired_.load(); }

 private:
  void watch() {
    std::unique_lock lock(mutex_);
    while (!done_) {
      // Signals cannot notify a condition variable: a short poll notices them.
      wake_.wait_for(lock, std::chrono::milliseconds(100));
      if (done_) break;
      if (std::chrono::steady_clock::now() >= deadline_ ||
          signal_guard::count() > signals_at_start_) {
        fired_ = true;
        token_->cancel();
        break;
      }
    }
  }
  std::shared_ptr<cancel_token> token_;
  std::chrono::steady_clock::time_point deadline_;
  int signals_at_start_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::atomic<bool> fired_{false};
  std::thread thread_;
};

std::vector<std::string> command_environment(const job_spec& spec,
                                             const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env[std::string(entry.substr(0, eq))] = std::string(entry.substr(eq + 1));
  }
  for (const auto& [name, value] : spec.environment_variables) env[name] = value;
  for (const auto& [name, value] : extra) env[name] = value;
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

}  // namespace

run_result run_job(const context_options& base, const job_spec& spec, const run_options& options) {
  const auto started = std::chrono::steady_clock::now();
  check_modes_supported(spec);
  std::vector<std::string> notes;
  context_options job_options = base;
  job_options.config = job_settings(base.config, spec, notes);
  context ctx(job_options);

  run_result result;
  result.name = !options.name.empty() ? options.name
                : !spec.name.empty()  ? spec.name
                                      : generated_name();
  if (auto problem = job_name_problem(result.name); !problem.empty())
    throw_error(errc::invalid_argument, problem);
  const std::string datastore = ctx.workspace_description().default_datastore;
  if (datastore.empty())
    throw_error(errc::invalid_argument,
                "the workspace has no default_datastore, so the job has nowhere to record its run: "
                "set default_datastore in the workspace file (--workspace or DATAPORT_WORKSPACE; "
                "see docs/workspace.md)");
  result.run_uri = run_history_uri(datastore, result.name);

  // A job name is used once: refuse to mix two runs' outputs and logs.
  {
    const location run_root = ctx.resolve(result.run_uri);
    const auto store = ctx.open_store(run_root);
    ctx.run(store->create_container());
    if (ctx.run(has_entries(*store, store_path(run_root))))
      throw_error(errc::already_exists,
                  fmt::format("a job named '{}' already ran ({} exists): run it under another "
                              "name (--name NAME, or change name: in the job file)",
                              result.name, result.run_uri));
  }

  // Output URIs, expanded before anything moves (a bad expression fails here).
  std::vector<std::string> output_uris;
  for (const auto& out : spec.outputs) {
    output_uris.push_back(out.path.empty()
                              ? default_output_uri(datastore, result.name, out.name)
                              : expand_output_path(out.path, datastore, result.name, out.name));
  }

  job_folders folders;
  folders.root = make_work_root(options, result.name);
  folders.working = folders.root + "/wd";
  folders.inputs = folders.root + "/inputs";
  folders.outputs = folders.root + "/outputs";
  folders.cache = folders.root + "/cache";
  // Removed at the end unless kept; never while something is still mounted inside it.
  struct work_cleanup {
    std::string root;
    bool keep;
    ~work_cleanup() {
      if (keep) return;
      if (has_mounts_under(root)) {
        log::error("job", "the work folder {} still has mounts inside: it is left in place", root);
        return;
      }
      std::error_code ec;
      fs::remove_all(root, ec);
    }
  } cleanup{folders.root, options.keep_work_dir};
  if (options.keep_work_dir) result.work_dir = folders.root;

  for (const auto& dir : {folders.working, folders.inputs, folders.outputs, folders.cache})
    fs::create_directories(dir);
  const std::string logs_dir = folders.working + "/logs";
  fs::create_directories(logs_dir + "/user_logs");
  fs::create_directories(logs_dir + "/data_capability");
  activity_log alog(logs_dir + "/data_capability/data-runtime.log");
  alog.line("INFO",
            fmt::format("Job {} from {} (run history {})", result.name, spec.file, result.run_uri));
  for (const auto& w : spec.warnings) alog.line("WARN", w);
  for (const auto& n : notes) alog.line("WARN", n);
  for (const auto& [name, value] : ctx.config().describe())
    alog.line("INFO", fmt::format("Setting in effect: {}={}", name, value));

  // Code snapshot: the working folder starts as a copy of it; the same files go to snapshot/.
  stage_code_snapshot(ctx, spec, folders.root + "/snapshot", folders.working,
                      result.run_uri + "snapshot/", alog);

  std::map<std::string, std::string> input_values, output_values, exported;
  std::vector<bound_input> inputs;
  std::vector<bound_output> outputs;
  for (const auto& in : spec.inputs) {
    inputs.push_back(bind_input(ctx, in, folders, alog));
    input_values[in.name] = inputs.back().value;
    exported[input_env_name(in.name)] = inputs.back().value;
  }
  for (std::size_t i = 0; i < spec.outputs.size(); ++i) {
    outputs.push_back(bind_output(ctx, spec.outputs[i], output_uris[i], folders, alog));
    output_values[spec.outputs[i].name] = outputs.back().value;
    exported[output_env_name(spec.outputs[i].name)] = outputs.back().value;
  }
  exported["AZUREML_RUN_ID"] = result.name;
  if (!spec.experiment_name.empty()) exported["AZUREML_EXPERIMENT_NAME"] = spec.experiment_name;
  const std::string command = substitute_command(spec.command, input_values, output_values);

  // Run the command, its output to std_log.txt and to the caller.
  signal_guard signals;
  log_sync live_logs(ctx, logs_dir, result.run_uri + "logs/", options.log_interval);
  live_logs.start();
  {
    std::ofstream std_log(logs_dir + "/user_logs/std_log.txt", std::ios::binary | std::ios::app);
    command_request request;
    request.command = command;
    request.working_dir = folders.working;
    request.environment = command_environment(spec, exported);
    request.kill_grace = options.kill_grace;
    activity_log::activity act(alog, "command", "bash -c " + redact_text(command));
    if (signal_guard::received() != 0) {
      result.command_exit_code = 128 + signal_guard::received();
      act.failure("stopped by a signal before it started");
    } else {
      const command_outcome outcome = run_command(request, [&](std::string_view chunk) {
        std_log.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        std_log.flush();
        if (options.on_output) options.on_output(chunk);
      });
      result.command_exit_code = outcome.exit_code;
      if (outcome.exit_code == 0)
        act.success();
      else
        act.failure(fmt::format("exit code {}", outcome.exit_code));
    }
    result.signal = signal_guard::received();
  }

  // Whatever happened: unmount inputs, finish outputs, upload ./outputs and the logs.
  {
    activity_log::activity act(alog, "finalize",
                               fmt::format("AZUREML_OUTPUT_UPLOAD_TIMEOUT_SEC={}",
                                           ctx.config().output_upload_timeout.count()));
    auto token = std::make_shared<cancel_token>();
    const auto finalize_deadline =
        std::chrono::steady_clock::now() + ctx.config().output_upload_timeout;
    upload_watchdog watchdog(ctx.config().output_upload_timeout, token);
    for (auto& in : inputs) {
      if (in.mount)
        for (auto& p : in.mount->unmount_and_wait()) result.problems.push_back(p);
    }
    for (auto& out : outputs) {
      for (auto& p : finish_output(ctx, out, alog, token)) result.problems.push_back(p);
      result.outputs.push_back({out.name, std::string(to_string(out.mode)),
                                redact_url(out.mode == data_mode::direct ? out.value : out.uri),
                                out.value});
    }
    {
      activity_log::activity up(alog, "outputs.upload", result.run_uri + "outputs/");
      auto problems =
          upload_folder(ctx, folders.working + "/outputs", result.run_uri + "outputs/", token);
      if (problems.empty())
        up.success();
      else
        up.failure(problems.front());
      for (auto& p : problems) result.problems.push_back("./outputs: " + p);
    }
    if (watchdog.fired())
      result.problems.push_back(fmt::format(
          "the final uploads were cut short ({}): raise AZUREML_OUTPUT_UPLOAD_TIMEOUT_SEC (now "
          "{} s) if they need longer",
          signal_guard::count() > 1 ? "a second signal" : "timeout",
          ctx.config().output_upload_timeout.count()));
    for (const auto& p : result.problems) alog.line("ERROR", p);
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    result.exit_code = result.command_exit_code;
    if (result.exit_code == 0 && result.signal != 0) result.exit_code = 128 + result.signal;
    if (result.exit_code == 0 && !result.problems.empty()) result.exit_code = 1;
    if (result.problems.empty())
      act.success();
    else
      act.failure(fmt::format("{} problem(s)", result.problems.size()));
    alog.line("INFO", fmt::format("Job {} ended: command exit code {}, dataport exit code {}, "
                                  "{:.1f} s",
                                  result.name, result.command_exit_code, result.exit_code,
                                  static_cast<double>(elapsed.count()) / 1000.0));
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(
        finalize_deadline - std::chrono::steady_clock::now());
    for (auto& p : live_logs.stop(std::max(left, std::chrono::seconds(5))))
      result.problems.push_back("logs: " + p);
  }
  if (result.exit_code == 0 && !result.problems.empty()) result.exit_code = 1;
  result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  return result;
}

}  // namespace dataport::job
