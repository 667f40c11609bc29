// `dataport`: the command line face of the runtime. Each subcommand lives in its own file and
// returns an exit code: 0 ok, 1 failure, 2 usage. Errors print one line naming the problem and
// what to do (plus the service's status, code and request id when there was one); secrets are
// redacted before anything is printed.
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "app.hpp"
#include "dataport/error.hpp"
#include "dataport/log.hpp"
#include "dataport/metrics.hpp"
#include "dataport/presets.hpp"
#include "dataport/redact.hpp"

namespace dataport::cli {

const char* const uri_help = R"(URI forms:
  ./rel/path  /abs/path  file:///abs/path                   local file or folder
  https://host/path  http://host/path                       web server (read only)
  wasbs://<container>@<account>.blob.core.windows.net/<path> Azure Blob (wasb:// = http)
  https://<account>.blob.core.windows.net/<container>/<path>[?<sas>]
  abfss://<filesystem>@<account>.dfs.core.windows.net/<path> ADLS Gen2 via the Blob endpoint
  azureml://datastores/<datastore>/paths/<path>             datastore of the workspace
  azureml://subscriptions/<sub>/resourcegroups/<rg>/workspaces/<ws>/datastores/<ds>/paths/<p>
  azureml:<asset>:<version>  azureml:<asset>@latest          registered data asset
Workspace: --workspace FILE or DATAPORT_WORKSPACE (datastores, data assets, accounts).
Credentials: workspace entries, AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_ACCOUNT with
AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN, a SAS in the URL, or a managed identity.
Settings: every DATASET_*/RSLEX_*/DATAPORT_* variable, or --set NAME=VALUE (see README).)";

context& app_state::ctx() {
  if (!ctx_) {
    if (options_.quiet) {
      log::set_level(log::level::error);
    } else if (options_.verbose) {
      log::set_level(log::level::trace);
    } else if (!options_.log_level.empty()) {
      log::set_level(log::parse_level(options_.log_level, "--log-level"));
    } else if (const char* env = std::getenv("DATAPORT_LOG_LEVEL"); env && *env) {
      log::set_level(log::parse_level(env, "DATAPORT_LOG_LEVEL"));
    } else {
      log::set_level(default_level_);
    }
    context_options opts;
    if (options_.preset.empty()) {
      opts.config = settings_from_environment_with_preset();  // honours DATAPORT_PRESET
    } else {
      const auto chosen = parse_preset(options_.preset);
      if (!chosen) {
        std::string known;
        for (const auto p : all_presets())
          known += (known.empty() ? "" : ", ") + std::string(to_string(p));
        throw_error(errc::invalid_argument,
                    "--preset '" + options_.preset + "' is not a preset: use one of " + known);
      }
      opts.config = settings_with_preset(*chosen);  // explicit variables and --set still win
    }
    for (const auto& assignment : options_.set_values) {
      const auto eq = assignment.find('=');
      if (eq == std::string::npos || eq == 0) {
        throw_error(
            errc::invalid_argument,
            "--set expects NAME=VALUE (for example --set DATASET_MOUNT_READ_BLOCK_SIZE=4MB), "
            "got '" +
                redact_text(assignment) + "'");
      }
      opts.config.set(assignment.substr(0, eq), assignment.substr(eq + 1));
    }
    opts.config.validate();
    opts.workspace_file = options_.workspace_file;
    opts.io_threads = options_.io_threads;
    ctx_ = std::make_unique<context>(std::move(opts));
  }
  return *ctx_;
}

int run(int argc, char** argv) {
  CLI::App app{"dataport: bring ML training data where the code runs (resolve, list, read, copy).",
               "dataport"};
  app.footer(uri_help);
  app.require_subcommand(1);
  // Global options are accepted after the subcommand too (`dataport cp SRC DST --quiet`).
  app.fallthrough();
  app.set_version_flag("--version", "dataport 0.1.0");
  global_options options;
  app.add_option("--workspace", options.workspace_file,
                 "workspace file (YAML/JSON) with datastores, data assets and accounts");
  app.add_option("--set", options.set_values,
                 "override a setting: --set NAME=VALUE (names as the environment variables)");
  app.add_option("--log-level", options.log_level,
                 "trace, debug, info, warn (default), error, off");
  app.add_flag("-v,--verbose", options.verbose,
               "log every request (trace level), secrets redacted");
  app.add_flag("-q,--quiet", options.quiet, "no progress and no log lines below error");
  app.add_flag(
      "--metrics", options.print_metrics,
      "print the metrics (requests, bytes, retries, cache hits) as JSON to stderr at exit");
  app.add_option("--io-threads", options.io_threads, "network I/O threads (default min(2, cores))");
  app.add_option("--preset", options.preset,
                 "reader settings for a scenario: large-sequential, large-parallel, "
                 "small-files-once, small-files-epochs, large-random (or DATAPORT_PRESET)");

  app_state state(options);
  std::optional<int> result;
  add_resolve_command(app, state, result);
  add_ls_command(app, state, result);
  add_stat_command(app, state, result);
  add_cat_command(app, state, result);
  add_put_command(app, state, result);
  add_cp_command(app, state, result);
  add_job_command(app, state, result);
  add_snapshot_command(app, state, result);
  add_mltable_command(app, state, result);
#ifdef DATAPORT_WITH_FUSE
  add_mount_command(app, state, result);
#endif

  int exit_code = 0;
  try {
    app.parse(argc, argv);
    exit_code = result.value_or(0);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const dataport::error& e) {
    std::fprintf(stderr, "dataport: error: %s\n", redact_text(e.what()).c_str());
    exit_code = e.code() == errc::invalid_argument ? 2 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dataport: internal error: %s (please report it)\n",
                 redact_text(e.what()).c_str());
    exit_code = 1;
  }
  if (options.print_metrics && state.has_context()) {
    std::fprintf(stderr, "%s\n", state.ctx().counters()->to_json().c_str());
  }
  return exit_code;
}

}  // namespace dataport::cli

int main(int argc, char** argv) {
  return dataport::cli::run(argc, argv);
}
