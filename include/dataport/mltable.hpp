// dataport::mltable — evaluating an MLTable file into the set of files it names, for the
// platform's eval_mount and eval_download input modes (and `dataport mltable ls|yaml`).
//
// An MLTable file is YAML; only its `paths:` decide which files a job sees:
//
//   paths:
//     - file: ./annotations.csv                                          # one file
//     - folder: wasbs://images@accounta.blob.core.windows.net/camera1/  # every file below it
//     - pattern: azureml://datastores/raw/paths/logs/**/2024-0[1-6]-*.json
//   transformations: [...]                                               # kept, not evaluated
//
// Every URI form dataport resolves works in an entry (dataport/uri.hpp); an entry without a
// scheme that does not start with '/' is relative to the MLTable file's own folder. Patterns
// support `*` (within one path segment), `?` (one character), `[abc]`, `[a-z]`, `[!a-z]`
// (negation, also `[^...]`), `**` (any number of segments, a whole segment of its own) and `\`
// (the next character literally). Only the pattern's fixed prefix (the segments before the
// first wildcard) is listed, recursively only when the rest has a '/' or '**'.
//
// Each evaluated file gets a relative path in one tree (the platform's eval layout):
//   blob / dfs (wasbs, abfss, blob https URLs, azureml datastores)  <account>/<container>/<path>
//   web server (http / https, not storage)              _http/<host>[_<port>]/<url path>,
//                                                       _https/<host>[_<port>]/<url path>
//   local file system (paths, file://, local datastores)  _local/<absolute path without '/'>
// Storage account names never contain '_', so these roots cannot collide with an account.
// The tree's root also holds `MLTable`: the evaluated copy whose path entries point into the
// tree (./<layout path>), every other byte of the file kept as it was.
//
// Not evaluated (kept in the copy as written): transformations (read_delimited, take, filter,
// ...), Delta tables (`read_delta_lake`: every file of the folder is exposed, the Delta log
// included), `query_source` tables (refused: they name no files). See docs/mltable.md.
//
// Errors: dataport::error. A malformed MLTable (not YAML, no `paths:`, an unknown path kind, a
// bad pattern, a relative path climbing above its root) is errc::invalid_argument with
// "<MLTable uri>:<line>: ..." naming the problem and the fix; a missing file, folder or a
// pattern matching nothing is errc::not_found with the same prefix.
//
// Ownership: an evaluation holds the stores it listed (shared with the context's HTTP client);
// it must not outlive the context. Thread-safety: evaluate() and download() block the calling
// thread (never an I/O thread); an evaluation is immutable afterwards and may be shared; the
// file-set store may be used concurrently like any object_store.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dataport/transfer.hpp"

namespace dataport {
class context;
class object_store;
}  // namespace dataport

namespace dataport::mltable {

/// The name of the evaluated MLTable copy at the root of the layout tree.
inline constexpr std::string_view mltable_file_name = "MLTable";

struct evaluated_file {
  /// The file's URI in the form the MLTable used (wasbs://, azureml://, https://, local path),
  /// resolvable by dataport. SECRET when the MLTable's URI carried a SAS query: print it through
  /// redact_url().
  std::string uri;
  /// Path in the layout tree ('/'-separated, no leading '/'): see the table above. Always safe
  /// to create under a destination folder (checked with map_remote_name()).
  std::string relative_path;
  std::uint64_t size = 0;   ///< bytes, from the listing or stat
  std::string etag;         ///< version seen at evaluation; reads are pinned to it
  std::string content_md5;  ///< base64 MD5 when the service knows it (download verifies it)
  std::optional<std::chrono::system_clock::time_point> last_modified;
  std::size_t store_index = 0;  ///< which of evaluation::stores holds the file
  std::string store_path;       ///< the file's path inside that store
};

struct evaluation {
  std::string source;                 ///< the MLTable file's URI, secrets redacted
  std::vector<evaluated_file> files;  ///< sorted by relative_path, no duplicates
  /// The MLTable text with each path entry's value replaced by its local layout path
  /// (./<layout path>, the pattern's wildcard part kept); every other byte kept as it was.
  std::string rewritten_yaml;
  /// Listed names that cannot be laid out (hostile names such as "a/../x", a name that is both a
  /// file and a folder), each "uri: reason" with secrets redacted; they are left out of files.
  std::vector<std::string> skipped;
  /// The stores the files are read from (one per path entry); see evaluated_file::store_index.
  std::vector<std::shared_ptr<object_store>> stores;
};

/// Reads and evaluates an MLTable. `mltable_uri` is any URI dataport resolves (dataport/uri.hpp),
/// including azureml:<asset>:<version>: a folder holding a file named MLTable, or the file
/// itself. Every path entry is listed (or stat-ed for file:) now; nothing is downloaded.
evaluation evaluate(context& ctx, std::string_view mltable_uri);

/// Evaluates MLTable text that was already read. `mltable_uri` names the file in messages and
/// anchors relative entries (its folder); it is not read.
evaluation evaluate_text(context& ctx, std::string_view yaml_text, std::string_view mltable_uri);

/// A read-only object_store whose tree is the evaluation's layout: listing and stat show the
/// layout folders and files (and `MLTable`, the rewritten copy, at the root); reads are
/// forwarded to the real files, pinned to the evaluated ETag (a file changed since evaluation
/// reads as errc::changed). Writes throw errc::unsupported. For eval_mount (mount this store at
/// the input folder) and for download(). The store keeps its own copy of `ev`'s file list.
std::shared_ptr<object_store> make_file_set_store(context& ctx, const evaluation& ev);

/// eval_download: copies the layout tree (and `MLTable`) into `dest` with the transfer engine
/// (parallel ranged reads, hidden temporary names renamed into place, whole-file Content-MD5
/// checked whenever the service knows it). `options` as for dataport::copy (threads, if_exists,
/// progress, cancel; `recursive` and `verify_md5` are forced on). Throws dataport::error when a
/// file failed (naming the first ones); hostile names are skipped and reported in the summary.
transfer_summary download(context& ctx, const evaluation& ev, const std::filesystem::path& dest,
                          const transfer_options& options = {});

}  // namespace dataport::mltable
