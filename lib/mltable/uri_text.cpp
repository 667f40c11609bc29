// MLTable path values as text (see mltable/detail/uri_text.hpp).
#include "mltable/detail/uri_text.hpp"

#include <array>
#include <cctype>
#include <filesystem>
#include <vector>

#include <boost/url/encode.hpp>
#include <boost/url/rfc/pchars.hpp>
#include <fmt/format.h>

#include "dataport/error.hpp"
#include "dataport/redact.hpp"
#include "dataport/uri.hpp"
#include "auth/detail/encoding.hpp"
#include "resolve/detail/text.hpp"

namespace dataport::mltable_detail {
namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, 8> known_schemes = {"file",  "http", "https", "wasb",
                                                           "wasbs", "abfs", "abfss", "azureml"};

/// The scheme of "scheme:..." when the text starts with one (letters, digits, + - .), else "".
std::string_view scheme_of(std::string_view value) {
  if (value.empty() || !std::isalpha(static_cast<unsigned char>(value[0]))) return {};
  for (std::size_t i = 1; i < value.size(); ++i) {
    const char c = value[i];
    if (c == ':') return value.substr(0, i);
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') break;
  }
  return {};
}

bool is_known_scheme(std::string_view scheme) {
  for (const auto known : known_schemes) {
    if (detail::iequals(scheme, known)) return true;
  }
  return false;
}

[[noreturn]] void fail(std::string_view value, std::string_view problem) {
  throw_error(errc::invalid_argument, fmt::format("'{}': {}", redact_url(value), problem));
}

std::vector<std::string_view> segments_of(std::string_view path) {
  std::vector<std::string_view> out;
  for (const auto seg : detail::split(path, '/')) {
    if (!seg.empty()) out.push_back(seg);
  }
  return out;
}

std::string join_segments(const std::vector<std::string_view>& segments, bool trailing_slash) {
  std::string out;
  for (const auto seg : segments) {
    out += '/';
    out += seg;
  }
  if (trailing_slash && !out.empty()) out += '/';
  return out;
}

}  // namespace

std::string uri_text::text() const {
  std::string out = head + path;
  if (!query.empty()) out += "?" + query;
  return out;
}

bool is_uri(std::string_view value) {
  const auto scheme = scheme_of(value);
  if (scheme.empty()) return false;
  if (is_known_scheme(scheme)) return true;
  if (value.substr(scheme.size()).starts_with("://")) {
    fail(value,
         "unsupported URI scheme: use a local path, file://, http(s)://, wasb(s)://, "
         "abfs(s):// or azureml://");
  }
  return false;  // "name:with:colons.csv" is a relative path
}

uri_text split_uri(std::string_view value, bool pattern) {
  uri_text out;
  if (!is_uri(value)) {
    out.local = true;
    fs::path p(value);
    if (p.is_relative()) p = fs::current_path() / p;
    out.path = p.lexically_normal().string();
    return out;
  }
  const auto scheme = scheme_of(value);
  if (detail::iequals(scheme, "file")) {
    const parsed_uri parsed = parse_uri(value);
    out.local = true;
    out.path = fs::path(parsed.path).lexically_normal().string();
    return out;
  }
  const auto after_scheme = scheme.size() + 1;
  if (value.substr(after_scheme, 2) != "//") {
    fail(value,
         "expected <scheme>://<authority>/<path> (azureml:<asset>:<version> names a data "
         "asset, whose own path is used)");
  }
  std::size_t path_start = value.find('/', after_scheme + 2);
  if (path_start == std::string_view::npos) path_start = value.size();
  if (detail::iequals(scheme, "azureml")) {
    // Everything up to ".../paths" names the datastore; the rest is the path inside it.
    const std::string lowered = detail::to_lower(value);
    const auto paths = lowered.find("/paths/");
    if (paths != std::string::npos) {
      path_start = paths + 6;
    } else if (lowered.ends_with("/paths")) {
      path_start = value.size();
    } else {
      fail(value,
           "expected azureml://datastores/<datastore>/paths/<path> (or the long form "
           "with subscriptions/.../workspaces/<ws>/datastores/<datastore>/paths/<path>)");
    }
  }
  out.head = std::string(value.substr(0, path_start));
  std::string_view rest = value.substr(path_start);
  std::size_t query_at = std::string_view::npos;
  if (!pattern) {
    query_at = rest.find('?');
  } else if (const auto last = rest.rfind('?'); last != std::string_view::npos) {
    const auto tail = rest.substr(last + 1);
    if (tail.find('=') != std::string_view::npos && tail.find('/') == std::string_view::npos)
      query_at = last;
  }
  if (query_at != std::string_view::npos) {
    out.query = std::string(rest.substr(query_at + 1));
    rest = rest.substr(0, query_at);
  }
  if (out.head.find_first_of("*[") != std::string::npos) {
    fail(value, "wildcards work in the path only, not in the account, container or datastore");
  }
  out.path = std::string(rest);
  return out;
}

uri_text parent_folder(const uri_text& file) {
  uri_text out = file;
  if (file.local) {
    out.path = fs::path(file.path).parent_path().string();
    return out;
  }
  std::string_view path = file.path;
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  const auto slash = path.rfind('/');
  out.path =
      std::string(slash == std::string_view::npos ? std::string_view{} : path.substr(0, slash));
  return out;
}

uri_text join_relative(const uri_text& folder, std::string_view relative) {
  uri_text out = folder;
  if (folder.local) {
    out.path = (fs::path(folder.path) / fs::path(relative)).lexically_normal().string();
    return out;
  }
  std::vector<std::string_view> segments = segments_of(folder.path);
  for (const auto seg : segments_of(relative)) {
    if (seg == ".") continue;
    if (seg == "..") {
      if (segments.empty()) {
        fail(relative, fmt::format("'..' climbs above the root of {}: write the full URI instead",
                                   redact_url(folder.head)));
      }
      segments.pop_back();
      continue;
    }
    segments.push_back(seg);
  }
  out.path = join_segments(segments, relative.ends_with('/'));
  return out;
}

uri_text child(const uri_text& folder, std::string_view decoded_relative) {
  uri_text out = folder;
  if (folder.local) {
    out.path = (fs::path(folder.path) / fs::path(decoded_relative)).string();
    return out;
  }
  std::string path = folder.path;
  while (!path.empty() && path.back() == '/') path.pop_back();
  for (const auto seg : detail::split(decoded_relative, '/')) {
    path += '/';
    path += boost::urls::encode(seg, boost::urls::pchars);
  }
  out.path = std::move(path);
  return out;
}

std::string percent_decoded(std::string_view text) {
  return auth::detail::percent_decode(text);
}

}  // namespace dataport::mltable_detail
