// SAS tokens: appending to URLs, up-front expiry checks, and account / Blob service SAS
// generation (string-to-sign rules of version 2020-12-06 and later, which include the
// encryption-scope line).
#include "dataport/auth/sas.hpp"

#include <cctype>
#include <cstdio>
#include <ctime>

#include <fmt/format.h>

#include "auth/detail/encoding.hpp"
#include "dataport/auth/shared_key.hpp"
#include "dataport/error.hpp"
#include "dataport/redact.hpp"

namespace dataport::auth {
namespace {

bool is_hex(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

// Keeps characters that are literal in a query value, keeps valid %XX escapes, and encodes the
// rest ('+' would otherwise read as a space; '#' would end the URL).
std::string normalize_query_component(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  static constexpr std::string_view literal = "-._~!$'()*,;:@/?=";
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    auto u = static_cast<unsigned char>(c);
    if (c == '%' && i + 2 < text.size() && is_hex(text[i + 1]) && is_hex(text[i + 2])) {
      out.append(text.substr(i, 3));
      i += 2;
    } else if (std::isalnum(u) || literal.find(c) != std::string_view::npos) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 15]);
    }
  }
  return out;
}

std::string join_query(const std::vector<std::pair<std::string, std::string>>& items) {
  std::string out;
  for (const auto& [name, value] : items) {
    if (value.empty()) continue;
    if (!out.empty()) out += "&";
    out += name + "=" + detail::percent_encode(value);
  }
  return out;
}

void register_sas_secrets(std::string_view sas) {
  register_secret(sas);
  for (const auto& [name, value] : detail::split_query(sas)) {
    if (detail::to_lower(name) == "sig") {
      register_secret(value);
      register_secret(detail::percent_decode(value));
    }
  }
}

}  // namespace

std::string append_sas(std::string_view url, std::string_view sas) {
  sas = detail::trim(sas);
  while (!sas.empty() && (sas.front() == '?' || sas.front() == '&')) sas.remove_prefix(1);
  if (sas.empty()) return std::string(url);
  auto parts = detail::split_url(url);
  for (const auto& [name, value] : detail::split_query(parts.query)) {
    if (detail::to_lower(name) == "sig") return std::string(url);
  }
  std::string normalized;
  for (const auto& [name, value] : detail::split_query(sas)) {
    if (!normalized.empty()) normalized += "&";
    normalized += normalize_query_component(name) + "=" + normalize_query_component(value);
  }
  std::string out(url);
  if (auto hash = out.find('#'); hash != std::string::npos) out.resize(hash);
  if (!parts.has_query) {
    out += "?";
  } else if (!out.ends_with('?') && !out.ends_with('&')) {
    out += "&";
  }
  return out + normalized;
}

std::optional<std::string> sas_expiry_text(std::string_view sas) {
  if (!sas.empty() && sas.front() == '?') sas.remove_prefix(1);
  for (const auto& [name, value] : detail::split_query(sas)) {
    if (detail::to_lower(name) == "se") return detail::percent_decode(value, true);
  }
  return std::nullopt;
}

std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text) {
  text = detail::trim(text);
  int year = 0, month = 0, day = 0, hour = 0, minute = 0;
  double second = 0;
  std::string s(text);
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &year, &month, &day, &consumed) != 3) {
    return std::nullopt;
  }
  std::string_view rest = text.substr(static_cast<std::size_t>(consumed));
  int offset_minutes = 0;
  if (!rest.empty()) {
    if (rest.front() != 'T' && rest.front() != 't' && rest.front() != ' ') return std::nullopt;
    std::string tail(rest.substr(1));
    int n = 0;
    if (std::sscanf(tail.c_str(), "%2d:%2d%n", &hour, &minute, &n) != 2) return std::nullopt;
    std::string_view zone = std::string_view(tail).substr(static_cast<std::size_t>(n));
    if (!zone.empty() && zone.front() == ':') {
      std::string sec(zone.substr(1));
      int m = 0;
      if (std::sscanf(sec.c_str(), "%lf%n", &second, &m) != 1) return std::nullopt;
      zone = zone.substr(1 + static_cast<std::size_t>(m));
    }
    if (zone == "Z" || zone == "z" || zone.empty()) {
      offset_minutes = 0;
    } else if (zone.front() == '+' || zone.front() == '-') {
      int oh = 0, om = 0;
      std::string z(zone.substr(1));
      if (std::sscanf(z.c_str(), "%2d:%2d", &oh, &om) != 2) return std::nullopt;
      offset_minutes = (zone.front() == '+' ? 1 : -1) * (oh * 60 + om);
    } else {
      return std::nullopt;
    }
  }
  // `!(second >= 0 && ...)` also rejects a NaN that sscanf accepts as "nan".
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
      !(second >= 0 && second < 61)) {
    return std::nullopt;
  }
  using namespace std::chrono;
  auto ymd =
      year_month_day{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                     std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return std::nullopt;
  // Whole seconds first (no overflow for any 4-digit year), then saturate: system_clock counts
  // nanoseconds in 64 bits and ends in 2262, but SAS tokens commonly expire in 9999.
  const auto whole_seconds = static_cast<std::int64_t>(second);
  const seconds since_epoch = sys_days{ymd}.time_since_epoch() + hours{hour} + minutes{minute} -
                              minutes{offset_minutes} + seconds{whole_seconds};
  using clock_duration = system_clock::duration;
  if (since_epoch >= duration_cast<seconds>(clock_duration::max())) {
    return system_clock::time_point::max();
  }
  if (since_epoch <= duration_cast<seconds>(clock_duration::min())) {
    return system_clock::time_point::min();
  }
  const auto fraction =
      duration_cast<clock_duration>(duration<double>(second - static_cast<double>(whole_seconds)));
  return system_clock::time_point{duration_cast<clock_duration>(since_epoch) + fraction};
}

std::string format_iso8601(std::chrono::system_clock::time_point when) {
  std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void check_sas_not_expired(std::string_view sas, std::chrono::system_clock::time_point now) {
  auto se = sas_expiry_text(sas);
  if (!se) return;
  auto expiry = parse_iso8601(*se);
  if (!expiry) {
    throw_error(errc::invalid_argument,
                fmt::format("the SAS token's expiry (se={}) is not a valid ISO 8601 time; "
                            "generate a new SAS token",
                            redact_text(*se)));
  }
  if (*expiry <= now) {
    throw_error(errc::authentication_failed,
                fmt::format("the SAS token expired at {}; generate a new one", *se));
  }
}

std::string generate_account_sas(const account_sas_options& o) {
  std::string key = decode_account_key(o.account_key, o.account);
  std::string start = o.start ? format_iso8601(*o.start) : "";
  std::string expiry = format_iso8601(o.expiry);
  std::string to_sign =
      fmt::format("{}\n{}\n{}\n{}\n{}\n{}\n\n{}\n{}\n\n", o.account, o.permissions, o.services,
                  o.resource_types, start, expiry, o.protocol, o.version);
  std::string sig = shared_key_signature(key, to_sign);
  std::string token = join_query({{"sv", o.version},
                                  {"ss", o.services},
                                  {"srt", o.resource_types},
                                  {"sp", o.permissions},
                                  {"st", start},
                                  {"se", expiry},
                                  {"spr", o.protocol},
                                  {"sig", sig}});
  register_sas_secrets(token);
  return token;
}

std::string generate_blob_service_sas(const blob_service_sas_options& o) {
  std::string key = decode_account_key(o.account_key, o.account);
  std::string start = o.start ? format_iso8601(*o.start) : "";
  std::string expiry = format_iso8601(o.expiry);
  std::string resource = "/blob/" + o.account + "/" + o.container;
  if (!o.blob.empty()) resource += "/" + o.blob;
  std::string signed_resource = o.blob.empty() ? "c" : "b";
  // permissions, start, expiry, resource, identifier, IP, protocol, version, signed resource,
  // snapshot time, encryption scope, rscc, rscd, rsce, rscl, rsct.
  std::string to_sign =
      fmt::format("{}\n{}\n{}\n{}\n\n\n{}\n{}\n{}\n\n\n\n\n\n\n", o.permissions, start, expiry,
                  resource, o.protocol, o.version, signed_resource);
  std::string sig = shared_key_signature(key, to_sign);
  std::string token = join_query({{"sv", o.version},
                                  {"sr", signed_resource},
                                  {"sp", o.permissions},
                                  {"st", start},
                                  {"se", expiry},
                                  {"spr", o.protocol},
                                  {"sig", sig}});
  register_sas_secrets(token);
  return token;
}

}  // namespace dataport::auth
