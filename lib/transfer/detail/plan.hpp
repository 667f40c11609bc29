// Turning (source, destination, options) into what the engine moves. Private to lib/transfer.
#pragma once

#include <memory>
#include <optional>
#include <string>

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

/// Chunks of one file: a file up to one chunk long is a single chunk.
file_plan make_file_plan(std::string relative, const object_info& source, std::uint64_t chunk_size);

}  // namespace dataport::transfer_detail
