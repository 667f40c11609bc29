// dataport_copy: the transfer engine behind a C function with a progress callback.
//
// Cancellation is the callback's return value: non-zero sets the transfer's cancel_token, and
// the engine stops scheduling chunks. The summary is returned even for failed or cancelled
// copies, because the caller needs the per-file reasons more than the status.
#include <fmt/format.h>

#include "capi_internal.hpp"
#include "dataport/transfer.hpp"

using namespace dataport;
using namespace dataport::capi;

namespace {

template <class T>
T number_option(const nlohmann::json& options, const char* key, T fallback) {
  if (!options.contains(key)) return fallback;
  const auto& value = options.at(key);
  if (!value.is_number_unsigned()) {
    throw_error(errc::invalid_argument,
                fmt::format("copy option '{}' must be a non-negative integer", key));
  }
  return value.get<T>();
}

bool bool_option(const nlohmann::json& options, const char* key) {
  if (!options.contains(key)) return false;
  const auto& value = options.at(key);
  if (!value.is_boolean()) {
    throw_error(errc::invalid_argument, fmt::format("copy option '{}' must be true or false", key));
  }
  return value.get<bool>();
}

transfer_options make_transfer_options(const char* options_json) {
  const auto options = parse_options(options_json, "copy options");
  check_keys(options,
             {"recursive", "threads", "chunk_size", "inflight_bytes", "if_exists", "verify_md5",
              "fail_fast", "fsync", "direct_io", "restart_on_change", "create_container",
              "progress_interval_ms"},
             "copy options");
  transfer_options out;
  out.recursive = bool_option(options, "recursive");
  out.threads = number_option<unsigned>(options, "threads", 0);
  out.chunk_size = number_option<std::uint64_t>(options, "chunk_size", 0);
  out.inflight_bytes = number_option<std::uint64_t>(options, "inflight_bytes", 0);
  if (options.contains("if_exists")) {
    if (!options.at("if_exists").is_string()) {
      throw_error(errc::invalid_argument,
                  "copy option 'if_exists' must be \"fail\", \"overwrite\" or \"skip-identical\"");
    }
    out.if_exists =
        parse_if_exists(options.at("if_exists").get<std::string>(), "copy option if_exists");
  }
  out.verify_md5 = bool_option(options, "verify_md5");
  out.fail_fast = bool_option(options, "fail_fast");
  out.fsync = bool_option(options, "fsync");
  if (options.contains("direct_io")) out.direct_io = bool_option(options, "direct_io");
  out.restart_on_change = bool_option(options, "restart_on_change");
  out.create_container = bool_option(options, "create_container");
  out.progress_interval =
      std::chrono::milliseconds(number_option<std::uint64_t>(options, "progress_interval_ms", 200));
  return out;
}

nlohmann::json problems_json(const std::vector<transfer_problem>& problems) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : problems) {
    out.push_back({{"path", p.path}, {"reason", p.reason}, {"code", static_cast<int>(p.code)}});
  }
  return out;
}

nlohmann::json summary_json(const transfer_summary& s) {
  return {{"files_done", s.files_done},
          {"files_failed", s.files_failed},
          {"files_skipped", s.files_skipped},
          {"bytes", s.bytes},
          {"duration_ms", s.duration.count()},
          {"requests", s.requests},
          {"retries", s.retries},
          {"cancelled", s.cancelled},
          {"failed", problems_json(s.failed)},
          {"skipped", problems_json(s.skipped)}};
}

}  // namespace

extern "C" dataport_status dataport_copy(dataport_context* context, const char* source,
                                         const char* destination, const char* options_json,
                                         dataport_progress_fn progress, void* user_data,
                                         char** out_summary_json) {
  if (out_summary_json != nullptr) *out_summary_json = nullptr;
  return guarded([&] {
    auto& rt = checked(context);
    require(source, "dataport_copy: source");
    require(destination, "dataport_copy: destination");
    transfer_options options = make_transfer_options(options_json);
    auto cancel = std::make_shared<cancel_token>();
    options.cancel = cancel;
    if (progress != nullptr) {
      options.on_progress = [progress, user_data, cancel](const transfer_progress& p) {
        const dataport_progress c{p.files_known,
                                  p.files_done,
                                  p.files_failed,
                                  p.files_skipped,
                                  p.bytes_known,
                                  p.bytes_done,
                                  static_cast<std::uint64_t>(p.elapsed.count()),
                                  p.listing_done ? 1 : 0};
        if (progress(&c, user_data) != 0) cancel->cancel();
      };
    }
    const location from = rt.ctx().resolve(source);
    const location to = rt.ctx().resolve(destination);
    const transfer_summary summary = copy(rt.ctx(), from, to, options);
    if (out_summary_json != nullptr) *out_summary_json = to_c_string(summary_json(summary).dump());
    if (summary.cancelled) {
      return fail(errc::cancelled,
                  fmt::format("the copy was cancelled by the progress callback after {} files",
                              summary.files_done));
    }
    if (!summary.failed.empty()) {
      const auto& first = summary.failed.front();
      return fail(
          first.code == errc::ok ? errc::internal : first.code,
          fmt::format("{} of {} files failed; first: {}: {}", summary.failed.size(),
                      summary.files_done + summary.failed.size(), first.path, first.reason));
    }
    return succeed();
  });
}
