// Reference-model tests of the caches: random put/get/evict/resize/corrupt/reopen sequences.
// Invariants (RELIABILITY.md): a hit returns exactly the bytes put for that key; the size stays
// within the cap; nothing is written outside the cache root; folders 0700, files 0600.
#include "io_harness.hpp"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/detail/cache_file_format.hpp"
#include "cache/detail/crc32c_kernels.hpp"
#include "core/detail/pwrite_all.hpp"
#include "dataport/attribute_cache.hpp"
#include "dataport/block_cache.hpp"
#include "dataport/block_memory.hpp"
#include "dataport/disk_cache.hpp"
#include "dataport/error.hpp"

using namespace dataport;
namespace fs = std::filesystem;

namespace {

void check_tree(const fs::path& root) {
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    struct stat st {};
    REQUIRE(::lstat(it->path().c_str(), &st) == 0);
    REQUIRE_FALSE(S_ISLNK(st.st_mode));
    if (S_ISDIR(st.st_mode)) {
      REQUIRE((st.st_mode & 07777) == 0700);
    } else {
      REQUIRE((st.st_mode & 07777) == 0600);
      REQUIRE(it->path().extension() != ".tmp");
    }
  }
}

std::vector<fs::path> data_files(const fs::path& root) {
  std::vector<fs::path> out;
  for (auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file() && (e.path().extension() == ".slab" || e.path().extension() == ".file"))
      out.push_back(e.path());
  }
  return out;
}

disk_cache_options options_for(const fs::path& root) {
  disk_cache_options o;
  o.root = root;
  o.reserved_free_space = 0;
  o.write_threads = 2;
  return o;
}

}  // namespace

TEST_CASE("crc32c matches the standard check value in both implementations") {
  const auto bytes = test::to_bytes("123456789");
  REQUIRE(crc32c(bytes) == 0xE3069283u);
  // Incremental == one shot, on sizes that exercise the 8-byte and tail paths.
  const auto data = test::random_bytes(1000, 5);
  REQUIRE(crc32c(std::span(data).subspan(3), crc32c(std::span(data).first(3))) == crc32c(data));
  // The three-lane path (12 KiB+) against a bitwise reference, at lane boundaries and beyond,
  // from the start and from a running value.
  const auto reference = [](std::span<const std::byte> in, std::uint32_t crc) {
    crc = ~crc;
    for (const auto b : in) {
      crc ^= std::to_integer<std::uint32_t>(b);
      for (int k = 0; k < 8; ++k) crc = (crc & 1u) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    }
    return ~crc;
  };
  const auto big = test::random_bytes(3 * 3 * 4096 + 1000, 6);
  for (const std::size_t n : {std::size_t{12287}, std::size_t{12288}, std::size_t{12289},
                              std::size_t{24576 + 13}, big.size()}) {
    const auto part = std::span(big).first(n);
    CHECK(crc32c(part) == reference(part, 0));
    CHECK(crc32c(part, 0x12345678u) == reference(part, 0x12345678u));
  }
}

TEST_CASE("every CRC-32C kernel this CPU has agrees with the table on every length class") {
  using kernel = std::uint32_t (*)(std::span<const std::byte>, std::uint32_t) noexcept;
  std::vector<std::pair<std::string, kernel>> kernels{{"table", cache_detail::crc32c_table}};
  if (cache_detail::lanes_supported()) kernels.emplace_back("lanes", cache_detail::crc32c_lanes);
  if (cache_detail::folding_supported())
    kernels.emplace_back("folding", cache_detail::crc32c_folding);
  // The dispatcher must have picked the best kernel present; a machine without AVX-512 checks
  // fewer kernels (said in the output, never silently).
  WARN("CRC-32C kernels on this CPU: " << kernels.size() << " (table, lanes, folding)");
  const auto data = test::random_bytes(40'000, 7);
  // Every length up to 1100 (under 256 and the folding steps of 256 and 64 bytes, with every
  // tail), from aligned and unaligned starts, from zero and from a running value; then sizes
  // around the three-lane stride and a large one.
  std::vector<std::size_t> lengths;
  for (std::size_t n = 0; n <= 1100; ++n) lengths.push_back(n);
  for (const std::size_t n : {4095, 4096, 12287, 12288, 12289, 16383, 16448, 39'990})
    lengths.push_back(n);
  for (const auto& [name, run] : kernels) {
    INFO("kernel " << name);
    std::size_t mismatches = 0;
    for (const std::size_t n : lengths) {
      for (const std::size_t start : {std::size_t{0}, std::size_t{1}, std::size_t{9}}) {
        const auto part = std::span(data).subspan(start, n);
        if (run(part, 0) != cache_detail::crc32c_table(part, 0)) ++mismatches;
        if (run(part, 0xDEADBEEFu) != cache_detail::crc32c_table(part, 0xDEADBEEFu)) ++mismatches;
      }
    }
    CHECK(mismatches == 0);
    // Chained pieces of uneven sizes give the one-shot sum.
    std::uint32_t chained = 0;
    std::size_t at = 0;
    for (const std::size_t piece : {300, 1, 4096, 257, 20'000, 63}) {
      chained = run(std::span(data).subspan(at, piece), chained);
      at += piece;
    }
    CHECK(chained == cache_detail::crc32c_table(std::span(data).first(at), 0));
    CHECK(run(test::to_bytes("123456789"), 0) == 0xE3069283u);
  }
  const auto all = std::span(data);
  CHECK(crc32c(all) == kernels.back().second(all, 0));
}

TEST_CASE("cache header decoder rejects every truncation and every flipped byte") {
  cache_detail::file_header h;
  h.hash = cache_detail::hash_key("k");
  h.etag = "\"0x8D\"";
  h.length = 42;
  h.data_crc = 7;
  const auto bytes = cache_detail::encode_header(h);
  const auto back = cache_detail::decode_header(bytes);
  REQUIRE(back);
  REQUIRE(back->etag == h.etag);
  REQUIRE(back->length == 42);
  for (std::size_t n = 0; n < bytes.size(); ++n)
    REQUIRE_FALSE(cache_detail::decode_header(std::span(bytes).first(n)));
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    auto bad = bytes;
    bad[i] ^= std::byte{0x01};
    REQUIRE_FALSE(cache_detail::decode_header(bad));
  }
}

TEST_CASE("memory tier against a reference model: puts of both admissions, gets, resizes, erases") {
  std::mt19937_64 rng(1);
  auto counters = std::make_shared<metrics>();
  memory_block_cache cache(10'000, counters);
  std::map<std::string, std::vector<std::byte>> model;  // what was last put per key
  std::uint64_t largest_streamed = 0;  // one streamed block may exceed the probation share
  for (int step = 0; step < 8000; ++step) {
    const block_key key{"obj" + std::to_string(rng() % 3), "e" + std::to_string(rng() % 2),
                        rng() % 10};
    switch (rng() % 6) {
      case 0:
      case 1: {
        const bool streamed = rng() % 2 == 0;
        auto data = test::random_bytes(rng() % 1500, rng());  // some exceed a small share
        if (streamed) largest_streamed = std::max<std::uint64_t>(largest_streamed, data.size());
        model[key.to_string()] = data;
        cache.put(key, test::block_of(data), streamed ? admission::streamed : admission::reused);
        break;
      }
      case 2:
      case 3: {
        auto hit = cache.get(key);
        if (hit) REQUIRE(test::same_bytes(*hit, model.at(key.to_string())));
        break;
      }
      case 4:
        cache.set_capacity(2000 + rng() % 20000);
        break;
      case 5:
        cache.erase(key);
        REQUIRE_FALSE(cache.get(key));
        break;
    }
    REQUIRE(cache.size_bytes() <= cache.capacity());
    REQUIRE(cache.probation_bytes() <= cache.size_bytes());
    REQUIRE(cache.probation_bytes() <=
            std::max(cache.capacity() / memory_block_cache::probation_divisor, largest_streamed));
  }
  REQUIRE(counters->get(counter::cache_hits_memory) > 0);
  REQUIRE(counters->get(counter::cache_promotions) > 0);
  REQUIRE(counters->get(counter::evictions) > 0);
  cache.clear();
  CHECK(cache.size_bytes() == 0);
  CHECK(cache.probation_bytes() == 0);
}

TEST_CASE("disk tier against a reference model: put, get, evict, resize, corrupt, reopen") {
  const fs::path root = test::fresh_cache_root("dmodel");
  std::mt19937_64 rng(2);
  auto counters = std::make_shared<metrics>();
  std::map<std::string, std::vector<std::byte>> model;
  auto cache = std::make_unique<disk_cache>(options_for(root), counters);
  std::int64_t cap = 200'000;
  cache->set_max_size(cap);
  for (int step = 0; step < 600; ++step) {
    const block_key key{"o" + std::to_string(rng() % 4), "e" + std::to_string(rng() % 2),
                        rng() % 12};
    switch (rng() % 8) {
      case 0:
      case 1: {
        const auto data = test::random_bytes(rng() % 20000, rng());
        if (model.count(key.to_string()) == 0 || model[key.to_string()] == data) {
          cache->put_block(key, data);
          model[key.to_string()] = data;
        }
        break;
      }
      case 2: {
        auto data = test::block_of(test::random_bytes(rng() % 20000, rng()));
        if (model.count(key.to_string()) == 0) {
          model[key.to_string()] = std::vector<std::byte>(data->begin(), data->end());
          cache->put_block_async(key, data);
        }
        break;
      }
      case 3:
      case 4: {
        auto hit = cache->get_block(key);
        if (hit) REQUIRE(test::same_bytes(*hit, model.at(key.to_string())));
        break;
      }
      case 5: {  // corrupt or truncate a random file
        cache->flush();
        auto files = data_files(root);
        if (files.empty()) break;
        const auto& victim = files[rng() % files.size()];
        if (rng() % 2) {
          fs::resize_file(victim, fs::file_size(victim) / 2);
        } else {
          std::fstream f(victim, std::ios::in | std::ios::out | std::ios::binary);
          f.seekp(static_cast<std::streamoff>(rng() %
                                              std::max<std::uintmax_t>(1, fs::file_size(victim))));
          f.put('\x7f');
        }
        // the next get of that key misses (or returns the right bytes if the flip was a no-op)
        break;
      }
      case 6:
        cap = 50'000 + static_cast<std::int64_t>(rng() % 300'000);
        cache->set_max_size(cap);
        break;
      case 7:  // reopen (a process restart)
        cache.reset();
        cache = std::make_unique<disk_cache>(options_for(root), counters);
        cache->set_max_size(cap);
        REQUIRE_FALSE(cache->is_private());
        break;
    }
    cache->flush();
    REQUIRE(cache->used_bytes() <= static_cast<std::uint64_t>(cap));
  }
  cache->flush();
  check_tree(root);
  // Everything the cache wrote is under its root: the only entries at the root are ours.
  for (auto& e : fs::directory_iterator(root)) {
    const auto name = e.path().filename().string();
    REQUIRE((name == "lock" || name == "v1"));
  }
  REQUIRE(counters->get(counter::cache_hits_disk) > 0);
  cache.reset();
  fs::remove_all(root);
}

TEST_CASE("a corrupt block is a miss and its slot is freed") {
  const fs::path root = test::fresh_cache_root("dcorrupt");
  disk_cache cache(options_for(root));
  const block_key key{"o", "e", 1};
  const auto data = test::random_bytes(5000, 9);
  REQUIRE(cache.put_block(key, data));
  auto files = data_files(root);
  REQUIRE(files.size() == 1);
  REQUIRE(files[0].filename() == "65536.slab");  // slot 0: a header page, then the bytes
  const auto flip = [&](std::uint64_t at) {
    std::fstream f(files[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(at));
    const char was = static_cast<char>(f.get());
    f.seekp(static_cast<std::streamoff>(at));
    f.put(static_cast<char>(was ^ 0x01));
  };
  flip(4096 + data.size() - 1);  // the last byte of the block
  REQUIRE_FALSE(cache.get_block(key));
  CHECK(cache.entry_count() == 0);
  CHECK(cache.used_bytes() == 0);
  REQUIRE(cache.put_block(key, data));  // the freed slot is reused
  REQUIRE(test::same_bytes(*cache.get_block(key), data));
  CHECK(fs::file_size(files[0]) == 4096 + 8192);
  // Another key's slot copied over this one (a foreign block) is rejected too.
  const block_key other{"o", "e", 2};
  REQUIRE(cache.put_block(other, data));
  REQUIRE(fs::file_size(files[0]) == (4096 + 65536) + 4096 + 8192);  // slot 1
  {
    std::fstream f(files[0], std::ios::in | std::ios::out | std::ios::binary);
    std::vector<char> slot(4096 + 8192);
    f.read(slot.data(), static_cast<std::streamsize>(slot.size()));
    f.seekp(4096 + 65536);
    f.write(slot.data(), static_cast<std::streamsize>(slot.size()));
  }
  CHECK(test::same_bytes(*cache.get_block(key), data));
  CHECK_FALSE(cache.get_block(other));
  CHECK(cache.entry_count() == 1);
  fs::remove_all(root);
}

TEST_CASE("a second cache on the same root is isolated in a private folder, removed at close") {
  const fs::path root = test::fresh_cache_root("dlock");
  fs::path private_dir;
  {
    disk_cache first(options_for(root));
    REQUIRE_FALSE(first.is_private());
    const block_key key{"o", "e", 0};
    REQUIRE(first.put_block(key, test::random_bytes(100, 1)));
    disk_cache second(options_for(root));
    REQUIRE(second.is_private());
    private_dir = second.directory();
    REQUIRE(fs::exists(private_dir));
    REQUIRE_FALSE(second.get_block(key));  // never sees the first process's files
  }
  REQUIRE_FALSE(fs::exists(private_dir));
  // A stale private folder (its owner crashed: the lock is free) and stale temp files are removed.
  fs::create_directories(root / "private-999999" / "v1");
  std::ofstream(root / "private-999999" / "lock").put('x');
  fs::create_directories(root / "v1" / "files" / "ab");
  std::ofstream(root / "v1" / "files" / "ab" / "abc.123.1.tmp").put('x');
  {
    disk_cache again(options_for(root));
    REQUIRE_FALSE(fs::exists(root / "private-999999"));
    REQUIRE_FALSE(fs::exists(root / "v1" / "files" / "ab" / "abc.123.1.tmp"));
  }
  fs::remove_all(root);
}

TEST_CASE("a world-writable or symlinked cache root is refused") {
  const fs::path root = test::fresh_cache_root("dperm");
  fs::create_directories(root);
  ::chmod(root.c_str(), 0777);
  try {
    disk_cache cache(options_for(root));
    FAIL("world-writable root accepted");
  } catch (const error& e) {
    REQUIRE(e.code() == errc::permission_denied);
    REQUIRE(std::string(e.what()).find("world-writable") != std::string::npos);
  }
  const fs::path link = root.string() + "-link";
  ::chmod(root.c_str(), 0700);
  fs::create_directory_symlink(root, link);
  REQUIRE_THROWS_AS(disk_cache(options_for(link)), error);
  fs::remove(link);
  fs::remove_all(root);
}

TEST_CASE("a slab replaced by another file while in use is a miss - a new slab takes over") {
  const fs::path root = test::fresh_cache_root("dreplaced");
  disk_cache cache(options_for(root));
  const auto data = test::random_bytes(5000, 70);
  REQUIRE(cache.put_block({"o", "e", 1}, data));
  REQUIRE(cache.put_block({"o", "e", 2}, data));
  const fs::path slab = root / "v1" / "slabs" / "65536.slab";
  // A copy of the slab (valid headers and bytes) renamed over it: the cache's writer still holds
  // the old file, so the copy is not the slab it writes; its blocks are forgotten, not served.
  fs::copy_file(slab, root / "copy");
  fs::rename(root / "copy", slab);
  CHECK_FALSE(cache.get_block({"o", "e", 1}));
  CHECK(cache.entry_count() == 0);
  REQUIRE(cache.put_block({"o", "e", 3}, data));
  CHECK(test::same_bytes(*cache.get_block({"o", "e", 3}), data));
  CHECK_FALSE(cache.get_block({"o", "e", 2}));
  check_tree(root);
  fs::remove_all(root);
}

TEST_CASE("a slot evicted while it is read is reused only after the read") {
  const fs::path root = test::fresh_cache_root("dpinned");
  const fs::path slab = root / "v1" / "slabs" / "65536.slab";
  const std::uint64_t stride = 4096 + 65536;
  const auto first = test::random_bytes(5000, 90);
  const auto second = test::random_bytes(6000, 91);
  const auto third = test::random_bytes(7000, 92);
  disk_cache* cache_ptr = nullptr;
  bool evicted = false;
  auto options = options_for(root);
  // Mid-read of block 1: remove every entry (block 1's slot is freed, or must wait) and write
  // block 2. Were block 1's slot free now, block 2 would take it and the read would find block
  // 2's header there: a miss. Pinned, block 2 goes to a new slot and the read gets its bytes.
  options.before_block_read = [&](const block_key& key) {
    if (evicted || key.block_index != 1) return;
    evicted = true;
    cache_ptr->clear();
    REQUIRE(cache_ptr->entry_count() == 0);
    REQUIRE(cache_ptr->put_block({"o", "e", 2}, second));
  };
  disk_cache cache(options);
  cache_ptr = &cache;
  REQUIRE(cache.put_block({"o", "e", 1}, first));
  const auto got = cache.get_block({"o", "e", 1});
  REQUIRE(evicted);
  REQUIRE(got);
  CHECK(test::same_bytes(*got, first));
  const auto size_after_second = fs::file_size(slab);
  CHECK(size_after_second > stride);  // block 2 went to slot 1 (its last byte is past slot 0)
  CHECK(size_after_second <= 2 * stride);
  const auto got_second = cache.get_block({"o", "e", 2});
  REQUIRE(got_second);
  CHECK(test::same_bytes(*got_second, second));
  // The read is over: slot 0 is free now, and the next block takes it (the slab does not grow).
  REQUIRE(cache.put_block({"o", "e", 3}, third));
  CHECK(fs::file_size(slab) == size_after_second);
  const auto got_third = cache.get_block({"o", "e", 3});
  REQUIRE(got_third);
  CHECK(test::same_bytes(*got_third, third));
  CHECK_FALSE(cache.get_block({"o", "e", 1}));
  check_tree(root);
  fs::remove_all(root);
}

TEST_CASE("evicted slots are punched and reused: a slab stays within the cap on disk") {
  const fs::path root = test::fresh_cache_root("dslots");
  const fs::path slab = root / "v1" / "slabs" / "131072.slab";
  const auto on_disk = [](const fs::path& p) {  // allocated bytes, holes excluded
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return static_cast<std::uint64_t>(st.st_blocks) * 512;
  };
  const std::uint64_t stride = 4096 + 131072;
  {
    disk_cache cache(options_for(root));
    cache.set_max_size(1 << 20);  // 7 blocks of 100 KiB (each 4096 + 102400 bytes on disk)
    for (std::uint64_t i = 0; i < 100; ++i) {
      REQUIRE(cache.put_block({"o", "e", i}, test::random_bytes(100 << 10, 60 + i)));
      REQUIRE(cache.used_bytes() <= (1u << 20));
    }
    // At most 9 x 106496 bytes fit in 1 MiB; a prune goes down to 70 % of it (LRU first).
    const auto kept = cache.entry_count();
    CHECK(kept >= 6);
    CHECK(kept <= 9);
    CHECK(fs::file_size(slab) <= 10 * stride);  // slots were reused, the file did not grow
    CHECK(on_disk(slab) <= (1u << 20) + 64 * 1024);
    for (std::uint64_t i = 100 - kept; i < 100; ++i) {
      const auto hit = cache.get_block({"o", "e", i});
      REQUIRE(hit);
      CHECK(test::same_bytes(*hit, test::random_bytes(100 << 10, 60 + i)));
    }
    CHECK_FALSE(cache.get_block({"o", "e", 99 - kept}));
    cache.clear();
    CHECK(on_disk(slab) <= 64 * 1024);  // every slot punched back into a hole
  }
  disk_cache reopened(options_for(root));
  CHECK(reopened.entry_count() == 0);
  CHECK(fs::file_size(slab) == 0);  // free slots at the end are cut off at start
  REQUIRE(reopened.put_block({"o", "e", 1}, test::random_bytes(100 << 10, 61)));
  CHECK(test::same_bytes(*reopened.get_block({"o", "e", 1}), test::random_bytes(100 << 10, 61)));
  fs::remove_all(root);
}

TEST_CASE("no room on disk: writes are skipped, counted, and reads just miss") {
  const fs::path root = test::fresh_cache_root("dfull");
  auto counters = std::make_shared<metrics>();
  auto options = options_for(root);
  options.reserved_free_space = 1 << 20;
  options.free_space = [](const fs::path&) -> std::uint64_t { return 1000; };  // a full disk
  disk_cache cache(options, counters);
  const block_key key{"o", "e", 0};
  REQUIRE_FALSE(cache.put_block(key, test::random_bytes(100, 1)));
  REQUIRE_FALSE(cache.get_block(key));
  REQUIRE(counters->get(counter::disk_cache_writes_skipped) == 1);
  REQUIRE_FALSE(cache.create_file("o", "e", 10));
  fs::remove_all(root);
}

TEST_CASE("block memory: freed buffers are reused, page-aligned, whole") {
  namespace bm = block_memory;
  const auto aligned = [](void* p) { return reinterpret_cast<std::uintptr_t>(p) % 4096 == 0; };
  // Every byte writable and kept: a buffer shorter than asked would fault or lose bytes.
  const auto fill_and_check = [](void* p, std::size_t n, unsigned char seed) {
    auto* bytes = static_cast<unsigned char*>(p);
    for (std::size_t i = 0; i < n; i += 997) bytes[i] = static_cast<unsigned char>(seed + i);
    bytes[n - 1] = seed;
    bool same = bytes[n - 1] == seed;
    for (std::size_t i = 0; i + 1 < n; i += 997)
      same = same && bytes[i] == static_cast<unsigned char>(seed + i);
    return same;
  };
  void* a = bm::allocate(500'000);
  REQUIRE(aligned(a));
  REQUIRE(fill_and_check(a, 500'000, 1));
  bm::deallocate(a, 500'000);
  void* again = bm::allocate(499'000);  // the same 64 KiB units: the freed buffer itself
  CHECK(again == a);
  REQUIRE(fill_and_check(again, 499'000, 2));
  // Mid-sized buffers share a huge-page arena: the next ones pack after it, 64 KiB-aligned.
  void* next = bm::allocate(900'000);
  CHECK(reinterpret_cast<std::uintptr_t>(next) / (2u << 20) ==
        reinterpret_cast<std::uintptr_t>(again) / (2u << 20));
  CHECK(reinterpret_cast<std::uintptr_t>(next) ==
        reinterpret_cast<std::uintptr_t>(again) + 512 * 1024);
  REQUIRE(fill_and_check(next, 900'000, 5));
  REQUIRE(fill_and_check(again, 499'000, 2));
  bm::deallocate(next, 900'000);
  bm::deallocate(again, 499'000);
  void* huge = bm::allocate(3u << 20);
  REQUIRE(reinterpret_cast<std::uintptr_t>(huge) % (2u << 20) == 0);
  REQUIRE(fill_and_check(huge, 3u << 20, 9));
  bm::deallocate(huge, 3u << 20);
  void* huge_again = bm::allocate(4u << 20);  // the same 2 MiB steps: reused as it is
  CHECK(huge_again == huge);
  bm::deallocate(huge_again, 4u << 20);
  void* small = bm::allocate(1000);  // under 64 KiB: the heap
  REQUIRE(fill_and_check(small, 1000, 3));
  bm::deallocate(small, 1000);
}

TEST_CASE("block memory: random mid-sized buffers never overlap and keep their bytes") {
  namespace bm = block_memory;
  std::mt19937_64 rng(17);
  struct live {
    unsigned char* p;
    std::size_t n;
    unsigned char seed;
  };
  std::vector<live> held;
  const auto intact = [](const live& b) {
    for (std::size_t i = 0; i < b.n; i += 4093)
      if (b.p[i] != static_cast<unsigned char>(b.seed + i / 4093)) return false;
    return b.p[b.n - 1] == b.seed;
  };
  std::size_t checked = 0;
  for (int step = 0; step < 4000; ++step) {
    if (held.size() < 40 && (held.empty() || rng() % 3 != 0)) {
      // 64 KiB to just under 1 MiB: one to sixteen units of an arena.
      const std::size_t n = (64u << 10) + rng() % ((1u << 20) - (64u << 10));
      auto* p = static_cast<unsigned char*>(bm::allocate(n));
      REQUIRE(reinterpret_cast<std::uintptr_t>(p) % 4096 == 0);
      const auto seed = static_cast<unsigned char>(rng());
      for (std::size_t i = 0; i < n; i += 4093) p[i] = static_cast<unsigned char>(seed + i / 4093);
      p[n - 1] = seed;
      for (const auto& other : held) {  // no two live buffers share a byte
        const bool apart = p + n <= other.p || other.p + other.n <= p;
        REQUIRE(apart);
      }
      held.push_back({p, n, seed});
    } else {
      const auto at = static_cast<std::size_t>(rng() % held.size());
      REQUIRE(intact(held[at]));
      ++checked;
      bm::deallocate(held[at].p, held[at].n);
      held.erase(held.begin() + static_cast<std::ptrdiff_t>(at));
    }
  }
  for (const auto& b : held) {
    REQUIRE(intact(b));
    bm::deallocate(b.p, b.n);
  }
  CHECK(checked > 1000);
}

TEST_CASE("blocks of any size are written and read back byte for byte from their slabs") {
  const fs::path root = test::fresh_cache_root("ddirect");
  // Whole pages, partial last pages (100 KiB + 1; 2 MB is 488 pages + 1152 bytes), 2 MiB + 1.
  const std::vector<std::size_t> sizes = {64u << 10, (100u << 10) + 1, 500u << 10,
                                          1u << 20,  2'000'000,        (2u << 20) + 1};
  {
    disk_cache cache(options_for(root));
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      const auto block = test::block_of(test::random_bytes(sizes[i], 40 + i));
      REQUIRE(reinterpret_cast<std::uintptr_t>(block->data()) % 4096 == 0);
      if (i % 2 == 0) {
        REQUIRE(cache.put_block({"big", "e", i}, *block));
      } else {
        cache.put_block_async({"big", "e", i}, block);
      }
    }
    cache.flush();
    // The same bytes at an address that is not page-aligned are copied into aligned pages first,
    // and so are blocks under 64 KiB (their memory need not be page-aligned).
    const auto unaligned = test::random_bytes((1u << 20) + 1, 50);
    REQUIRE(cache.put_block({"big", "e", 9}, std::span(unaligned).subspan(1)));
    REQUIRE(cache.put_block({"big", "e", 10}, *test::block_of(test::random_bytes(40u << 10, 51))));
  }
  // One slab per slot capacity (the next power of two of at least 64 KiB): 64 KiB and 40 KiB
  // share one, the aligned and the unaligned 1 MiB another; each block uses a header page and its
  // bytes in whole pages.
  std::set<std::string> slabs;
  for (const auto& f : data_files(root)) slabs.insert(f.filename().string());
  CHECK(slabs == std::set<std::string>{"65536.slab", "131072.slab", "524288.slab", "1048576.slab",
                                       "2097152.slab", "4194304.slab"});
  std::uint64_t expected_use = 4096 + (40u << 10) + 4096 + (1u << 20);
  for (const auto size : sizes) expected_use += 4096 + (size + 4095) / 4096 * 4096;
  {
    disk_cache reopened(options_for(root));  // the index rebuilt from the slab headers
    CHECK(reopened.entry_count() == sizes.size() + 2);
    CHECK(reopened.used_bytes() == expected_use);
  }
  check_tree(root);
  // Reopened: every block comes back exactly (and is checked against its CRC), twice.
  disk_cache reopened(options_for(root));
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      const auto hit = reopened.get_block({"big", "e", i});
      REQUIRE(hit);
      REQUIRE(test::same_bytes(*hit, test::random_bytes(sizes[i], 40 + i)));
    }
  }
  const auto unaligned = test::random_bytes((1u << 20) + 1, 50);
  const auto hit = reopened.get_block({"big", "e", 9});
  REQUIRE(hit);
  REQUIRE(test::same_bytes(*hit, std::span(unaligned).subspan(1)));
  const auto small = reopened.get_block({"big", "e", 10});
  REQUIRE(small);
  REQUIRE(test::same_bytes(*small, test::random_bytes(40u << 10, 51)));
  fs::remove_all(root);
}

TEST_CASE("a full write queue skips the disk write instead of blocking") {
  const fs::path root = test::fresh_cache_root("dqueue");
  auto counters = std::make_shared<metrics>();
  auto options = options_for(root);
  options.max_queue_bytes = 0;
  disk_cache cache(options, counters);
  cache.put_block_async({"o", "e", 0}, std::make_shared<const block_bytes>(10));
  REQUIRE(counters->get(counter::disk_cache_writes_skipped) == 1);
  fs::remove_all(root);
}

TEST_CASE("whole files: committed, verified, pinned while open, pruned LRU when closed") {
  const fs::path root = test::fresh_cache_root("dwhole");
  auto options = options_for(root);
  options.max_size = 3 * (10'000 + 4096);
  options.prune_threshold = 1.0;
  options.prune_target = 0.5;
  disk_cache cache(options);
  auto put_file = [&](const std::string& id) {
    auto w = cache.create_file(id, "e", 10'000);
    if (!w) return std::shared_ptr<cached_file>();
    const auto data = test::random_bytes(10'000, std::hash<std::string>{}(id));
    w->write_at(5000, std::span(data).subspan(5000));
    w->write_at(0, std::span(data).first(5000));
    return w->commit();
  };
  auto a = put_file("a");
  REQUIRE(a);
  std::vector<std::byte> back(10'000);
  REQUIRE(a->read_at(0, back) == 10'000);
  REQUIRE(back == test::random_bytes(10'000, std::hash<std::string>{}("a")));
  auto b = put_file("b");
  auto c = put_file("c");
  REQUIRE((b && c));
  // All three pinned: a fourth does not fit and nothing open is pruned.
  REQUIRE_FALSE(put_file("d"));
  a.reset();
  b.reset();
  REQUIRE(put_file("d"));  // prunes the least recently used closed files
  REQUIRE_FALSE(cache.open_file("a", "e"));
  REQUIRE(cache.open_file("c", "e"));
  REQUIRE(cache.used_bytes() <= static_cast<std::uint64_t>(*options.max_size));
  fs::remove_all(root);
}

TEST_CASE("attribute cache: TTL, negative entries, never-expire default") {
  auto now = std::chrono::steady_clock::time_point{};
  attribute_cache ttl(std::chrono::milliseconds(100), 10, [&] { return now; });
  object_info info;
  info.size = 5;
  ttl.put("s", "a", info);
  ttl.put_not_found("s", "missing");
  REQUIRE(ttl.get("s", "a").value()->size == 5);
  REQUIRE_FALSE(ttl.get("s", "missing").value().has_value());
  REQUIRE_FALSE(ttl.get("other", "a"));
  now += std::chrono::milliseconds(100);
  REQUIRE_FALSE(ttl.get("s", "a"));
  attribute_cache forever(std::nullopt, 10, [&] { return now; });
  forever.put("s", "a", info);
  now += std::chrono::hours(1000);
  REQUIRE(forever.get("s", "a"));
  forever.invalidate("s", "a");
  REQUIRE_FALSE(forever.get("s", "a"));

  memory_store store;
  store.set_object("x", test::random_bytes(3, 1));
  REQUIRE(test::run_async(forever.stat(store, "x")).size == 3);
  REQUIRE(test::run_async(forever.stat(store, "x")).size == 3);
  REQUIRE_THROWS_AS(test::run_async(forever.stat(store, "nope")), error);
  REQUIRE_THROWS_AS(test::run_async(forever.stat(store, "nope")), error);
  REQUIRE(store.stat_calls() == 2);  // one per path: hits and negative hits cost no request
}

TEST_CASE("pwrite_all: every byte at its offset in pieces of any size / errors keep errno") {
  const auto dir = dataport::test::fresh_cache_root("pwrite-all");
  fs::create_directories(dir);
  const std::string path = (dir / "f.bin").string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  const auto data = dataport::test::random_bytes(200'003, 41);
  const std::size_t piece = GENERATE(std::size_t{1000}, std::size_t{65536}, std::size_t{1} << 20);
  CHECK(dataport::detail::pwrite_all(fd, std::span(data).first(100'000), 0, piece));
  CHECK(dataport::detail::pwrite_all(fd, std::span(data).subspan(100'000), 100'000, piece));
  CHECK(dataport::detail::pwrite_all(fd, {}, 7, piece));  // nothing to write: true, no change
  std::vector<std::byte> back(data.size() + 1);
  CHECK(::pread(fd, back.data(), back.size(), 0) == static_cast<ssize_t>(data.size()));
  back.resize(data.size());
  CHECK(dataport::test::sha256_hex(back) == dataport::test::sha256_hex(data));
  ::close(fd);
  const int ro = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(ro >= 0);
  errno = 0;
  CHECK_FALSE(dataport::detail::pwrite_all(ro, std::span(data).first(10), 0));
  CHECK(errno == EBADF);
  ::close(ro);
  fs::remove_all(dir);
}
