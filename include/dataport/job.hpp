// dataport::job — a command job in the platform's YAML shape, run locally: inputs materialised by
// mode, the command run in a working folder made from the code snapshot, outputs uploaded, and
// the run's snapshot/, outputs/ and logs/ written under the default datastore.
//
// The job file (subset of the platform's commandJob schema; docs/jobs.md has the full story):
//
//   $schema: ...                      ignored
//   name: my-job                      optional; --name wins; else a generated name
//   display_name / experiment_name / description / tags   kept for messages
//   code: ./src                       folder snapshotted into the working folder (relative to
//                                     the job file); optional
//   command: python train.py --data ${{inputs.data}} --out ${{outputs.model}}
//   inputs:
//     epochs: 10                      literal value (number, string, boolean)
//     data: {type: uri_file | uri_folder | mltable, path: <URI>, mode: <input mode>}
//   outputs:
//     model: {type: uri_folder, path: <URI with ${{default_datastore}} ${{name}}
//             ${{output_name}}>, mode: upload | rw_mount | direct}     (path optional)
//   environment_variables: {NAME: value}
//   environment / compute / distribution / resources / ...: accepted, ignored with a warning
//
// Modes (the platform's table): uri_file and uri_folder inputs: download, ro_mount, direct;
// mltable inputs also eval_download, eval_mount. uri_file and uri_folder outputs: upload,
// rw_mount; mltable outputs also direct. Defaults: inputs ro_mount, outputs rw_mount (as on the
// platform). Any other combination is refused when the file is parsed.
//
// Thread-safety: the spec functions are pure. run_job() blocks the calling thread; it installs
// SIGINT/SIGTERM handlers for its duration (forwarded to the command's process group) and
// restores the previous ones before it returns. Run one job at a time per process.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dataport/context.hpp"

namespace dataport::job {

enum class data_type { uri_file, uri_folder, mltable };
enum class data_mode { download, ro_mount, direct, eval_download, eval_mount, upload, rw_mount };

std::string_view to_string(data_type type) noexcept;
std::string_view to_string(data_mode mode) noexcept;

struct input_spec {
  std::string name;
  bool literal = false;  ///< a literal value: `value` holds its text, the rest is unused
  std::string value;
  data_type type = data_type::uri_folder;
  std::string path;  ///< URI or local path (local ones absolute, relative to the job file)
  data_mode mode = data_mode::ro_mount;
  int line = 0;  ///< 1-based line in the job file, for messages
};

struct output_spec {
  std::string name;
  data_type type = data_type::uri_folder;
  std::string path;  ///< may hold ${{...}} expressions; empty = the default output location
  data_mode mode = data_mode::rw_mount;
  int line = 0;
};

struct job_spec {
  std::string file;  ///< the job file (for messages and relative paths)
  std::string name;
  std::string display_name;
  std::string experiment_name;
  std::string code;  ///< absolute folder; empty = no code snapshot
  std::string command;
  int command_line = 0;
  std::vector<input_spec> inputs;                                          ///< in file order
  std::vector<output_spec> outputs;                                        ///< in file order
  std::vector<std::pair<std::string, std::string>> environment_variables;  ///< in file order
  std::vector<std::string> warnings;  ///< ignored keys etc., "file:line: ..." each
};

/// Parses and validates a job file's text. `file` names it in messages and anchors relative
/// paths (code, local input paths). Throws dataport::error(invalid_argument) with
/// "<file>:<line>: ..." naming the key, the problem and what to write instead.
job_spec parse_job(std::string_view text, const std::string& file);

/// Reads and parses a job file. A missing or unreadable file is invalid_argument naming it.
job_spec load_job(const std::string& path);

/// Replaces every ${{inputs.<name>}} and ${{outputs.<name>}} in `command` (spaces inside the
/// braces allowed). Any other ${{...}} expression, or a name not in the maps, throws
/// invalid_argument naming the expression and the known names.
std::string substitute_command(std::string_view command,
                               const std::map<std::string, std::string>& inputs,
                               const std::map<std::string, std::string>& outputs);

/// Expands ${{default_datastore}}, ${{name}} (the job name) and ${{output_name}} in an output
/// path. Any other expression throws invalid_argument.
std::string expand_output_path(std::string_view path, std::string_view default_datastore,
                               std::string_view job_name, std::string_view output_name);

/// azureml://datastores/<ds>/paths/azureml/<job>/<output>/ — where an output without a path goes.
std::string default_output_uri(std::string_view default_datastore, std::string_view job_name,
                               std::string_view output_name);

/// azureml://datastores/<ds>/paths/ExperimentRun/dcid.<job>/ — the run's history folder.
std::string run_history_uri(std::string_view default_datastore, std::string_view job_name);

/// Checks a job name: 1-255 characters, letters, digits, '-' and '_', starting with a letter or
/// digit (the platform's rule). Empty string when valid, else the reason.
std::string job_name_problem(std::string_view name);

/// The environment variable name for an input or output: AZURE_ML_INPUT_<name>.
std::string input_env_name(std::string_view name);
std::string output_env_name(std::string_view name);

struct run_options {
  std::string name;      ///< overrides the file's name; empty = the file's, else generated
  std::string work_dir;  ///< empty = a new folder under $TMPDIR; else created or empty
  bool keep_work_dir = false;
  std::chrono::milliseconds log_interval{2000};  ///< ./logs upload interval while running
  /// Receives the command's output (stdout and stderr interleaved) as it arrives; the CLI echoes
  /// it. Called on the calling thread.
  std::function<void(std::string_view)> on_output;
  /// Time between the forwarded SIGINT/SIGTERM and SIGKILL of the command's process group.
  std::chrono::seconds kill_grace{30};
};

struct output_result {
  std::string name;
  std::string mode;
  std::string uri;         ///< where it landed (redacted)
  std::string local_path;  ///< what the command was given
};

struct run_result {
  std::string name;
  int exit_code = 0;          ///< what dataport exits with (see docs/jobs.md)
  int command_exit_code = 0;  ///< the command's own code (128+N after signal N)
  int signal = 0;             ///< SIGINT/SIGTERM received and forwarded, 0 if none
  std::string run_uri;        ///< azureml://datastores/<ds>/paths/ExperimentRun/dcid.<name>/
  std::string work_dir;       ///< kept only with keep_work_dir
  std::vector<output_result> outputs;
  std::vector<std::string> problems;  ///< upload/unmount failures (the job still ran)
  std::chrono::milliseconds duration{0};
};

/// Runs a job: resolves the default datastore from the context's workspace, snapshots the code,
/// materialises inputs, mounts outputs, runs `bash -c <command>` in its own process group with
/// the job's environment, then unmounts and uploads outputs, ./outputs and the logs within
/// AZUREML_OUTPUT_UPLOAD_TIMEOUT_SEC, even when the command failed or a signal stopped it.
///
/// `base` supplies the settings and workspace; the job's environment_variables that name
/// dataport settings (DATASET_*, RSLEX_*, AZUREML_*, DATAPORT_*) override them for the job's own
/// data access. Errors before the command starts (bad input URI, missing container, no default
/// datastore) throw dataport::error and leave nothing mounted.
run_result run_job(const context_options& base, const job_spec& spec, const run_options& options);

}  // namespace dataport::job
