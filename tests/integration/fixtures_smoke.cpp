// Smoke test of the `servers` fixture and the fault proxy, through the support library only: if
// this fails, every other integration test's failure is suspect.
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include "dataport/error.hpp"

using namespace dataport::test;
using json = nlohmann::json;

namespace {

std::string nginx(std::string_view scheme) {
  return servers().at("nginx").at(std::string(scheme) + "_url").get<std::string>();
}

std::string port_of(const std::string& url) {
  return url.substr(url.rfind(':') + 1);
}

std::string body_of(std::span<const std::byte> data) {
  return to_string(data);
}

// A file with checkable bytes under a fresh folder of the nginx root; returns "folder/name".
std::string publish(std::string_view name, std::size_t size, std::uint64_t seed) {
  const std::string relative = unique_name("smoke") + "/" + std::string(name);
  write_www_file(relative, random_bytes(size, seed));
  return relative;
}

http_call_options with_header(std::string name, std::string value) {
  http_call_options options;
  options.headers = {{std::move(name), std::move(value)}};
  return options;
}

}  // namespace

TEST_CASE("servers.json has the contract's shape") {
  const json& s = servers();
  CHECK(s.at("azurite").at("accounts").at("devstoreaccount1") == well_known_key());
  CHECK(s.at("azurite").at("accounts").contains("dataportsecond"));
  CHECK(s.at("azurite_https").at("oauth") == "basic");
  CHECK(s.at("azurite_https").at("blob_url").get<std::string>().starts_with("https://127.0.0.1:"));
  CHECK(s.at("nginx").at("http_url").get<std::string>().starts_with("http://127.0.0.1:"));
  CHECK(std::filesystem::exists(s.at("ca_file").get<std::string>()));
  CHECK(std::filesystem::is_directory(s.at("nginx").at("root").get<std::string>()));
  CHECK(state_dir() == std::filesystem::path(s.at("state_dir").get<std::string>()));
}

TEST_CASE("Azurite answers an unauthenticated request with an Azure-style error") {
  for (const char* server : {"azurite", "azurite_https"}) {
    for (const char* account : {"devstoreaccount1", "dataportsecond"}) {
      INFO(server << " " << account);
      const std::string url = servers().at(server).at("blob_url").get<std::string>() + "/" +
                              account + "/" + unique_name("smoke") + "?restype=container";
      const http_reply reply = http_call(url);
      CHECK(reply.status >= 400);
      CHECK(reply.status < 500);
      CHECK(!reply.header("x-ms-request-id").empty());
      CHECK(!reply.header("x-ms-error-code").empty());
      CHECK(reply.body.find("<Error>") != std::string::npos);
    }
  }
}

TEST_CASE("nginx serves exact bytes, honours Range on /files/ and ignores it on /noranges/") {
  const auto data = random_bytes(300'000, 7);
  const std::string file = publish("data.bin", data.size(), 7);
  for (const char* scheme : {"http", "https"}) {
    INFO(scheme);
    const http_reply full = http_call(nginx(scheme) + "/files/" + file);
    REQUIRE(full.status == 200);
    CHECK(full.body == body_of(data));

    const http_reply part =
        http_call(nginx(scheme) + "/files/" + file, with_header("Range", "bytes=1000-1999"));
    REQUIRE(part.status == 206);
    CHECK(part.header("Content-Range") == "bytes 1000-1999/300000");
    CHECK(part.body == body_of(std::span(data).subspan(1000, 1000)));

    const http_reply ignored =
        http_call(nginx(scheme) + "/noranges/" + file, with_header("Range", "bytes=0-9"));
    CHECK(ignored.status == 200);
    CHECK(ignored.body == body_of(data));

    const http_reply slow = http_call(nginx(scheme) + "/slow/" + file);
    CHECK(slow.status == 200);
    CHECK(slow.body == body_of(data));
  }
  const std::string folder = file.substr(0, file.find('/'));
  const http_reply listing = http_call(nginx("http") + "/files/" + folder + "/");
  CHECK(listing.status == 200);
  CHECK(listing.body.find("data.bin") != std::string::npos);
}

TEST_CASE("nginx redirects: same origin, other host, https to http") {
  const std::string file = publish("r.bin", 1000, 9);
  const std::string http_port = port_of(nginx("http"));

  const http_reply same = http_call(nginx("http") + "/redirect-same/" + file);
  CHECK(same.status == 307);
  CHECK(same.header("Location") == nginx("http") + "/files/" + file);

  const http_reply other = http_call(nginx("http") + "/redirect-other/" + file);
  CHECK(other.status == 307);
  const std::string other_target = "http://127.0.0.2:" + http_port + "/files/" + file;
  CHECK(other.header("Location") == other_target);
  const http_reply followed = http_call(other_target);
  CHECK(followed.status == 200);
  CHECK(followed.body == body_of(random_bytes(1000, 9)));

  const http_reply downgrade = http_call(nginx("https") + "/redirect-http/" + file);
  CHECK(downgrade.status == 307);
  CHECK(downgrade.header("Location") == nginx("http") + "/files/" + file);
}

TEST_CASE("the https servers present a certificate for 127.0.0.1 only, signed by ca_file") {
  const std::string file = publish("tls.bin", 100, 3);
  CHECK(http_call(nginx("https") + "/files/" + file).status == 200);

  // Same server, wrong host name: the certificate has only IP:127.0.0.1.
  try {
    http_call("https://localhost:" + port_of(nginx("https")) + "/files/" + file);
    FAIL("a certificate without a localhost name was accepted");
  } catch (const dataport::error& e) {
    CHECK(e.code() == dataport::errc::tls);
  }

  // Right name, wrong trust anchor: the system bundle does not contain the test CA.
  http_call_options system_ca;
  system_ca.ca_file = "/etc/ssl/certs/ca-certificates.crt";
  REQUIRE(std::filesystem::exists(system_ca.ca_file));
  CHECK_THROWS_AS(http_call(nginx("https") + "/files/" + file, system_ca), dataport::error);
  CHECK_THROWS_AS(http_call(servers().at("azurite_https").at("blob_url").get<std::string>() +
                                "/devstoreaccount1?comp=list",
                            system_ca),
                  dataport::error);
}

TEST_CASE("the token server answers") {
  const http_reply reply =
      http_call(servers().at("token_server").at("url").get<std::string>() + "/");
  CHECK(reply.status >= 200);
  CHECK(reply.status < 600);
}

TEST_CASE("fault proxy: scripted 503s, then forwarding, with the Range header logged") {
  const auto data = random_bytes(2'000'000, 11);
  const std::string file = publish("p.bin", data.size(), 11);
  fault_proxy proxy(nginx("http"));
  proxy.set_rules(json::parse(R"([{"match": {"method": "GET", "has_header": "Range"}, "times": 2,
                                   "action": {"status": 503, "headers": {"Retry-After": "1"},
                                              "body": "busy"}}])"));
  const auto ranged = with_header("Range", "bytes=100-199");
  for (int i = 0; i < 2; ++i) {
    const http_reply busy = http_call(proxy.url() + "/files/" + file, ranged);
    CHECK(busy.status == 503);
    CHECK(busy.header("Retry-After") == "1");
    CHECK(busy.body == "busy");
  }
  const http_reply part = http_call(proxy.url() + "/files/" + file, ranged);
  CHECK(part.status == 206);
  CHECK(part.body == body_of(std::span(data).subspan(100, 100)));
  const http_reply full = http_call(proxy.url() + "/files/" + file);
  CHECK(full.status == 200);
  CHECK(full.body == body_of(data));

  const auto log = proxy.requests();
  REQUIRE(log.size() == 4);
  for (int i = 0; i < 3; ++i) {
    CHECK(log[i].at("method") == "GET");
    CHECK(log[i].at("path") == "/files/" + file);
    CHECK(log[i].at("range") == "bytes=100-199");
  }
  CHECK(log[0].at("status") == 503);
  CHECK(log[1].at("status") == 503);
  CHECK(log[2].at("status") == 206);
  CHECK(log[3].at("range").is_null());
  CHECK(log[3].at("status") == 200);

  proxy.clear();
  CHECK(proxy.requests().empty());
}

TEST_CASE("fault proxy: body faults and resets") {
  const auto data = random_bytes(1'000'000, 12);
  const std::string file = publish("f.bin", data.size(), 12);
  fault_proxy proxy(nginx("https"));  // https upstream, verified with the test CA
  const std::string url = proxy.url() + "/files/" + file;
  proxy.set_rules(json::parse(R"([
      {"match": {"path_regex": "cut=fin"}, "action": {"cut_body_at": 0.5, "how": "fin"}},
      {"match": {"path_regex": "cut=rst"}, "action": {"cut_body_at": 0.5, "how": "rst"}},
      {"match": {"path_regex": "flip"}, "action": {"flip_byte_at": 4242}},
      {"match": {"path_regex": "lost"}, "action": {"forward_then_reset": true}},
      {"match": {"path_regex": "early"}, "action": {"reset_before_headers": true}},
      {"match": {"path_regex": "silent"}, "action": {"headers_then_silence": true}}])"));

  CHECK_THROWS_AS(http_call(url + "?cut=fin"), dataport::error);
  CHECK_THROWS_AS(http_call(url + "?cut=rst"), dataport::error);
  CHECK_THROWS_AS(http_call(url + "?lost"), dataport::error);
  CHECK_THROWS_AS(http_call(url + "?early"), dataport::error);
  http_call_options short_timeout;
  short_timeout.timeout = std::chrono::milliseconds(300);
  try {
    http_call(url + "?silent", short_timeout);
    FAIL("headers_then_silence delivered a body");
  } catch (const dataport::error& e) {
    CHECK(e.code() == dataport::errc::timeout);
  }

  const http_reply flipped = http_call(url + "?flip");
  REQUIRE(flipped.status == 200);
  REQUIRE(flipped.body.size() == data.size());
  std::size_t differences = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (flipped.body[i] != static_cast<char>(data[i])) {
      ++differences;
      CHECK(i == 4242);
    }
  }
  CHECK(differences == 1);

  const http_reply clean = http_call(url);
  CHECK(clean.body == body_of(data));

  const auto log = proxy.requests();
  REQUIRE(log.size() == 7);
  CHECK(log[2].at("upstream_status") ==
        200);  // ?lost: the upstream answered, the client saw a reset
  CHECK(log[2].at("status").is_null());
  CHECK(log[6].at("status") == 200);
}

TEST_CASE("fault proxy forwards PUT bodies and Azure headers to Azurite") {
  fault_proxy proxy(servers().at("azurite").at("blob_url").get<std::string>());
  proxy.set_rules(
      json::parse(R"([{"match": {"method": "PUT"}, "times": 1, "action": {"delay_ms": 50}}])"));
  http_call_options put;
  put.method = "PUT";
  put.body = to_string(random_bytes(100'000, 5));
  put.headers = {{"x-ms-date", "Sun, 22 Nov 2026 00:00:00 GMT"},
                 {"x-ms-client-request-id", "smoke-1"},
                 {"If-Match", "\"etag\""},
                 {"x-ms-blob-type", "BlockBlob"}};
  const http_reply reply =
      http_call(proxy.url() + "/devstoreaccount1/" + unique_name("smoke") + "/blob", put);
  CHECK(reply.status == 403);  // unsigned: Azurite refuses, but it did get the whole request
  CHECK(!reply.header("x-ms-request-id").empty());
  const auto log = proxy.requests();
  REQUIRE(log.size() == 1);
  CHECK(log[0].at("method") == "PUT");
  CHECK(log[0].at("body_length") == 100'000);
  CHECK(log[0].at("x_ms_client_request_id") == "smoke-1");
  CHECK(log[0].at("x_ms_date") == "Sun, 22 Nov 2026 00:00:00 GMT");
  CHECK(log[0].at("if_match") == "\"etag\"");
  CHECK(log[0].at("status") == 403);
}
