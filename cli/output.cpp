#include "output.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>

#include <fmt/format.h>
#include <unistd.h>

#include "dataport/error.hpp"
#include "dataport/redact.hpp"

namespace dataport::cli {

nlohmann::json to_json(const object_info& info) {
  nlohmann::json out{{"path", info.path}, {"size", info.size}, {"is_directory", info.is_directory}};
  if (!info.etag.empty()) out["etag"] = info.etag;
  if (info.last_modified) out["last_modified"] = format_time(info.last_modified);
  if (!info.content_md5.empty()) out["content_md5"] = info.content_md5;
  if (!info.content_type.empty()) out["content_type"] = info.content_type;
  return out;
}

nlohmann::json to_json(const location& where) {
  nlohmann::json out{{"backend", std::string(to_string(where.backend))},
                     {"service_url", redact_url(where.service_url)},
                     {"path", where.path},
                     {"credential", std::string(where.credential.kind_name())}};
  if (!where.account.empty()) out["account"] = where.account;
  if (!where.container.empty()) out["container"] = where.container;
  if (!where.asset_type.empty()) out["asset_type"] = where.asset_type;
  if (!where.source_uri.empty()) out["uri"] = redact_url(where.source_uri);
  return out;
}

std::string format_time(std::optional<std::chrono::system_clock::time_point> when) {
  if (!when) return "-";
  const auto seconds = std::chrono::system_clock::to_time_t(*when);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::string format_bytes(std::uint64_t bytes) {
  static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  unsigned unit = 0;
  while (value >= 1024.0 && unit < 4) {
    value /= 1024.0;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

void write_stdout(const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(STDOUT_FILENO, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_error(errc::io,
                  fmt::format("cannot write to standard output: {}", std::strerror(errno)));
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

}  // namespace dataport::cli
