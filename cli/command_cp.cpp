// `dataport cp` (and its aliases `download` and `upload`): the transfer engine on the command
// line. Prints a progress bar on a terminal and a summary at the end (JSON with --json); exits 1
// when any file failed or was skipped for a problem (a hostile name), 0 otherwise.
#include <csignal>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app.hpp"
#include "dataport/error.hpp"
#include "dataport/log.hpp"
#include "dataport/transfer.hpp"
#include "output.hpp"
#include "progress.hpp"

namespace dataport::cli {
namespace {

struct cp_flags {
  std::string source;
  std::string destination;
  bool recursive = false;
  unsigned threads = 0;
  std::string chunk_size;
  std::string if_exists = "fail";
  bool verify_md5 = false;
  bool fail_fast = false;
  bool fsync = false;
  bool direct_io = false;
  bool buffered_io = false;
  bool restart_on_change = false;
  bool create_container = false;
  bool no_server_side_copy = false;
  bool json = false;
  std::string progress = "auto";
};

std::shared_ptr<cancel_token> interrupt_token;

extern "C" void on_interrupt(int) {
  if (interrupt_token) interrupt_token->cancel();
}

nlohmann::json problems_json(const std::vector<transfer_problem>& problems) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : problems) {
    out.push_back(
        {{"path", p.path}, {"reason", p.reason}, {"code", std::string(to_string(p.code))}});
  }
  return out;
}

/// Lists problems (at most 20; --json has them all). Benign skips (identical files) are counted
/// in the summary line only.
void print_problems(const char* title, const std::vector<transfer_problem>& problems,
                    bool only_real_problems) {
  constexpr std::size_t shown_at_most = 20;
  std::size_t shown = 0, hidden = 0;
  for (const auto& p : problems) {
    if (only_real_problems && p.code == errc::ok) continue;
    if (shown == shown_at_most) {
      ++hidden;
      continue;
    }
    if (shown++ == 0) std::cerr << title << ":\n";
    std::cerr << "  " << p.path << ": " << p.reason << "\n";
  }
  if (hidden) std::cerr << "  ... and " << hidden << " more (--json lists them all)\n";
}

void print_summary(const transfer_summary& s, bool json) {
  const double seconds = static_cast<double>(s.duration.count()) / 1000.0;
  const double rate = seconds > 0 ? static_cast<double>(s.bytes) / seconds : 0;
  if (json) {
    nlohmann::json j{{"files_done", s.files_done},
                     {"files_failed", s.files_failed},
                     {"files_skipped", s.files_skipped},
                     {"bytes", s.bytes},
                     {"duration_ms", s.duration.count()},
                     {"bytes_per_second", rate},
                     {"requests", s.requests},
                     {"retries", s.retries},
                     {"files_copied_by_service", s.files_copied_by_service},
                     {"cancelled", s.cancelled},
                     {"failed", problems_json(s.failed)},
                     {"skipped", problems_json(s.skipped)}};
    std::cout << j.dump() << std::endl;
    return;
  }
  std::cerr << fmt::format(
      "{} {} files ({}) in {:.2f} s ({}/s): {} failed, {} skipped; {} requests, {} retries\n",
      s.cancelled ? "Cancelled after copying" : "Copied", s.files_done, format_bytes(s.bytes),
      seconds, format_bytes(static_cast<std::uint64_t>(rate)), s.files_failed, s.files_skipped,
      s.requests, s.retries);
  if (s.files_copied_by_service > 0) {
    std::cerr << fmt::format(
        "  {} of the files were copied by the storage service itself "
        "(server-side copy; --no-server-side-copy streams them)\n",
        s.files_copied_by_service);
  }
  print_problems("Failed", s.failed, false);
  print_problems("Skipped", s.skipped, true);
}

int run_copy(app_state& state, const cp_flags& flags) {
  state.set_default_log_level(log::level::info);
  auto& ctx = state.ctx();
  const location source = ctx.resolve(flags.source);
  const location destination = ctx.resolve(flags.destination);
  transfer_options options;
  options.recursive = flags.recursive;
  options.threads = flags.threads;
  if (!flags.chunk_size.empty()) {
    const auto size = parse_size(flags.chunk_size, "--chunk-size");
    if (size < 64 * 1024 || size > (4000ll << 20)) {
      throw_error(
          errc::invalid_argument,
          fmt::format("--chunk-size {} is out of range: use 64KB to 4000MB", flags.chunk_size));
    }
    options.chunk_size = static_cast<std::uint64_t>(size);
  }
  options.if_exists = parse_if_exists(flags.if_exists, "--if-exists");
  options.verify_md5 = flags.verify_md5;
  options.fail_fast = flags.fail_fast;
  options.fsync = flags.fsync;
  if (flags.direct_io) options.direct_io = true;
  if (flags.buffered_io) options.direct_io = false;
  options.restart_on_change = flags.restart_on_change;
  options.create_container = flags.create_container;
  options.server_side_copy = !flags.no_server_side_copy;
  const progress_mode mode = parse_progress_mode(flags.progress);
  const bool quiet = state.options().quiet;
  options.on_progress = make_progress_printer(mode, quiet);
  options.cancel = std::make_shared<cancel_token>();
  interrupt_token = options.cancel;
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);

  const transfer_summary summary = copy(ctx, source, destination, options);
  finish_progress_line(mode, quiet);
  bool problem = summary.files_failed > 0 || summary.cancelled;
  for (const auto& s : summary.skipped) problem = problem || s.code != errc::ok;
  // --quiet still reports what went wrong: the summary lists every failed or skipped item.
  if (!quiet || flags.json || problem) print_summary(summary, flags.json);
  return problem ? 1 : 0;
}

void add_copy_like(CLI::App& app, app_state& state, std::optional<int>& result, const char* name,
                   const char* description) {
  auto* cmd = app.add_subcommand(name, description);
  auto flags = std::make_shared<cp_flags>();
  cmd->add_option("SRC", flags->source, "source file or folder URI")->required();
  cmd->add_option("DST", flags->destination, "destination URI (a folder when it ends with '/')")
      ->required();
  cmd->add_flag("-R,-r,--recursive", flags->recursive, "copy a folder's contents");
  cmd->add_option("--threads", flags->threads,
                  "requests in flight (default RSLEX_DOWNLOADER_THREADS = cores x 4)");
  cmd->add_option("--chunk-size", flags->chunk_size,
                  "range / block size, e.g. 8MB (default DATAPORT_CHUNK_SIZE)");
  cmd->add_option("--if-exists", flags->if_exists,
                  "fail (default), overwrite, or skip-identical (same size and ETag/MD5)");
  cmd->add_flag("--verify-md5", flags->verify_md5,
                "check the bytes: blob ranges of <= 4 MiB against the service's MD5 (re-read "
                "when corrupted), and each file against its Content-MD5 when it has one");
  cmd->add_flag("--fail-fast", flags->fail_fast, "stop at the first failed file");
  cmd->add_flag("--fsync", flags->fsync, "fsync each local file before it takes its final name");
  auto* direct = cmd->add_flag(
      "--direct-io", flags->direct_io,
      "write downloaded files of 1 MiB and more with O_DIRECT: no page cache filled or dirtied "
      "(less CPU; the files are not in memory afterwards). Default DATAPORT_DIRECT_IO (true)");
  cmd->add_flag("--no-direct-io", flags->buffered_io,
                "write every file through the page cache (DATAPORT_DIRECT_IO=false does the same)")
      ->excludes(direct);
  cmd->add_flag("--restart-on-change", flags->restart_on_change,
                "start a file over once if its source changes during the copy (default: fail it)");
  cmd->add_flag("--create-container", flags->create_container,
                "create the destination container first when it does not exist");
  cmd->add_flag("--no-server-side-copy", flags->no_server_side_copy,
                "blob -> blob: stream every byte through dataport instead of letting the "
                "destination service copy from the source (Copy Blob / Put Block From URL with a "
                "2-hour read-only SAS for each source blob)");
  cmd->add_flag("--json", flags->json, "print the summary as one JSON object on stdout");
  cmd->add_option("--progress", flags->progress,
                  "auto (a bar when stderr is a terminal), bar, json (lines on stderr) or none");
  cmd->footer(
      std::string(uri_help) +
      "\n\nExamples:\n"
      "  dataport cp azureml://datastores/ds/paths/imgs/ ./imgs -R     download a folder\n"
      "  dataport cp ./outputs wasbs://c@acct.blob.core.windows.net/run1/ -R   upload\n"
      "  dataport cp wasbs://a@x.blob.core.windows.net/f.bin wasbs://b@y.blob.core.windows.net/\n");
  cmd->callback([&state, &result, flags] { result = run_copy(state, *flags); });
}

}  // namespace

void add_cp_command(CLI::App& app, app_state& state, std::optional<int>& result) {
  add_copy_like(app, state, result, "cp",
                "Copy files or folders: download (remote → local), upload (local → remote), or "
                "remote → remote, in parallel, atomically per file");
  add_copy_like(app, state, result, "download", "Alias of cp, for remote → local");
  add_copy_like(app, state, result, "upload", "Alias of cp, for local → remote");
}

}  // namespace dataport::cli
