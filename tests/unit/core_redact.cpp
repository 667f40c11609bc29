#include "dataport/redact.hpp"

#include <catch2/catch.hpp>

using dataport::redact_text;
using dataport::redact_url;

TEST_CASE("redact_url keeps safe SAS fields and hides sig and unknown parameters") {
  const std::string url =
      "https://acct.blob.core.windows.net/c/b?sv=2021-08-06&se=2030-01-01&sp=r&sig=abc%2Fdef%3D&"
      "token=xyz123456&comp=list";
  const std::string out = redact_url(url);
  CHECK(out ==
        "https://acct.blob.core.windows.net/c/b?sv=2021-08-06&se=2030-01-01&sp=r&sig=REDACTED&"
        "token=REDACTED&comp=list");
  CHECK(out.find("abc%2F") == std::string::npos);
}

TEST_CASE("redact_url removes user info") {
  CHECK(redact_url("https://user:pass@host/x") == "https://REDACTED@host/x");
  CHECK(redact_url("wasbs://data@acct.blob.core.windows.net/x?sig=abc") ==
        "wasbs://data@acct.blob.core.windows.net/x?sig=REDACTED");
  CHECK(redact_url("http://127.0.0.1:10000/devstoreaccount1/c") ==
        "http://127.0.0.1:10000/devstoreaccount1/c");
}

TEST_CASE("redact_text scrubs secret patterns") {
  CHECK(redact_text("DefaultEndpointsProtocol=https;AccountName=a;AccountKey=c2VjcmV0a2V5;X=1") ==
        "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=REDACTED;X=1");
  CHECK(redact_text("Authorization: SharedKey acct:c2lnbmF0dXJl\r\nx: y") ==
        "Authorization: REDACTED\r\nx: y");
  CHECK(redact_text("header Bearer eyJhbGciOi.abc.def end") == "header Bearer REDACTED end");
  CHECK(redact_text("check that the bearer token is valid") ==
        "check that the bearer token is valid");
  CHECK(redact_text("url?sv=1&sig=AbC%3D&sp=r") == "url?sv=1&sig=REDACTED&sp=r");
}

TEST_CASE("registered secrets are removed from any text, longest first") {
  dataport::register_secret("supersecretvalue-1234");
  dataport::register_secret("short");  // ignored: too short to redact safely
  CHECK(redact_text("x supersecretvalue-1234 y supersecretvalue-1234") == "x REDACTED y REDACTED");
  CHECK(redact_text("short words stay") == "short words stay");
}
