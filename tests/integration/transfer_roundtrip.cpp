// Transfer engine round trips, byte-exact (SHA-256 of every file): local → blob → local, blob →
// blob across accounts and containers, local → local; every size class around the chunk size;
// unicode and space names, deep trees, a folder of 200 small files; destination semantics and
// --if-exists policies; blob → blob server-side copies (and their fallback to streaming); direct
// I/O downloads (O_DIRECT writes: padded last pieces cut back, the page cache left unfilled).
#include "transfer_support.hpp"

#include <fcntl.h>
#include <sys/mman.h>

#include <fmt/format.h>

#include "dataport/auth/sas.hpp"
#include "dataport/error.hpp"
#include "dataport/metrics.hpp"
#include "transfer/detail/md5.hpp"
#include "transfer/detail/plan.hpp"

using namespace xfer;
using dataport::transfer_options;

namespace {

transfer_options folder_options() {
  transfer_options o;
  o.recursive = true;
  o.chunk_size = chunk;
  o.threads = 4;
  return o;
}

/// A tree with every size class and name kind the issue lists.
hashes make_tree(const fs::path& root) {
  std::uint64_t seed = 1;
  auto add = [&](const std::string& rel, std::size_t size) {
    write_file(root / rel, dataport::test::random_bytes(size, seed++));
  };
  add("empty.bin", 0);
  add("one.bin", 1);
  add("chunk.bin", chunk);
  add("chunk_plus_one.bin", chunk + 1);
  add("many.bin", 7 * chunk + 333);
  add("unicode ü dir/naïve file ✓.txt", 1000);
  add("with space/a b c.bin", chunk + 5);
  std::string deep;
  for (int i = 1; i <= 10; ++i) deep += "d" + std::to_string(i) + "/";
  add(deep + "leaf.bin", 3000);
  for (int i = 0; i < 200; ++i) add(fmt::format("small/f{:03}.txt", i), 100 + i);
  return local_tree(root);
}

}  // namespace

TEST_CASE(
    "round trips: upload / download / blob → blob (two accounts / two containers) / local → "
    "local") {
  auto ctx = make_context();
  temp_dir tmp("rt");
  const hashes expected = make_tree(tmp / "src");
  REQUIRE(expected.size() == 208);

  const std::string c1 = dataport::test::unique_name("rt-up");
  auto o = folder_options();
  o.create_container = true;

  // upload
  auto s = dataport::copy(*ctx, local(tmp / "src"), blob(c1, "up"), o);
  INFO(describe(s));
  CHECK(s.files_done == expected.size());
  CHECK(s.files_failed == 0);
  CHECK(s.files_skipped == 0);
  CHECK(blob_tree(*ctx, blob(c1, "up")) == expected);

  // download
  s = dataport::copy(*ctx, blob(c1, "up"), local(tmp / "down"), folder_options());
  INFO(describe(s));
  CHECK(s.files_done == expected.size());
  CHECK(s.files_failed == 0);
  CHECK(local_tree(tmp / "down") == expected);

  // blob → blob, another account
  const std::string c2 = dataport::test::unique_name("rt-second");
  s = dataport::copy(*ctx, blob(c1, "up"), blob(c2, "copy/", "dataportsecond"), o);
  INFO(describe(s));
  CHECK(s.files_done == expected.size());
  CHECK(s.files_failed == 0);
  CHECK(blob_tree(*ctx, blob(c2, "copy", "dataportsecond")) == expected);

  // container → container (whole container to the root of another)
  const std::string c3 = dataport::test::unique_name("rt-c3");
  s = dataport::copy(*ctx, blob(c2, "", "dataportsecond"), blob(c3, ""), o);
  INFO(describe(s));
  CHECK(s.files_done == expected.size());
  hashes prefixed;
  for (const auto& [k, v] : expected) prefixed["copy/" + k] = v;
  CHECK(blob_tree(*ctx, blob(c3, "")) == prefixed);

  // local → local
  s = dataport::copy(*ctx, local(tmp / "src"), local(tmp / "local-copy"), folder_options());
  INFO(describe(s));
  CHECK(s.files_done == expected.size());
  CHECK(local_tree(tmp / "local-copy") == expected);
}

TEST_CASE("single files of every size class / in every direction") {
  auto ctx = make_context();
  temp_dir tmp("sizes");
  const std::string c = dataport::test::unique_name("sizes");
  create_container(*ctx, blob(c, ""));
  const std::uint64_t sizes[] = {0, 1, chunk, chunk + 1, 9 * chunk + 17};
  std::uint64_t seed = 100;
  for (const auto size : sizes) {
    DYNAMIC_SECTION("size " << size) {
      const auto data = dataport::test::random_bytes(size, seed++);
      const auto want = dataport::test::sha256_hex(data);
      const std::string name = "f" + std::to_string(size) + " ü.bin";
      put_blob(*ctx, blob(c, "in/" + name), data);
      transfer_options o;
      o.chunk_size = chunk;
      o.threads = 3;

      auto s = dataport::copy(*ctx, blob(c, "in/" + name), local(tmp / "got.bin"), o);
      INFO(describe(s));
      REQUIRE(s.files_done == 1);
      CHECK(s.bytes == size);
      CHECK(file_sha(tmp / "got.bin") == want);

      s = dataport::copy(*ctx, local(tmp / "got.bin"), blob(c, "up/" + name), o);
      REQUIRE(s.files_done == 1);
      auto store = ctx->open_store(blob(c, ""));
      CHECK(dataport::test::sha256_hex(read_object(*ctx, *store, "up/" + name)) == want);
      // The blob's Content-MD5 is set whether it went up as one Put Blob or as blocks.
      CHECK(ctx->run(store->stat("up/" + name)).content_md5 ==
            dataport::transfer_detail::md5_base64(data));

      s = dataport::copy(*ctx, blob(c, "up/" + name), blob(c, "r2r/" + name, "devstoreaccount1"),
                         o);
      REQUIRE(s.files_done == 1);
      CHECK(dataport::test::sha256_hex(read_object(*ctx, *store, "r2r/" + name)) == want);
      std::filesystem::remove(tmp / "got.bin");
    }
  }
}

TEST_CASE("adaptive chunks: one request per file while files wait, ranges for the last ones") {
  using dataport::transfer_detail::adaptive_chunk_size;
  constexpr std::uint64_t mib = 1 << 20;
  // Up to the split threshold: one request, whatever else is waiting.
  CHECK(adaptive_chunk_size(16 * mib, 1, 8, 8 * mib, 16 * mib) == 16 * mib);
  // Ten 100 MiB files, 8 workers: the first eight are one GET each...
  CHECK(adaptive_chunk_size(100 * mib, 10, 8, 8 * mib, 16 * mib) == 100 * mib);
  CHECK(adaptive_chunk_size(100 * mib, 8, 8, 8 * mib, 16 * mib) == 100 * mib);
  // ... the last two share the workers: 4 ranges, then 8 ranges of 12.5 MiB.
  CHECK(adaptive_chunk_size(100 * mib, 2, 8, 8 * mib, 16 * mib) == 25 * mib);
  CHECK(adaptive_chunk_size(100 * mib, 1, 8, 8 * mib, 16 * mib) == 12800 * 1024);
  // One 1 GiB file: 8 ranges of 128 MiB; never below the minimum chunk.
  CHECK(adaptive_chunk_size(1024 * mib, 1, 8, 8 * mib, 16 * mib) == 128 * mib);
  CHECK(adaptive_chunk_size(20 * mib, 1, 32, 8 * mib, 16 * mib) == 10 * mib);
  CHECK(adaptive_chunk_size(0, 1, 8, 8 * mib, 16 * mib) > 0);  // an empty file has no chunk

  // Through the engine, with small settings so a few MiB exercise it: every file byte-exact.
  dataport::context_options options;
  options.config.retry_base_delay = std::chrono::milliseconds(10);
  options.config.chunk_size = 256 * 1024;
  options.config.split_threshold = 512 * 1024;
  options.io_threads = 2;
  dataport::context ctx(std::move(options));
  temp_dir tmp("adaptive");
  const std::string c = dataport::test::unique_name("adaptive");
  create_container(ctx, blob(c, ""));
  hashes expected;
  const std::uint64_t sizes[] = {
      0, 1000, 512 * 1024, 512 * 1024 + 1, 3 * 1024 * 1024 + 7, 2 * 1024 * 1024, 700 * 1024};
  std::uint64_t seed = 500;
  for (std::size_t i = 0; i < std::size(sizes); ++i) {
    const auto data = dataport::test::random_bytes(sizes[i], seed++);
    const std::string name = "f" + std::to_string(i) + ".bin";
    put_blob(ctx, blob(c, "in/" + name), data);
    expected[name] = dataport::test::sha256_hex(data);
  }
  transfer_options o;  // no chunk_size: adaptive
  o.recursive = true;
  o.threads = 4;
  const auto s = dataport::copy(ctx, blob(c, "in"), local(tmp / "out"), o);
  INFO(describe(s));
  REQUIRE(s.files_done == std::size(sizes));
  CHECK(local_tree(tmp / "out") == expected);
}

TEST_CASE("destination semantics: existing folder / new name / trailing '/' / folder without -R") {
  auto ctx = make_context();
  temp_dir tmp("dest");
  const std::string c = dataport::test::unique_name("dest");
  create_container(*ctx, blob(c, ""));
  const auto data = dataport::test::random_bytes(chunk + 10, 7);
  const auto want = dataport::test::sha256_hex(data);
  put_blob(*ctx, blob(c, "dir/file.bin"), data);
  transfer_options o;
  o.chunk_size = chunk;

  SECTION("file to an existing folder keeps its name inside it") {
    fs::create_directories(tmp / "existing");
    auto s = dataport::copy(*ctx, blob(c, "dir/file.bin"), local(tmp / "existing"), o);
    REQUIRE(s.files_done == 1);
    CHECK(file_sha(tmp / "existing/file.bin") == want);
    CHECK(walk(tmp / "existing") == std::vector<std::string>{"file.bin"});
  }
  SECTION("file to a new name") {
    auto s = dataport::copy(*ctx, blob(c, "dir/file.bin"), local(tmp / "new/renamed.bin"), o);
    REQUIRE(s.files_done == 1);
    CHECK(file_sha(tmp / "new/renamed.bin") == want);
    CHECK(walk(tmp / "new") == std::vector<std::string>{"renamed.bin"});
  }
  SECTION("file to a local path ending in '/' (not existing) goes inside it") {
    const auto dst = ctx->resolve((tmp / "slash").string() + "/");
    auto s = dataport::copy(*ctx, blob(c, "dir/file.bin"), dst, o);
    REQUIRE(s.files_done == 1);
    REQUIRE(fs::is_directory(tmp / "slash"));
    CHECK(file_sha(tmp / "slash/file.bin") == want);
  }
  SECTION("file to a blob path ending in '/' goes inside it; to an existing blob folder too") {
    auto s = dataport::copy(*ctx, blob(c, "dir/file.bin"), blob(c, "into/"), o);
    REQUIRE(s.files_done == 1);
    auto store = ctx->open_store(blob(c, ""));
    CHECK(dataport::test::sha256_hex(read_object(*ctx, *store, "into/file.bin")) == want);
    s = dataport::copy(*ctx, blob(c, "dir/file.bin"), blob(c, "into"), [&] {
      auto x = o;
      x.if_exists = dataport::if_exists_policy::overwrite;
      return x;
    }());
    REQUIRE(s.files_done == 1);
    CHECK(dataport::test::sha256_hex(read_object(*ctx, *store, "into/file.bin")) == want);
    const auto all = blob_tree(*ctx, blob(c, ""));
    CHECK(all.count("into") == 0);  // no blob named like the folder
    CHECK(all.count("into/file.bin") == 1);
  }
  SECTION("a folder without recursive is an error naming -R") {
    try {
      dataport::copy(*ctx, blob(c, "dir"), local(tmp / "x"), o);
      FAIL("no error");
    } catch (const dataport::error& e) {
      CHECK(e.code() == dataport::errc::invalid_argument);
      CHECK(std::string(e.what()).find("-R") != std::string::npos);
    }
    CHECK_FALSE(fs::exists(tmp / "x/file.bin"));
  }
}

TEST_CASE(
    "if-exists policies: fail leaves the file untouched / overwrite replaces / skip-identical "
    "reads nothing") {
  auto ctx = make_context();
  temp_dir tmp("exists");
  const std::string c = dataport::test::unique_name("exists");
  create_container(*ctx, blob(c, ""));
  hashes expected;
  for (int i = 0; i < 3; ++i) {
    const auto data = dataport::test::random_bytes(chunk * 2 + static_cast<std::size_t>(i),
                                                   40u + static_cast<std::uint64_t>(i));
    put_blob(*ctx, blob(c, "tree/f" + std::to_string(i) + ".bin"), data);
    expected["f" + std::to_string(i) + ".bin"] = dataport::test::sha256_hex(data);
  }
  auto o = folder_options();
  auto s = dataport::copy(*ctx, blob(c, "tree"), local(tmp / "dst"), o);
  REQUIRE(s.files_done == 3);
  REQUIRE(local_tree(tmp / "dst") == expected);

  SECTION("fail (the default): every existing file is a failure and stays as it was") {
    const auto mine = dataport::test::to_bytes("my own content");
    write_file(tmp / "dst/f1.bin", mine);
    s = dataport::copy(*ctx, blob(c, "tree"), local(tmp / "dst"), o);
    INFO(describe(s));
    CHECK(s.files_done == 0);
    CHECK(s.files_failed == 3);
    CHECK(paths_of(s.failed) == std::vector<std::string>{"f0.bin", "f1.bin", "f2.bin"});
    for (const auto& p : s.failed) CHECK(p.reason.find("--if-exists") != std::string::npos);
    CHECK(read_file(tmp / "dst/f1.bin") == mine);
    CHECK(walk(tmp / "dst") == std::vector<std::string>{"f0.bin", "f1.bin", "f2.bin"});
  }
  SECTION("overwrite replaces a changed file") {
    write_file(tmp / "dst/f1.bin", dataport::test::to_bytes("stale"));
    o.if_exists = dataport::if_exists_policy::overwrite;
    s = dataport::copy(*ctx, blob(c, "tree"), local(tmp / "dst"), o);
    CHECK(s.files_done == 3);
    CHECK(local_tree(tmp / "dst") == expected);
  }
  SECTION("skip-identical: a second run sends no GET but the listing; a changed file fails") {
    dataport::test::fault_proxy proxy(azurite_url());
    o.if_exists = dataport::if_exists_policy::skip_identical;
    s = dataport::copy(*ctx, blob(c, "tree", "devstoreaccount1", proxy.url()), local(tmp / "dst"),
                       o);
    INFO(describe(s));
    CHECK(s.files_skipped == 3);
    CHECK(s.files_done == 0);
    CHECK(s.bytes == 0);
    std::size_t gets = 0;
    for (const auto& r : proxy.requests()) {
      const auto path = r.at("path").get<std::string>();
      if (r.at("method") == "GET" && path.find("comp=list") == std::string::npos) ++gets;
    }
    CHECK(gets == 0);
    CHECK(local_tree(tmp / "dst") == expected);

    write_file(tmp / "dst/f2.bin", dataport::test::to_bytes("different"));
    s = dataport::copy(*ctx, blob(c, "tree"), local(tmp / "dst"), o);
    CHECK(s.files_skipped == 2);
    CHECK(paths_of(s.failed) == std::vector<std::string>{"f2.bin"});
    CHECK(dataport::test::to_string(read_file(tmp / "dst/f2.bin")) == "different");
  }
  SECTION("upload: fail keeps the existing blob, skip-identical skips identical blobs") {
    const std::string up = dataport::test::unique_name("exists-up");
    auto uo = folder_options();
    uo.create_container = true;
    // skip-identical on the first upload too: it computes each file's MD5 so the multi-block
    // blobs get a Content-MD5 (a plain upload of a multi-block file records none).
    uo.if_exists = dataport::if_exists_policy::skip_identical;
    s = dataport::copy(*ctx, local(tmp / "dst"), blob(up, "t"), uo);
    REQUIRE(s.files_done == 3);
    uo.if_exists = dataport::if_exists_policy::fail;
    write_file(tmp / "dst/f0.bin", dataport::test::to_bytes("changed locally"));
    s = dataport::copy(*ctx, local(tmp / "dst"), blob(up, "t"), uo);
    INFO(describe(s));
    CHECK(s.files_failed == 3);
    CHECK(blob_tree(*ctx, blob(up, "t")) == expected);
    uo.if_exists = dataport::if_exists_policy::skip_identical;
    s = dataport::copy(*ctx, local(tmp / "dst"), blob(up, "t"), uo);
    INFO(describe(s));
    CHECK(s.files_skipped == 2);
    CHECK(paths_of(s.failed) == std::vector<std::string>{"f0.bin"});
    uo.if_exists = dataport::if_exists_policy::overwrite;
    s = dataport::copy(*ctx, local(tmp / "dst"), blob(up, "t"), uo);
    CHECK(s.files_done == 3);
    CHECK(blob_tree(*ctx, blob(up, "t")) == local_tree(tmp / "dst"));
  }
}

TEST_CASE(
    "blob → blob: the service copies the bytes (Copy Blob / Put Block From URL) / a refusal "
    "streams instead / pinned to the source's ETag") {
  auto ctx = make_context();
  const std::string c = dataport::test::unique_name("s2s");
  create_container(*ctx, blob(c, ""));
  hashes expected;
  std::uint64_t total = 0, seed = 700;
  auto add = [&](const std::string& name, std::size_t size) {
    const auto data = dataport::test::random_bytes(size, seed++);
    put_blob(*ctx, blob(c, "src/" + name), data);
    expected[name] = dataport::test::sha256_hex(data);
    total += size;
  };
  add("one.bin", 300 * 1000);  // one Copy Blob From URL
  // Over server_side_single_max: one Copy Blob inside the account, Put Block From URL × 3 + Put
  // Block List into another.
  add("sub/blocks.bin", 5 * chunk + 9);
  add("empty.bin", 0);  // an empty Put Blob
  transfer_options o;
  o.recursive = true;
  o.threads = 3;
  o.server_side_single_max = 512 * 1024;
  o.server_side_block = 2 * chunk;
  const auto received = [&] { return ctx->counters()->get(dataport::counter::bytes_received); };
  const std::string out = dataport::test::unique_name("out");

  SECTION("Shared Key source: a read-only SAS per blob, no data byte through dataport") {
    const auto before = received();
    auto s = dataport::copy(*ctx, blob(c, "src"), blob(c, out), o);
    const auto copy_received = received() - before;
    INFO(describe(s));
    CHECK(s.files_done == 3);
    CHECK(s.files_copied_by_service == 2);
    CHECK(copy_received < total / 4);  // listings and replies only
    CHECK(blob_tree(*ctx, blob(c, out)) == expected);
  }
  SECTION("SAS source: its own token is the grant") {
    dataport::auth::blob_service_sas_options sas;
    sas.account = "devstoreaccount1";
    sas.account_key = account_key("devstoreaccount1");
    sas.container = c;
    sas.permissions = "rl";
    sas.expiry = std::chrono::system_clock::now() + std::chrono::hours(1);
    auto source = blob(c, "src");
    source.credential = {};
    source.credential.type = dataport::credential_config::kind::sas;
    source.credential.sas_token = dataport::auth::generate_blob_service_sas(sas);
    auto s = dataport::copy(*ctx, source, blob(c, out), o);
    INFO(describe(s));
    CHECK(s.files_copied_by_service == 2);
    CHECK(blob_tree(*ctx, blob(c, out)) == expected);
  }
  SECTION("another account: Put Block From URL for the large file") {
    const std::string c2 = dataport::test::unique_name("s2s-second");
    create_container(*ctx, blob(c2, "", "dataportsecond"));
    auto s = dataport::copy(*ctx, blob(c, "src"), blob(c2, out, "dataportsecond"), o);
    INFO(describe(s));
    CHECK(s.files_done == 3);
    CHECK(s.files_copied_by_service == 2);
    CHECK(blob_tree(*ctx, blob(c2, out, "dataportsecond")) == expected);
  }
  SECTION("a source the service cannot reach (behind a proxy): refused, then streamed") {
    // Azurite reads a Put Block From URL source only from itself: the proxy's address is refused
    // (CannotVerifyCopySource).
    dataport::test::fault_proxy proxy(azurite_url());
    const std::string c2 = dataport::test::unique_name("s2s-second");
    create_container(*ctx, blob(c2, "", "dataportsecond"));
    auto s = dataport::copy(*ctx, blob(c, "src/sub", "devstoreaccount1", proxy.url()),
                            blob(c2, out, "dataportsecond"), o);
    INFO(describe(s));
    CHECK(s.files_done == 1);
    CHECK(s.files_failed == 0);
    CHECK(s.files_copied_by_service == 0);
    CHECK(blob_tree(*ctx, blob(c2, out, "dataportsecond")) ==
          hashes{{"blocks.bin", expected["sub/blocks.bin"]}});
  }
  SECTION("a copy the service would run in the background is aborted, removed, and streamed") {
    dataport::test::fault_proxy proxy(azurite_url());
    const nlohmann::json pending = {
        {"status", 202},
        {"headers", {{"x-ms-copy-status", "pending"}, {"x-ms-copy-id", "dataport-test-copy"}}}};
    proxy.set_rules(
        nlohmann::json::array({{{"match", {{"method", "PUT"}, {"has_header", "x-ms-copy-source"}}},
                                {"times", 1},
                                {"action", pending}}}));
    const auto via_proxy = [&](const std::string& path) {
      return blob(c, path, "devstoreaccount1", proxy.url());
    };
    auto s = dataport::copy(*ctx, via_proxy("src/sub"), via_proxy(out), o);
    INFO(describe(s));
    CHECK(s.files_done == 1);
    CHECK(s.files_copied_by_service == 0);
    CHECK(blob_tree(*ctx, blob(c, out)) == hashes{{"blocks.bin", expected["sub/blocks.bin"]}});
    bool aborted = false;
    for (const auto& r : proxy.requests()) {
      aborted =
          aborted || r.at("path").get<std::string>().find("comp=copy&copyid=") != std::string::npos;
    }
    CHECK(aborted);
  }
  SECTION("server_side_copy = false streams every byte") {
    o.server_side_copy = false;
    const auto before = received();
    auto s = dataport::copy(*ctx, blob(c, "src"), blob(c, out), o);
    INFO(describe(s));
    CHECK(s.files_copied_by_service == 0);
    CHECK(blob_tree(*ctx, blob(c, out)) == expected);
    CHECK(received() - before >= total);
  }
  SECTION("an existing destination with --if-exists fail is a failure, not a fallback") {
    const auto other = dataport::test::random_bytes(1000, 1);
    put_blob(*ctx, blob(c, out + "/one.bin"), other);
    auto s = dataport::copy(*ctx, blob(c, "src/one.bin"), blob(c, out + "/one.bin"), o);
    INFO(describe(s));
    CHECK(s.files_done == 0);
    REQUIRE(s.failed.size() == 1);
    CHECK(s.failed[0].code == dataport::errc::already_exists);
    auto store = ctx->open_store(blob(c, ""));
    CHECK(dataport::test::sha256_hex(read_object(*ctx, *store, out + "/one.bin")) ==
          dataport::test::sha256_hex(other));
  }
  SECTION("store calls are pinned to the source ETag") {
    auto store = ctx->open_store(blob(c, ""));
    const auto url = store->copy_source_url("src/one.bin");
    REQUIRE(url);
    CHECK(url->find("sig=") != std::string::npos);
    const std::string stale = "\"0x8D000000000000\"";
    try {
      ctx->run(store->put_from_url(out + "/x.bin", *url, stale, {}));
      FAIL("put_from_url with a stale ETag succeeded");
    } catch (const dataport::error& e) {
      CHECK(e.code() == dataport::errc::changed);
      CHECK(std::string(e.what()).find("sig=") == std::string::npos);
    }
    try {
      ctx->run(store->stage_block_from_url(out + "/x.bin", "block-0001", *url, 0, 1000, stale));
      FAIL("stage_block_from_url with a stale ETag succeeded");
    } catch (const dataport::error& e) {
      CHECK(e.code() == dataport::errc::changed);
    }
    CHECK_THROWS(ctx->run(store->stat(out + "/x.bin")));
    // With the right ETag both work, and a block list makes the blob.
    const auto info = ctx->run(store->stat("src/one.bin"));
    ctx->run(
        store->stage_block_from_url(out + "/y.bin", "block-0001", *url, 1000, 5000, info.etag));
    ctx->run(store->commit_blocks(out + "/y.bin", {"block-0001"}, {}));
    const auto whole = read_object(*ctx, *store, "src/one.bin");
    CHECK(dataport::test::sha256_hex(read_object(*ctx, *store, out + "/y.bin")) ==
          dataport::test::sha256_hex(std::span(whole).subspan(1000, 5000)));
  }
}

namespace {

/// Pages of `p` in the page cache (mincore of a mapping; reads nothing).
std::size_t resident_pages(const fs::path& p) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  const auto size = static_cast<std::size_t>(fs::file_size(p));
  if (size == 0) {
    ::close(fd);
    return 0;
  }
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  REQUIRE(map != MAP_FAILED);
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> in_core((size + page - 1) / page);
  REQUIRE(::mincore(map, size, in_core.data()) == 0);
  ::munmap(map, size);
  std::size_t resident = 0;
  for (const unsigned char c : in_core) resident += c & 1;
  return resident;
}

}  // namespace

TEST_CASE("direct I/O downloads: byte-exact at every size, the page cache left unfilled") {
  auto ctx = make_context();
  temp_dir tmp("direct");
  const std::string c = dataport::test::unique_name("direct");
  create_container(*ctx, blob(c, ""));
  struct shape {
    std::uint64_t size;
    std::uint64_t chunk_size;  // 0: adaptive
    bool direct;               // expected: written with O_DIRECT
  };
  const shape shapes[] = {
      {1 << 20, 0, true},                       // one aligned request, no padding
      {(1 << 20) + 123, 0, true},               // the last piece padded, then cut back
      {(3 << 20) + 4095, 1 << 20, true},        // four chunks, the last one padded
      {(20 << 20) + 1, 0, true},                // adaptive ranges, 1 MiB slices
      {(1 << 20) - 1, 0, false},                // under 1 MiB: the page cache
      {(3 << 20) + 7, (1 << 20) + 512, false},  // unaligned chunks: the page cache
      {0, 0, false},
  };
  std::uint64_t seed = 900;
  for (const auto& s : shapes) {
    DYNAMIC_SECTION("size " << s.size << " chunk " << s.chunk_size) {
      const auto data = dataport::test::random_bytes(s.size, seed++);
      const std::string name = "f" + std::to_string(s.size) + ".bin";
      put_blob(*ctx, blob(c, name), data);
      transfer_options o;
      o.chunk_size = s.chunk_size;
      o.threads = 3;
      o.direct_io = true;
      const fs::path out = tmp / ("got-" + name);
      auto summary = dataport::copy(*ctx, blob(c, name), local(out), o);
      INFO(describe(summary));
      REQUIRE(summary.files_done == 1);
      CHECK(fs::file_size(out) == s.size);
      // Checked before anything reads the file: direct writes leave none of it in memory.
      const std::size_t resident = resident_pages(out);
      if (s.direct) {
        CHECK(resident == 0);
      } else if (s.size > 0) {
        CHECK(resident > 0);
      }
      CHECK(file_sha(out) == dataport::test::sha256_hex(data));
      // No partial file is left next to it.
      std::size_t entries = 0;
      for ([[maybe_unused]] const auto& e : fs::directory_iterator(tmp.path())) ++entries;
      CHECK(entries == 1);
      fs::remove(out);
    }
  }
}
