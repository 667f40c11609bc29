// Copy planning: what the source is, and where its files land.
//
// Rules (like cp): a file copied to an existing folder, or to a destination ending in '/', keeps
// its name inside it; otherwise the destination is the file's new name. A folder (which needs
// --recursive) has its contents copied into the destination folder.
#include <sys/stat.h>

#include <fmt/format.h>

#include "dataport/context.hpp"
#include "dataport/error.hpp"
#include "dataport/redact.hpp"
#include "transfer/detail/plan.hpp"

#include <algorithm>

namespace dataport::transfer_detail {
namespace {

std::string trim_trailing_slashes(std::string path) {
  while (!path.empty() && path.back() == '/') path.pop_back();
  return path;
}

std::string base_name(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool is_local_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool ends_with_slash(const std::string& s) {
  return !s.empty() && s.back() == '/';
}

}  // namespace

std::uint64_t adaptive_chunk_size(std::uint64_t size, std::uint64_t pending, unsigned workers,
                                  std::uint64_t min_chunk, std::uint64_t split_threshold) {
  if (size == 0) return std::max<std::uint64_t>(min_chunk, 1);
  if (size <= split_threshold) return size;
  min_chunk = std::max<std::uint64_t>(min_chunk, 64 * 1024);
  const std::uint64_t most = std::max<std::uint64_t>(1, size / min_chunk);
  const std::uint64_t wanted = (std::max(1u, workers) + std::max<std::uint64_t>(pending, 1) - 1) /
                               std::max<std::uint64_t>(pending, 1);
  const std::uint64_t chunks = std::clamp<std::uint64_t>(wanted, 1, most);
  const std::uint64_t granule = 64 * 1024;
  const std::uint64_t chunk = (size + chunks - 1) / chunks;
  return std::min(size, (chunk + granule - 1) / granule * granule);
}

file_plan make_file_plan(std::string relative, const object_info& source,
                         std::uint64_t chunk_size) {
  file_plan plan;
  plan.relative = std::move(relative);
  plan.source = source;
  plan.chunk_size = chunk_size;
  plan.chunk_count = static_cast<std::uint32_t>((source.size + chunk_size - 1) / chunk_size);
  return plan;
}

copy_plan plan_copy(context& ctx, const location& source, const location& destination,
                    const transfer_options& options) {
  copy_plan plan;
  plan.source = ctx.open_store(source);
  const std::string source_path = trim_trailing_slashes(store_path(source));
  object_info root;
  if (source_path.empty() && source.backend != backend_kind::local) {
    root.is_directory = true;  // a container root
  } else {
    root = ctx.run(plan.source->stat(source_path));
  }

  destination_settings settings;
  settings.if_exists = options.if_exists;
  settings.fsync = options.fsync;
  settings.verify_md5 = options.verify_md5;
  settings.direct_io = options.direct_io.value_or(ctx.config().direct_io);

  const bool local_destination = destination.backend == backend_kind::local;
  std::string destination_root;  // local: absolute folder; store: prefix
  if (root.is_directory) {
    if (!options.recursive) {
      throw_error(
          errc::invalid_argument,
          fmt::format("'{}' is a folder: add -R (--recursive) to copy its contents",
                      redact_url(source.source_uri.empty() ? source.path : source.source_uri)));
    }
    plan.source_root = source_path;
    destination_root =
        local_destination ? destination.path : trim_trailing_slashes(destination.path);
  } else {
    plan.single_file = root;
    const std::string name = base_name(source_path);
    if (local_destination) {
      // The resolver normalises local paths (dropping a trailing '/'), so the URI as given
      // tells whether the user named a folder.
      if (ends_with_slash(destination.path) || ends_with_slash(destination.source_uri) ||
          is_local_directory(destination.path)) {
        destination_root = destination.path;
        plan.single_relative = name;
      } else {
        destination_root = parent_of(destination.path);
        plan.single_relative = base_name(destination.path);
      }
    } else {
      const std::string target = destination.path;
      bool into_folder = target.empty() || ends_with_slash(target);
      if (!into_folder) {
        auto store = ctx.open_store(destination);
        try {
          into_folder = ctx.run(store->stat(target)).is_directory;
        } catch (const dataport::error& e) {
          if (e.code() != errc::not_found) throw;
        }
      }
      if (into_folder) {
        destination_root = trim_trailing_slashes(target);
        plan.single_relative = name;
      } else {
        destination_root = parent_of(target);
        plan.single_relative = base_name(target);
      }
    }
  }

  if (local_destination) {
    plan.target =
        make_local_destination(destination_root.empty() ? "." : destination_root, settings);
  } else {
    if (!ctx.open_store(destination)->capabilities().writable) {
      throw_error(
          errc::unsupported,
          fmt::format("'{}' is read only: copy to a local folder or a blob location instead",
                      redact_url(destination.source_uri)));
    }
    auto store = ctx.open_store(destination);
    if (options.create_container) ctx.run(store->create_container());
    plan.target = make_store_destination(std::move(store), destination_root, settings);
    plan.needs_source_md5 = options.if_exists == if_exists_policy::skip_identical;
    // Server-side copy when the destination service can read the source through a URL with its
    // own grant (probed with a name below the source: signing costs no request).
    if (options.server_side_copy && plan.target->copies_from_url() &&
        source.backend != backend_kind::local) {
      const std::string probe = source_path.empty() ? "probe" : source_path;
      plan.server_side = plan.source->copy_source_url(probe).has_value();
      plan.server_side_within_account = plan.server_side &&
                                        trim_trailing_slashes(source.service_url) ==
                                            trim_trailing_slashes(destination.service_url) &&
                                        options.if_exists == if_exists_policy::fail;
    }
  }
  return plan;
}

/// The entry's path below the copied folder. Roots and listed paths come from the same store in
/// the same form (store_path() drops the '/' only where the store's listing has none), so a
/// leading '/' of a blob name reaches map_remote_name() as it is.
std::string relative_to_root(std::string_view root, std::string_view path) {
  if (root.empty()) return std::string(path);
  if (path.size() > root.size() && path.substr(0, root.size()) == root &&
      path[root.size()] == '/') {
    return std::string(path.substr(root.size() + 1));
  }
  return std::string(path);
}

}  // namespace dataport::transfer_detail

namespace dataport {

std::string_view to_string(if_exists_policy policy) noexcept {
  switch (policy) {
    case if_exists_policy::fail:
      return "fail";
    case if_exists_policy::overwrite:
      return "overwrite";
    case if_exists_policy::skip_identical:
      return "skip-identical";
  }
  return "unknown";
}

if_exists_policy parse_if_exists(std::string_view text, std::string_view what) {
  if (text == "fail") return if_exists_policy::fail;
  if (text == "overwrite") return if_exists_policy::overwrite;
  if (text == "skip-identical" || text == "skip_identical") return if_exists_policy::skip_identical;
  throw_error(
      errc::invalid_argument,
      fmt::format("{}='{}' is not a policy: use fail, overwrite or skip-identical", what, text));
}

}  // namespace dataport
