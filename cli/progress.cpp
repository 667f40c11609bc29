#include "progress.hpp"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "dataport/error.hpp"
#include "output.hpp"

namespace dataport::cli {
namespace {

bool stderr_is_terminal() {
  return ::isatty(STDERR_FILENO) == 1;
}

progress_mode effective(progress_mode mode, bool quiet) {
  if (quiet) return progress_mode::none;
  if (mode == progress_mode::automatic) {
    return stderr_is_terminal() ? progress_mode::bar : progress_mode::none;
  }
  return mode;
}

std::string format_duration(double seconds) {
  if (seconds < 0 || seconds > 360000) return "--";
  const auto s = static_cast<long>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

void print_bar(const transfer_progress& p) {
  const double seconds = static_cast<double>(p.elapsed.count()) / 1000.0;
  const double rate = seconds > 0 ? static_cast<double>(p.bytes_done) / seconds : 0;
  std::string line;
  if (p.listing_done && p.bytes_known > 0) {
    const double fraction = static_cast<double>(p.bytes_done) / static_cast<double>(p.bytes_known);
    const int width = 24;
    const int filled = static_cast<int>(fraction * width);
    const double eta = rate > 0 ? static_cast<double>(p.bytes_known - p.bytes_done) / rate : -1;
    line = fmt::format("[{}{}] {:3.0f}%  {}/{} files  {}/{}  {}/s  ETA {}",
                       std::string(static_cast<std::size_t>(filled), '='),
                       std::string(static_cast<std::size_t>(width - filled), ' '), fraction * 100,
                       p.files_done, p.files_known, format_bytes(p.bytes_done),
                       format_bytes(p.bytes_known), format_bytes(static_cast<std::uint64_t>(rate)),
                       format_duration(eta));
  } else {
    line = fmt::format("{} files done of {}{}  {}  {}/s", p.files_done, p.files_known,
                       p.listing_done ? "" : " listed so far", format_bytes(p.bytes_done),
                       format_bytes(static_cast<std::uint64_t>(rate)));
  }
  if (p.files_failed) line += fmt::format("  {} failed", p.files_failed);
  std::fprintf(stderr, "\r%-100s", line.c_str());
  std::fflush(stderr);
}

void print_json(const transfer_progress& p) {
  nlohmann::json j{{"event", "progress"},
                   {"files_known", p.files_known},
                   {"listing_done", p.listing_done},
                   {"files_done", p.files_done},
                   {"files_failed", p.files_failed},
                   {"files_skipped", p.files_skipped},
                   {"bytes_known", p.bytes_known},
                   {"bytes_done", p.bytes_done},
                   {"elapsed_ms", p.elapsed.count()}};
  const std::string line = j.dump() + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

progress_mode parse_progress_mode(const std::string& text) {
  if (text == "auto") return progress_mode::automatic;
  if (text == "bar") return progress_mode::bar;
  if (text == "json") return progress_mode::json;
  if (text == "none") return progress_mode::none;
  throw_error(errc::invalid_argument,
              fmt::format("--progress '{}' is not a mode: use auto, bar, json or none", text));
}

std::function<void(const transfer_progress&)> make_progress_printer(progress_mode mode,
                                                                    bool quiet) {
  switch (effective(mode, quiet)) {
    case progress_mode::bar:
      return print_bar;
    case progress_mode::json:
      return print_json;
    default:
      return {};
  }
}

void finish_progress_line(progress_mode mode, bool quiet) {
  if (effective(mode, quiet) == progress_mode::bar) std::fputc('\n', stderr);
}

}  // namespace dataport::cli
