// readable_file against Azurite: overwrite while open, corrupt cache files between runs, and a
// disk cache on a tiny tmpfs (reads keep working, nothing fails with ENOSPC).
#include "support/test_support.hpp"

#include <filesystem>
#include <fstream>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>
#include <sys/mount.h>

#include "dataport/credential.hpp"
#include "dataport/disk_cache.hpp"
#include "dataport/error.hpp"
#include "dataport/http/client.hpp"
#include "dataport/metrics.hpp"
#include "dataport/readable_file.hpp"
#include "dataport/storage.hpp"

using namespace dataport;
namespace fs = std::filesystem;

namespace {

struct azurite_reader {
  explicit azurite_reader(settings s) : guard(io.get_executor()) {
    root = fs::temp_directory_path() / test::unique_name("rdaz");
    config = s;
    config.http_retry_count = 2;
    if (config.cache_dir.empty()) config.cache_dir = root.string();
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
    client = std::make_shared<http::client>(io.get_executor(), config);
    location where;
    where.backend = backend_kind::blob;
    where.account = "devstoreaccount1";
    where.service_url =
        test::servers().at("azurite").at("blob_url").get<std::string>() + "/devstoreaccount1";
    where.container = test::unique_name("reader");
    credential_config c;
    c.type = credential_config::kind::shared_key;
    c.account_name = "devstoreaccount1";
    c.account_key = test::well_known_key();
    store = make_blob_store(where, client, make_credential(c, *client));
    run(store->create_container());
    services = std::make_shared<reader_services>(io, config);
  }
  ~azurite_reader() {
    services.reset();
    client->close_idle();
    guard.reset();
    io.stop();
    for (auto& t : threads) t.join();
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }
  template <class T>
  T run(boost::asio::awaitable<T> work) {
    return boost::asio::co_spawn(io, std::move(work), boost::asio::use_future).get();
  }
  void put(const std::string& path, const std::vector<std::byte>& data) {
    run(store->put(path, data, {}));
  }
  std::vector<std::byte> read_all(const std::string& path) {
    auto f = readable_file::open_blocking(services, store, path);
    std::vector<std::byte> out(f->size());
    std::size_t done = 0;
    while (done < out.size())
      done += f->read_at_blocking(
          done, std::span(out).subspan(done, std::min<std::size_t>(300'000, out.size() - done)));
    return out;
  }
  void restart() {
    services.reset();
    services = std::make_shared<reader_services>(io, config);
  }

  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard;
  std::vector<std::thread> threads;
  fs::path root;
  settings config;
  std::shared_ptr<http::client> client;
  std::shared_ptr<object_store> store;
  std::shared_ptr<reader_services> services;
};

settings small_blocks() {
  settings s;
  s.read_block_size = 256 * 1024;
  s.read_buffer_block_count = 8;
  s.read_threads = 4;
  s.reserved_free_disk_space = 0;
  return s;
}

}  // namespace

TEST_CASE(
    "overwrite while open gives old bytes or errc::changed, and a new open sees the new bytes") {
  auto s = small_blocks();
  s.memory_cache_size = 0;
  s.block_file_cache_enabled = false;
  azurite_reader r(s);
  const auto v1 = test::random_bytes(3 << 20, 1);
  const auto v2 = test::random_bytes(3 << 20, 2);
  r.put("blob.bin", v1);
  auto f = readable_file::open_blocking(r.services, r.store, "blob.bin");
  std::vector<std::byte> b(1000);
  REQUIRE(f->read_at_blocking(0, b) == b.size());
  REQUIRE(std::equal(b.begin(), b.end(), v1.begin()));
  r.put("blob.bin", v2);
  for (std::uint64_t off = 0; off < v1.size(); off += 250'000) {
    try {
      const auto n = f->read_at_blocking(off, b);
      REQUIRE(std::equal(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n),
                         v1.begin() + static_cast<std::ptrdiff_t>(off)));
    } catch (const error& e) {
      REQUIRE(e.code() == errc::changed);
      break;
    }
  }
  REQUIRE(r.read_all("blob.bin") == v2);
}

TEST_CASE("corrupt disk-cache files between runs are refetched") {
  auto s = small_blocks();
  s.memory_cache_size = 0;
  azurite_reader r(s);
  const auto data = test::random_bytes(2 << 20, 3);
  r.put("c.bin", data);
  REQUIRE(r.read_all("c.bin") == data);
  r.services->disk()->flush();
  r.restart();  // "between runs"
  int damaged = 0;
  for (auto& e : fs::recursive_directory_iterator(r.root)) {
    if (e.path().extension() != ".slab") continue;
    // Two bytes of every page of the slab: every slot's header and bytes.
    const auto size = fs::file_size(e.path());
    std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
    for (std::uintmax_t at = 200; at + 2 <= size; at += 4096) {
      f.seekp(static_cast<std::streamoff>(at));
      f.put('\x55');
      f.put('\xAA');
    }
    ++damaged;
  }
  REQUIRE(damaged > 0);
  REQUIRE(r.read_all("c.bin") == data);
  REQUIRE(r.services->counters().get(counter::cache_misses_disk) > 0);
}

TEST_CASE("a disk cache on a small tmpfs keeps reads working (no ENOSPC)") {
  const fs::path mount_point = fs::temp_directory_path() / test::unique_name("tmpfs");
  fs::create_directories(mount_point);
  REQUIRE(::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=8m,mode=0700") == 0);
  {
    for (bool block_mode : {true, false}) {
      auto s = small_blocks();
      s.cache_dir = (mount_point / (block_mode ? "b" : "w")).string();
      s.block_based_cache_enabled = block_mode;
      s.memory_cache_size = 0;
      azurite_reader r(s);
      const auto big = test::random_bytes(12 << 20, 4);  // larger than the whole file system
      r.put("big.bin", big);
      REQUIRE(r.read_all("big.bin") == big);
      REQUIRE(r.read_all("big.bin") == big);
      const auto small = test::random_bytes(1 << 20, 5);
      r.put("small.bin", small);
      REQUIRE(r.read_all("small.bin") == small);
    }
  }
  REQUIRE(::umount(mount_point.c_str()) == 0);
  fs::remove_all(mount_point);
}
