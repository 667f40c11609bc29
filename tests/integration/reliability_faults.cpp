// Reliability scenarios of RELIABILITY.md on loopback, through the fault proxy in front of Azurite:
// retryable statuses (fresh x-ms-date and signature per try, clear error past the budget), every
// Retry-After form, permanent statuses sent exactly once, resets before the headers, a lost
// commit response, malformed listings and a byte flipped in transit. Each TEST_CASE is one row of
// docs/reliability.md.
#include "transfer_support.hpp"

#include <chrono>
#include <ctime>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "dataport/error.hpp"
#include "dataport/metrics.hpp"

using namespace xfer;
using nlohmann::json;

namespace {

using clock_type = std::chrono::steady_clock;

/// Quick backoff, but a cap large enough that server-requested delays (Retry-After) are honoured.
std::unique_ptr<dataport::context> context_with(unsigned retries,
                                                std::chrono::milliseconds max_delay) {
  dataport::context_options options;
  options.config = dataport::settings{};
  options.config.retry_base_delay = std::chrono::milliseconds(10);
  options.config.retry_max_delay = max_delay;
  options.config.http_retry_count = retries;
  options.io_threads = 2;
  return std::make_unique<dataport::context>(std::move(options));
}

/// A container with one blob `name` holding `data`, written directly to Azurite.
std::string seed_blob(dataport::context& ctx, const std::string& name,
                      std::span<const std::byte> data) {
  const auto container = dataport::test::unique_name("rel");
  create_container(ctx, blob(container, ""));
  put_blob(ctx, blob(container, name), data);
  return container;
}

/// Proxied requests whose path contains `part` (and, when given, with that method).
std::vector<json> requests_for(dataport::test::fault_proxy& proxy, const std::string& part,
                               const std::string& method = {}) {
  std::vector<json> out;
  for (const auto& r : proxy.requests()) {
    if (!method.empty() && r.at("method") != method) continue;
    if (r.at("path").get<std::string>().find(part) != std::string::npos) out.push_back(r);
  }
  return out;
}

std::vector<std::byte> read_all(dataport::context& ctx, dataport::object_store& store,
                                const std::string& path, std::size_t size) {
  std::vector<std::byte> data(size);
  auto r = ctx.run(store.read_range(path, 0, data, ""));
  REQUIRE(r.bytes == size);
  return data;
}

/// IMF-fixdate of now + `ahead` ("Sun, 06 Nov 1994 08:49:37 GMT").
std::string http_date_in(std::chrono::seconds ahead) {
  const std::time_t t =
      std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + ahead);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char text[64];
  std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return text;
}

long long ms_since(clock_type::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start).count();
}

json rule(json match, json action, std::optional<int> times = std::nullopt) {
  json r = {{"match", std::move(match)}, {"action", std::move(action)}};
  if (times) r["times"] = *times;
  return r;
}

}  // namespace

TEST_CASE("408 500 502 503 504 are retried with a fresh x-ms-date and signature per try") {
  // Retry-After: 1 puts a second between tries, so x-ms-date (1 s resolution) must change.
  auto ctx = context_with(4, std::chrono::milliseconds(5000));
  const auto data = dataport::test::random_bytes(10'000, 71);
  const auto container = seed_blob(*ctx, "r.bin", data);
  dataport::test::fault_proxy proxy(azurite_url());
  auto store = ctx->open_store(blob(container, "", "devstoreaccount1", proxy.url()));
  for (const unsigned status : {408u, 500u, 502u, 503u, 504u}) {
    INFO("status " << status);
    proxy.clear();
    proxy.set_rules(json::array({rule(
        {{"method", "GET"}, {"path_regex", "/r\\.bin"}},
        {{"status", status}, {"headers", {{"Retry-After", "1"}}}, {"body", "injected"}}, 2)}));
    CHECK(dataport::test::sha256_hex(read_all(*ctx, *store, "r.bin", data.size())) ==
          dataport::test::sha256_hex(data));
    const auto tries = requests_for(proxy, "/r.bin", "GET");
    REQUIRE(tries.size() == 3);
    std::set<std::string> dates, signatures, ids;
    for (const auto& t : tries) {
      REQUIRE(t.at("x_ms_date").is_string());
      REQUIRE(t.at("auth_digest").is_string());
      dates.insert(t.at("x_ms_date").get<std::string>());
      signatures.insert(t.at("auth_digest").get<std::string>());
      ids.insert(t.at("x_ms_client_request_id").get<std::string>());
    }
    CHECK(dates.size() == 3);       // a fresh x-ms-date per try
    CHECK(signatures.size() == 3);  // signed anew per try
    CHECK(ids.size() == 1);         // one client request id ties the tries together
    CHECK(tries[2].at("status") == 206);
  }
}

TEST_CASE("a retryable status past the budget is a clear error after exactly budget+1 tries") {
  auto ctx = context_with(3, std::chrono::milliseconds(50));
  const auto data = dataport::test::random_bytes(1000, 72);
  const auto container = seed_blob(*ctx, "b.bin", data);
  dataport::test::fault_proxy proxy(azurite_url());
  proxy.set_rules(json::array({rule({{"method", "GET"}, {"path_regex", "/b\\.bin"}},
                                    {{"status", 503}, {"body", "busy"}})}));
  auto store = ctx->open_store(blob(container, "", "devstoreaccount1", proxy.url()));
  std::vector<std::byte> into(data.size());
  try {
    ctx->run(store->read_range("b.bin", 0, into, ""));
    FAIL("a permanent 503 was reported as success");
  } catch (const dataport::error& e) {
    INFO(e.what());
    CHECK(e.details().http_status == 503);
    CHECK(std::string(e.what()).find("503") != std::string::npos);
    CHECK(std::string(e.what()).find(container + "/b.bin") != std::string::npos);
  }
  CHECK(requests_for(proxy, "/b.bin", "GET").size() == 4);
}

TEST_CASE("Retry-After in seconds, ms headers and HTTP-date is honoured, garbage falls back") {
  // Backoff is 10 ms; the cap (5 s) is what a misparsed value would wait, so a garbage value
  // that was not ignored shows up as a multi-second wait.
  auto ctx = context_with(2, std::chrono::milliseconds(5000));
  const auto data = dataport::test::random_bytes(2000, 73);
  const auto container = seed_blob(*ctx, "ra.bin", data);
  dataport::test::fault_proxy proxy(azurite_url());
  auto store = ctx->open_store(blob(container, "", "devstoreaccount1", proxy.url()));
  struct form {
    unsigned status;
    std::string header, value;
    long long at_least_ms, below_ms;
  };
  const std::vector<form> forms = {
      {503, "Retry-After", "2", 2000, 4900},
      {429, "retry-after-ms", "1500", 1500, 4900},
      {503, "x-ms-retry-after-ms", "1200", 1200, 4900},
      {429, "Retry-After", "HTTP-date 3 s ahead", 1000, 4900},
      {503, "Retry-After", "soon", 0, 2500},
      {503, "Retry-After", "-5", 0, 2500},
      {503, "Retry-After", "99999999999999999999999", 0, 2500},
      {429, "x-ms-retry-after-ms", "1e3", 0, 2500},
      {503, "Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT", 0, 2500},
      {503, "Retry-After", "Wed, 32 Foo 2026 99:99:99 GMT", 0, 2500},
  };
  for (auto f : forms) {
    if (f.value == "HTTP-date 3 s ahead") f.value = http_date_in(std::chrono::seconds(3));
    INFO(f.status << " " << f.header << ": " << f.value);
    proxy.clear();
    proxy.set_rules(json::array({rule(
        {{"method", "GET"}, {"path_regex", "/ra\\.bin"}},
        {{"status", f.status}, {"headers", {{f.header, f.value}}}, {"body", "slow down"}}, 1)}));
    const auto start = clock_type::now();
    CHECK(dataport::test::sha256_hex(read_all(*ctx, *store, "ra.bin", data.size())) ==
          dataport::test::sha256_hex(data));
    const auto elapsed = ms_since(start);
    INFO("elapsed " << elapsed << " ms");
    CHECK(requests_for(proxy, "/ra.bin", "GET").size() == 2);
    CHECK(elapsed >= f.at_least_ms);
    CHECK(elapsed < f.below_ms);
  }
}

TEST_CASE("permanent statuses 400 403 404 409 412 are sent exactly once") {
  auto ctx = context_with(5, std::chrono::milliseconds(50));
  const auto data = dataport::test::random_bytes(3000, 74);
  const auto container = seed_blob(*ctx, "p.bin", data);
  dataport::test::fault_proxy proxy(azurite_url());
  auto store = ctx->open_store(blob(container, "", "devstoreaccount1", proxy.url()));
  auto expect_once = [&](auto&& operation, const std::string& part, const std::string& method,
                         unsigned status, std::vector<dataport::errc> codes) {
    INFO("expected " << status << " on " << method << " " << part);
    proxy.clear();
    try {
      operation();
      FAIL("no error");
    } catch (const dataport::error& e) {
      INFO(e.what());
      CHECK(e.details().http_status == status);
      CHECK(std::find(codes.begin(), codes.end(), e.code()) != codes.end());
      CHECK_FALSE(e.details().service_code.empty());
    }
    const auto sent = requests_for(proxy, part, method);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].at("status") == status);
  };
  std::vector<std::byte> into(data.size());
  expect_once([&] { ctx->run(store->read_range("missing.bin", 0, into, "")); }, "/missing.bin",
              "GET", 404, {dataport::errc::not_found});
  expect_once([&] { ctx->run(store->read_range("p.bin", 0, into, "\"0x8DEADBEEF\"")); }, "/p.bin",
              "GET", 412, {dataport::errc::changed});
  expect_once(
      [&] {
        dataport::put_options o;
        o.overwrite = false;
        ctx->run(store->put("p.bin", data, o));
      },
      "/p.bin", "PUT", 409, {dataport::errc::already_exists});
  expect_once([&] { ctx->run(store->commit_blocks("p.bin", {"never-staged-block-id"}, {})); },
              "comp=blocklist", "PUT", 400,
              {dataport::errc::invalid_argument, dataport::errc::protocol});
  auto wrong = blob(container, "", "devstoreaccount1", proxy.url());
  wrong.credential.account_key = "bm90LXRoZS1yaWdodC1rZXktMDEyMzQ1Njc4OWFiY2RlZg==";
  auto wrong_store = ctx->open_store(wrong);
  expect_once([&] { ctx->run(wrong_store->read_range("p.bin", 0, into, "")); }, "/p.bin", "GET",
              403, {dataport::errc::authentication_failed, dataport::errc::permission_denied});
}

TEST_CASE("a connection reset before the headers is retried, then reported after the budget") {
  auto ctx = context_with(3, std::chrono::milliseconds(50));
  const auto data = dataport::test::random_bytes(5000, 75);
  const auto container = seed_blob(*ctx, "rst.bin", data);
  dataport::test::fault_proxy proxy(azurite_url());
  auto store = ctx->open_store(blob(container, "", "devstoreaccount1", proxy.url()));
  const json match = {{"method", "GET"}, {"path_regex", "/rst\\.bin"}};

  proxy.set_rules(json::array({rule(match, {{"reset_before_headers", true}}, 2)}));
  CHECK(dataport::test::sha256_hex(read_all(*ctx, *store, "rst.bin", data.size())) ==
        dataport::test::sha256_hex(data));
  CHECK(requests_for(proxy, "/rst.bin", "GET").size() == 3);

  proxy.clear();
  proxy.set_rules(json::array({rule(match, {{"reset_before_headers", true}})}));
  std::vector<std::byte> into(data.size());
  try {
    ctx->run(store->read_range("rst.bin", 0, into, ""));
    FAIL("a connection reset on every try was reported as success");
  } catch (const dataport::error& e) {
    INFO(e.what());
    CHECK(e.code() == dataport::errc::transient_exhausted);
    CHECK(std::string(e.what()).find("gave up after 4 attempts") != std::string::npos);
    CHECK(std::string(e.what()).find("AZUREML_DATASET_HTTP_RETRY_COUNT") != std::string::npos);
  }
  // 4 tries; the first may be replayed once by the transport on a fresh connection when its
  // pooled one was reset (not counted as a retry).
  const auto sent = requests_for(proxy, "/rst.bin", "GET").size();
  CHECK(sent >= 4);
  CHECK(sent <= 5);
}

TEST_CASE("a lost commit response is retried without a false error - the blob is whole") {
  // The proxy forwards Put Block List (or Put Blob) to Azurite, which commits, then resets the
  // client connection: the client never learns that the commit succeeded and retries it.
  auto ctx = context_with(4, std::chrono::milliseconds(50));
  temp_dir tmp("lostcommit");
  const auto policy =
      GENERATE(dataport::if_exists_policy::fail, dataport::if_exists_policy::overwrite);
  const auto size =
      GENERATE(as<std::size_t>{}, 3 * xfer::chunk + 11, xfer::chunk / 2, std::size_t{0});
  INFO("if-exists " << dataport::to_string(policy) << ", size " << size);
  const auto data = dataport::test::random_bytes(size, 76 + size);
  write_file(tmp / "src.bin", data);
  const auto container = dataport::test::unique_name("lost");
  create_container(*ctx, blob(container, ""));
  dataport::test::fault_proxy proxy(azurite_url());
  // Multi-block files end with Put Block List; smaller ones are one Put Blob.
  const std::string commit_regex = size > chunk ? "comp=blocklist" : "/up\\.bin$";
  proxy.set_rules(json::array({rule({{"method", "PUT"}, {"path_regex", commit_regex}},
                                    {{"forward_then_reset", true}}, 1)}));
  dataport::transfer_options o;
  o.chunk_size = chunk;
  o.threads = 2;
  o.if_exists = policy;
  const auto s = dataport::copy(*ctx, local(tmp / "src.bin"),
                                blob(container, "up.bin", "devstoreaccount1", proxy.url()), o);
  INFO(describe(s));
  CHECK(s.files_done == 1);
  CHECK(s.files_failed == 0);
  const auto commits = requests_for(proxy, size > chunk ? "comp=blocklist" : "/up.bin", "PUT");
  REQUIRE(commits.size() >= 2);
  // The lost one did commit. (Azurite answers Put Block List with If-None-Match: * by 409 even
  // when it commits; the committed-list check below proves it was this upload's commit.)
  const auto lost_status = commits[0].at("upstream_status");
  CHECK((lost_status == 201 || lost_status == 409));
  if (policy == dataport::if_exists_policy::fail) {
    // The retry carries If-None-Match: * and meets the blob its first try made: the service says
    // "exists", and the client must recognise its own write instead of failing the file.
    const auto retry_status = commits[1].at("status");
    CHECK((retry_status == 409 || retry_status == 412));
  }
  const auto where = blob(container, "");
  const auto tree = blob_tree(*ctx, where);
  hashes expected;
  expected["up.bin"] = dataport::test::sha256_hex(data);
  CHECK(tree == expected);
}

TEST_CASE("malformed listings from the server are clear errors in bounded time") {
  auto ctx = context_with(2, std::chrono::milliseconds(50));
  const auto container = seed_blob(*ctx, "l/x.bin", dataport::test::random_bytes(10, 77));
  dataport::test::fault_proxy proxy(azurite_url());
  auto store = ctx->open_store(blob(container, "", "devstoreaccount1", proxy.url()));
  const fs::path listings = fs::path(DATAPORT_SOURCE_DIR) / "tests/fixtures/listings";
  temp_dir tmp("listing");
  // A page over the 32 MiB listing limit: a valid start, then one long run of entries.
  {
    std::ofstream huge(tmp / "huge.xml", std::ios::binary);
    huge << R"(<?xml version="1.0" encoding="utf-8"?><EnumerationResults><Blobs>)";
    const std::string entry =
        "<Blob><Name>" + std::string(900, 'n') +
        "</Name><Properties><Content-Length>1</Content-Length></Properties></Blob>";
    for (std::size_t written = 0; written < (34u << 20); written += entry.size()) huge << entry;
    huge << "</Blobs><NextMarker/></EnumerationResults>";
  }
  struct canned {
    fs::path file;
    dataport::errc code;
    std::string says;
  };
  const std::vector<canned> cases = {
      {listings / "truncated.xml", dataport::errc::protocol, "listing"},
      {listings / "entity_bomb.xml", dataport::errc::protocol, "DOCTYPE"},
      {listings / "next_marker.xml", dataport::errc::protocol, "pagination loop"},
      {listings / "not_a_listing.xml", dataport::errc::protocol, "listing"},
      {tmp / "huge.xml", dataport::errc::protocol, ""},
  };
  for (const auto& c : cases) {
    INFO(c.file.filename().string());
    proxy.clear();
    proxy.set_rules(json::array({rule({{"method", "GET"}, {"path_regex", "comp=list"}},
                                      {{"status", 200}, {"body_file", c.file.string()}})}));
    const auto start = clock_type::now();
    try {
      auto pager = store->list({.prefix = "l", .recursive = true});
      for (int page = 0; page < 1000; ++page) {
        auto entries = ctx->run(pager->next_page());
        if (!entries) break;
      }
      FAIL("a malformed listing was accepted");
    } catch (const dataport::error& e) {
      INFO(e.what());
      CHECK(e.code() == c.code);
      if (!c.says.empty()) CHECK(std::string(e.what()).find(c.says) != std::string::npos);
    }
    CHECK(ms_since(start) < 30'000);
    // A protocol error is not retried: one request per page actually fetched.
    CHECK(requests_for(proxy, "comp=list", "GET").size() <= 3);
  }
}

TEST_CASE(
    "a byte flipped in transit is caught by the range MD5 and read again - output identical") {
  auto ctx = context_with(2, std::chrono::milliseconds(50));
  temp_dir tmp("flip");
  const auto data = dataport::test::random_bytes(3 * chunk, 78);
  const auto container = dataport::test::unique_name("flip");
  create_container(*ctx, blob(container, ""));
  {
    // Upload through the engine so the blob gets its Content-MD5.
    write_file(tmp / "src/f.bin", data);
    dataport::transfer_options up;
    up.chunk_size = 4 * chunk;
    const auto s = dataport::copy(*ctx, local(tmp / "src/f.bin"), blob(container, "f.bin"), up);
    REQUIRE(s.files_done == 1);
  }
  dataport::test::fault_proxy proxy(azurite_url());
  proxy.set_rules(json::array(
      {rule({{"method", "GET"}, {"path_regex", "/f\\.bin"}}, {{"flip_byte_at", 1000}}, 1)}));
  dataport::transfer_options o;
  o.chunk_size = chunk;
  o.threads = 1;
  o.verify_md5 = true;
  fs::create_directories(tmp / "dst");
  const auto before = ctx->counters()->get(dataport::counter::checksum_mismatches);
  const auto s = dataport::copy(*ctx, blob(container, "f.bin", "devstoreaccount1", proxy.url()),
                                local(tmp / "dst/f.bin"), o);
  INFO(describe(s));
  REQUIRE(s.files_done == 1);
  CHECK(file_sha(tmp / "dst/f.bin") == dataport::test::sha256_hex(data));
  CHECK(ctx->counters()->get(dataport::counter::checksum_mismatches) - before == 1);
  CHECK(walk(tmp / "dst") == std::vector<std::string>{"f.bin"});
}
