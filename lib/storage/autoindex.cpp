// nginx autoindex HTML decoding (see detail/autoindex.hpp). The page is one line per entry:
//   <a href="a%20b.txt">a b.txt</a>        22-Nov-2026 10:00       12
#include "storage/detail/autoindex.hpp"

#include <algorithm>
#include <array>
#include <chrono>

#include "storage/detail/wire.hpp"

namespace dataport::storage_detail {

namespace {

/// Digits of `text` as a number, or -1 when it is empty or holds anything else.
int number(std::string_view text) {
  if (text.empty() || text.size() > 4) return -1;
  int value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_autoindex_time(std::string_view text) {
  // "22-Nov-2026 10:00" (nginx writes GMT unless autoindex_localtime is on; we take it as UTC).
  static constexpr std::array<std::string_view, 12> months = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (text.size() != 17 || text[2] != '-' || text[6] != '-' || text[11] != ' ' || text[14] != ':') {
    return std::nullopt;
  }
  const int day = number(text.substr(0, 2));
  const int year = number(text.substr(7, 4));
  const int hour = number(text.substr(12, 2));
  const int minute = number(text.substr(15, 2));
  const auto month = std::find(months.begin(), months.end(), text.substr(3, 3));
  if (day < 1 || year < 1970 || hour < 0 || hour > 23 || minute < 0 || minute > 59 ||
      month == months.end()) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{
      std::chrono::year{year},
      std::chrono::month{static_cast<unsigned>(month - months.begin() + 1)},
      std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return std::nullopt;
  return std::chrono::time_point_cast<std::chrono::system_clock::duration>(
      std::chrono::sys_days{date} + std::chrono::hours{hour} + std::chrono::minutes{minute});
}

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
    if (close != std::string_view::npos && close < line_end) {
      // After the link: the date ("22-Nov-2026 10:00"), then the size in bytes ("-" for a
      // folder) as the last whitespace-separated field.
      auto rest = html.substr(close + 4, line_end - close - 4);
      while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\r')) rest.remove_suffix(1);
      const auto date = rest.find_first_not_of(' ');
      if (date != std::string_view::npos && rest.size() >= date + 17) {
        info.last_modified = parse_autoindex_time(rest.substr(date, 17));
      }
      const auto space = rest.find_last_of(' ');
      if (!info.is_directory && space != std::string_view::npos)
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
