// log_streamer against the in-memory store and a local folder: growth sends only new bytes and
// keeps the remote an exact prefix, rewrites are re-sent whole, failures are counted and
// recovered, the background thread and stop()'s final sync, block-count consolidation, and the
// read-only https destination refused.
#include "support/test_support.hpp"

#include <filesystem>
#include <fstream>
#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "dataport/context.hpp"
#include "dataport/error.hpp"
#include "dataport/log_streamer.hpp"
#include "dataport/memory_store.hpp"

namespace fs = std::filesystem;
using dataport::log_streamer;
using dataport::memory_store;
using dataport::test::random_bytes;
using dataport::test::sha256_hex;

namespace {

class temp_dir {
 public:
  temp_dir() : path_(fs::temp_directory_path() / dataport::test::unique_name("logs")) {
    fs::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::unique_ptr<dataport::context> make_context() {
  dataport::context_options options;
  options.config = dataport::settings{};
  options.io_threads = 1;
  return std::make_unique<dataport::context>(std::move(options));
}

void append(const fs::path& p, std::span<const std::byte> data) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::app);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  REQUIRE(out.good());
}

void rewrite(const fs::path& p, std::span<const std::byte> data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  REQUIRE(out.good());
}

std::vector<std::byte> read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(raw.size());
  if (!raw.empty()) std::memcpy(out.data(), raw.data(), raw.size());
  return out;
}

std::string remote_sha(const memory_store& store, const std::string& path) {
  return sha256_hex(store.object(path));
}

}  // namespace

TEST_CASE("log_streamer memory: a file growing in 5 steps is an exact prefix after each sync") {
  auto ctx = make_context();
  temp_dir dir;
  auto store = std::make_shared<memory_store>();
  log_streamer streamer(*ctx, dir.path(), store, "runs/1/logs", std::chrono::seconds(60));
  streamer.set_tuning({1000, 49'000});  // several blocks per round

  const auto all = random_bytes(5 * 2345, 7);
  std::uint64_t written = 0;
  for (int step = 1; step <= 5; ++step) {
    append(dir.path() / "train/std_log.txt", std::span(all).subspan(written, 2345));
    written += 2345;
    REQUIRE(streamer.sync_now());
    const auto remote = store->object("runs/1/logs/train/std_log.txt");
    REQUIRE(remote.size() == written);
    CHECK(sha256_hex(remote) == sha256_hex(std::span(all).first(written)));
  }
  const auto s = streamer.current();
  CHECK(s.files_synced == 5);
  CHECK(s.bytes_uploaded == written);  // only new bytes were sent
  CHECK(s.failures == 0);
  REQUIRE(streamer.sync_now());  // unchanged: nothing sent
  CHECK(streamer.current().files_synced == 5);
}

TEST_CASE("log_streamer memory: shrunk, rewritten and replaced files are sent whole again") {
  auto ctx = make_context();
  temp_dir dir;
  auto store = std::make_shared<memory_store>();
  log_streamer streamer(*ctx, dir.path(), store, "", std::chrono::seconds(60));
  const auto file = dir.path() / "a.log";
  append(file, random_bytes(10'000, 1));
  REQUIRE(streamer.sync_now());

  rewrite(file, random_bytes(300, 2));  // shrunk
  REQUIRE(streamer.sync_now());
  CHECK(remote_sha(*store, "a.log") == sha256_hex(read_all(file)));

  auto same_size = random_bytes(300, 3);  // same size, new content
  rewrite(file, same_size);
  REQUIRE(streamer.sync_now());
  CHECK(remote_sha(*store, "a.log") == sha256_hex(same_size));

  auto longer = random_bytes(900, 4);  // truncated and rewritten longer within one interval
  rewrite(file, longer);
  REQUIRE(streamer.sync_now());
  CHECK(remote_sha(*store, "a.log") == sha256_hex(longer));

  const auto replacement = dir.path() / "a.log.new";  // replaced by rename: new inode
  append(replacement, random_bytes(1200, 5));
  fs::rename(replacement, file);
  REQUIRE(streamer.sync_now());
  CHECK(remote_sha(*store, "a.log") == sha256_hex(read_all(file)));
  CHECK(streamer.current().failures == 0);
}

TEST_CASE("log_streamer memory: a failure is counted, the remote stays a prefix, then recovers") {
  auto ctx = make_context();
  temp_dir dir;
  auto store = std::make_shared<memory_store>();
  log_streamer streamer(*ctx, dir.path(), store, "logs", std::chrono::seconds(60));
  const auto all = random_bytes(3000, 9);
  append(dir.path() / "x.txt", std::span(all).first(1000));
  REQUIRE(streamer.sync_now());

  store->set_failure_hook([](std::string_view op, const std::string&) {
    if (op == "append_blocks") throw dataport::error(dataport::errc::network, "injected outage");
  });
  append(dir.path() / "x.txt", std::span(all).subspan(1000, 1000));
  CHECK_FALSE(streamer.sync_now());  // never throws
  CHECK(streamer.current().failures == 1);
  CHECK(remote_sha(*store, "logs/x.txt") == sha256_hex(std::span(all).first(1000)));

  append(dir.path() / "x.txt", std::span(all).subspan(2000, 1000));
  CHECK_FALSE(streamer.sync_now());
  CHECK(streamer.current().failures == 2);

  store->set_failure_hook({});
  REQUIRE(streamer.sync_now());
  CHECK(remote_sha(*store, "logs/x.txt") == sha256_hex(all));
  CHECK(streamer.current().failures == 2);
}

TEST_CASE("log_streamer memory: the background thread follows growth and stop() syncs the rest") {
  auto ctx = make_context();
  temp_dir dir;
  auto store = std::make_shared<memory_store>();
  log_streamer streamer(*ctx, dir.path(), store, "logs", std::chrono::milliseconds(20));
  streamer.start();
  const auto all = random_bytes(4000, 11);
  append(dir.path() / "run.log", std::span(all).first(1000));
  // Poll with a generous deadline: the thread uploads within a few intervals.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool seen = false;
  while (!seen && std::chrono::steady_clock::now() < deadline) {
    try {
      seen = store->object("logs/run.log").size() == 1000;
    } catch (const dataport::error&) {
    }
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(seen);
  CHECK(remote_sha(*store, "logs/run.log") == sha256_hex(std::span(all).first(1000)));
  append(dir.path() / "run.log", std::span(all).subspan(1000));  // written just before stop
  append(dir.path() / "late/other.log", std::span(all).first(10));
  streamer.stop(std::chrono::seconds(30));
  CHECK(remote_sha(*store, "logs/run.log") == sha256_hex(all));
  CHECK(remote_sha(*store, "logs/late/other.log") == sha256_hex(std::span(all).first(10)));
  streamer.stop(std::chrono::seconds(1));  // twice is fine
  CHECK(streamer.current().failures == 0);
}

TEST_CASE("log_streamer memory: near the block-count limit the file is consolidated") {
  auto ctx = make_context();
  temp_dir dir;
  auto store = std::make_shared<memory_store>();
  log_streamer streamer(*ctx, dir.path(), store, "", std::chrono::seconds(60));
  streamer.set_tuning({100, 4});
  const auto all = random_bytes(700, 13);
  std::uint64_t written = 0;
  for (const std::uint64_t piece : {150, 150, 150, 250}) {  // 2, +2, +2 → over 4: whole again
    append(dir.path() / "f.log", std::span(all).subspan(written, piece));
    written += piece;
    REQUIRE(streamer.sync_now());
    CHECK(remote_sha(*store, "f.log") == sha256_hex(std::span(all).first(written)));
  }
  // 150 + 150 (appended) + 300 (re-sent whole: 450 > 4 blocks) + 700 (whole again).
  CHECK(streamer.current().bytes_uploaded == 150 + 150 + 450 + 700);
}

TEST_CASE("log_streamer local folder destination: appends in place, byte-exact") {
  auto ctx = make_context();
  temp_dir src;
  temp_dir dst;
  log_streamer streamer(*ctx, src.path(), dst.path().string() + "/logs", std::chrono::seconds(60));
  const auto all = random_bytes(50'000, 17);
  std::uint64_t written = 0;
  for (int step = 0; step < 5; ++step) {
    append(src.path() / "sub/out.txt", std::span(all).subspan(written, 10'000));
    written += 10'000;
    REQUIRE(streamer.sync_now());
    CHECK(sha256_hex(read_all(dst.path() / "logs/sub/out.txt")) ==
          sha256_hex(std::span(all).first(written)));
  }
  CHECK(streamer.current().bytes_uploaded == 50'000);
  // No staging leftovers next to the file.
  for (const auto& entry : fs::directory_iterator(dst.path() / "logs/sub"))
    CHECK(entry.path().filename() == "out.txt");
}

TEST_CASE("log_streamer refuses a read-only https destination") {
  auto ctx = make_context();
  temp_dir dir;
  try {
    log_streamer streamer(*ctx, dir.path(), "https://127.0.0.1:9/logs", std::chrono::seconds(1));
    FAIL("an https destination must be refused");
  } catch (const dataport::error& e) {
    CHECK(e.code() == dataport::errc::unsupported);
    CHECK(std::string(e.what()).find("read only") != std::string::npos);
  }
}
