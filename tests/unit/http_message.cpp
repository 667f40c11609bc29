// Header helpers, URL parsing for the transport, redirect resolution and request ids.
#include "dataport/http/message.hpp"

#include <catch2/catch.hpp>
#include <regex>
#include <set>

#include "dataport/error.hpp"
#include "dataport/http/client.hpp"
#include "http/detail/target_url.hpp"

using namespace dataport;
using namespace dataport::http;

TEST_CASE("find_header is case-insensitive and returns the first value") {
  header_list h = {{"Content-Length", "10"}, {"ETag", "\"a\""}, {"etag", "\"b\""}};
  CHECK(find_header(h, "content-length") == std::optional<std::string_view>("10"));
  CHECK(find_header(h, "ETAG") == std::optional<std::string_view>("\"a\""));
  CHECK_FALSE(find_header(h, "x-ms-date").has_value());
  CHECK_FALSE(find_header(h, "etag2").has_value());
}

TEST_CASE("set_header replaces every duplicate, whatever its case") {
  header_list h = {{"Range", "bytes=0-1"}, {"x-a", "1"}, {"RANGE", "bytes=5-6"}};
  set_header(h, "range", "bytes=2-3");
  REQUIRE(h.size() == 2);
  CHECK(h[0] == std::pair<std::string, std::string>{"x-a", "1"});
  CHECK(h[1] == std::pair<std::string, std::string>{"range", "bytes=2-3"});
  set_header(h, "X-New", "v");
  CHECK(find_header(h, "x-new") == std::optional<std::string_view>("v"));
}

TEST_CASE("remove_header removes all matching names only") {
  header_list h = {{"A", "1"}, {"b", "2"}, {"a", "3"}};
  remove_header(h, "a");
  REQUIRE(h.size() == 1);
  CHECK(h[0].first == "b");
  remove_header(h, "missing");
  CHECK(h.size() == 1);
}

TEST_CASE("response::header looks up case-insensitively") {
  response r;
  r.headers = {{"Retry-After", "3"}};
  CHECK(r.header("retry-after") == std::optional<std::string_view>("3"));
}

TEST_CASE("target URLs: scheme, host, default and explicit ports, target") {
  auto u = detail::parse_target_url("https://acct.blob.core.windows.net/c/a%20b.txt?comp=list&x=1");
  CHECK(u.scheme == "https");
  CHECK(u.https());
  CHECK(u.host == "acct.blob.core.windows.net");
  CHECK(u.port == 443);
  CHECK_FALSE(u.host_is_ip);
  CHECK(u.host_header == "acct.blob.core.windows.net");
  CHECK(u.target == "/c/a%20b.txt?comp=list&x=1");
  CHECK(u.origin() == "https://acct.blob.core.windows.net:443");

  auto v = detail::parse_target_url("http://127.0.0.1:8080");
  CHECK(v.port == 8080);
  CHECK(v.host_is_ip);
  CHECK(v.target == "/");
  CHECK(v.host_header == "127.0.0.1:8080");

  auto w = detail::parse_target_url("http://[::1]:9000/x");
  CHECK(w.host == "::1");
  CHECK(w.host_is_ip);
  CHECK(w.host_header == "[::1]:9000");
  CHECK(w.port == 9000);
}

TEST_CASE("target URLs: other schemes and garbage are clear invalid_argument errors") {
  for (const char* bad : {"ftp://host/x", "file:///etc/passwd", "not a url", "/relative/path",
                          "http://", "https://host:0/x"}) {
    INFO(bad);
    try {
      detail::parse_target_url(bad);
      FAIL("accepted " << bad);
    } catch (const error& e) {
      CHECK(e.code() == errc::invalid_argument);
    }
  }
  try {
    detail::parse_target_url("ftp://host/x?sig=supersecretvalue");
    FAIL("accepted ftp");
  } catch (const error& e) {
    CHECK(std::string(e.what()).find("ftp") != std::string::npos);
    CHECK(std::string(e.what()).find("http and https") != std::string::npos);
    CHECK(std::string(e.what()).find("supersecretvalue") == std::string::npos);
  }
}

TEST_CASE("Location headers resolve against the request URL") {
  CHECK(detail::resolve_location("http://h:1/a/b?q=1", "/files/x") == "http://h:1/files/x");
  CHECK(detail::resolve_location("http://h:1/a/b", "c") == "http://h:1/a/c");
  CHECK(detail::resolve_location("https://h/a", "http://other/z") == "http://other/z");
}

TEST_CASE("make_uuid_v4 gives distinct RFC 4122 version-4 ids") {
  const std::regex shape("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    auto id = make_uuid_v4();
    CHECK(std::regex_match(id, shape));
    seen.insert(id);
  }
  CHECK(seen.size() == 200);
}
