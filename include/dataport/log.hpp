// dataport logging: one line per event, to stderr (or a file), every line passed through
// redact_text() so no secret can be printed whatever a caller formats into it.
//
// Format: "2026-11-22T10:00:00.123Z INFO  [transfer] message". Levels: trace (request lines),
// debug, info (activities with durations, settings in effect), warn, error.
//
// Thread-safety: safe from any thread; lines are written whole.
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

namespace dataport::log {

enum class level { trace = 0, debug = 1, info = 2, warn = 3, error = 4, off = 5 };

void set_level(level lvl) noexcept;

/// The current UTC time as log lines show it: "2026-12-06T01:17:12.591Z" (milliseconds).
std::string utc_timestamp();
level current_level() noexcept;
inline bool enabled(level lvl) noexcept {
  return lvl >= current_level();
}
/// Also append every line to this file (empty = stop). Throws dataport::error(io) if unopenable.
void set_file(const std::string& path);
/// Parses "trace".."off" (case-insensitive); throws invalid_argument naming `what`.
level parse_level(std::string_view text, std::string_view what);

void write(level lvl, std::string_view component, std::string_view message);

template <class... Args>
void trace(std::string_view component, fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(level::trace))
    write(level::trace, component, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void debug(std::string_view component, fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(level::debug))
    write(level::debug, component, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void info(std::string_view component, fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(level::info))
    write(level::info, component, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warn(std::string_view component, fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(level::warn))
    write(level::warn, component, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void error(std::string_view component, fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(level::error))
    write(level::error, component, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace dataport::log
