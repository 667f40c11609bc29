// eval_download: the evaluated file set copied into a local folder by the transfer engine
// (dataport::mltable::download). The source is the file-set store, so the engine's guarantees
// hold unchanged: parallel ranged reads pinned to the evaluated ETags, hidden temporary names
// renamed into place, Content-MD5 verified when the service knows it, hostile names skipped.
#include <fmt/format.h>

#include "dataport/context.hpp"
#include "dataport/error.hpp"
#include "dataport/mltable.hpp"
#include "dataport/object_store.hpp"
#include "transfer/detail/destination.hpp"
#include "transfer/detail/plan.hpp"

namespace dataport::mltable {

transfer_summary download(context& ctx, const evaluation& ev, const std::filesystem::path& dest,
                          const transfer_options& options) {
  if (dest.empty()) {
    throw_error(errc::invalid_argument, "eval_download needs a destination folder");
  }
  transfer_options effective = options;
  effective.recursive = true;
  effective.verify_md5 = true;

  transfer_detail::destination_settings settings;
  settings.if_exists = effective.if_exists;
  settings.fsync = effective.fsync;
  settings.verify_md5 = true;
  const std::string root = std::filesystem::absolute(dest).lexically_normal().string();

  transfer_detail::copy_plan plan;
  plan.source = make_file_set_store(ctx, ev);
  plan.source_root = "";
  plan.target = transfer_detail::make_local_destination(root, settings);
  transfer_summary summary = transfer_detail::execute_plan(
      ctx, std::move(plan), effective, fmt::format("MLTable {} → {}", ev.source, root));

  if (summary.files_failed > 0) {
    std::string reasons;
    for (std::size_t i = 0; i < summary.failed.size() && i < 3; ++i) {
      reasons += fmt::format("; {}: {}", summary.failed[i].path, summary.failed[i].reason);
    }
    const errc code = summary.failed.empty() ? errc::io : summary.failed.front().code;
    throw_error(
        code == errc::ok ? errc::io : code,
        fmt::format("eval_download of {} into {}: {} of {} files failed{}", ev.source, root,
                    summary.files_failed,
                    summary.files_failed + summary.files_done + summary.files_skipped, reasons));
  }
  return summary;
}

}  // namespace dataport::mltable
