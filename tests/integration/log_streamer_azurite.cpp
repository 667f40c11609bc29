// log_streamer against Azurite: a file growing in 5 steps is an exact prefix (SHA-256) of the
// local file after each sync and only new bytes are sent; a rewritten file is re-sent whole; a
// missing container fails (counted, not thrown) and the next round recovers; the background
// thread shows progress before stop() and stop() syncs the rest.
#include "transfer_support.hpp"  // first: test_support.hpp silences a GCC 12 Asio false positive

#include <thread>

#include "dataport/error.hpp"
#include "dataport/log_streamer.hpp"

using dataport::log_streamer;
using dataport::test::random_bytes;
using dataport::test::sha256_hex;
using namespace xfer;

namespace {

void append(const fs::path& p, std::span<const std::byte> data) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::app);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  REQUIRE(out.good());
}

/// The whole remote object, or nullopt when it does not exist.
std::optional<std::vector<std::byte>> remote_bytes(dataport::context& ctx,
                                                   dataport::object_store& store,
                                                   const std::string& path) {
  try {
    const auto info = ctx.run(store.stat(path));
    std::vector<std::byte> data(static_cast<std::size_t>(info.size));
    if (!data.empty()) {
      const auto got = ctx.run(store.read_range(path, 0, data, ""));
      REQUIRE(got.bytes == data.size());
    }
    return data;
  } catch (const dataport::error& e) {
    if (e.code() == dataport::errc::not_found) return std::nullopt;
    throw;
  }
}

std::string remote_sha(dataport::context& ctx, dataport::object_store& store,
                       const std::string& path) {
  const auto data = remote_bytes(ctx, store, path);
  REQUIRE(data.has_value());
  return sha256_hex(*data);
}

}  // namespace

TEST_CASE("log_streamer azurite: growth in 5 steps, exact prefix after each sync") {
  auto ctx = make_context();
  temp_dir tmp("logs");
  const std::string c = dataport::test::unique_name("logs-grow");
  auto store = ctx->open_store(blob(c, ""));
  ctx->run(store->create_container());
  log_streamer streamer(*ctx, tmp / "logs", store, "azureml/run1/logs", std::chrono::seconds(60));
  streamer.set_tuning({64 * 1024, 49'000});

  const auto all = random_bytes(5 * 100'000, 21);
  std::uint64_t written = 0;
  for (int step = 1; step <= 5; ++step) {
    append(tmp / "logs/user_logs/std_log.txt", std::span(all).subspan(written, 100'000));
    written += 100'000;
    REQUIRE(streamer.sync_now());
    INFO("step " << step);
    CHECK(remote_sha(*ctx, *store, "azureml/run1/logs/user_logs/std_log.txt") ==
          sha256_hex(std::span(all).first(written)));
  }
  const auto s = streamer.current();
  CHECK(s.bytes_uploaded == written);  // each round sent only its new bytes
  CHECK(s.files_synced == 5);
  CHECK(s.failures == 0);
}

TEST_CASE("log_streamer azurite: a rewritten file is uploaded whole") {
  auto ctx = make_context();
  temp_dir tmp("logs");
  const std::string c = dataport::test::unique_name("logs-rewrite");
  auto store = ctx->open_store(blob(c, ""));
  ctx->run(store->create_container());
  log_streamer streamer(*ctx, tmp / "logs", store, "out", std::chrono::seconds(60));
  const auto file = tmp / "logs/metrics.json";
  append(file, random_bytes(200'000, 31));
  REQUIRE(streamer.sync_now());
  write_file(file, random_bytes(5'000, 32));  // truncated and rewritten
  REQUIRE(streamer.sync_now());
  CHECK(remote_sha(*ctx, *store, "out/metrics.json") == file_sha(file));
  write_file(file, random_bytes(5'000, 33));  // same size, other bytes
  REQUIRE(streamer.sync_now());
  CHECK(remote_sha(*ctx, *store, "out/metrics.json") == file_sha(file));
  append(file, random_bytes(777, 34));  // and growth continues from there
  REQUIRE(streamer.sync_now());
  CHECK(remote_sha(*ctx, *store, "out/metrics.json") == file_sha(file));
}

TEST_CASE("log_streamer azurite: a failing round is counted, never thrown, and recovers") {
  auto ctx = make_context(1);
  temp_dir tmp("logs");
  const std::string c = dataport::test::unique_name("logs-fail");
  auto store = ctx->open_store(blob(c, ""));  // the container does not exist yet
  log_streamer streamer(*ctx, tmp / "logs", store, "logs", std::chrono::seconds(60));
  const auto all = random_bytes(30'000, 41);
  append(tmp / "logs/a.txt", std::span(all).first(10'000));
  CHECK_FALSE(streamer.sync_now());
  CHECK(streamer.current().failures == 1);
  CHECK(streamer.current().files_synced == 0);

  ctx->run(store->create_container());
  append(tmp / "logs/a.txt", std::span(all).subspan(10'000, 10'000));
  REQUIRE(streamer.sync_now());
  CHECK(remote_sha(*ctx, *store, "logs/a.txt") == sha256_hex(std::span(all).first(20'000)));

  // The remote object deleted behind the streamer's back: the append fails once, then the file
  // is sent whole.
  ctx->run(store->remove("logs/a.txt"));
  append(tmp / "logs/a.txt", std::span(all).subspan(20'000));
  const bool first = streamer.sync_now();
  if (!first) REQUIRE(streamer.sync_now());
  CHECK(remote_sha(*ctx, *store, "logs/a.txt") == sha256_hex(all));
}

TEST_CASE("log_streamer azurite: progress is visible while running, stop() syncs the rest") {
  auto ctx = make_context();
  temp_dir tmp("logs");
  const std::string c = dataport::test::unique_name("logs-live");
  auto store = ctx->open_store(blob(c, ""));
  ctx->run(store->create_container());
  log_streamer streamer(*ctx, tmp / "logs", store, "live", std::chrono::milliseconds(50));
  streamer.start();
  const auto all = random_bytes(60'000, 51);
  append(tmp / "logs/run.log", std::span(all).first(20'000));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  std::optional<std::vector<std::byte>> seen;
  while (std::chrono::steady_clock::now() < deadline) {
    seen = remote_bytes(*ctx, *store, "live/run.log");
    if (seen && seen->size() == 20'000) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(seen.has_value());
  REQUIRE(seen->size() == 20'000);
  CHECK(sha256_hex(*seen) == sha256_hex(std::span(all).first(20'000)));
  append(tmp / "logs/run.log", std::span(all).subspan(20'000));
  streamer.stop(std::chrono::seconds(60));
  CHECK(remote_sha(*ctx, *store, "live/run.log") == sha256_hex(all));
  CHECK(streamer.current().failures == 0);
}
