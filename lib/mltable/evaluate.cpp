// MLTable evaluation: from an MLTable file to the list of files it names (dataport/mltable.hpp).
//
// The flow, once per evaluate():
//  1. Find the file: the URI names the MLTable file or a folder holding one (an azureml: data
//     asset is replaced by its path first). It is read whole (it is small; capped at 4 MiB).
//  2. Parse it (mltable/detail/document.hpp): the `paths:` entries with their line numbers and
//     the byte offsets of their values.
//  3. Each entry becomes a root URI: absolute URIs and '/' paths as written, anything else joined
//     onto the MLTable's folder (mltable/detail/uri_text.hpp). A pattern is cut at its first
//     wildcard segment: the fixed part is the root, the rest a glob (mltable/detail/glob.hpp).
//  4. The root is resolved and opened like any URI (so workspace accounts, datastores and
//     credentials apply per entry, across accounts) and stat-ed (file:) or listed (folder:,
//     pattern: recursively only when the glob spans segments).
//  5. Every file gets its layout path (<account>/<container>/<path>, _http(s)/<host>/..., or
//     _local/<path>), checked with map_remote_name(); duplicates keep the first, unsafe names
//     and names that are also folders are skipped with a reason.
//  6. The copy of the MLTable gets each value replaced by its layout path (./...).
// Every failure of an entry is reported as "<MLTable>:<line>: <kind> '<value>': <reason>".
#include <chrono>
#include <map>
#include <optional>
#include <variant>

#include <fmt/format.h>

#include "dataport/context.hpp"
#include "dataport/error.hpp"
#include "dataport/local_path.hpp"
#include "dataport/log.hpp"
#include "dataport/mltable.hpp"
#include "dataport/object_store.hpp"
#include "dataport/redact.hpp"
#include "dataport/uri.hpp"
#include "dataport/workspace.hpp"
#include "mltable/detail/document.hpp"
#include "mltable/detail/glob.hpp"
#include "mltable/detail/uri_text.hpp"
#include "transfer/detail/plan.hpp"

namespace dataport::mltable {
namespace {

using namespace mltable_detail;

constexpr std::uint64_t max_mltable_bytes = 4u << 20;
constexpr int max_asset_depth = 8;

std::string trim_slashes(std::string_view path) {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  return std::string(path);
}

std::string trim_trailing_slashes(std::string path) {
  while (!path.empty() && path.back() == '/') path.pop_back();
  return path;
}

/// azureml:<name>:<version> (and the long asset-id form) → the asset's own path, recursively.
std::string expand_assets(context& ctx, std::string_view uri) {
  std::string current(uri);
  for (int depth = 0; depth <= max_asset_depth; ++depth) {
    if (!is_uri(current)) return current;
    const parsed_uri parsed = parse_uri(current);
    if (parsed.kind != uri_kind::azureml_asset && parsed.kind != uri_kind::azureml_asset_id &&
        parsed.kind != uri_kind::azureml_registry_asset) {
      return current;
    }
    (void)ctx.resolve(current);  // validates: unknown asset/version, registry, workspace mismatch
    const auto& assets = ctx.workspace_description().data_assets;
    const auto it = assets.find(parsed.asset_name);
    if (it == assets.end() || it->second.versions.empty()) return current;  // resolve() threw
    const data_asset_version& version =
        parsed.asset_latest ? it->second.latest() : it->second.versions.at(parsed.asset_version);
    current = version.path;
  }
  throw_error(errc::invalid_argument,
              fmt::format("'{}' refers to data assets more than {} levels deep (a cycle?)",
                          redact_url(uri), max_asset_depth));
}

/// The layout folder of a store root: <account>/<container>, _http(s)/<host>[_<port>], _local.
std::string layout_root(const location& where) {
  switch (where.backend) {
    case backend_kind::blob:
    case backend_kind::dfs:
      if (!where.account.empty()) return where.account + "/" + where.container;
      [[fallthrough]];
    case backend_kind::https: {
      const auto colon = where.service_url.find("://");
      std::string scheme =
          colon == std::string::npos ? std::string("https") : where.service_url.substr(0, colon);
      std::string host =
          colon == std::string::npos ? where.service_url : where.service_url.substr(colon + 3);
      host = host.substr(0, host.find('/'));
      for (auto& c : host) {
        if (c == ':') c = '_';
      }
      std::string root = "_" + scheme + "/" + host;
      if (where.backend != backend_kind::https) root += "/" + where.container;
      return root;
    }
    case backend_kind::local:
      return "_local";
  }
  return "_unknown";
}

std::string layout_path(const location& where, std::string_view store_path) {
  const std::string rest = trim_slashes(store_path);
  return rest.empty() ? layout_root(where) : layout_root(where) + "/" + rest;
}

/// `path` below the listed root `root` (stores differ in reporting a leading '/').
std::string relative_below(std::string_view root, std::string_view path) {
  auto unrooted = [](std::string_view text) {
    while (!text.empty() && text.front() == '/') text.remove_prefix(1);
    return text;
  };
  return transfer_detail::relative_to_root(unrooted(root), unrooted(path));
}

boost::asio::awaitable<std::vector<object_info>> list_files(std::shared_ptr<object_store> store,
                                                            list_options options) {
  auto pager = store->list(std::move(options));
  std::vector<object_info> files;
  while (true) {
    auto page = co_await pager->next_page();
    if (!page) break;
    for (auto& entry : *page) {
      if (!entry.is_directory) files.push_back(std::move(entry));
    }
  }
  co_return files;
}

/// Reads a whole small object, pinned to the version seen by stat.
std::string read_small_file(context& ctx, object_store& store, const std::string& path,
                            const std::string& display) {
  const object_info info = ctx.run(store.stat(path));
  if (info.is_directory) {
    throw_error(
        errc::invalid_argument,
        fmt::format("'{}' is a folder: name the MLTable file or the folder holding it", display));
  }
  if (info.size > max_mltable_bytes) {
    throw_error(errc::invalid_argument,
                fmt::format("'{}' is {} bytes: an MLTable file is a small YAML file (at most {} "
                            "bytes); is this the right path?",
                            display, info.size, max_mltable_bytes));
  }
  std::string text(info.size, '\0');
  std::uint64_t done = 0;
  while (done < info.size) {
    auto* first = reinterpret_cast<std::byte*>(text.data()) + done;
    const read_result got = ctx.run(
        store.read_range(path, done, std::span<std::byte>(first, info.size - done), info.etag));
    if (got.bytes == 0) {
      throw_error(errc::protocol,
                  fmt::format("'{}' ended after {} of {} bytes", display, done, info.size));
    }
    done += got.bytes;
  }
  return text;
}

/// Where one entry points: its root (the file, the folder, or a pattern's fixed prefix).
struct entry_target {
  uri_text root;
  std::optional<glob> pattern;
  std::string glob_text;  ///< the wildcard part, as matched against listed names
};

/// Splits a path at its first segment with a wildcard (at most before the last segment).
std::pair<std::string, std::string> split_at_wildcard(std::string_view path) {
  std::size_t segment_start = 0;
  std::size_t last_start = 0;
  while (true) {
    const auto slash = path.find('/', segment_start);
    const auto segment =
        path.substr(segment_start, slash == std::string_view::npos ? std::string_view::npos
                                                                   : slash - segment_start);
    last_start = segment_start;
    if (has_wildcard(segment) || slash == std::string_view::npos) break;
    segment_start = slash + 1;
  }
  const std::string fixed(path.substr(0, last_start == 0 ? 0 : last_start - 1));
  return {fixed.empty() && path.starts_with('/') ? std::string("/") : fixed,
          std::string(path.substr(last_start))};
}

entry_target target_of(const path_entry& entry, const uri_text& base_folder) {
  entry_target target;
  const std::string& value = entry.value;
  const bool absolute = is_uri(value) || value.starts_with('/');
  if (entry.kind != path_kind::pattern) {
    target.root = absolute ? split_uri(value) : join_relative(base_folder, value);
    return target;
  }
  std::string wildcard_part;
  if (absolute) {
    uri_text whole = split_uri(value, /*pattern=*/true);
    auto [fixed, rest] = split_at_wildcard(whole.path);
    whole.path = fixed;
    target.root = std::move(whole);
    wildcard_part = std::move(rest);
  } else {
    auto [fixed, rest] = split_at_wildcard(value);
    target.root = join_relative(base_folder, fixed);
    wildcard_part = std::move(rest);
  }
  target.glob_text = target.root.local ? wildcard_part : percent_decoded(wildcard_part);
  std::size_t start = 0;
  while (start <= target.glob_text.size()) {
    auto slash = target.glob_text.find('/', start);
    if (slash == std::string::npos) slash = target.glob_text.size();
    const auto segment = std::string_view(target.glob_text).substr(start, slash - start);
    if (segment == "." || segment == "..") {
      throw_error(errc::invalid_argument,
                  "'.' and '..' cannot follow a wildcard: move them before the first wildcard");
    }
    start = slash + 1;
  }
  try {
    target.pattern = glob::compile(target.glob_text);
  } catch (const glob_error& e) {
    throw_error(errc::invalid_argument,
                fmt::format("bad pattern '{}': {} (at character {} of the wildcard part)",
                            target.glob_text, e.what(), e.offset() + 1));
  }
  return target;
}

class evaluator {
 public:
  evaluator(context& ctx, std::string origin) : ctx_(ctx), origin_(std::move(origin)) {}

  evaluation run(std::string text, const uri_text& mltable_file) {
    const auto started = std::chrono::steady_clock::now();
    document doc = parse_document(std::move(text), origin_);
    if (doc.delta) {
      log::warn("mltable",
                "{}: read_delta_lake is not evaluated: every file of the Delta folder (its "
                "_delta_log included) is exposed, not one table version",
                origin_);
    }
    const uri_text base_folder = parent_folder(mltable_file);
    std::vector<std::string> new_values;
    for (const auto& entry : doc.paths) {
      try {
        new_values.push_back(evaluate_entry(entry, base_folder));
      } catch (const dataport::error& e) {
        throw dataport::error(e.code(),
                              fmt::format("{}:{}: {} '{}': {}", origin_, entry.line,
                                          to_string(entry.kind), redact_url(entry.value), e.what()),
                              e.details());
      }
    }
    ev_.source = origin_;
    ev_.rewritten_yaml = rewrite_paths(doc, new_values, origin_);
    finish_files();
    std::uint64_t bytes = 0;
    for (const auto& f : ev_.files) bytes += f.size;
    log::info("mltable", "evaluated {}: {} path entries, {} files, {} bytes, {} skipped in {} ms",
              origin_, doc.paths.size(), ev_.files.size(), bytes, ev_.skipped.size(),
              std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - started)
                  .count());
    return std::move(ev_);
  }

 private:
  /// Lists or stats one entry; returns its value for the evaluated copy.
  std::string evaluate_entry(const path_entry& entry, const uri_text& base_folder) {
    const entry_target target = target_of(entry, base_folder);
    const location where = ctx_.resolve(target.root.text());
    auto store = ctx_.open_store(where);
    ev_.stores.push_back(store);
    const std::size_t store_index = ev_.stores.size() - 1;
    const std::string root_path = trim_trailing_slashes(store_path(where));
    const std::string root_layout = layout_path(where, root_path);

    if (entry.kind == path_kind::file) {
      const object_info info = ctx_.run(store->stat(root_path));
      if (info.is_directory) {
        throw_error(errc::invalid_argument, "this is a folder: write it as - folder: <path>");
      }
      const std::string relative = layout_path(where, root_path);
      const auto checked = map_remote_name(relative);
      if (const auto* bad = std::get_if<rejected_name>(&checked)) {
        throw_error(errc::invalid_argument,
                    fmt::format("its local path '{}' {}", relative, bad->reason));
      }
      add(make_file(target.root, info, relative, store_index, root_path));
      return "./" + relative;
    }

    const bool recursive = entry.kind == path_kind::folder || target.pattern->spans_segments();
    auto listed =
        ctx_.run(list_files(store, list_options{.prefix = root_path, .recursive = recursive}));
    std::size_t matched = 0;
    for (auto& info : listed) {
      const std::string below = relative_below(root_path, info.path);
      if (target.pattern && !target.pattern->matches(below)) continue;
      ++matched;
      const uri_text file_uri = child(target.root, below);
      const std::string relative = layout_path(where, info.path);
      const auto checked = map_remote_name(relative);
      if (const auto* bad = std::get_if<rejected_name>(&checked)) {
        ev_.skipped.push_back(fmt::format("{}: {}", redact_url(file_uri.text()), bad->reason));
        continue;
      }
      std::string store_path_of_file = info.path;
      add(make_file(file_uri, info, relative, store_index, std::move(store_path_of_file)));
    }
    if (matched == 0) {
      throw_error(errc::not_found,
                  entry.kind == path_kind::folder
                      ? std::string("the folder is empty or does not exist")
                      : fmt::format("no file matches (listed {} files below the fixed prefix "
                                    "'{}')",
                                    listed.size(), redact_url(target.root.text())));
    }
    if (entry.kind == path_kind::folder) {
      return "./" + root_layout + (entry.value.ends_with('/') ? "/" : "");
    }
    return "./" + root_layout + "/" + target.glob_text;
  }

  static evaluated_file make_file(const uri_text& uri, const object_info& info,
                                  std::string relative, std::size_t store_index,
                                  std::string path_in_store) {
    evaluated_file f;
    f.uri = uri.text();
    f.relative_path = std::move(relative);
    f.size = info.size;
    f.etag = info.etag;
    f.content_md5 = info.content_md5;
    f.last_modified = info.last_modified;
    f.store_index = store_index;
    f.store_path = std::move(path_in_store);
    return f;
  }

  /// The first entry naming a layout path wins (two entries may overlap).
  void add(evaluated_file file) { files_.try_emplace(file.relative_path, std::move(file)); }

  /// Sorted list without names that are also folders (a tree cannot hold both).
  void finish_files() {
    for (auto it = files_.begin(); it != files_.end(); ++it) {
      const std::string as_folder = it->first + "/";
      const auto below = files_.lower_bound(as_folder);
      if (below != files_.end() && below->first.starts_with(as_folder)) {
        ev_.skipped.push_back(fmt::format("{}: is also a folder ({} exists below it)",
                                          redact_url(it->second.uri), below->first));
        continue;
      }
      ev_.files.push_back(std::move(it->second));
    }
    for (const auto& reason : ev_.skipped) log::warn("mltable", "skipped {}", reason);
  }

  context& ctx_;
  std::string origin_;
  evaluation ev_;
  std::map<std::string, evaluated_file> files_;
};

}  // namespace

evaluation evaluate_text(context& ctx, std::string_view yaml_text, std::string_view mltable_uri) {
  const uri_text file = split_uri(expand_assets(ctx, mltable_uri));
  return evaluator(ctx, redact_url(file.text())).run(std::string(yaml_text), file);
}

evaluation evaluate(context& ctx, std::string_view mltable_uri) {
  const uri_text given = split_uri(expand_assets(ctx, mltable_uri));
  const std::string display = redact_url(given.text());
  const location where = ctx.resolve(given.text());
  auto store = ctx.open_store(where);
  const std::string path = trim_trailing_slashes(store_path(where));
  bool folder = given.path.ends_with('/') || trim_slashes(path).empty();
  if (!folder) {
    try {
      folder = ctx.run(store->stat(path)).is_directory;
    } catch (const dataport::error& e) {
      if (e.code() != errc::not_found) throw;
      throw dataport::error(errc::not_found,
                            fmt::format("MLTable '{}' does not exist: name an MLTable file or the "
                                        "folder holding one ({})",
                                        display, e.what()),
                            e.details());
    }
  }
  const uri_text file = folder ? child(given, mltable_file_name) : given;
  const std::string file_path = folder
                                    ? (path.empty() ? std::string(mltable_file_name)
                                                    : path + "/" + std::string(mltable_file_name))
                                    : path;
  std::string text;
  try {
    text = read_small_file(ctx, *store, file_path, redact_url(file.text()));
  } catch (const dataport::error& e) {
    if (!folder || e.code() != errc::not_found) throw;
    throw dataport::error(errc::not_found,
                          fmt::format("no MLTable file in the folder '{}': an MLTable folder "
                                      "holds a YAML file named MLTable",
                                      display),
                          e.details());
  }
  return evaluator(ctx, redact_url(file.text())).run(std::move(text), file);
}

}  // namespace dataport::mltable
