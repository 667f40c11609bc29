// See connection_abort.hpp.
#include "connection_abort.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace dataport::fuse_adapter {
namespace {

constexpr const char* control_root = "/sys/fs/fuse/connections";

/// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_mountinfo(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '7') {
      out.push_back(static_cast<char>(std::stoi(text.substr(i + 1, 3), nullptr, 8)));
      i += 3;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace

std::optional<unsigned> fuse_connection_id(const std::string& mountpoint) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  std::optional<unsigned> found;
  while (std::getline(in, line)) {
    // id parent major:minor root mountpoint options [optional...] - fstype source super-options
    std::istringstream fields(line);
    std::string id, parent, device, root, where;
    fields >> id >> parent >> device >> root >> where;
    const auto dash = line.find(" - ");
    if (dash == std::string::npos || unescape_mountinfo(where) != mountpoint) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype != "fuse" && fstype.rfind("fuse.", 0) != 0) continue;
    const auto colon = device.find(':');
    if (colon == std::string::npos) continue;
    try {
      found = static_cast<unsigned>(std::stoul(device.substr(colon + 1)));  // the newest wins
    } catch (const std::exception&) {
    }
  }
  return found;
}

std::string set_fuse_readahead(unsigned id, unsigned kib) {
  const std::string file = fmt::format("/sys/class/bdi/0:{}/read_ahead_kb", id);
  const int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return fmt::format("cannot open {}: {}", file, std::strerror(errno));
  const std::string value = std::to_string(kib);
  const bool written =
      ::write(fd, value.data(), value.size()) == static_cast<ssize_t>(value.size());
  const int saved = errno;
  ::close(fd);
  if (!written) return fmt::format("cannot write {}: {}", file, std::strerror(saved));
  return {};
}

std::string abort_fuse_connection(unsigned id) {
  const std::string file = fmt::format("{}/{}/abort", control_root, id);
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 &&
      ::mount("fusectl", control_root, "fusectl", 0, nullptr) != 0 && errno != EBUSY) {
    return fmt::format("cannot mount fusectl on {}: {}", control_root, std::strerror(errno));
  }
  const int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return fmt::format("cannot open {}: {}", file, std::strerror(errno));
  const bool written = ::write(fd, "1", 1) == 1;
  const int saved = errno;
  ::close(fd);
  if (!written) return fmt::format("cannot write {}: {}", file, std::strerror(saved));
  return {};
}

}  // namespace dataport::fuse_adapter
