// Redaction by allow-list. Query parameters are kept only when their name is known to be safe
// (SAS metadata such as sv/se/sp, and the Blob API's own parameters); everything else, above all
// `sig`, becomes REDACTED. Free text additionally loses registered secrets and well-known secret
// patterns, so a secret that reached a message by any path is still removed before it is shown.
// Two shapes are removed even when dataport never loaded the secret (a server echoing a key or a
// token in an error body, a credential pasted into the wrong field): a 64-byte base64 value (how
// every storage account key looks) and a JSON Web Token (bearer tokens from Entra ID / IMDS).
#include "dataport/redact.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <vector>

#include "auth/detail/encoding.hpp"

namespace dataport {
namespace {

constexpr std::array<std::string_view, 31> safe_query_names = {
    "sv",        "ss",          "srt",        "sp",      "se",      "st",      "spr",
    "sr",        "sip",         "si",         "skv",     "ses",     "sdd",     "rscc",
    "rscd",      "rsce",        "rscl",       "rsct",    "restype", "comp",    "prefix",
    "marker",    "delimiter",   "maxresults", "blockid", "include", "timeout", "snapshot",
    "versionid", "api-version", "resource"};

bool is_safe_name(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(safe_query_names.begin(), safe_query_names.end(), lower) !=
         safe_query_names.end();
}

std::shared_mutex secrets_mutex;
std::set<std::string, std::greater<>>& secrets() {
  // Longest first (std::greater on strings is not length order, so we sort on use).
  static std::set<std::string, std::greater<>> values;
  return values;
}

bool iequals_prefix(std::string_view text, std::size_t at, std::string_view word) {
  if (text.size() - at < word.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[at + i])) !=
        std::tolower(static_cast<unsigned char>(word[i])))
      return false;
  }
  return true;
}

// Replaces the value that follows `key` (case-insensitive) up to a terminator character, when it
// is at least `min_length` long (so prose such as "bearer token" is left alone).
void scrub_after(std::string& text, std::string_view key, std::string_view terminators,
                 std::size_t min_length = 1) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t found = std::string::npos;
    for (std::size_t i = pos; i + key.size() <= text.size(); ++i) {
      if (iequals_prefix(text, i, key)) {
        found = i;
        break;
      }
    }
    if (found == std::string::npos) return;
    const std::size_t start = found + key.size();
    std::size_t end = start;
    while (end < text.size() && terminators.find(text[end]) == std::string_view::npos) ++end;
    if (end >= start + min_length && text.compare(start, end - start, redacted_marker) != 0) {
      text.replace(start, end - start, redacted_marker);
      end = start + redacted_marker.size();
    }
    pos = end;
  }
}

bool is_base64_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '/';
}

bool is_base64url_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
}

// A run of exactly 86 base64 characters followed by "==" (64 bytes: an account key's shape).
void scrub_account_keys(std::string& text) {
  constexpr std::size_t key_body = 86;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!is_base64_char(text[i])) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < text.size() && is_base64_char(text[end])) ++end;
    const bool padded =
        text.compare(end, 2, "==") == 0 &&
        (end + 2 == text.size() || (!is_base64_char(text[end + 2]) && text[end + 2] != '='));
    if (end - i == key_body && padded) {
      text.replace(i, key_body + 2, redacted_marker);
      i += redacted_marker.size();
    } else {
      i = end;
    }
  }
}

// header.payload.signature in base64url with a JSON header ("eyJ"), 32 characters or more.
void scrub_jwts(std::string& text) {
  std::size_t pos = text.find("eyJ");
  while (pos != std::string::npos) {
    if (pos > 0 && is_base64url_char(text[pos - 1])) {
      pos = text.find("eyJ", pos + 3);
      continue;
    }
    std::size_t end = pos;
    int dots = 0;
    while (end < text.size() && (is_base64url_char(text[end]) || text[end] == '.')) {
      if (text[end] == '.') ++dots;
      ++end;
    }
    while (end > pos && text[end - 1] == '.') {  // a sentence's full stop is not part of it
      --end;
      --dots;
    }
    if (dots >= 2 && end - pos >= 32) {
      text.replace(pos, end - pos, redacted_marker);
      end = pos + redacted_marker.size();
    }
    pos = text.find("eyJ", end);
  }
}

}  // namespace

std::string redact_url(std::string_view url) {
  std::string out;
  out.reserve(url.size());
  // Drop user:password@ in the authority.
  std::string_view rest = url;
  if (auto scheme_end = rest.find("://"); scheme_end != std::string_view::npos) {
    const auto authority_start = scheme_end + 3;
    const auto authority_end = rest.find_first_of("/?#", authority_start);
    const auto authority = rest.substr(authority_start, authority_end == std::string_view::npos
                                                            ? std::string_view::npos
                                                            : authority_end - authority_start);
    // Only user:password@ is a secret; wasbs://container@account… names a container there.
    if (auto at = authority.rfind('@');
        at != std::string_view::npos &&
        authority.substr(0, at).find(':') != std::string_view::npos) {
      out.append(rest.substr(0, authority_start));
      out.append(redacted_marker).append("@");
      rest.remove_prefix(authority_start + at + 1);
    }
  }
  const auto question = rest.find('?');
  if (question == std::string_view::npos) {
    out.append(rest);
    return redact_text(out);
  }
  out.append(rest.substr(0, question + 1));
  std::string_view query = rest.substr(question + 1);
  std::string_view fragment;
  if (auto hash = query.find('#'); hash != std::string_view::npos) {
    fragment = query.substr(hash);
    query = query.substr(0, hash);
  }
  bool first = true;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (!first) out.push_back('&');
    first = false;
    const auto eq = pair.find('=');
    const auto name = pair.substr(0, eq);
    out.append(name);
    if (eq == std::string_view::npos) continue;
    out.push_back('=');
    if (is_safe_name(name)) {
      out.append(pair.substr(eq + 1));
    } else {
      out.append(redacted_marker);
    }
  }
  out.append(fragment);
  return redact_text(out);
}

std::string redact_text(std::string_view text) {
  std::string out(text);
  {
    std::shared_lock lock(secrets_mutex);
    std::vector<const std::string*> ordered;
    for (const auto& s : secrets()) ordered.push_back(&s);
    std::sort(ordered.begin(), ordered.end(),
              [](const std::string* a, const std::string* b) { return a->size() > b->size(); });
    for (const std::string* secret : ordered) {
      for (auto pos = out.find(*secret); pos != std::string::npos;
           pos = out.find(*secret, pos + redacted_marker.size())) {
        out.replace(pos, secret->size(), redacted_marker);
      }
    }
  }
  scrub_after(out, "sig=", "&\" \n\r\t'<>,;");
  scrub_after(out, "AccountKey=", ";\" \n\r\t'");
  scrub_after(out, "SharedAccessSignature=", ";\" \n\r\t'");
  scrub_after(out, "Authorization: ", "\r\n");
  scrub_after(out, "Bearer ", "\" \n\r\t',;", 16);
  scrub_after(out, "SharedKey ", "\" \n\r\t',;", 16);
  scrub_after(out, "x-ms-copy-source: ", "\r\n");
  scrub_account_keys(out);
  scrub_jwts(out);
  return out;
}

void register_secret(std::string_view secret) {
  if (secret.size() < 8) return;
  std::string encoded = auth::detail::percent_encode(secret);  // as it would appear inside a URL
  std::unique_lock lock(secrets_mutex);
  secrets().emplace(secret);
  if (encoded != secret) secrets().emplace(std::move(encoded));
}

}  // namespace dataport
