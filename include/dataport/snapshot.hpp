// dataport::snapshot — what a job's code folder contributes to its snapshot, under the platform's
// limits (300 MB and 2,000 files by default).
//
// Files are left out by `.amlignore`, or `.gitignore` in a folder that has no `.amlignore`, in
// full gitignore syntax (negation, anchored and directory-only patterns, `**`, `*`, `?`, brackets,
// escapes, nested ignore files that apply below their folder). Ignored folders are not entered,
// so a large ignored tree costs one directory entry. Symbolic links to regular files count as
// files (the target's size); links to folders are not followed and count as ignored.
//
// Thread-safety: free functions without shared state; plans are plain values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "dataport/settings.hpp"

namespace dataport::snapshot {

struct limits {
  std::uint64_t max_bytes = 300ull << 20;  ///< total size allowed, bytes (300 MB, 1 MB = 2^20 B)
  std::size_t max_files = 2000;            ///< number of files allowed
  /// AZUREML_SNAPSHOT_MAX_SIZE_MB / AZUREML_SNAPSHOT_MAX_FILES.
  static limits from_settings(const settings& config);
};

struct file {
  std::string relative_path;  ///< '/'-separated, relative to the snapshot root
  std::uint64_t size = 0;     ///< bytes
};

/// A folder and the bytes of the included files below it (for "what makes it big").
struct folder_total {
  std::string relative_path;  ///< '/'-separated, never "" (the root is plan::total_bytes)
  std::uint64_t bytes = 0;
  std::size_t files = 0;
};

struct plan {
  std::filesystem::path root;
  std::vector<file> files;  ///< included files, sorted by relative_path
  std::uint64_t total_bytes = 0;
  std::size_t ignored_count = 0;              ///< entries left out (an ignored folder counts once)
  std::vector<file> biggest_files;            ///< up to 10, largest first
  std::vector<folder_total> biggest_folders;  ///< up to 10, largest first
  std::vector<std::string> ignore_files;      ///< ignore files in effect, relative paths
};

/// Lists what the snapshot of `root` includes, without checking limits. Throws dataport::error:
/// invalid_argument when `root` is not a folder, io when a folder cannot be read.
plan scan(const std::filesystem::path& root);

/// The platform's error text when `p` exceeds `lim` (size is checked first), followed by a hint
/// on .amlignore and on raising the limits; "" when within the limits.
std::string limit_error(const plan& p, const limits& lim);

/// scan() then the limit check: throws dataport::error(invalid_argument) with limit_error()'s
/// text when a limit is exceeded.
plan make_plan(const std::filesystem::path& root, const limits& lim);

}  // namespace dataport::snapshot
