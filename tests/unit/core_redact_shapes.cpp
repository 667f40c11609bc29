// Secrets dataport never loaded are still removed by their shape (account keys, JSON Web
// Tokens), and registered secrets also in their percent-encoded form (issue 8, the leak sweep).
#include <catch2/catch.hpp>

#include "dataport/redact.hpp"

using dataport::redact_text;

namespace {
// The storage emulator's published key: 64 bytes, 88 base64 characters.
const std::string emulator_key =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
}  // namespace

TEST_CASE("an account-key-shaped value is redacted without being registered") {
  CHECK(redact_text("server said: key " + emulator_key + ", retry") ==
        "server said: key REDACTED, retry");
  CHECK(redact_text("<Message>" + emulator_key + "</Message>") == "<Message>REDACTED</Message>");
  CHECK(redact_text(emulator_key) == "REDACTED");
  // Not the shape: shorter or longer runs, other padding, a Content-MD5.
  const std::string shorter = emulator_key.substr(4);
  CHECK(redact_text(shorter) == shorter);
  const std::string longer = "AAAA" + emulator_key;
  CHECK(redact_text(longer) == longer);
  const std::string md5 = "content-md5 1B2M2Y8AsgTpgAmY7PhCfg==";
  CHECK(redact_text(md5) == md5);
}

TEST_CASE("a JSON Web Token is redacted without being registered") {
  const std::string jwt =
      "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJodHRwczovL3N0b3JhZ2UuYXp1cmUuY29tIn0."
      "c2lnbmF0dXJlLWJ5dGVzLWhlcmU";
  CHECK(redact_text("token " + jwt + ". next") == "token REDACTED. next");
  CHECK(redact_text("{\"access_token\": \"" + jwt + "\"}") == "{\"access_token\": \"REDACTED\"}");
  // Prose and short dotted words stay.
  CHECK(redact_text("eyJ is how a JSON header starts. x.y.z") ==
        "eyJ is how a JSON header starts. x.y.z");
  const std::string embedded = "keyeyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9";
  CHECK(redact_text(embedded) == embedded);
}

TEST_CASE("a registered secret is also redacted percent-encoded") {
  dataport::register_secret("sweep+secret/value==");
  CHECK(redact_text("a sweep+secret/value== b") == "a REDACTED b");
  CHECK(redact_text("url?x=sweep%2Bsecret%2Fvalue%3D%3D&y=1") == "url?x=REDACTED&y=1");
}
