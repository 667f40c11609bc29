// Reliability scenarios of the disk cache (RELIABILITY.md, docs/reliability.md): symlinks planted
// in the cache folder while it is in use (the slab folder, a slab's name), a process killed with
// SIGKILL in the middle of cache writes, and two real processes sharing one cache root. Child
// processes are forked at the start of a test case, while this process is still single-threaded.
#include "io_harness.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <catch2/catch.hpp>

#include "dataport/disk_cache.hpp"

using namespace dataport;
namespace fs = std::filesystem;

namespace {

disk_cache_options options_for(const fs::path& root) {
  disk_cache_options o;
  o.root = root;
  o.reserved_free_space = 0;
  o.write_threads = 1;
  return o;
}

std::vector<fs::path> files_with(const fs::path& root, const std::string& extension) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == extension) out.push_back(it->path());
  }
  return out;
}

bool is_empty_dir(const fs::path& dir) {
  return fs::is_directory(dir) && fs::directory_iterator(dir) == fs::directory_iterator();
}

/// The bytes block `index` of the kill test holds: deterministic, so the parent can check them.
std::vector<std::byte> test_block(std::uint64_t index) {
  return test::random_bytes(256 * 1024 + index, 5000 + index);
}

void write_byte(int fd, char c) {
  while (::write(fd, &c, 1) < 0 && errno == EINTR) {
  }
}

char read_byte(int fd) {
  char c = 0;
  while (::read(fd, &c, 1) < 0 && errno == EINTR) {
  }
  return c;
}

}  // namespace

TEST_CASE("a symlink planted as the slab folder is never followed") {
  const fs::path root = test::fresh_cache_root("relshard");
  const fs::path outside = test::fresh_cache_root("reloutside");
  fs::create_directories(outside);
  const block_key key{"object", "\"etag\"", 3};
  const auto data = test::random_bytes(4000, 11);
  {
    disk_cache cache(options_for(root));
    REQUIRE(cache.put_block(key, data));
    const auto slabs = files_with(root, ".slab");
    REQUIRE(slabs.size() == 1);
    const fs::path folder = slabs[0].parent_path();
    // Someone replaces the slab folder with a link to a folder outside the cache root while the
    // cache is open: the next read misses, and later writes must not go through the link.
    fs::remove_all(folder);
    fs::create_directory_symlink(outside, folder);
    CHECK_FALSE(cache.get_block(key));
    cache.put_block(key, data);
    CHECK(is_empty_dir(outside));
    const auto hit = cache.get_block(key);
    if (hit) CHECK(test::same_bytes(*hit, data));  // written in a real folder, or skipped (a miss)
  }
  CHECK(is_empty_dir(outside));
  // The next start replaces the link with a real folder and caches again.
  {
    disk_cache cache(options_for(root));
    struct stat st {};
    REQUIRE(::lstat((root / "v1" / "slabs").c_str(), &st) == 0);
    CHECK(S_ISDIR(st.st_mode));
    REQUIRE(cache.put_block(key, data));
    CHECK(test::same_bytes(*cache.get_block(key), data));
  }
  CHECK(is_empty_dir(outside));
  fs::remove_all(root);
  fs::remove_all(outside);
}

TEST_CASE("a symlink planted at a slab's name is a miss - the target is untouched") {
  const fs::path root = test::fresh_cache_root("rellink");
  const fs::path outside = test::fresh_cache_root("reltarget");
  fs::create_directories(outside);
  const block_key key{"object", "\"etag\"", 1};
  const auto data = test::random_bytes(3000, 12);
  disk_cache cache(options_for(root));
  REQUIRE(cache.put_block(key, data));
  const auto slabs = files_with(root, ".slab");
  REQUIRE(slabs.size() == 1);
  // A valid slab outside the root, linked in place of the real one.
  fs::copy_file(slabs[0], outside / "valid.slab");
  const auto target_sha = test::sha256_hex([&] {
    std::ifstream in(outside / "valid.slab", std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return test::to_bytes(text);
  }());
  REQUIRE(fs::remove(slabs[0]));
  fs::create_symlink(outside / "valid.slab", slabs[0]);
  CHECK_FALSE(cache.get_block(key));  // not followed: a miss
  // The block is written again, into a new real slab that replaces the link.
  REQUIRE(cache.put_block(key, data));
  CHECK(test::same_bytes(*cache.get_block(key), data));
  struct stat st {};
  REQUIRE(::lstat(slabs[0].c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  REQUIRE(fs::exists(outside / "valid.slab"));  // the link's target is untouched
  std::ifstream in(outside / "valid.slab", std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(test::sha256_hex(test::to_bytes(text)) == target_sha);
  fs::remove_all(root);
  fs::remove_all(outside);
}

TEST_CASE("killed with SIGKILL during cache writes - the next start sees only whole blocks") {
  const fs::path root = test::fresh_cache_root("relkill");
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Writes blocks 0, 1, 2, ... until killed; reports after each of the first few.
    ::close(ready[0]);
    disk_cache cache(options_for(root));
    for (std::uint64_t i = 0; i < 4000; ++i) {
      cache.put_block({"killed-object", "\"v1\"", i}, test_block(i % 64));
      if (i < 8) write_byte(ready[1], 'w');
    }
    for (;;) ::pause();  // never returns into the test framework: the parent kills it
  }
  ::close(ready[1]);
  for (int i = 0; i < 8; ++i) REQUIRE(read_byte(ready[0]) == 'w');
  // Let it write a little more, then kill it mid-stream.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(::kill(child, SIGKILL) == 0);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  ::close(ready[0]);

  disk_cache cache(options_for(root));
  CHECK_FALSE(cache.is_private());          // the dead process's lock is gone
  CHECK(files_with(root, ".tmp").empty());  // temp files of the crash are removed
  const auto indexed = cache.entry_count();
  std::uint64_t hits = 0;
  for (std::uint64_t i = 0; i < 4096; ++i) {
    if (auto block = cache.get_block({"killed-object", "\"v1\"", i})) {
      ++hits;
      INFO("block " << i);
      CHECK(test::same_bytes(*block, test_block(i % 64)));  // whole and exact, never torn
    }
  }
  CHECK(hits >= 8);
  // A slot torn by the kill may be indexed at start (its header landed), but its CRC fails at the
  // first read: it is a miss and leaves the index. At most the writer's one block in flight.
  CHECK(indexed - hits <= 1);
  CHECK(hits == cache.entry_count());
  fs::remove_all(root);
}

TEST_CASE("two processes on one cache root - the second is isolated, the first is intact") {
  const fs::path root = test::fresh_cache_root("reltwo");
  const block_key key{"shared-object", "\"v1\"", 0};
  const auto first_bytes = test::random_bytes(5000, 21);
  const auto second_bytes = test::random_bytes(5000, 22);
  int to_parent[2], to_child[2];
  REQUIRE(::pipe(to_parent) == 0);
  REQUIRE(::pipe(to_child) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The first process: owns the root, writes a block, waits, then checks it is unchanged.
    ::close(to_parent[0]);
    ::close(to_child[1]);
    int code = 0;
    {
      disk_cache cache(options_for(root));
      if (cache.is_private() || !cache.put_block(key, first_bytes)) code = 2;
      write_byte(to_parent[1], 'r');
      read_byte(to_child[0]);
      auto block = cache.get_block(key);
      if (!block || !test::same_bytes(*block, first_bytes)) code = 3;
    }
    ::_exit(code);
  }
  ::close(to_parent[1]);
  ::close(to_child[0]);
  REQUIRE(read_byte(to_parent[0]) == 'r');
  fs::path private_dir;
  {
    disk_cache second(options_for(root));
    CHECK(second.is_private());
    private_dir = second.directory();
    CHECK(private_dir.parent_path() == root);
    CHECK_FALSE(second.get_block(key));  // never sees the other process's files
    REQUIRE(second.put_block(key, second_bytes));
    CHECK(test::same_bytes(*second.get_block(key), second_bytes));
    write_byte(to_child[1], 'c');
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);  // the first process's block was never touched
  }
  ::close(to_parent[0]);
  ::close(to_child[1]);
  CHECK_FALSE(fs::exists(private_dir));  // removed when the second process closed
  disk_cache again(options_for(root));
  CHECK_FALSE(again.is_private());
  auto block = again.get_block(key);
  REQUIRE(block);
  CHECK(test::same_bytes(*block, first_bytes));
  fs::remove_all(root);
}
