// Header-list helpers: HTTP field names compare case-insensitively (RFC 9110 §5.1).
#include "dataport/http/message.hpp"

#include <algorithm>

namespace dataport::http {
namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) {
      return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string_view> find_header(const header_list& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

void set_header(header_list& headers, std::string_view name, std::string value) {
  remove_header(headers, name);
  headers.emplace_back(std::string(name), std::move(value));
}

void remove_header(header_list& headers, std::string_view name) {
  std::erase_if(headers, [&](const auto& field) { return iequals(field.first, name); });
}

}  // namespace dataport::http
