// The conformance suite (read-only subset) against nginx over http and https, with and without
// Range support, plus the web-server specifics (redirects, range fallback).
#include "conformance_suite.hpp"
#include "dataport/http/client.hpp"
#include "dataport/metrics.hpp"
#include "dataport/storage.hpp"
#include "support/test_support.hpp"

namespace {

using namespace dataport;

conformance::target nginx_target(const char* url_key, const char* location_prefix,
                                 std::shared_ptr<metrics> counters = {}) {
  conformance::target t;
  t.name = std::string("nginx ") + url_key + " " + location_prefix;
  settings config;
  config.ca_file = test::servers().at("ca_file").get<std::string>();
  config.http_retry_count = 2;
  auto client = std::make_shared<http::client>(t.io->get_executor(), config, counters);
  location where;
  where.backend = backend_kind::https;
  where.service_url = test::servers().at("nginx").at(url_key).get<std::string>();
  t.store = make_https_store(where, client);
  const auto folder = test::unique_name("conf");
  t.root = std::string(location_prefix) + "/" + folder;
  t.seed = [folder](const std::string& relative, std::span<const std::byte> data) {
    test::write_www_file(folder + "/" + relative, data);
  };
  t.writable = false;
  t.exact_pages = false;  // one autoindex page per folder
  return t;
}

conformance::target http_files() {
  return nginx_target("http_url", "files");
}
conformance::target https_files() {
  return nginx_target("https_url", "files");
}
conformance::target http_noranges() {
  return nginx_target("http_url", "noranges");
}

}  // namespace

CONFORMANCE_CASES("nginx http", http_files)
CONFORMANCE_CASES("nginx https", https_files)
CONFORMANCE_CASES("nginx http without ranges", http_noranges)

TEST_CASE("nginx: range support is detected and reads still work without it", "[conformance]") {
  for (const bool stat_first : {true, false}) {
    auto t = http_noranges();
    const auto data = test::random_bytes(50'000, 11);
    t.seed("r.bin", data);
    if (stat_first) {
      t.run(t.store->stat(t.path("r.bin")));
      CHECK_FALSE(t.store->capabilities().ranged_reads);
    }
    CHECK(t.read("r.bin", 1000, 64) == conformance::slice(data, 1000, 64));
    CHECK_FALSE(t.store->capabilities().ranged_reads);
    CHECK(t.read("r.bin", 49'990, 64) == conformance::slice(data, 49'990, 64));
    CHECK(t.read("r.bin", 60'000, 64).empty());
  }
  auto ranged = http_files();
  const auto data = test::random_bytes(1000, 12);
  ranged.seed("r.bin", data);
  ranged.run(ranged.store->stat(ranged.path("r.bin")));
  CHECK(ranged.store->capabilities().ranged_reads);
  CHECK_FALSE(ranged.store->capabilities().writable);
}

TEST_CASE("nginx: same-origin redirects are followed, other hosts are refused", "[conformance]") {
  auto t = http_files();
  const auto data = test::random_bytes(300, 13);
  t.seed("moved.bin", data);
  const auto folder = t.root.substr(t.root.find('/') + 1);
  const auto info = t.run(t.store->stat("redirect-same/" + folder + "/moved.bin"));
  CHECK(info.size == data.size());
  std::vector<std::byte> buffer(400);
  auto result = t.run(t.store->read_range("redirect-same/" + folder + "/moved.bin", 0, buffer, ""));
  buffer.resize(result.bytes);
  CHECK(buffer == data);
  std::string message;
  CHECK(conformance::code_of(
            [&] { t.run(t.store->stat("redirect-other/" + folder + "/moved.bin")); }, &message) !=
        errc::ok);
  CHECK_THAT(message, Catch::Contains("redirect"));
}

TEST_CASE("nginx: a streamed range is one request once ranges are known", "[conformance]") {
  for (const char* url_key : {"http_url", "https_url"}) {
    for (const char* prefix : {"files", "noranges"}) {
      DYNAMIC_SECTION(url_key << " /" << prefix << "/") {
        auto counters = std::make_shared<metrics>();
        auto t = nginx_target(url_key, prefix, counters);
        const auto data = test::random_bytes(3'000'017, 21);
        t.seed("s.bin", data);
        t.run(t.store->stat(t.path("s.bin")));
        const auto before = counters->get(counter::requests);
        std::vector<std::byte> scratch(64 * 1024), got;
        object_store::byte_sink sink = [&](std::span<const std::byte> piece) {
          got.insert(got.end(), piece.begin(), piece.end());
        };
        const std::uint64_t offset = 100'003, length = 2'500'000;
        const auto r =
            t.run(t.store->read_range_to(t.path("s.bin"), offset, length, scratch, sink, ""));
        CHECK(r.bytes == length);
        CHECK(test::sha256_hex(got) == test::sha256_hex(conformance::slice(data, offset, length)));
        const auto requests = counters->get(counter::requests) - before;
        if (std::string(prefix) == "files") {
          CHECK(requests == 1);  // one ranged GET, not one per 64 KiB of scratch
        } else {
          CHECK(requests >= 1);  // no Range support: whole-object reads, sliced
        }
        // The same through caller memory (read_range_into), rooms of 100,000 bytes (never
        // empty: the contract), filled in order.
        std::vector<std::byte> into(length + 100'000);
        std::size_t given = 0, received = 0;
        object_store::byte_room room = [&] {
          auto span = std::span(into).subspan(
              given, std::min<std::size_t>(100'000, length + 100'000 - given));
          return span;
        };
        object_store::byte_sink counted = [&](std::span<const std::byte> piece) {
          CHECK(piece.data() == into.data() + given);  // in the caller's memory, in order
          given += piece.size();
          received += piece.size();
        };
        const auto before_into = counters->get(counter::requests);
        t.run(t.store->read_range_into(t.path("s.bin"), offset, length, room, counted, ""));
        CHECK(received == length);
        into.resize(received);
        CHECK(test::sha256_hex(into) == test::sha256_hex(conformance::slice(data, offset, length)));
        if (std::string(prefix) == "files")
          CHECK(counters->get(counter::requests) - before_into == 1);
      }
    }
  }
}
