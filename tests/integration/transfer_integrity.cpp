// --verify-md5 against Azurite through the fault proxy: per-range transactional MD5 catches bytes
// corrupted on the way (the range is read again and the output is identical), a range corrupted on
// every try fails the file with a clear message and leaves nothing under its final name, the
// header is never sent without the option, and the whole-file Content-MD5 is checked.
#include "transfer_support.hpp"

#include <fmt/format.h>

#include "dataport/metrics.hpp"
#include "transfer/detail/md5.hpp"

using namespace xfer;
using dataport::transfer_options;
using nlohmann::json;

namespace {

constexpr std::size_t four_mib = 4u << 20;

struct one_blob {
  std::string container = dataport::test::unique_name("integrity");
  std::vector<std::byte> data;
  std::string sha;
};

one_blob make_blob(dataport::context& ctx, std::size_t size, std::uint64_t seed) {
  one_blob b;
  create_container(ctx, blob(b.container, ""));
  b.data = dataport::test::random_bytes(size, seed);
  put_blob(ctx, blob(b.container, "data.bin"), b.data);
  b.sha = dataport::test::sha256_hex(b.data);
  return b;
}

std::size_t ranged_gets(dataport::test::fault_proxy& proxy) {
  std::size_t n = 0;
  for (const auto& r : proxy.requests()) {
    if (r.at("method") == "GET" && r.at("status") == 206) ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("verify-md5: flipped bytes in two ranges are read again and the file is identical") {
  auto ctx = make_context(4);
  temp_dir tmp("md5flip");
  // 10 MiB in one 16 MiB chunk: three checked ranges (4 + 4 + 2 MiB).
  auto b = make_blob(*ctx, 10u << 20, 4242);
  dataport::test::fault_proxy proxy(azurite_url());
  const json checked = {{"method", "GET"},
                        {"path_regex", "data\\.bin"},
                        {"has_header", "x-ms-range-get-content-md5"}};
  proxy.set_rules(
      json::array({{{"match", checked}, {"times", 1}, {"action", {{"delay_ms", 1}}}},
                   {{"match", checked}, {"times", 2}, {"action", {{"flip_byte_at", 12345}}}}}));
  transfer_options o;
  o.verify_md5 = true;
  o.threads = 1;
  o.chunk_size = 16u << 20;
  const auto mismatches_before = ctx->counters()->get(dataport::counter::checksum_mismatches);
  auto s = dataport::copy(*ctx, blob(b.container, "data.bin", "devstoreaccount1", proxy.url()),
                          local(tmp / "data.bin"), o);
  INFO(describe(s));
  REQUIRE(s.files_done == 1);
  CHECK(file_sha(tmp / "data.bin") == b.sha);
  CHECK(ctx->counters()->get(dataport::counter::checksum_mismatches) - mismatches_before == 2);
  // 3 ranges + 2 re-reads, every one asking for the range MD5 (the rules match only such GETs).
  std::size_t flipped = 0;
  for (const auto& r : proxy.requests()) {
    if (r.at("action").is_object() && r.at("action").contains("flip_byte_at")) ++flipped;
  }
  CHECK(flipped == 2);
  CHECK(ranged_gets(proxy) == 5);
  for (const auto& r : proxy.requests()) {
    if (r.at("method") != "GET" || r.at("range").is_null()) continue;
    const auto range = r.at("range").get<std::string>();
    const auto first = std::stoull(range.substr(6, range.find('-') - 6));
    const auto last = std::stoull(range.substr(range.find('-') + 1));
    CHECK(last - first + 1 <= four_mib);
  }
  CHECK(walk(tmp.path()) == std::vector<std::string>{"data.bin"});
}

TEST_CASE("verify-md5: a range corrupted on every try fails the file and leaves nothing behind") {
  auto ctx = make_context(2);
  temp_dir tmp("md5always");
  auto b = make_blob(*ctx, 3u << 20, 77);
  dataport::test::fault_proxy proxy(azurite_url());
  proxy.set_rules(json::array(
      {{{"match", {{"method", "GET"}, {"path_regex", "data\\.bin"}, {"has_header", "Range"}}},
        {"action", {{"flip_byte_at", 100}}}}}));
  transfer_options o;
  o.verify_md5 = true;
  o.threads = 1;
  auto s = dataport::copy(*ctx, blob(b.container, "data.bin", "devstoreaccount1", proxy.url()),
                          local(tmp / "data.bin"), o);
  INFO(describe(s));
  CHECK(s.files_done == 0);
  REQUIRE(s.files_failed == 1);
  REQUIRE(s.failed.size() == 1);
  const std::string reason = s.failed.front().reason;
  INFO(reason);
  CHECK(reason.find("arrived corrupted 3 times in a row") != std::string::npos);
  CHECK(reason.find("check the network path") != std::string::npos);
  CHECK_FALSE(fs::exists(tmp / "data.bin"));
  CHECK(walk(tmp.path()).empty());
}

TEST_CASE("verify-md5 off: no range MD5 is asked for, and a flipped byte is not caught") {
  auto ctx = make_context(2);
  temp_dir tmp("md5off");
  auto b = make_blob(*ctx, 1u << 20, 5);
  dataport::test::fault_proxy proxy(azurite_url());
  // Any request carrying the header gets a 400: the copy would fail if it were sent.
  proxy.set_rules(json::array(
      {{{"match", {{"has_header", "x-ms-range-get-content-md5"}}},
        {"action", {{"status", 400}, {"body", "range md5 asked for"}}}},
       {{"match", {{"method", "GET"}, {"path_regex", "data\\.bin"}, {"has_header", "Range"}}},
        {"times", 1},
        {"action", {{"flip_byte_at", 10}}}}}));
  transfer_options o;
  o.threads = 1;
  auto s = dataport::copy(*ctx, blob(b.container, "data.bin", "devstoreaccount1", proxy.url()),
                          local(tmp / "data.bin"), o);
  INFO(describe(s));
  REQUIRE(s.files_done == 1);
  // This is what the option is for: without it the corrupted byte lands in the file.
  CHECK(file_sha(tmp / "data.bin") != b.sha);
}

TEST_CASE("verify-md5: the whole-file Content-MD5 is checked for local downloads") {
  auto ctx = make_context(2);
  temp_dir tmp("md5whole");
  one_blob b;
  create_container(*ctx, blob(b.container, ""));
  b.data = dataport::test::random_bytes(700'000, 99);
  b.sha = dataport::test::sha256_hex(b.data);
  // A blob whose stored Content-MD5 is right, and one whose stored Content-MD5 is wrong.
  auto store = ctx->open_store(blob(b.container, ""));
  dataport::put_options good;
  good.content_md5 = dataport::transfer_detail::md5_base64(b.data);
  dataport::test::run_async(store->put("good.bin", b.data, good));
  // Put Blob would check a wrong Content-MD5 against the body: commit blocks with it instead
  // (x-ms-blob-content-md5 is stored as given).
  dataport::put_options bad;
  bad.content_md5 = dataport::transfer_detail::md5_base64(std::span(b.data).first(10));
  dataport::test::run_async(store->stage_block("bad.bin", "block-0", b.data, {}));
  dataport::test::run_async(
      store->commit_blocks("bad.bin", std::vector<std::string>{"block-0"}, bad));

  transfer_options o;
  o.verify_md5 = true;
  auto ok = dataport::copy(*ctx, blob(b.container, "good.bin"), local(tmp / "good.bin"), o);
  INFO(describe(ok));
  CHECK(ok.files_done == 1);
  CHECK(file_sha(tmp / "good.bin") == b.sha);
  auto wrong = dataport::copy(*ctx, blob(b.container, "bad.bin"), local(tmp / "bad.bin"), o);
  INFO(describe(wrong));
  CHECK(wrong.files_failed == 1);
  CHECK_FALSE(fs::exists(tmp / "bad.bin"));
}
