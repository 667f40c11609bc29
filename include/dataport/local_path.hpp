// Mapping remote object names to local relative paths, safely.
//
// A remote name is untrusted: it may contain "..", absolute paths, backslashes, NUL or control
// characters, empty segments or segments longer than a file name can be. map_remote_name()
// returns a relative path that is guaranteed to stay strictly under the destination root, or the
// reason it cannot be written (the caller skips the item and reports the reason).
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dataport {

struct local_name {
  std::vector<std::string> segments;  ///< every segment a valid POSIX file name (1..255 bytes)
  std::string joined() const;         ///< segments joined by '/'
};

struct rejected_name {
  std::string reason;  ///< e.g. "contains a '..' segment"
};

/// `name` relative to the listing root. Rules: '/' separates segments; a trailing '/' is ignored;
/// rejected: empty name, a leading '/', empty inner segments ("a//b"), "." or ".." segments,
/// '\\' anywhere, NUL or control characters (0x01-0x1f, 0x7f), a segment over 255 bytes, a
/// whole path over 4096 bytes.
std::variant<local_name, rejected_name> map_remote_name(std::string_view name);

}  // namespace dataport
