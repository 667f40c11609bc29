#include "dataport/local_path.hpp"

#include <fmt/format.h>

namespace dataport {

std::string local_name::joined() const {
  std::string out;
  for (const auto& s : segments) {
    if (!out.empty()) out.push_back('/');
    out += s;
  }
  return out;
}

std::variant<local_name, rejected_name> map_remote_name(std::string_view name) {
  if (name.empty()) return rejected_name{"the name is empty"};
  if (name.size() > 4096) return rejected_name{"the name is longer than 4096 bytes"};
  if (name.front() == '/') return rejected_name{"the name is an absolute path"};
  while (!name.empty() && name.back() == '/') name.remove_suffix(1);
  if (name.empty()) return rejected_name{"the name has no file part"};
  local_name out;
  std::size_t start = 0;
  while (start <= name.size()) {
    const auto slash = name.find('/', start);
    const auto segment = name.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (segment.empty()) return rejected_name{"the name has an empty segment ('//')"};
    if (segment == "." || segment == "..") {
      return rejected_name{fmt::format("the name has a '{}' segment", segment)};
    }
    if (segment.size() > 255)
      return rejected_name{"a segment of the name is longer than 255 bytes"};
    for (const char ch : segment) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == 0) return rejected_name{"the name contains a NUL character"};
      if (c < 0x20 || c == 0x7f) return rejected_name{"the name contains a control character"};
      if (c == '\\') return rejected_name{"the name contains a backslash"};
    }
    out.segments.emplace_back(segment);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

}  // namespace dataport
