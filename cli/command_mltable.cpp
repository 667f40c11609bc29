// `dataport mltable ls|yaml|download`: what an eval_mount / eval_download input would see.
//  ls        the evaluated file list (layout path, size, URI; --json: one object per line)
//  yaml      the evaluated MLTable copy (paths rewritten to the layout, everything else as is)
//  download  the layout tree and the copy into a local folder (the eval_download mode)
// URIs are printed with secrets redacted; skipped names go to stderr as warnings.
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app.hpp"
#include "dataport/error.hpp"
#include "dataport/mltable.hpp"
#include "dataport/redact.hpp"
#include "output.hpp"
#include "progress.hpp"

namespace dataport::cli {
namespace {

struct mltable_flags {
  std::string uri;
  std::string destination;
  bool json = false;
  bool long_format = false;
  std::string progress = "auto";
  std::string if_exists = "fail";
};

void print_files(const mltable::evaluation& ev, const mltable_flags& flags) {
  std::string out;
  for (const auto& f : ev.files) {
    if (flags.json) {
      nlohmann::json row{
          {"relative_path", f.relative_path}, {"uri", redact_url(f.uri)}, {"size", f.size}};
      if (!f.etag.empty()) row["etag"] = f.etag;
      if (!f.content_md5.empty()) row["content_md5"] = f.content_md5;
      if (f.last_modified) row["last_modified"] = format_time(f.last_modified);
      out += row.dump() + "\n";
    } else if (flags.long_format) {
      out += fmt::format("{:>14}  {}  {}\n", f.size, f.relative_path, redact_url(f.uri));
    } else {
      out += f.relative_path + "\n";
    }
    if (out.size() > (1u << 16)) {
      write_stdout(out.data(), out.size());
      out.clear();
    }
  }
  write_stdout(out.data(), out.size());
}

}  // namespace

void add_mltable_command(CLI::App& app, app_state& state, std::optional<int>& result) {
  auto* group = app.add_subcommand(
      "mltable",
      "Evaluate an MLTable (its paths: file, folder, pattern) as eval_mount/eval_download do");
  group->require_subcommand(1);
  auto flags = std::make_shared<mltable_flags>();

  auto* ls = group->add_subcommand("ls", "List the files an MLTable names, in the eval layout");
  ls->add_option("MLTABLE", flags->uri, "MLTable file, or the folder holding it (any URI)")
      ->required();
  ls->add_flag("--json", flags->json,
               "one JSON object per line: relative_path, uri, size, etag, content_md5");
  ls->add_flag("-l,--long", flags->long_format, "show size and source URI");
  ls->footer(uri_help);
  ls->callback([&state, &result, flags] {
    auto& ctx = state.ctx();
    const auto ev = mltable::evaluate(ctx, flags->uri);
    print_files(ev, *flags);
    result = 0;
  });

  auto* yaml = group->add_subcommand(
      "yaml", "Print the evaluated MLTable copy (paths rewritten to the eval layout)");
  yaml->add_option("MLTABLE", flags->uri, "MLTable file, or the folder holding it (any URI)")
      ->required();
  yaml->footer(uri_help);
  yaml->callback([&state, &result, flags] {
    auto& ctx = state.ctx();
    const auto ev = mltable::evaluate(ctx, flags->uri);
    write_stdout(ev.rewritten_yaml.data(), ev.rewritten_yaml.size());
    result = 0;
  });

  auto* download = group->add_subcommand(
      "download", "Download the evaluated files (and the MLTable copy) into a local folder");
  download->add_option("MLTABLE", flags->uri, "MLTable file, or the folder holding it (any URI)")
      ->required();
  download->add_option("DEST", flags->destination, "local folder (created if missing)")->required();
  download->add_option("--if-exists", flags->if_exists,
                       "an existing file: fail (default), overwrite, skip-identical");
  download->add_option("--progress", flags->progress, "auto, bar, json or none");
  download->footer(uri_help);
  download->callback([&state, &result, flags] {
    state.set_default_log_level(log::level::info);
    auto& ctx = state.ctx();
    const auto ev = mltable::evaluate(ctx, flags->uri);
    transfer_options options;
    options.if_exists = parse_if_exists(flags->if_exists, "--if-exists");
    const progress_mode mode = parse_progress_mode(flags->progress);
    const bool quiet = state.options().quiet;
    options.on_progress = make_progress_printer(mode, quiet);
    const transfer_summary summary = mltable::download(ctx, ev, flags->destination, options);
    finish_progress_line(mode, quiet);
    for (const auto& s : summary.skipped) {
      std::fprintf(stderr, "dataport: skipped %s: %s\n", s.path.c_str(),
                   redact_text(s.reason).c_str());
    }
    if (!quiet) {
      std::fprintf(stderr, "downloaded %llu files (%s) into %s\n",
                   static_cast<unsigned long long>(summary.files_done),
                   format_bytes(summary.bytes).c_str(), flags->destination.c_str());
    }
    result = summary.cancelled ? 1 : 0;
  });
}

}  // namespace dataport::cli
