// Azure Storage connection strings: the ecosystem's usual way to hand a process an account.
#include "dataport/connection_string.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "dataport/error.hpp"
#include "dataport/redact.hpp"
#include "resolve/detail/text.hpp"

namespace dataport {

std::string connection_string::blob_service_url() const {
  if (!blob_endpoint.empty()) return blob_endpoint;
  return fmt::format("{}://{}.blob.{}", protocol, account_name, endpoint_suffix);
}

credential_config connection_string::credential() const {
  credential_config config;
  if (!account_key.empty()) {
    config.type = credential_config::kind::shared_key;
    config.account_name = account_name;
    config.account_key = account_key;
  } else if (!sas_token.empty()) {
    config.type = credential_config::kind::sas;
    config.sas_token = sas_token;
  }
  return config;
}

connection_string parse_connection_string(std::string_view text) {
  using detail::iequals;
  connection_string out;
  bool protocol_given = false;
  for (auto segment : detail::split(text, ';')) {
    segment = detail::trim(segment);
    if (segment.empty()) continue;
    const auto eq = segment.find('=');
    if (eq == std::string_view::npos) {
      // Never quote the segment: it may be a key pasted in the wrong place.
      throw_error(errc::invalid_argument,
                  "AZURE_STORAGE_CONNECTION_STRING has a segment without '=': expected "
                  "Key=Value pairs separated by ';' (AccountName=...;AccountKey=...)");
    }
    const auto key = detail::trim(segment.substr(0, eq));
    const auto value = detail::trim(segment.substr(eq + 1));
    if (iequals(key, "DefaultEndpointsProtocol")) {
      out.protocol = detail::to_lower(value);
      protocol_given = true;
      if (out.protocol != "https" && out.protocol != "http") {
        // The value is quoted only when it looks like a scheme: with a ';' missing, it runs
        // on into the next pair ("https AccountKey=...") and would carry a secret.
        const bool quotable =
            value.size() <= 16 && std::all_of(value.begin(), value.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
            });
        throw_error(errc::invalid_argument,
                    fmt::format("AZURE_STORAGE_CONNECTION_STRING: DefaultEndpointsProtocol{} "
                                "must be https or http",
                                quotable ? fmt::format("='{}'", value) : std::string()));
      }
    } else if (iequals(key, "AccountName")) {
      out.account_name = std::string(value);
    } else if (iequals(key, "AccountKey")) {
      out.account_key = std::string(value);
      register_secret(out.account_key);
    } else if (iequals(key, "BlobEndpoint")) {
      out.blob_endpoint = detail::strip_trailing_slashes(std::string(value));
    } else if (iequals(key, "EndpointSuffix")) {
      out.endpoint_suffix = std::string(value);
    } else if (iequals(key, "SharedAccessSignature")) {
      std::string_view sas = value;
      if (sas.starts_with('?')) sas.remove_prefix(1);
      out.sas_token = std::string(sas);
      register_secret(out.sas_token);
    } else if (iequals(key, "UseDevelopmentStorage")) {
      out.development_storage = iequals(value, "true");
    }
    // DevelopmentStorageProxyUri, QueueEndpoint, TableEndpoint, FileEndpoint: not used.
  }
  if (out.development_storage) {
    out.account_name = std::string(development_account_name);
    out.account_key = std::string(development_account_key);
    out.blob_endpoint = std::string(development_blob_endpoint);
    if (!protocol_given) out.protocol = "http";
    return out;
  }
  if (out.account_name.empty() && !out.blob_endpoint.empty()) {
    // SAS-only strings may name the account through BlobEndpoint=https://<account>.blob....
    auto host = std::string_view(out.blob_endpoint);
    if (const auto scheme_end = host.find("://"); scheme_end != std::string_view::npos) {
      host.remove_prefix(scheme_end + 3);
    }
    if (const auto dot = host.find(".blob."); dot != std::string_view::npos) {
      out.account_name = std::string(host.substr(0, dot));
    }
  }
  if (out.account_name.empty()) {
    throw_error(errc::invalid_argument,
                "AZURE_STORAGE_CONNECTION_STRING has no AccountName: expected "
                "DefaultEndpointsProtocol=https;AccountName=<account>;AccountKey=<key>;"
                "EndpointSuffix=core.windows.net or UseDevelopmentStorage=true");
  }
  return out;
}

}  // namespace dataport
