// Shared Key (Blob service) request signing: see include/dataport/auth/shared_key.hpp for the
// exact canonical form. Signing happens last in a request's prepare() so it covers the final
// headers of each attempt.
#include "dataport/auth/shared_key.hpp"

#include <algorithm>
#include <ctime>
#include <map>

#include <fmt/format.h>

#include "auth/detail/encoding.hpp"
#include "dataport/error.hpp"

namespace dataport::auth {
namespace {

std::string header_or_empty(const http::header_list& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (detail::to_lower(key) == name) return value;
  }
  return {};
}

// Collapses runs of linear whitespace into one space and trims both ends.
std::string normalize_value(std::string_view value) {
  value = detail::trim(value);
  std::string out;
  out.reserve(value.size());
  bool in_space = false;
  for (char c : value) {
    bool space = c == ' ' || c == '\t' || c == '\r' || c == '\n';
    if (space) {
      if (!in_space) out.push_back(' ');
    } else {
      out.push_back(c);
    }
    in_space = space;
  }
  return out;
}

}  // namespace

std::string canonicalized_headers(const http::header_list& headers) {
  std::map<std::string, std::string> ms;
  for (const auto& [key, value] : headers) {
    std::string name = detail::to_lower(detail::trim(key));
    if (!name.starts_with("x-ms-")) continue;
    auto [it, inserted] = ms.emplace(name, normalize_value(value));
    if (!inserted) it->second += "," + normalize_value(value);
  }
  std::string out;
  for (const auto& [name, value] : ms) out += name + ":" + value + "\n";
  return out;
}

std::string canonicalized_resource(std::string_view url, std::string_view account) {
  auto parts = detail::split_url(url);
  std::string out = "/" + std::string(account) + parts.path;
  std::map<std::string, std::vector<std::string>> params;
  for (auto& [name, value] : detail::split_query(parts.query)) {
    params[detail::to_lower(detail::percent_decode(name))].push_back(
        detail::percent_decode(value, true));
  }
  for (auto& [name, values] : params) {
    std::sort(values.begin(), values.end());
    out += "\n" + name + ":";
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i) out += ",";
      out += values[i];
    }
  }
  return out;
}

std::string shared_key_string_to_sign(const http::request& req, std::string_view account) {
  std::string content_length = header_or_empty(req.headers, "content-length");
  if (content_length.empty() && !req.body.empty()) content_length = std::to_string(req.body.size());
  if (content_length == "0") content_length.clear();

  std::string out;
  out += req.method + "\n";
  out += header_or_empty(req.headers, "content-encoding") + "\n";
  out += header_or_empty(req.headers, "content-language") + "\n";
  out += content_length + "\n";
  for (std::string_view name : {"content-md5", "content-type", "date", "if-modified-since",
                                "if-match", "if-none-match", "if-unmodified-since", "range"}) {
    out += header_or_empty(req.headers, name) + "\n";
  }
  out += canonicalized_headers(req.headers);
  out += canonicalized_resource(req.url, account);
  return out;
}

std::string decode_account_key(std::string_view key_base64, std::string_view account) {
  auto decoded = detail::base64_decode(detail::trim(key_base64));
  if (!decoded || decoded->empty()) {
    throw_error(errc::invalid_argument,
                fmt::format("the account key for storage account '{}' is not valid base64; copy "
                            "the key again from the portal (Access keys) or the connection "
                            "string's AccountKey",
                            account));
  }
  return *decoded;
}

std::string shared_key_signature(std::string_view decoded_key, std::string_view string_to_sign) {
  return detail::base64_encode(detail::hmac_sha256(decoded_key, string_to_sign));
}

void sign_shared_key(http::request& req, std::string_view account, std::string_view decoded_key,
                     std::string_view now_rfc1123) {
  bool has_date = false;
  for (const auto& [key, value] : req.headers) {
    auto lower = detail::to_lower(key);
    if (lower == "x-ms-date" || lower == "date") has_date = true;
  }
  if (!has_date) req.headers.emplace_back("x-ms-date", std::string(now_rfc1123));
  std::erase_if(req.headers,
                [](const auto& h) { return detail::to_lower(h.first) == "authorization"; });
  std::string signature =
      shared_key_signature(decoded_key, shared_key_string_to_sign(req, account));
  req.headers.emplace_back("Authorization", fmt::format("SharedKey {}:{}", account, signature));
}

std::string rfc1123_date(std::chrono::system_clock::time_point when) {
  std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT", days[tm.tm_wday], tm.tm_mday,
                     months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

}  // namespace dataport::auth
