// Redaction for URIs quoted by the resolver. redact_url() drops "user@" from URLs, but in
// wasb(s)/abfs(s) URIs that slot holds the container name, which is not secret and which the
// user needs to see; for those schemes only the query is redacted.
#pragma once

#include <string>
#include <string_view>

#include "dataport/redact.hpp"
#include "resolve/detail/text.hpp"

namespace dataport::detail {

inline std::string redact_uri(std::string_view text) {
  const bool container_in_userinfo =
      istarts_with(text, "wasb://") || istarts_with(text, "wasbs://") ||
      istarts_with(text, "abfs://") || istarts_with(text, "abfss://");
  if (!container_in_userinfo) return redact_url(text);
  const auto q = text.find('?');
  if (q == std::string_view::npos) return std::string(text);
  const std::string redacted_query =
      redact_url(std::string("https://host/") + std::string(text.substr(q)));
  const auto rq = redacted_query.find('?');
  return std::string(text.substr(0, q)) +
         (rq == std::string::npos ? std::string{} : redacted_query.substr(rq));
}

}  // namespace dataport::detail
