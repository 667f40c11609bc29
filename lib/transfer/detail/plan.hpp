// Turning (source, destination, options) into what the engine moves. Private to lib/transfer.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "dataport/object_store.hpp"
#include "dataport/transfer.hpp"
#include "transfer/detail/destination.hpp"

namespace dataport::transfer_detail {

struct copy_plan {
  std::shared_ptr<object_store> source;
  std::string source_root;                 ///< folder copied (store path, no trailing '/')
  std::optional<object_info> single_file;  ///< set when the source is one file
  std::string single_relative;             ///< its name under the destination root
  std::unique_ptr<transfer_detail::destination> target;
  bool needs_source_md5 = false;  ///< skip-identical uploads compare MD5s
  /// Chunks are copied by the destination service from the source's URL (file_writer::copy_from).
  bool server_side = false;
  /// Server-side inside one account with --if-exists fail: files over the Copy Blob From URL limit
  /// are one Copy Blob (synchronous inside an account; nothing to lose if it is not).
  bool server_side_within_account = false;
};

/// Resolves what the source is (stat), where each file goes, and builds the destination.
/// Throws dataport::error for problems that stop the whole copy.
copy_plan plan_copy(context& ctx, const location& source, const location& destination,
                    const transfer_options& options);

/// Runs a planned copy to the end (what copy() does after plan_copy()). Also the seam for tests
/// that bring their own source store. `description` names source and destination in the log
/// (secrets already redacted).
transfer_summary execute_plan(context& ctx, copy_plan plan, const transfer_options& options,
                              const std::string& description);

/// `path` (a listed entry) relative to the copied folder `root`; '/'-rooted paths (https stores)
/// are compared without the leading '/'. A path outside `root` is returned as it is.
std::string relative_to_root(std::string_view root, std::string_view path);

/// Chunk size of one file in adaptive mode (a destination that takes pieces, so the chunk size
/// costs no memory, and no chunk size given by the caller): a file of up to `split_threshold`
/// bytes is one request; a larger one gets as many chunks as it takes to keep `workers` busy
/// beside the `pending` files known to be waiting (this one included), at least one and never
/// smaller than `min_chunk` bytes. Ten 100 MiB files and 8 workers: one GET per file; one 1 GiB
/// file: 8 ranges of 128 MiB. Fewer, larger ranges cost the server less (Azurite's cost is mostly
/// per request) and still keep every worker busy. Returns a multiple of 64 KiB (or `size`).
std::uint64_t adaptive_chunk_size(std::uint64_t size, std::uint64_t pending, unsigned workers,
                                  std::uint64_t min_chunk, std::uint64_t split_threshold);

/// Chunks of one file: a file up to one chunk long is a single chunk.
file_plan make_file_plan(std::string relative, const object_info& source, std::uint64_t chunk_size);

}  // namespace dataport::transfer_detail
