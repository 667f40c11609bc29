// Shared Key signing: golden string-to-sign vectors written by hand from the documented rules,
// signatures checked against values computed once with `openssl dgst -sha256 -mac HMAC`.
// GCC 12 at -O2 reports a false "potential null pointer dereference" inside Boost.Asio's
// any_executor comparison; it is a middle-end warning, so only a file-wide pragma silences it.
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include "dataport/auth/shared_key.hpp"

#include <catch2/catch.hpp>

#include "dataport/auth/credentials.hpp"
#include "dataport/error.hpp"
#include "dataport/redact.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

using namespace dataport;

namespace {

constexpr std::string_view well_known_key =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

std::string header(const http::request& req, std::string_view name) {
  for (const auto& [k, v] : req.headers) {
    if (k == name) return v;
  }
  return "<missing>";
}

void apply_sync(credential& cred, http::request& req) {
  boost::asio::io_context io;
  auto future = boost::asio::co_spawn(io, cred.apply(req), boost::asio::use_future);
  io.run();
  future.get();
}

}  // namespace

TEST_CASE("golden vector: PUT blob with body, documented header order") {
  std::string body = "hello world";
  http::request req;
  req.method = "PUT";
  req.url = "https://myaccount.blob.core.windows.net/mycontainer/myblob";
  req.body = std::as_bytes(std::span(body));
  req.headers = {{"x-ms-version", "2020-04-08"},
                 {"Content-Type", "text/plain; charset=UTF-8"},
                 {"x-ms-date", "Sun, 11 Oct 2009 21:49:13 GMT"},
                 {"x-ms-blob-type", "BlockBlob"}};
  const std::string expected =
      "PUT\n\n\n11\n\ntext/plain; charset=UTF-8\n\n\n\n\n\n\n"
      "x-ms-blob-type:BlockBlob\nx-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\n"
      "x-ms-version:2020-04-08\n/myaccount/mycontainer/myblob";
  CHECK(auth::shared_key_string_to_sign(req, "myaccount") == expected);
  auto key = auth::decode_account_key(well_known_key, "myaccount");
  CHECK(key.size() == 64);
  CHECK(auth::shared_key_signature(key, expected) ==
        "o2yUs/MsFGVJQ5VVPux4Y4OQig235+3Rmcx5zGxziKE=");

  auth::sign_shared_key(req, "myaccount", key, "unused");
  CHECK(header(req, "Authorization") ==
        "SharedKey myaccount:o2yUs/MsFGVJQ5VVPux4Y4OQig235+3Rmcx5zGxziKE=");
}

TEST_CASE("golden vector: emulator path-style GET with Range, odd header case and query") {
  http::request req;
  req.method = "GET";
  req.url = "http://127.0.0.1:10000/devstoreaccount1/c1/a%20b.txt?timeout=30";
  req.headers = {{"Range", "bytes=0-99"},
                 {"x-ms-date", "Mon, 23 Nov 2026 10:00:00 GMT"},
                 {"X-MS-Meta-Foo", "  bar   baz "},
                 {"x-ms-version", "2020-04-08"},
                 {"User-Agent", "dataport"}};
  const std::string expected =
      "GET\n\n\n\n\n\n\n\n\n\n\nbytes=0-99\n"
      "x-ms-date:Mon, 23 Nov 2026 10:00:00 GMT\nx-ms-meta-foo:bar baz\nx-ms-version:2020-04-08\n"
      "/devstoreaccount1/devstoreaccount1/c1/a%20b.txt\ntimeout:30";
  CHECK(auth::shared_key_string_to_sign(req, "devstoreaccount1") == expected);
  auto key = auth::decode_account_key(well_known_key, "devstoreaccount1");
  CHECK(auth::shared_key_signature(key, expected) ==
        "3tJb5xKeRldqVfkYhIpf5UiiOtpJn1K3fFYc9/T890U=");
}

TEST_CASE("Content-Length 0 is signed as empty - an explicit header wins over the body size") {
  http::request req;
  req.method = "PUT";
  req.url = "https://a.blob.core.windows.net/c?restype=container";
  req.headers = {{"Content-Length", "0"}, {"x-ms-date", "d"}};
  CHECK(auth::shared_key_string_to_sign(req, "a") ==
        "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:d\n/a/c\nrestype:container");
}

TEST_CASE("canonicalized resource: documented examples") {
  CHECK(auth::canonicalized_resource(
            "https://myaccount.blob.core.windows.net/mycontainer?restype=container&comp=metadata",
            "myaccount") == "/myaccount/mycontainer\ncomp:metadata\nrestype:container");
  CHECK(auth::canonicalized_resource(
            "https://myaccount.blob.core.windows.net/mycontainer?restype=container&comp=list&"
            "include=snapshots&include=metadata&include=uncommittedblobs",
            "myaccount") ==
        "/myaccount/mycontainer\ncomp:list\ninclude:metadata,snapshots,uncommittedblobs\n"
        "restype:container");
  // Service-level request: the path is "/".
  CHECK(auth::canonicalized_resource("https://myaccount.blob.core.windows.net?comp=list",
                                     "myaccount") == "/myaccount/\ncomp:list");
}

TEST_CASE("canonicalized resource: names lowercased, values decoded, path kept encoded") {
  CHECK(auth::canonicalized_resource(
            "http://127.0.0.1:1/devstoreaccount1/c/d%2Fx%20y?Prefix=a%2Fb%20c&Marker=&comp=list",
            "devstoreaccount1") ==
        "/devstoreaccount1/devstoreaccount1/c/d%2Fx%20y\ncomp:list\nmarker:\nprefix:a/b c");
  CHECK(auth::canonicalized_resource("http://h/acct/c/b?blockid=QUJD%2B%3D%3D", "acct") ==
        "/acct/acct/c/b\nblockid:QUJD+==");
  // A fragment is never part of the request.
  CHECK(auth::canonicalized_resource("http://h/acct/c#frag", "acct") == "/acct/acct/c");
}

TEST_CASE("canonicalized headers: only x-ms-*, sorted, duplicates folded") {
  http::header_list headers = {{"x-ms-version", "v"},  {"Content-Type", "t"}, {"X-Ms-Meta-B", "2"},
                               {"x-ms-meta-a", " 1 "}, {"x-ms-meta-b", "3"},  {"x-msnot", "no"}};
  CHECK(auth::canonicalized_headers(headers) == "x-ms-meta-a:1\nx-ms-meta-b:2,3\nx-ms-version:v\n");
}

TEST_CASE("a malformed account key gives a clear error that does not echo the key") {
  const std::string bad_key = "not*base64*but-a-secret-value!!";
  try {
    auth::make_shared_key_credential("acct", bad_key);
    FAIL("expected an error");
  } catch (const error& e) {
    CHECK(e.code() == errc::invalid_argument);
    std::string message = e.what();
    CHECK(message.find("acct") != std::string::npos);
    CHECK(message.find("base64") != std::string::npos);
    CHECK(message.find(bad_key) == std::string::npos);
  }
}

TEST_CASE("shared key credential adds x-ms-date from the clock and signs last") {
  auto when = std::chrono::sys_days{std::chrono::year{2026} / 11 / 22} + std::chrono::hours{10};
  auto cred = auth::make_shared_key_credential(
      "devstoreaccount1", std::string(well_known_key),
      [when] { return std::chrono::system_clock::time_point(when); });
  CHECK(cred->is_secret_bearing());
  CHECK(cred->kind_name() == "shared_key");
  http::request req;
  req.url = "http://127.0.0.1:10000/devstoreaccount1/c1/a%20b.txt?timeout=30";
  req.headers = {{"Range", "bytes=0-99"}, {"x-ms-version", "2020-04-08"}};
  apply_sync(*cred, req);
  CHECK(header(req, "x-ms-date") == "Sun, 22 Nov 2026 10:00:00 GMT");
  auto key = auth::decode_account_key(well_known_key, "devstoreaccount1");
  auto expected =
      "SharedKey devstoreaccount1:" +
      auth::shared_key_signature(key, auth::shared_key_string_to_sign(req, "devstoreaccount1"));
  CHECK(header(req, "Authorization") == expected);
  // The account key is registered as a secret.
  CHECK(redact_text(std::string("key=") + std::string(well_known_key)).find(well_known_key) ==
        std::string::npos);
}

TEST_CASE("rfc1123 dates") {
  auto t = std::chrono::sys_days{std::chrono::year{1994} / 11 / 6} + std::chrono::hours{8} +
           std::chrono::minutes{49} + std::chrono::seconds{37};
  CHECK(auth::rfc1123_date(std::chrono::system_clock::time_point(t)) ==
        "Sun, 06 Nov 1994 08:49:37 GMT");
}
