// Blob service failure → dataport::error mapping (see detail/blob_errors.hpp).
#include "storage/detail/blob_errors.hpp"

#include <array>

#include <fmt/format.h>
#include <pugixml.hpp>

#include "dataport/redact.hpp"

namespace dataport::storage_detail {
namespace {

struct code_mapping {
  std::string_view code;
  errc category;
};

constexpr std::array<code_mapping, 21> code_table{{
    {"AuthenticationFailed", errc::authentication_failed},
    {"InvalidAuthenticationInfo", errc::authentication_failed},
    {"NoAuthenticationInformation", errc::authentication_failed},
    {"AuthorizationPermissionMismatch", errc::permission_denied},
    {"AuthorizationResourceTypeMismatch", errc::permission_denied},
    {"AuthorizationServiceMismatch", errc::permission_denied},
    {"AuthorizationProtocolMismatch", errc::permission_denied},
    {"AuthorizationSourceIPMismatch", errc::permission_denied},
    {"InsufficientAccountPermissions", errc::permission_denied},
    {"AccountIsDisabled", errc::permission_denied},
    {"PublicAccessNotPermitted", errc::permission_denied},
    {"BlobNotFound", errc::not_found},
    {"ContainerNotFound", errc::not_found},
    {"ResourceNotFound", errc::not_found},
    {"ConditionNotMet", errc::changed},
    {"BlobAlreadyExists", errc::already_exists},
    {"ContainerAlreadyExists", errc::already_exists},
    {"ContainerBeingDeleted", errc::already_exists},
    {"InvalidRange", errc::invalid_argument},
    {"ServerBusy", errc::transient_exhausted},
    {"OperationTimedOut", errc::transient_exhausted},
}};

}  // namespace

std::string sanitize_service_message(std::string_view message) {
  // Azure's messages carry "\nRequestId:...\nTime:..." after the first line; we report the
  // request id separately.
  auto line = message.substr(0, message.find_first_of("\r\n"));
  if (auto cut = line.find("signature found"); cut != std::string_view::npos) {
    line = line.substr(0, cut);
  }
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
  return redact_text(line);
}

service_error_body parse_error_body(std::string_view body) {
  service_error_body parsed;
  if (body.empty() || body.size() > (1u << 20)) return parsed;
  // A DOCTYPE is never legitimate here; refuse to look inside such a body.
  if (body.find("<!DOCTYPE") != std::string_view::npos ||
      body.find("<!ENTITY") != std::string_view::npos) {
    return parsed;
  }
  pugi::xml_document doc;
  if (!doc.load_buffer(body.data(), body.size(), pugi::parse_default)) return parsed;
  const auto root = doc.child("Error");
  parsed.code = root.child("Code").text().as_string();
  parsed.message = sanitize_service_message(root.child("Message").text().as_string());
  return parsed;
}

errc map_blob_status(unsigned status, std::string_view service_code, std::string_view message) {
  // Azurite answers a bad signature with AuthorizationFailure ("Server failed to authenticate
  // the request"; no text at all for HEAD): an authentication problem. Azure uses the same code
  // for "This request is not authorized to perform this operation": a permission problem.
  if (service_code == "AuthorizationFailure") {
    return message.find("not authorized") != std::string_view::npos ? errc::permission_denied
                                                                    : errc::authentication_failed;
  }
  for (const auto& entry : code_table) {
    if (entry.code == service_code) return entry.category;
  }
  switch (status) {
    case 401:
      return errc::authentication_failed;
    case 403:
      return errc::permission_denied;
    case 404:
      return errc::not_found;
    case 409:
      return errc::already_exists;
    case 412:
      return errc::changed;
    case 408:
    case 429:
      return errc::transient_exhausted;
    default:
      break;
  }
  if (status >= 500) return errc::transient_exhausted;
  if (status >= 400) return errc::invalid_argument;
  return errc::protocol;
}

std::string_view advice_for(errc code) {
  switch (code) {
    case errc::authentication_failed:
      return "check the account key, or that the SAS or bearer token is valid and not expired";
    case errc::permission_denied:
      return "the credential was accepted but is not allowed to do this: check the SAS "
             "permissions (r, w, l, d) and expiry, or the identity's role assignment (Storage "
             "Blob Data Reader / Contributor)";
    case errc::not_found:
      return "check the account, container and path";
    case errc::changed:
      return "the object changed since it was opened: re-open to read the new version";
    case errc::already_exists:
      return "choose another name or allow overwriting";
    case errc::transient_exhausted:
      return "the service kept failing after every retry: try again later or raise "
             "AZUREML_DATASET_HTTP_RETRY_COUNT";
    case errc::invalid_argument:
      return "the service rejected the request as invalid";
    default:
      return "the service answered with something dataport does not understand";
  }
}

error make_blob_error(const failed_response& response, std::string_view operation,
                      std::string_view target, std::string_view where) {
  const auto body = parse_error_body(response.body);
  std::string code =
      !response.error_code_header.empty() ? std::string(response.error_code_header) : body.code;
  const errc category = map_blob_status(response.status, code, body.message);
  service_details details{response.status, redact_text(code), redact_text(response.request_id)};
  std::string message =
      fmt::format("{} '{}' at {} failed: HTTP {}", operation, target, where, response.status);
  if (!details.service_code.empty()) message += " " + details.service_code;
  if (!details.request_id.empty()) message += fmt::format(" (request id {})", details.request_id);
  if (!body.message.empty()) {
    std::string_view said = body.message;  // the service's sentence ends with its own '.'
    while (!said.empty() && (said.back() == '.' || said.back() == ' ')) said.remove_suffix(1);
    message += fmt::format(": {}", said);
  }
  message += fmt::format(". {}", advice_for(category));
  return error(category, message, std::move(details));
}

}  // namespace dataport::storage_detail
