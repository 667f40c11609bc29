// Logging: whole lines to stderr and optionally a file, each one redacted. Deliberately small:
// the hot paths check enabled() before formatting, and a mutex keeps lines whole.
#include "dataport/log.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "dataport/error.hpp"
#include "dataport/redact.hpp"

namespace dataport::log {
namespace {

std::atomic<level> current{level::warn};
std::mutex write_mutex;
std::FILE* log_file = nullptr;

std::string_view level_name(level lvl) {
  switch (lvl) {
    case level::trace:
      return "TRACE";
    case level::debug:
      return "DEBUG";
    case level::info:
      return "INFO ";
    case level::warn:
      return "WARN ";
    case level::error:
      return "ERROR";
    case level::off:
      return "OFF  ";
  }
  return "?";
}

}  // namespace

std::string utc_timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", buffer, millis);
}

void set_level(level lvl) noexcept {
  current.store(lvl, std::memory_order_relaxed);
}
level current_level() noexcept {
  return current.load(std::memory_order_relaxed);
}

void set_file(const std::string& path) {
  std::lock_guard lock(write_mutex);
  if (log_file) {
    std::fclose(log_file);
    log_file = nullptr;
  }
  if (path.empty()) return;
  log_file = std::fopen(path.c_str(), "ae");
  if (!log_file)
    throw_error(errc::io, fmt::format("cannot open log file '{}' for appending", path));
}

level parse_level(std::string_view text, std::string_view what) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "trace") return level::trace;
  if (lower == "debug") return level::debug;
  if (lower == "info") return level::info;
  if (lower == "warn" || lower == "warning") return level::warn;
  if (lower == "error") return level::error;
  if (lower == "off" || lower == "none") return level::off;
  throw_error(errc::invalid_argument,
              fmt::format("{}='{}' is not a log level: use trace, debug, info, warn, error or off",
                          what, text));
}

void write(level lvl, std::string_view component, std::string_view message) {
  const std::string line = fmt::format("{} {} [{}] {}\n", utc_timestamp(), level_name(lvl),
                                       component, redact_text(message));
  std::lock_guard lock(write_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  if (log_file) {
    std::fwrite(line.data(), 1, line.size(), log_file);
    std::fflush(log_file);
  }
}

}  // namespace dataport::log
