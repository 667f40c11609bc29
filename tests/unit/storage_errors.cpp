// Blob error bodies, sanitising of service messages and the status → errc mapping.
#include "storage/detail/blob_errors.hpp"

#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

using namespace dataport;
using namespace dataport::storage_detail;

namespace {

std::string fixture(const std::string& name) {
  std::string path = DATAPORT_SOURCE_DIR;  // (one + chain trips GCC 12's -Warray-bounds)
  path.append("/tests/fixtures/listings/").append(name);
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

constexpr std::string_view leaked_signature = "c2VjcmV0U2lnbmF0dXJlVmFsdWUxMjM0NTY3OA==";

}  // namespace

TEST_CASE("error bodies give code and the first line of the message") {
  const auto body = parse_error_body(fixture("error_not_found.xml"));
  CHECK(body.code == "BlobNotFound");
  CHECK(body.message == "The specified blob does not exist.");
  CHECK(parse_error_body("").code.empty());
  CHECK(parse_error_body("not xml <").code.empty());
  CHECK(parse_error_body("<!DOCTYPE x [<!ENTITY a 'b'>]><Error><Code>&a;</Code></Error>")
            .code.empty());
}

TEST_CASE("AuthenticationFailed messages never carry the MAC signature") {
  const auto body = parse_error_body(fixture("error_auth.xml"));
  CHECK(body.code == "AuthenticationFailed");
  CHECK_THAT(body.message, Catch::StartsWith("Server failed to authenticate"));
  CHECK(body.message.find(leaked_signature) == std::string::npos);
  CHECK(body.message.find("signature found") == std::string::npos);

  const std::string raw = fixture("error_auth.xml");
  const auto err = make_blob_error({403, "", "req-42", raw}, "read of blob", "c/x", "http://h");
  CHECK(err.code() == errc::authentication_failed);
  CHECK(err.details().http_status == 403);
  CHECK(err.details().service_code == "AuthenticationFailed");
  CHECK(err.details().request_id == "req-42");
  const std::string text = err.what();
  CHECK(text.find(leaked_signature) == std::string::npos);
  CHECK_THAT(text, Catch::Contains("AuthenticationFailed"));
  CHECK_THAT(text, Catch::Contains("req-42"));
  CHECK_THAT(text, Catch::Contains("check the account key"));
  CHECK_THAT(text, Catch::Contains("c/x"));
}

TEST_CASE("secrets in service messages are redacted") {
  const auto cleaned = sanitize_service_message("bad url https://a/b?sv=1&sig=abcdEFGH1234%3D");
  CHECK(cleaned.find("abcdEFGH1234") == std::string::npos);
}

TEST_CASE("status and service code map to one category") {
  CHECK(map_blob_status(404, "BlobNotFound", "") == errc::not_found);
  CHECK(map_blob_status(404, "ContainerNotFound", "") == errc::not_found);
  CHECK(map_blob_status(404, "", "") == errc::not_found);
  CHECK(map_blob_status(403, "AuthenticationFailed", "") == errc::authentication_failed);
  CHECK(map_blob_status(403, "AuthorizationPermissionMismatch", "") == errc::permission_denied);
  CHECK(map_blob_status(403, "AuthorizationFailure", "This request is not authorized") ==
        errc::permission_denied);
  CHECK(map_blob_status(403, "AuthorizationFailure",
                        "Server failed to authenticate the request.") ==
        errc::authentication_failed);  // Azurite's wording for a bad signature
  CHECK(map_blob_status(403, "AuthorizationFailure", "") == errc::authentication_failed);  // HEAD
  CHECK(map_blob_status(403, "", "") == errc::permission_denied);
  CHECK(map_blob_status(401, "", "") == errc::authentication_failed);
  CHECK(map_blob_status(412, "ConditionNotMet", "") == errc::changed);
  CHECK(map_blob_status(409, "BlobAlreadyExists", "") == errc::already_exists);
  CHECK(map_blob_status(409, "", "") == errc::already_exists);
  CHECK(map_blob_status(503, "ServerBusy", "") == errc::transient_exhausted);
  CHECK(map_blob_status(500, "", "") == errc::transient_exhausted);
  CHECK(map_blob_status(429, "", "") == errc::transient_exhausted);
  CHECK(map_blob_status(400, "InvalidQueryParameterValue", "") == errc::invalid_argument);
  CHECK(map_blob_status(302, "", "") == errc::protocol);
}

TEST_CASE("error text prefers the x-ms-error-code header and gives advice") {
  const auto err = make_blob_error({404, "BlobNotFound", "rid-1", ""}, "stat of blob", "c/p",
                                   "http://127.0.0.1:1/acct");
  CHECK(err.code() == errc::not_found);
  CHECK(err.details().service_code == "BlobNotFound");
  const std::string text = err.what();
  CHECK_THAT(text, Catch::Contains("HTTP 404 BlobNotFound"));
  CHECK_THAT(text, Catch::Contains("rid-1"));
  CHECK_THAT(text, Catch::Contains("check the account, container and path"));
  for (auto code : {errc::authentication_failed, errc::permission_denied, errc::not_found,
                    errc::changed, errc::already_exists, errc::transient_exhausted}) {
    CHECK_FALSE(advice_for(code).empty());
  }
}

TEST_CASE("a service message's own full stop is not doubled") {
  const std::string body =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>ContainerNotFound</Code>"
      "<Message>The specified container does not exist.</Message></Error>";
  const auto err =
      make_blob_error({404, "", "rid-7", body}, "upload of blob", "c/x", "http://127.0.0.1:1/a");
  const std::string text = err.what();
  CHECK_THAT(text, Catch::Contains("The specified container does not exist. check the account"));
  CHECK(text.find("..") == std::string::npos);
}
