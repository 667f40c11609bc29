// nginx autoindex HTML decoding (see detail/autoindex.hpp). The page is one line per entry:
//   <a href="a%20b.txt">a b.txt</a>        22-Nov-2026 10:00       12
#include "storage/detail/autoindex.hpp"

#include <algorithm>

#include "storage/detail/wire.hpp"

namespace dataport::storage_detail {

std::optional<std::vector<object_info>> parse_autoindex(std::string_view html,
                                                        std::string_view folder) {
  if (html.find("<title>Index of ") == std::string_view::npos) return std::nullopt;
  const auto pre = html.find("<pre>");
  if (pre == std::string_view::npos) return std::nullopt;
  std::vector<object_info> entries;
  std::size_t pos = pre;
  static constexpr std::string_view anchor = "<a href=\"";
  while ((pos = html.find(anchor, pos)) != std::string_view::npos) {
    pos += anchor.size();
    const auto quote = html.find('"', pos);
    if (quote == std::string_view::npos) break;
    const auto href = html.substr(pos, quote - pos);
    const auto line_end = std::min(html.find('\n', quote), html.size());
    const auto close = html.find("</a>", quote);
    pos = quote;
    if (href == "../" || href.empty() || href.find("://") != std::string_view::npos ||
        href.starts_with('/') || href.starts_with('?')) {
      continue;
    }
    object_info info;
    std::string name = percent_decode(href);
    if (name.ends_with('/')) {
      name.pop_back();
      info.is_directory = true;
    }
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
      continue;
    }
    if (!info.is_directory && close != std::string_view::npos && close < line_end) {
      // The last whitespace-separated field of the line is the size in bytes.
      auto rest = html.substr(close + 4, line_end - close - 4);
      while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\r')) rest.remove_suffix(1);
      const auto space = rest.find_last_of(' ');
      if (space != std::string_view::npos)
        info.size = parse_u64(rest.substr(space + 1)).value_or(0);
    }
    info.path = folder.empty() ? name : std::string(folder) + "/" + name;
    entries.push_back(std::move(info));
  }
  std::sort(entries.begin(), entries.end(),
            [](const object_info& a, const object_info& b) { return a.path < b.path; });
  return entries;
}

}  // namespace dataport::storage_detail
