// URI syntax: every form dataport accepts, split into parts without looking at any workspace.
//
// Why hand-written splitting rather than one generic URI parser: wasbs/abfss put the container in
// the userinfo slot, azureml URIs are keyword paths with case-insensitive keywords, and users type
// raw spaces and UTF-8 in paths. Each form gets its own small parser so every error can name the
// exact problem and show the expected form. Boost.URL does what it is good at: authority
// validation of http(s) URLs and percent-decoding/encoding.
#include "dataport/uri.hpp"

#include <boost/url/authority_view.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/rfc/pchars.hpp>
#include <fmt/format.h>

#include "dataport/error.hpp"
#include "dataport/redact.hpp"
#include "resolve/detail/redact_uri.hpp"
#include "resolve/detail/text.hpp"

namespace dataport {
namespace {

using detail::iequals;
using detail::istarts_with;
using detail::to_lower;

constexpr std::string_view supported_forms =
    "a local path, file:///<path>, http(s)://<host>/<path>, "
    "wasb(s)://<container>@<account>.blob.core.windows.net/<path>, "
    "abfs(s)://<filesystem>@<account>.dfs.core.windows.net/<path>, "
    "azureml://datastores/<datastore>/paths/<path>, azureml:<name>:<version>";

constexpr std::string_view azureml_forms =
    "azureml://datastores/<datastore>/paths/<path>, "
    "azureml://subscriptions/<sub>/resourcegroups/<rg>/[providers/"
    "Microsoft.MachineLearningServices/]"
    "workspaces/<ws>/datastores/<datastore>/paths/<path>, "
    "azureml://subscriptions/<sub>/resourcegroups/<rg>/workspaces/<ws>/data/<name>/versions/"
    "<version>, "
    "azureml://registries/<registry>/data/<name>/versions/<version>, "
    "azureml:<name>:<version> or azureml:<name>@latest";

[[noreturn]] void fail(std::string_view text, std::string_view problem) {
  // `problem` may quote a part of the URI (a name, a version) that a query ran into, as in
  // azureml:iris:1?sig=...: it is redacted like the URI itself.
  throw_error(errc::invalid_argument,
              fmt::format("{}: got '{}'", redact_text(problem), detail::redact_uri(text)));
}

bool is_hex(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/// Percent-decodes one URI part; `text` is the whole URI, quoted in errors.
std::string decode(std::string_view text, std::string_view part) {
  for (std::size_t i = 0; i < part.size(); ++i) {
    if (part[i] != '%') continue;
    if (i + 2 >= part.size() || !is_hex(part[i + 1]) || !is_hex(part[i + 2])) {
      fail(text, fmt::format("malformed percent escape '{}' ('%' must be followed by two hex "
                             "digits; write a literal '%' as %25)",
                             part.substr(i, 3)));
    }
  }
  auto checked = boost::urls::make_pct_string_view(part);
  if (!checked) fail(text, "malformed percent escape");
  std::string decoded = checked->decode();
  if (decoded.find('\0') != std::string::npos) fail(text, "the path contains an encoded NUL (%00)");
  return decoded;
}

std::string encode_path(std::string_view path) {
  static constexpr auto path_chars = boost::urls::pchars + boost::urls::grammar::lut_chars('/');
  return boost::urls::encode(path, path_chars);
}

std::string encode_segment(std::string_view segment) {
  return boost::urls::encode(segment, boost::urls::pchars);
}

std::string_view strip_one_slash(std::string_view path) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  return path;
}

/// Splits "<authority>/<path>?<query>" (the part after "scheme://").
struct url_parts {
  std::string_view authority, path, query;
};

url_parts split_after_scheme(std::string_view text, std::string_view rest) {
  if (rest.find('#') != std::string_view::npos) {
    fail(text, "URI fragments ('#...') are not supported: encode a '#' in a name as %23");
  }
  url_parts parts;
  const auto q = rest.find('?');
  if (q != std::string_view::npos) {
    parts.query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  const auto slash = rest.find('/');
  parts.authority = rest.substr(0, slash);
  parts.path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  return parts;
}

void check_account(std::string_view text, std::string_view account, std::string_view form) {
  if (!is_valid_account_name(account)) {
    fail(text, fmt::format("storage account name '{}' is invalid (3-24 lowercase letters and "
                           "digits); expected {}",
                           account, form));
  }
}

void check_container(std::string_view text, std::string_view container, std::string_view what,
                     std::string_view form) {
  if (container.empty()) fail(text, fmt::format("the {} name is empty; expected {}", what, form));
  if (auto problem = container_name_problem(container); !problem.empty()) {
    fail(text,
         fmt::format("{} name '{}' is invalid: {}; expected {}", what, container, problem, form));
  }
}

/// Splits "<account>.<blob|dfs>.<suffix>"; false when the host has another shape.
bool split_storage_host(std::string_view host, parsed_uri& out) {
  const auto first = host.find('.');
  if (first == std::string_view::npos) return false;
  const auto second = host.find('.', first + 1);
  if (second == std::string_view::npos || second + 1 >= host.size()) return false;
  const auto service = host.substr(first + 1, second - first - 1);
  if (service != "blob" && service != "dfs") return false;
  out.account = std::string(host.substr(0, first));
  out.storage_service = std::string(service);
  out.endpoint_suffix = std::string(host.substr(second + 1));
  return true;
}

parsed_uri parse_storage_scheme(std::string_view text, std::string_view scheme,
                                std::string_view rest) {
  parsed_uri out;
  const bool dfs = scheme.starts_with("abfs");
  out.kind = scheme == "wasb"    ? uri_kind::wasb
             : scheme == "wasbs" ? uri_kind::wasbs
             : scheme == "abfs"  ? uri_kind::abfs
                                 : uri_kind::abfss;
  const std::string what = dfs ? "filesystem" : "container";
  const std::string form = fmt::format("{}://<{}>@<account>.{}.core.windows.net/<path>", scheme,
                                       what, dfs ? "dfs" : "blob");
  const auto parts = split_after_scheme(text, rest);
  const auto at = parts.authority.find('@');
  if (at == std::string_view::npos) {
    fail(text, fmt::format("{} URI needs <{}>@<account>.{}.core.windows.net", scheme, what,
                           dfs ? "dfs" : "blob"));
  }
  out.container = decode(text, parts.authority.substr(0, at));
  check_container(text, out.container, what, form);
  out.host = to_lower(parts.authority.substr(at + 1));
  if (!split_storage_host(out.host, out)) {
    fail(text, fmt::format("{} URI host must be <account>.{}.<suffix> such as "
                           "myaccount.{}.core.windows.net; expected {}",
                           scheme, dfs ? "dfs" : "blob", dfs ? "dfs" : "blob", form));
  }
  check_account(text, out.account, form);
  out.path = decode(text, strip_one_slash(parts.path));
  out.query = std::string(parts.query);
  return out;
}

parsed_uri parse_http(std::string_view text, std::string_view scheme, std::string_view rest) {
  parsed_uri out;
  out.kind = scheme == "http" ? uri_kind::http : uri_kind::https;
  const auto parts = split_after_scheme(text, rest);
  const auto authority = boost::urls::parse_authority(parts.authority);
  if (parts.authority.empty() || !authority || authority->encoded_host().empty()) {
    fail(text, fmt::format("{} URL needs a host: {}://<host>[:<port>]/<path>", scheme, scheme));
  }
  if (authority->has_userinfo()) {
    fail(text,
         "user:password@ in URLs is not supported: use a SAS query or a workspace credential");
  }
  out.host = to_lower(parts.authority);
  out.query = std::string(parts.query);
  parsed_uri storage;
  const bool plain_host = !authority->has_port();
  if (plain_host && split_storage_host(out.host, storage) &&
      storage.endpoint_suffix.starts_with("core.")) {
    const std::string form = fmt::format("{}://<account>.{}.{}/<container>/<path>", scheme,
                                         storage.storage_service, storage.endpoint_suffix);
    check_account(text, storage.account, form);
    out.account = storage.account;
    out.storage_service = storage.storage_service;
    out.endpoint_suffix = storage.endpoint_suffix;
    const auto path = strip_one_slash(parts.path);
    const auto slash = path.find('/');
    out.container = decode(text, path.substr(0, slash));
    check_container(text, out.container, "container", form);
    out.path =
        slash == std::string_view::npos ? std::string{} : decode(text, path.substr(slash + 1));
    return out;
  }
  out.path = decode(text, parts.path);
  return out;
}

parsed_uri parse_file(std::string_view text) {
  std::string_view rest = text.substr(5);  // after "file:"
  if (rest.find_first_of("?#") != std::string_view::npos) {
    fail(text, "file URIs take no query or fragment: encode '?' as %3F and '#' as %23");
  }
  if (rest.starts_with("///")) {
    rest.remove_prefix(2);
  } else if (istarts_with(rest, "//localhost/")) {
    rest.remove_prefix(11);
  } else if (rest.starts_with("//")) {
    fail(text,
         "file URIs name a local path: file:///<absolute path> (remote hosts are not supported)");
  } else if (!rest.starts_with("/")) {
    fail(text, "file URI needs an absolute path: file:///<absolute path>");
  }
  parsed_uri out;
  out.kind = uri_kind::file;
  out.path = decode(text, rest);
  return out;
}

bool valid_asset_token(std::string_view token) noexcept {
  if (token.empty() || token.size() > 255) return false;
  for (char c : token) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

void check_asset(std::string_view text, std::string_view name, std::string_view version) {
  if (!valid_asset_token(name)) {
    fail(text, fmt::format("data asset name '{}' is invalid (letters, digits, '-', '_', '.'); "
                           "expected azureml:<name>:<version> or azureml:<name>@latest",
                           name));
  }
  if (!valid_asset_token(version)) {
    fail(text, fmt::format("data asset version '{}' is invalid (letters, digits, '-', '_', '.'); "
                           "expected azureml:<name>:<version> or azureml:<name>@latest",
                           version));
  }
}

parsed_uri parse_asset_short(std::string_view text) {
  const std::string_view body = text.substr(8);  // after "azureml:"
  parsed_uri out;
  out.kind = uri_kind::azureml_asset;
  if (const auto at = body.find('@'); at != std::string_view::npos) {
    if (!iequals(body.substr(at + 1), "latest")) {
      fail(text,
           "only the label @latest is supported; expected azureml:<name>:<version> or "
           "azureml:<name>@latest");
    }
    out.asset_name = std::string(body.substr(0, at));
    out.asset_latest = true;
    check_asset(text, out.asset_name, "latest");
    return out;
  }
  const auto colon = body.find(':');
  if (colon == std::string_view::npos) {
    fail(text,
         "a data asset reference needs a version: azureml:<name>:<version> or "
         "azureml:<name>@latest");
  }
  out.asset_name = std::string(body.substr(0, colon));
  out.asset_version = std::string(body.substr(colon + 1));
  check_asset(text, out.asset_name, out.asset_version);
  return out;
}

/// Walks the '/'-separated segments of an azureml:// URI with case-insensitive keywords.
class azureml_reader {
 public:
  azureml_reader(std::string_view text, std::string_view rest) : text_(text), rest_(rest) {
    segments_ = detail::split(rest, '/');
  }

  bool keyword(std::string_view word) {
    if (index_ < segments_.size() && iequals(segments_[index_], word)) {
      ++index_;
      return true;
    }
    return false;
  }

  void expect(std::string_view word) {
    if (!keyword(word)) {
      const auto got = index_ < segments_.size() ? segments_[index_] : std::string_view{"<end>"};
      fail(text_, fmt::format("azureml URI expected '{}' but found '{}'; accepted forms: {}", word,
                              got, azureml_forms));
    }
  }

  std::string name(std::string_view what) {
    if (index_ >= segments_.size() || segments_[index_].empty()) {
      fail(text_, fmt::format("azureml URI is missing the {} after '{}/'; accepted forms: {}", what,
                              index_ > 0 ? segments_[index_ - 1] : "", azureml_forms));
    }
    return decode(text_, segments_[index_++]);
  }

  /// Everything after the current segment boundary, raw (for paths).
  std::string_view remainder() const {
    std::size_t offset = 0;
    for (std::size_t i = 0; i < index_ && i < segments_.size(); ++i)
      offset += segments_[i].size() + 1;
    return offset >= rest_.size() ? std::string_view{} : rest_.substr(offset);
  }

  void expect_end() {
    // Tolerate one trailing slash ("versions/3/").
    if (index_ + 1 == segments_.size() && segments_[index_].empty()) ++index_;
    if (index_ != segments_.size()) {
      fail(text_,
           fmt::format("azureml URI has unexpected trailing segments '{}'; accepted forms: {}",
                       remainder(), azureml_forms));
    }
  }

  void read_paths(parsed_uri& out) {
    out.datastore = name("datastore name");
    expect("paths");
    out.path = decode(text_, remainder());
    index_ = segments_.size();
  }

  void read_asset_id(parsed_uri& out) {
    out.asset_name = name("data asset name");
    expect("versions");
    out.asset_version = name("data asset version");
    expect_end();
    check_asset(text_, out.asset_name, out.asset_version);
  }

 private:
  std::string_view text_;
  std::string_view rest_;
  std::vector<std::string_view> segments_;
  std::size_t index_ = 0;
};

parsed_uri parse_azureml_long(std::string_view text) {
  const std::string_view rest = text.substr(10);  // after "azureml://"
  if (rest.find_first_of("?#") != std::string_view::npos) {
    fail(text, "azureml URIs take no query or fragment: encode '?' as %3F and '#' as %23 in paths");
  }
  parsed_uri out;
  azureml_reader reader(text, rest);
  if (reader.keyword("datastores")) {
    out.kind = uri_kind::azureml_datastore_short;
    reader.read_paths(out);
    return out;
  }
  if (reader.keyword("registries")) {
    out.kind = uri_kind::azureml_registry_asset;
    out.registry = reader.name("registry name");
    reader.expect("data");
    reader.read_asset_id(out);
    return out;
  }
  reader.expect("subscriptions");
  out.subscription = reader.name("subscription id");
  reader.expect("resourcegroups");
  out.resource_group = reader.name("resource group");
  if (reader.keyword("providers")) {
    reader.expect("Microsoft.MachineLearningServices");
    out.provider_segment = true;
  }
  reader.expect("workspaces");
  out.workspace = reader.name("workspace name");
  if (reader.keyword("data")) {
    out.kind = uri_kind::azureml_asset_id;
    reader.read_asset_id(out);
    return out;
  }
  reader.expect("datastores");
  out.kind = uri_kind::azureml_datastore_long;
  reader.read_paths(out);
  return out;
}

bool is_scheme_char(char c, bool first) noexcept {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (first) return alpha;
  return alpha || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

/// The scheme before "://", lowercase; empty when the text has no scheme.
std::string find_scheme(std::string_view text) {
  const auto pos = text.find("://");
  if (pos == std::string_view::npos || pos == 0) return {};
  for (std::size_t i = 0; i < pos; ++i) {
    if (!is_scheme_char(text[i], i == 0)) return {};
  }
  return to_lower(text.substr(0, pos));
}

}  // namespace

std::string_view to_string(uri_kind kind) noexcept {
  switch (kind) {
    case uri_kind::local:
      return "local";
    case uri_kind::file:
      return "file";
    case uri_kind::http:
      return "http";
    case uri_kind::https:
      return "https";
    case uri_kind::wasb:
      return "wasb";
    case uri_kind::wasbs:
      return "wasbs";
    case uri_kind::abfs:
      return "abfs";
    case uri_kind::abfss:
      return "abfss";
    case uri_kind::azureml_datastore_short:
      return "azureml_datastore_short";
    case uri_kind::azureml_datastore_long:
      return "azureml_datastore_long";
    case uri_kind::azureml_asset:
      return "azureml_asset";
    case uri_kind::azureml_asset_id:
      return "azureml_asset_id";
    case uri_kind::azureml_registry_asset:
      return "azureml_registry_asset";
  }
  return "unknown";
}

bool is_valid_account_name(std::string_view name) noexcept {
  if (name.size() < 3 || name.size() > 24) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

std::string container_name_problem(std::string_view name) {
  if (name == "$root" || name == "$web" || name == "$logs") return {};
  if (name.size() < 3 || name.size() > 63) return "it must be 3-63 characters long";
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return "only lowercase letters, digits and '-' are allowed";
    }
  }
  if (name.front() == '-' || name.back() == '-')
    return "it must start and end with a letter or digit";
  if (name.find("--") != std::string_view::npos) return "consecutive hyphens are not allowed";
  return {};
}

parsed_uri parse_uri(std::string_view text) {
  if (detail::trim(text).empty()) {
    throw_error(errc::invalid_argument,
                fmt::format("empty URI: expected one of {}", supported_forms));
  }
  const std::string scheme = find_scheme(text);
  if (scheme.empty()) {
    if (istarts_with(text, "azureml:")) return parse_asset_short(text);
    if (istarts_with(text, "file:")) return parse_file(text);
    parsed_uri out;
    out.kind = uri_kind::local;
    out.path = std::string(text);
    return out;
  }
  const std::string_view rest = text.substr(scheme.size() + 3);
  if (scheme == "file") return parse_file(text);
  if (scheme == "http" || scheme == "https") return parse_http(text, scheme, rest);
  if (scheme == "wasb" || scheme == "wasbs" || scheme == "abfs" || scheme == "abfss") {
    return parse_storage_scheme(text, scheme, rest);
  }
  if (scheme == "azureml") return parse_azureml_long(text);
  fail(text, fmt::format("unsupported URI scheme '{}'; supported schemes: file, http, https, wasb, "
                         "wasbs, abfs, abfss, azureml (or a plain local path)",
                         scheme));
}

std::string format_uri(const parsed_uri& uri, bool include_secrets) {
  const auto query = [&] {
    return include_secrets && !uri.query.empty() ? "?" + uri.query : std::string{};
  };
  const auto workspace_prefix = [&] {
    return fmt::format("azureml://subscriptions/{}/resourcegroups/{}/{}workspaces/{}",
                       encode_segment(uri.subscription), encode_segment(uri.resource_group),
                       uri.provider_segment ? "providers/Microsoft.MachineLearningServices/" : "",
                       encode_segment(uri.workspace));
  };
  switch (uri.kind) {
    case uri_kind::local:
      return uri.path;
    case uri_kind::file:
      return "file://" + encode_path(uri.path);
    case uri_kind::http:
    case uri_kind::https: {
      const std::string scheme(to_string(uri.kind));
      if (uri.is_storage_url()) {
        return fmt::format("{}://{}/{}/{}{}", scheme, uri.host, uri.container,
                           encode_path(uri.path), query());
      }
      return fmt::format("{}://{}{}{}", scheme, uri.host, encode_path(uri.path), query());
    }
    case uri_kind::wasb:
    case uri_kind::wasbs:
    case uri_kind::abfs:
    case uri_kind::abfss:
      return fmt::format("{}://{}@{}/{}{}", to_string(uri.kind), uri.container, uri.host,
                         encode_path(uri.path), query());
    case uri_kind::azureml_datastore_short:
      return fmt::format("azureml://datastores/{}/paths/{}", encode_segment(uri.datastore),
                         encode_path(uri.path));
    case uri_kind::azureml_datastore_long:
      return fmt::format("{}/datastores/{}/paths/{}", workspace_prefix(),
                         encode_segment(uri.datastore), encode_path(uri.path));
    case uri_kind::azureml_asset:
      return uri.asset_latest ? fmt::format("azureml:{}@latest", uri.asset_name)
                              : fmt::format("azureml:{}:{}", uri.asset_name, uri.asset_version);
    case uri_kind::azureml_asset_id:
      return fmt::format("{}/data/{}/versions/{}", workspace_prefix(), uri.asset_name,
                         uri.asset_version);
    case uri_kind::azureml_registry_asset:
      return fmt::format("azureml://registries/{}/data/{}/versions/{}",
                         encode_segment(uri.registry), uri.asset_name, uri.asset_version);
  }
  return {};
}

}  // namespace dataport
