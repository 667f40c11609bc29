// Settings: one table drives from_environment(), set() and describe().
//
// Why a table: every setting must have exactly one name (the platform's environment variable),
// one parser with its range check, and one printed form; keeping the three in one row each makes
// it impossible for the CLI, the C API and the environment to disagree. Cross-field rules
// (prune target ≤ threshold, base delay ≤ max delay) are checked once all values are known.
#include "dataport/settings.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "dataport/error.hpp"

namespace dataport {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

[[noreturn]] void bad_value(std::string_view name, std::string_view value,
                            std::string_view expected) {
  throw_error(errc::invalid_argument, fmt::format("{}='{}' {}", name, value, expected));
}

std::int64_t parse_integer(std::string_view name, std::string_view value,
                           std::string_view expected) {
  const auto text = trim(value);
  std::int64_t out = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
    bad_value(name, value, expected);
  return out;
}

std::int64_t integer_in(std::string_view name, std::string_view value, std::int64_t lo,
                        std::int64_t hi, std::string_view unit = "") {
  const auto expected =
      fmt::format("is not valid: use a whole number{} from {} to {}", unit, lo, hi);
  const auto v = parse_integer(name, value, expected);
  if (v < lo || v > hi) bad_value(name, value, expected);
  return v;
}

double fraction_in(std::string_view name, std::string_view value, double lo, double hi,
                   bool lo_open) {
  const auto expected =
      fmt::format("is not valid: use a number {} {} and <= {}", lo_open ? ">" : ">=", lo, hi);
  const std::string text(trim(value));
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno != 0 || !std::isfinite(v)) {
    bad_value(name, value, expected);
  }
  if (v > hi || v < lo || (lo_open && v == lo)) bad_value(name, value, expected);
  return v;
}

std::uint64_t size_in(std::string_view name, std::string_view value, std::uint64_t lo,
                      std::uint64_t hi) {
  const auto v = parse_size(value, name);
  if (v < 0 || static_cast<std::uint64_t>(v) < lo || static_cast<std::uint64_t>(v) > hi) {
    bad_value(name, value, fmt::format("is out of range: use a size from {} to {} bytes", lo, hi));
  }
  return static_cast<std::uint64_t>(v);
}

bool is_unset_word(std::string_view value) {
  const auto v = to_lower(trim(value));
  return v.empty() || v == "unset" || v == "none" || v == "unlimited" || v == "never";
}

constexpr std::uint64_t kib = 1024;
constexpr std::uint64_t mib = kib * 1024;
constexpr std::uint64_t gib = mib * 1024;
constexpr std::uint64_t tib = gib * 1024;
constexpr std::int64_t max_ms = 7LL * 24 * 3600 * 1000;  // a week: longer is surely a typo

struct setting_row {
  std::string_view name;
  void (*apply)(settings&, std::string_view name, std::string_view value);
  std::string (*show)(const settings&);
};

unsigned threads(std::string_view n, std::string_view v) {
  return static_cast<unsigned>(integer_in(n, v, 1, 1024));
}

const std::vector<setting_row>& rows() {
  static const std::vector<setting_row> table = {
      {"RSLEX_DOWNLOADER_THREADS",
       [](settings& s, std::string_view n, std::string_view v) {
         s.downloader_threads = threads(n, v);
       },
       [](const settings& s) { return std::to_string(s.effective_downloader_threads()); }},
      {"DATAPORT_CHUNK_SIZE",
       [](settings& s, std::string_view n, std::string_view v) {
         s.chunk_size = size_in(n, v, 1, 4000 * mib);
       },
       [](const settings& s) { return std::to_string(s.chunk_size); }},
      {"DATAPORT_SPLIT_THRESHOLD",
       [](settings& s, std::string_view n, std::string_view v) {
         s.split_threshold = size_in(n, v, 0, tib * 1024);
       },
       [](const settings& s) { return std::to_string(s.split_threshold); }},
      {"DATAPORT_INFLIGHT_BYTES",
       [](settings& s, std::string_view n, std::string_view v) {
         s.inflight_bytes = size_in(n, v, 1, tib);
       },
       [](const settings& s) { return std::to_string(s.inflight_bytes); }},
      {"DATAPORT_DIRECT_IO",
       [](settings& s, std::string_view n, std::string_view v) { s.direct_io = parse_bool(v, n); },
       [](const settings& s) { return std::string(s.direct_io ? "true" : "false"); }},
      {"AZUREML_DATASET_HTTP_RETRY_COUNT",
       [](settings& s, std::string_view n, std::string_view v) {
         s.http_retry_count = static_cast<unsigned>(integer_in(n, v, 0, 100));
       },
       [](const settings& s) { return std::to_string(s.http_retry_count); }},
      {"DATAPORT_RETRY_BASE_DELAY_MS",
       [](settings& s, std::string_view n, std::string_view v) {
         s.retry_base_delay = milliseconds(integer_in(n, v, 0, max_ms, " of ms"));
       },
       [](const settings& s) { return std::to_string(s.retry_base_delay.count()); }},
      {"DATAPORT_RETRY_MAX_DELAY_MS",
       [](settings& s, std::string_view n, std::string_view v) {
         s.retry_max_delay = milliseconds(integer_in(n, v, 0, max_ms, " of ms"));
       },
       [](const settings& s) { return std::to_string(s.retry_max_delay.count()); }},
      {"DATAPORT_CONNECT_TIMEOUT_MS",
       [](settings& s, std::string_view n, std::string_view v) {
         s.connect_timeout = milliseconds(integer_in(n, v, 1, max_ms, " of ms"));
       },
       [](const settings& s) { return std::to_string(s.connect_timeout.count()); }},
      {"DATAPORT_IDLE_TIMEOUT_MS",
       [](settings& s, std::string_view n, std::string_view v) {
         s.idle_timeout = milliseconds(integer_in(n, v, 1, max_ms, " of ms"));
       },
       [](const settings& s) { return std::to_string(s.idle_timeout.count()); }},
      {"DATAPORT_CA_FILE",
       [](settings& s, std::string_view, std::string_view v) { s.ca_file = std::string(v); },
       [](const settings& s) { return s.ca_file; }},
      {"DATAPORT_TLS_VERIFY",
       [](settings& s, std::string_view n, std::string_view v) { s.tls_verify = parse_bool(v, n); },
       [](const settings& s) { return std::string(s.tls_verify ? "true" : "false"); }},
      {"DATASET_MOUNT_ATTRIBUTE_CACHE_TTL",
       [](settings& s, std::string_view n, std::string_view v) {
         if (is_unset_word(v)) {
           s.attribute_cache_ttl.reset();
         } else {
           s.attribute_cache_ttl = milliseconds(
               integer_in(n, v, 0, std::numeric_limits<std::int64_t>::max() / 1000000, " of ms"));
         }
       },
       [](const settings& s) {
         return s.attribute_cache_ttl ? std::to_string(s.attribute_cache_ttl->count())
                                      : std::string("unset");
       }},
      {"DATASET_RESERVED_FREE_DISK_SPACE",
       [](settings& s, std::string_view n, std::string_view v) {
         s.reserved_free_disk_space = size_in(n, v, 0, tib * 1024);
       },
       [](const settings& s) { return std::to_string(s.reserved_free_disk_space); }},
      {"DATASET_MOUNT_CACHE_SIZE",
       [](settings& s, std::string_view n, std::string_view v) {
         if (is_unset_word(v)) {
           s.mount_cache_size.reset();
         } else {
           s.mount_cache_size = parse_size(v, n);
         }
       },
       [](const settings& s) {
         return s.mount_cache_size ? std::to_string(*s.mount_cache_size) : std::string("unset");
       }},
      {"DATASET_MOUNT_FILE_CACHE_PRUNE_THRESHOLD",
       [](settings& s, std::string_view n, std::string_view v) {
         s.file_cache_prune_threshold = fraction_in(n, v, 0.0, 1.0, true);
       },
       [](const settings& s) { return fmt::format("{}", s.file_cache_prune_threshold); }},
      {"DATASET_MOUNT_FILE_CACHE_PRUNE_TARGET",
       [](settings& s, std::string_view n, std::string_view v) {
         s.file_cache_prune_target = fraction_in(n, v, 0.0, 1.0, false);
       },
       [](const settings& s) { return fmt::format("{}", s.file_cache_prune_target); }},
      {"DATASET_MOUNT_READ_BLOCK_SIZE",
       [](settings& s, std::string_view n, std::string_view v) {
         s.read_block_size = size_in(n, v, 1, 256 * mib);
       },
       [](const settings& s) { return std::to_string(s.read_block_size); }},
      {"DATAPORT_MOUNT_READ_FETCH_SIZE",
       [](settings& s, std::string_view n, std::string_view v) {
         s.read_fetch_size = size_in(n, v, 0, 256 * mib);
       },
       [](const settings& s) { return std::to_string(s.read_fetch_size); }},
      {"DATAPORT_MOUNT_RANDOM_READ_PARTS",
       [](settings& s, std::string_view n, std::string_view v) {
         s.random_read_parts = parse_bool(v, n);
       },
       [](const settings& s) { return std::string(s.random_read_parts ? "true" : "false"); }},
      {"DATAPORT_MOUNT_RANDOM_READ_REQUEST_COST",
       [](settings& s, std::string_view n, std::string_view v) {
         s.random_read_request_cost = size_in(n, v, 0, 1024 * mib);
       },
       [](const settings& s) { return std::to_string(s.random_read_request_cost); }},
      {"DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT",
       [](settings& s, std::string_view n, std::string_view v) {
         s.read_buffer_block_count = static_cast<unsigned>(integer_in(n, v, 0, 4096));
       },
       [](const settings& s) { return std::to_string(s.read_buffer_block_count); }},
      {"DATASET_MOUNT_READ_THREADS",
       [](settings& s, std::string_view n, std::string_view v) { s.read_threads = threads(n, v); },
       [](const settings& s) { return std::to_string(s.effective_read_threads()); }},
      {"DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED",
       [](settings& s, std::string_view n, std::string_view v) {
         s.block_based_cache_enabled = parse_bool(v, n);
       },
       [](const settings& s) {
         return std::string(s.block_based_cache_enabled ? "true" : "false");
       }},
      {"DATASET_MOUNT_MEMORY_CACHE_SIZE",
       [](settings& s, std::string_view n, std::string_view v) {
         s.memory_cache_size = size_in(n, v, 0, tib);
       },
       [](const settings& s) { return std::to_string(s.memory_cache_size); }},
      {"DATASET_MOUNT_BLOCK_FILE_CACHE_ENABLED",
       [](settings& s, std::string_view n, std::string_view v) {
         s.block_file_cache_enabled = parse_bool(v, n);
       },
       [](const settings& s) {
         return std::string(s.block_file_cache_enabled ? "true" : "false");
       }},
      {"DATASET_MOUNT_BLOCK_FILE_CACHE_MAX_QUEUE_SIZE",
       [](settings& s, std::string_view n, std::string_view v) {
         s.block_file_cache_max_queue_size = size_in(n, v, 0, tib);
       },
       [](const settings& s) { return std::to_string(s.block_file_cache_max_queue_size); }},
      {"DATASET_MOUNT_BLOCK_FILE_CACHE_WRITE_THREADS",
       [](settings& s, std::string_view n, std::string_view v) {
         s.block_file_cache_write_threads = threads(n, v);
       },
       [](const settings& s) {
         return std::to_string(s.effective_block_file_cache_write_threads());
       }},
      {"DATASET_UNMOUNT_TIMEOUT_SECONDS",
       [](settings& s, std::string_view n, std::string_view v) {
         s.unmount_timeout = seconds(integer_in(n, v, 0, 86400, " of seconds"));
       },
       [](const settings& s) { return std::to_string(s.unmount_timeout.count()); }},
      {"AZUREML_OUTPUT_UPLOAD_TIMEOUT_SEC",
       [](settings& s, std::string_view n, std::string_view v) {
         s.output_upload_timeout = seconds(integer_in(n, v, 0, 7 * 86400, " of seconds"));
       },
       [](const settings& s) { return std::to_string(s.output_upload_timeout.count()); }},
      {"AZUREML_SNAPSHOT_MAX_SIZE_MB",
       [](settings& s, std::string_view n, std::string_view v) {
         s.snapshot_max_size_mb =
             static_cast<std::uint64_t>(integer_in(n, v, 1, 1 << 20, " of MB"));
       },
       [](const settings& s) { return std::to_string(s.snapshot_max_size_mb); }},
      {"AZUREML_SNAPSHOT_MAX_FILES",
       [](settings& s, std::string_view n, std::string_view v) {
         s.snapshot_max_files = static_cast<std::uint64_t>(integer_in(n, v, 1, 100'000'000));
       },
       [](const settings& s) { return std::to_string(s.snapshot_max_files); }},
      {"DATAPORT_CACHE_DIR",
       [](settings& s, std::string_view, std::string_view v) { s.cache_dir = std::string(v); },
       [](const settings& s) { return s.cache_dir; }},
      {"DATAPORT_WORKSPACE",
       [](settings& s, std::string_view, std::string_view v) { s.workspace_file = std::string(v); },
       [](const settings& s) { return s.workspace_file; }},
  };
  return table;
}

unsigned cores() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

std::optional<std::string> process_env(std::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

}  // namespace

unsigned settings::effective_downloader_threads() const {
  return downloader_threads != 0 ? downloader_threads : std::min(cores() * 4, 1024u);
}

unsigned settings::effective_read_threads() const {
  return read_threads != 0 ? read_threads : std::min(cores() * 4, 1024u);
}

unsigned settings::effective_block_file_cache_write_threads() const {
  return block_file_cache_write_threads != 0 ? block_file_cache_write_threads
                                             : std::min(cores() * 2, 1024u);
}

void settings::validate() const {
  if (file_cache_prune_target > file_cache_prune_threshold) {
    throw_error(errc::invalid_argument,
                fmt::format("DATASET_MOUNT_FILE_CACHE_PRUNE_TARGET={} is above "
                            "DATASET_MOUNT_FILE_CACHE_PRUNE_THRESHOLD={}: the cache prunes down to "
                            "the target once it reaches the threshold, so use target <= threshold",
                            file_cache_prune_target, file_cache_prune_threshold));
  }
  if (retry_base_delay > retry_max_delay) {
    throw_error(
        errc::invalid_argument,
        fmt::format("DATAPORT_RETRY_BASE_DELAY_MS={} is above DATAPORT_RETRY_MAX_DELAY_MS={}: "
                    "use base <= max",
                    retry_base_delay.count(), retry_max_delay.count()));
  }
}

settings settings::from_environment(const env_lookup& lookup) {
  const env_lookup& env = lookup ? lookup : env_lookup(process_env);
  settings out;
  for (const auto& row : rows()) {
    auto value = env(row.name);
    if (!value) continue;
    // An empty variable is treated as unset, as shells make "VAR=" easy to leave behind.
    if (trim(*value).empty()) continue;
    row.apply(out, row.name, *value);
  }
  if (out.ca_file.empty()) {
    if (auto ssl = env("SSL_CERT_FILE"); ssl && !ssl->empty()) out.ca_file = *ssl;
  }
  out.validate();
  return out;
}

void settings::set(std::string_view name, std::string_view value) {
  for (const auto& row : rows()) {
    if (row.name == name) {
      row.apply(*this, row.name, value);
      return;
    }
  }
  std::string known;
  for (const auto& row : rows()) known += (known.empty() ? "" : ", ") + std::string(row.name);
  throw_error(
      errc::invalid_argument,
      fmt::format("unknown setting '{}'; known settings: {} (see docs/settings.md)", name, known));
}

std::map<std::string, std::string> settings::describe() const {
  std::map<std::string, std::string> out;
  for (const auto& row : rows()) out.emplace(std::string(row.name), row.show(*this));
  return out;
}

std::int64_t parse_size(std::string_view text, std::string_view what) {
  const auto fail = [&] {
    bad_value(what, text, "is not a size: use a number of bytes or a value like 2MB, 512KB, 1GiB");
  };
  std::string_view rest = trim(text);
  bool negative = false;
  if (!rest.empty() && (rest.front() == '-' || rest.front() == '+')) {
    negative = rest.front() == '-';
    rest.remove_prefix(1);
  }
  std::size_t digits = 0;
  while (digits < rest.size() &&
         ((rest[digits] >= '0' && rest[digits] <= '9') || rest[digits] == '.'))
    ++digits;
  const std::string number(rest.substr(0, digits));
  const std::string unit = to_lower(trim(rest.substr(digits)));
  if (number.empty() || std::count(number.begin(), number.end(), '.') > 1 || number == ".") fail();
  std::uint64_t multiplier = 1;
  if (unit.empty() || unit == "b") {
    multiplier = 1;
  } else if (unit == "k" || unit == "kb" || unit == "kib") {
    multiplier = kib;
  } else if (unit == "m" || unit == "mb" || unit == "mib") {
    multiplier = mib;
  } else if (unit == "g" || unit == "gb" || unit == "gib") {
    multiplier = gib;
  } else if (unit == "t" || unit == "tb" || unit == "tib") {
    multiplier = tib;
  } else {
    fail();
  }
  std::int64_t bytes = 0;
  if (number.find('.') == std::string::npos) {
    std::uint64_t count = 0;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), count);
    if (ec != std::errc{} || end != number.data() + number.size() ||
        count > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / multiplier) {
      bad_value(what, text, "is too large: use a size below 8 EiB");
    }
    bytes = static_cast<std::int64_t>(count * multiplier);
  } else {
    if (multiplier == 1) fail();  // fractional bytes
    const double value = std::strtod(number.c_str(), nullptr) * static_cast<double>(multiplier);
    if (!std::isfinite(value) || value >= 9.0e18)
      bad_value(what, text, "is too large: use a size below 8 EiB");
    bytes = static_cast<std::int64_t>(value);
  }
  return negative ? -bytes : bytes;
}

bool parse_bool(std::string_view text, std::string_view what) {
  const auto v = to_lower(trim(text));
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  bad_value(what, text, "is not a boolean: use true or false (also 1/0, yes/no, on/off)");
}

}  // namespace dataport
