// Inputs and outputs by mode (see detail/bindings.hpp). Downloads and uploads go through the
// transfer engine (parallel, atomic per file); mounts through mount_session.
#include "job/detail/bindings.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "dataport/error.hpp"
#include "dataport/mltable.hpp"
#include "dataport/object_store.hpp"
#include "dataport/redact.hpp"

namespace dataport::job::detail {
namespace {

namespace fs = std::filesystem;

std::string trimmed_path(const location& where) {
  std::string path = store_path(where);
  while (!path.empty() && path.back() == '/') path.pop_back();
  return path;
}

/// The last segment of a location's path (the file name a uri_file keeps locally).
std::string base_name(const location& where) {
  const std::string path = trimmed_path(where);
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

location parent_of(const location& where) {
  location parent = where;
  std::string path = where.path;
  while (!path.empty() && path.back() == '/') path.pop_back();
  const auto slash = path.rfind('/');
  parent.path = slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
  if (where.backend == backend_kind::local && parent.path.empty()) parent.path = "/";
  return parent;
}

std::string describe(const location& where) {
  return where.source_uri.empty()
             ? redact_url(where.service_url + "/" + where.container + "/" + where.path)
             : redact_url(where.source_uri);
}

/// Checks that `where` exists and is a file (uri_file) or a folder (uri_folder, mltable).
void check_kind(context& ctx, const location& where, const std::string& what, data_type type) {
  const auto store = ctx.open_store(where);
  const std::string path = trimmed_path(where);
  if (path.empty()) return;  // a container root is a folder; listing it reports a missing one
  object_info info;
  try {
    info = ctx.run(store->stat(path));
  } catch (const error& e) {
    throw error(e.code(), fmt::format("{}: {} cannot be read: {}", what, describe(where), e.what()),
                e.details());
  }
  if (type == data_type::uri_file && info.is_directory)
    throw_error(errc::invalid_argument,
                fmt::format("{} is type uri_file but {} is a folder: use type uri_folder", what,
                            describe(where)));
  if (type != data_type::uri_file && !info.is_directory)
    throw_error(errc::invalid_argument,
                fmt::format("{} is type {} but {} is a file: use type uri_file", what,
                            to_string(type), describe(where)));
}

void make_folder(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec)
    throw_error(errc::io, fmt::format("cannot create the folder '{}': {}", path, ec.message()));
}

std::string first_problems(const transfer_summary& summary) {
  std::string out;
  std::size_t shown = 0;
  for (const auto& p : summary.failed) {
    if (shown++ == 3) break;
    out += fmt::format("{}{}: {}", out.empty() ? "" : "; ", p.path, p.reason);
  }
  return out;
}

bool has_files(const std::string& folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return false;
  for (auto it = fs::recursive_directory_iterator(folder, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) return true;
  }
  return false;
}

/// eval_download / eval_mount: the MLTable's paths evaluated into the eval layout
/// (<account>/<container>/<path>, the rewritten MLTable at the root), downloaded or mounted.
void bind_mltable(context& ctx, const input_spec& in, const std::string& local,
                  const job_folders& folders, activity_log& log, bound_input& bound) {
  const std::string what = fmt::format("input '{}'", in.name);
  activity_log::activity act(log, fmt::format("input.{}", to_string(in.mode)),
                             fmt::format("name={} uri={}", in.name, redact_url(in.path)));
  try {
    const mltable::evaluation ev = mltable::evaluate(ctx, in.path);
    make_folder(local);
    if (in.mode == data_mode::eval_download) {
      const transfer_summary summary = mltable::download(ctx, ev, local);
      if (summary.files_failed > 0)
        throw_error(
            errc::io,
            fmt::format("{}: {} of {} files failed to download: {}", what, summary.files_failed,
                        summary.files_failed + summary.files_done, first_problems(summary)));
    } else {
      bound.mount =
          mount_store(ctx, mltable::make_file_set_store(ctx, ev), "mltable:" + redact_url(in.path),
                      local, (fs::path(folders.cache) / ("input-" + in.name)).string());
    }
    log.line("INFO", fmt::format("{}: MLTable evaluated to {} files ({})", what, ev.files.size(),
                                 to_string(in.mode)));
    bound.value = local;
    act.success();
  } catch (const std::exception& e) {
    act.failure(e.what());
    throw;
  }
}

}  // namespace

void check_modes_supported(const job_spec& spec) {
  for (const auto& in : spec.inputs) {
    if (in.literal) continue;
    if ((in.mode == data_mode::ro_mount || in.mode == data_mode::eval_mount) && !mounts_supported())
      throw_error(errc::unsupported,
                  fmt::format("{}:{}: input '{}' uses mode {}, but this dataport was built "
                              "without FUSE (DATAPORT_BUILD_FUSE=OFF): use mode download",
                              spec.file, in.line, in.name, to_string(in.mode)));
  }
  for (const auto& out : spec.outputs) {
    if (out.mode == data_mode::rw_mount && !mounts_supported())
      throw_error(errc::unsupported,
                  fmt::format("{}:{}: output '{}' uses mode rw_mount, but this dataport was built "
                              "without FUSE (DATAPORT_BUILD_FUSE=OFF): use mode upload",
                              spec.file, out.line, out.name));
  }
}

bound_input bind_input(context& ctx, const input_spec& in, const job_folders& folders,
                       activity_log& log) {
  bound_input bound;
  bound.name = in.name;
  if (in.literal) {
    bound.value = in.value;
    return bound;
  }
  const std::string what = fmt::format("input '{}'", in.name);
  if (in.mode == data_mode::direct) {
    bound.value = in.path;  // passed through unchanged, as on the platform
    log.line("INFO", fmt::format("{} (direct): {}", what, redact_url(in.path)));
    return bound;
  }
  const std::string local = (fs::path(folders.inputs) / in.name).string();
  if (in.mode == data_mode::eval_download || in.mode == data_mode::eval_mount) {
    bind_mltable(ctx, in, local, folders, log, bound);
    return bound;
  }
  const location where = ctx.resolve(in.path);
  activity_log::activity act(log, fmt::format("input.{}", to_string(in.mode)),
                             fmt::format("name={} uri={}", in.name, describe(where)));
  try {
    check_kind(ctx, where, what, in.type);
    const bool file = in.type == data_type::uri_file;
    make_folder(local);
    if (in.mode == data_mode::download) {
      transfer_options options;
      options.recursive = !file;
      options.if_exists = if_exists_policy::overwrite;
      const transfer_summary summary = copy(ctx, where, ctx.resolve(local + "/"), options);
      if (summary.files_failed > 0)
        throw_error(
            errc::io,
            fmt::format("{}: {} of {} files failed to download: {}", what, summary.files_failed,
                        summary.files_failed + summary.files_done, first_problems(summary)));
      log.line("INFO", fmt::format("{}: downloaded {} files, {} bytes", what, summary.files_done,
                                   summary.bytes));
    } else {
      bound.mount = mount_location(ctx, where, local, false,
                                   (fs::path(folders.cache) / ("input-" + in.name)).string());
    }
    bound.value = file ? (fs::path(local) / base_name(where)).string() : local;
    act.success();
  } catch (const std::exception& e) {
    act.failure(e.what());
    throw;
  }
  return bound;
}

bound_output bind_output(context& ctx, const output_spec& out, const std::string& uri,
                         const job_folders& folders, activity_log& log) {
  bound_output bound;
  bound.name = out.name;
  bound.mode = out.mode;
  bound.type = out.type;
  bound.uri = uri;
  if (out.mode == data_mode::direct) {
    bound.value = uri;
    return bound;
  }
  bound.where = ctx.resolve(uri);
  if (!bound.where.credential.sas_token.empty()) register_secret(bound.where.credential.sas_token);
  if (bound.where.backend == backend_kind::https)
    throw_error(errc::invalid_argument,
                fmt::format("output '{}': {} is a web server location, which is read only: write "
                            "outputs to a datastore or a storage account",
                            out.name, describe(bound.where)));
  const bool file = out.type == data_type::uri_file;
  bound.local_root = (fs::path(folders.outputs) / out.name).string();
  make_folder(bound.local_root);
  bound.value =
      file ? (fs::path(bound.local_root) / base_name(bound.where)).string() : bound.local_root;
  if (out.mode == data_mode::rw_mount) {
    activity_log::activity act(log, "output.rw_mount",
                               fmt::format("name={} uri={}", out.name, describe(bound.where)));
    try {
      if (bound.where.backend != backend_kind::local) {
        const auto store = ctx.open_store(bound.where);
        ctx.run(store->create_container());
      } else {
        make_folder(bound.where.path);
      }
      const location mounted = file ? parent_of(bound.where) : bound.where;
      if (mounted.backend == backend_kind::local) make_folder(mounted.path);
      bound.mount = mount_location(ctx, mounted, bound.local_root, true,
                                   (fs::path(folders.cache) / ("output-" + out.name)).string());
      act.success();
    } catch (const std::exception& e) {
      act.failure(e.what());
      throw;
    }
  }
  return bound;
}

std::vector<std::string> upload_folder(context& ctx, const std::string& local_folder,
                                       const std::string& remote_folder_uri,
                                       const std::shared_ptr<cancel_token>& cancel) {
  std::vector<std::string> problems;
  if (!has_files(local_folder)) return problems;
  try {
    transfer_options options;
    options.recursive = true;
    options.if_exists = if_exists_policy::overwrite;
    options.create_container = true;
    options.cancel = cancel;
    const transfer_summary summary =
        copy(ctx, ctx.resolve(local_folder), ctx.resolve(remote_folder_uri), options);
    for (const auto& p : summary.failed)
      problems.push_back(
          fmt::format("{} → {}: {}", p.path, redact_url(remote_folder_uri), p.reason));
    if (summary.cancelled)
      problems.push_back(fmt::format("upload of {} to {} was cut short (timeout or signal)",
                                     local_folder, redact_url(remote_folder_uri)));
  } catch (const std::exception& e) {
    problems.push_back(fmt::format("upload of {} to {} failed: {}", local_folder,
                                   redact_url(remote_folder_uri), redact_text(e.what())));
  }
  return problems;
}

std::vector<std::string> finish_output(context& ctx, bound_output& out, activity_log& log,
                                       const std::shared_ptr<cancel_token>& cancel) {
  std::vector<std::string> problems;
  if (out.mode == data_mode::direct) return problems;
  activity_log::activity act(log, fmt::format("output.{}", to_string(out.mode)),
                             fmt::format("name={} uri={}", out.name, redact_url(out.uri)));
  try {
    if (out.mode == data_mode::rw_mount) {
      if (out.mount) problems = out.mount->unmount_and_wait();
    } else if (out.type == data_type::uri_file) {
      std::error_code ec;
      if (!fs::is_regular_file(out.value, ec)) {
        log.line("WARN", fmt::format("output '{}': the command wrote no file at {}: nothing to "
                                     "upload",
                                     out.name, out.value));
      } else {
        transfer_options options;
        options.if_exists = if_exists_policy::overwrite;
        options.create_container = true;
        options.cancel = cancel;
        const transfer_summary summary = copy(ctx, ctx.resolve(out.value), out.where, options);
        for (const auto& p : summary.failed) problems.push_back(p.path + ": " + p.reason);
        if (summary.cancelled) problems.push_back("upload cut short (timeout or signal)");
      }
    } else {
      problems = upload_folder(ctx, out.local_root, out.uri, cancel);
    }
  } catch (const std::exception& e) {
    problems.push_back(redact_text(e.what()));
  }
  for (auto& p : problems) p = fmt::format("output '{}': {}", out.name, p);
  if (problems.empty())
    act.success();
  else
    act.failure(problems.front());
  return problems;
}

}  // namespace dataport::job::detail
