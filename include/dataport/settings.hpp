// dataport::settings — every tunable of the runtime, in one place.
//
// Names and defaults follow the Azure ML data runtime (see README "Settings"). Each field has one
// environment variable (the platform's name where it has one, DATAPORT_* otherwise), one CLI flag
// and one JSON key in the C API (the environment variable's name).
//
// Sizes are bytes. Size strings accept a plain number of bytes or a K/KB/KiB, M/MB/MiB, G/GB/GiB,
// T/TB/TiB suffix (case-insensitive, all powers of 1024, as the platform treats them). A value that
// does not parse is an error naming the variable and the value, never a silent default.
//
// Thread-safety: a plain value type; copy it freely.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace dataport {

struct settings {
  // ---- transfer engine ----
  unsigned downloader_threads = 0;              ///< RSLEX_DOWNLOADER_THREADS; 0 = cores × 4
  std::uint64_t chunk_size = 8ull << 20;        ///< DATAPORT_CHUNK_SIZE: range size of split files
  std::uint64_t split_threshold = 16ull << 20;  ///< DATAPORT_SPLIT_THRESHOLD: split files larger
  std::uint64_t inflight_bytes = 128ull << 20;  ///< DATAPORT_INFLIGHT_BYTES: transfer byte budget
  /// DATAPORT_DIRECT_IO: downloads write files of 1 MiB and more with O_DIRECT (no page cache)
  bool direct_io = true;

  // ---- HTTP ----
  unsigned http_retry_count = 7;                     ///< AZUREML_DATASET_HTTP_RETRY_COUNT
  std::chrono::milliseconds retry_base_delay{200};   ///< DATAPORT_RETRY_BASE_DELAY_MS
  std::chrono::milliseconds retry_max_delay{30000};  ///< DATAPORT_RETRY_MAX_DELAY_MS
  std::chrono::milliseconds connect_timeout{10000};  ///< DATAPORT_CONNECT_TIMEOUT_MS
  std::chrono::milliseconds idle_timeout{30000};     ///< DATAPORT_IDLE_TIMEOUT_MS (per read/write)
  std::string ca_file;                               ///< DATAPORT_CA_FILE, else SSL_CERT_FILE
  bool tls_verify = true;  ///< DATAPORT_TLS_VERIFY=false turns it off (warned)

  // ---- mount / reader ----
  std::optional<std::chrono::milliseconds>
      attribute_cache_ttl;  ///< DATASET_MOUNT_ATTRIBUTE_CACHE_TTL (ms); unset = never expires
  std::uint64_t reserved_free_disk_space = 150ull << 20;  ///< DATASET_RESERVED_FREE_DISK_SPACE
  std::optional<std::int64_t> mount_cache_size;  ///< DATASET_MOUNT_CACHE_SIZE; unset = unlimited,
                                                 ///< negative = leave that much free
  double file_cache_prune_threshold = 1.0;  ///< DATASET_MOUNT_FILE_CACHE_PRUNE_THRESHOLD (0..1]
  double file_cache_prune_target = 0.7;  ///< DATASET_MOUNT_FILE_CACHE_PRUNE_TARGET [0..threshold]
  std::uint64_t read_block_size = 2ull << 20;  ///< DATASET_MOUNT_READ_BLOCK_SIZE
  unsigned read_buffer_block_count = 32;       ///< DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT
  unsigned read_threads = 0;                   ///< DATASET_MOUNT_READ_THREADS; 0 = cores × 4
  /// DATAPORT_MOUNT_READ_FETCH_SIZE: adjacent prefetched blocks are fetched together in ranged
  /// GETs of up to this many bytes (fewer requests; each block is usable as soon as it arrives).
  /// At or below the block size: one request per block.
  std::uint64_t read_fetch_size = 16ull << 20;
  /// DATAPORT_MOUNT_RANDOM_READ_PARTS: a random reader's reads of a block fetch only the pages
  /// they ask for (nothing cached) until the block is worth loading whole (see the next setting).
  /// false: always whole blocks.
  bool random_read_parts = true;
  /// DATAPORT_MOUNT_RANDOM_READ_REQUEST_COST: what one request is worth in bytes when a random
  /// reader comes back to a block: the block is loaded whole (and cached) once the parts fetched
  /// of it, each counted as its bytes plus this cost, would add up to more than the block plus
  /// this cost. 128 KiB: 64 KiB reads of a 2 MiB block load it whole at the 12th read of it.
  std::uint64_t random_read_request_cost = 128ull << 10;
  bool block_based_cache_enabled = true;           ///< DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED
  std::uint64_t memory_cache_size = 128ull << 20;  ///< DATASET_MOUNT_MEMORY_CACHE_SIZE; 0 disables
  bool block_file_cache_enabled = true;            ///< DATASET_MOUNT_BLOCK_FILE_CACHE_ENABLED
  std::uint64_t block_file_cache_max_queue_size =
      512ull << 20;  ///< DATASET_MOUNT_BLOCK_FILE_CACHE_MAX_QUEUE_SIZE
  unsigned block_file_cache_write_threads =
      0;  ///< DATASET_MOUNT_BLOCK_FILE_CACHE_WRITE_THREADS; 0 = cores × 2
  std::chrono::seconds unmount_timeout{30};         ///< DATASET_UNMOUNT_TIMEOUT_SECONDS
  std::chrono::seconds output_upload_timeout{600};  ///< AZUREML_OUTPUT_UPLOAD_TIMEOUT_SEC
  std::string cache_dir;  ///< DATAPORT_CACHE_DIR; empty = $XDG_CACHE_HOME/dataport

  // ---- jobs ----
  std::uint64_t snapshot_max_size_mb = 300;  ///< AZUREML_SNAPSHOT_MAX_SIZE_MB: code snapshot limit
  std::uint64_t snapshot_max_files = 2000;   ///< AZUREML_SNAPSHOT_MAX_FILES: code snapshot limit

  // ---- workspace ----
  std::string workspace_file;  ///< DATAPORT_WORKSPACE; empty = default search path

  /// Effective values with the "0 = derived from cores" rules applied.
  unsigned effective_downloader_threads() const;
  unsigned effective_read_threads() const;
  unsigned effective_block_file_cache_write_threads() const;

  /// Looks up an environment variable; returns nullopt when unset.
  using env_lookup = std::function<std::optional<std::string>(std::string_view name)>;

  /// Reads every variable above from the process environment (or `lookup`), starting from the
  /// defaults. Throws dataport::error(errc::invalid_argument) naming the variable and the value.
  static settings from_environment(const env_lookup& lookup = {});

  /// Applies one setting by its environment-variable name (used by CLI flags and the C API's
  /// JSON options). Throws invalid_argument for an unknown name or a value that does not parse.
  void set(std::string_view name, std::string_view value);

  /// Checks the rules that involve two settings (prune target <= threshold, retry base delay <=
  /// max delay). from_environment() calls it; callers of set() call it after their last set().
  /// Throws invalid_argument naming both variables.
  void validate() const;

  /// Every setting as name → current value text (for "settings in effect" log lines and JSON).
  std::map<std::string, std::string> describe() const;
};

/// Parses "150MB", "2 MiB", "1048576", "-5GB" into bytes (1024-based). Throws invalid_argument
/// whose message names `what` (the variable or flag) and the value.
std::int64_t parse_size(std::string_view text, std::string_view what);

/// Parses true/false/1/0/yes/no/on/off (case-insensitive). Throws invalid_argument naming `what`.
bool parse_bool(std::string_view text, std::string_view what);

}  // namespace dataport
