// The disk tier's slabs under concurrency: threads putting, reading, evicting (a small, moving
// cap) and clearing at once, so slots are freed and reused while other threads read them (the
// reader pins of lib/cache/disk_cache_slabs.cpp). Every hit must be exactly the bytes of its key;
// the sanitizer build checks the rest (races on the index, use after free of a slab's file).
#include "io_harness.hpp"

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "dataport/disk_cache.hpp"

using namespace dataport;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t key_count = 40;

/// Block `i`'s bytes: sizes spread over four slot capacities (64 KiB to 512 KiB).
std::vector<std::byte> bytes_of(std::uint64_t i) {
  return test::random_bytes(3000 + i * 7001, 900 + i);
}

block_key key_of(std::uint64_t i) {
  return {"concurrent", "\"v\"", i};
}

}  // namespace

TEST_CASE("slabs: concurrent puts, gets, evictions and clears never return wrong bytes") {
  const fs::path root = test::fresh_cache_root("dconc");
  std::vector<std::vector<std::byte>> expected;
  for (std::uint64_t i = 0; i < key_count; ++i) expected.push_back(bytes_of(i));
  disk_cache_options options;
  options.root = root;
  options.reserved_free_space = 0;
  options.write_threads = 2;
  std::atomic<std::uint64_t> hits{0}, wrong{0};
  {
    disk_cache cache(options);
    cache.set_max_size(2 << 20);
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937_64 rng(t + 1);
        for (int step = 0; step < 600; ++step) {
          const std::uint64_t i = rng() % key_count;
          switch (rng() % 10) {
            case 0:
            case 1:
              cache.put_block(key_of(i), expected[i]);
              break;
            case 2:
              cache.put_block_async(key_of(i), test::block_of(expected[i]));
              break;
            case 3:
              if (t == 0)
                cache.set_max_size(static_cast<std::int64_t>(300'000 + rng() % 3'000'000));
              break;
            case 4:
              if (t == 1 && step % 50 == 0) cache.clear();
              break;
            default:
              if (auto hit = cache.get_block(key_of(i))) {
                ++hits;
                if (!test::same_bytes(*hit, expected[i])) ++wrong;
              }
          }
        }
      });
    }
    for (auto& thread : threads) thread.join();
    cache.flush();
    CHECK(cache.used_bytes() <= (3'300'000u));
  }
  CHECK(wrong == 0);
  CHECK(hits > 0);
  // Reopened: the index rebuilt from the slot headers serves only exact bytes.
  disk_cache reopened(options);
  std::uint64_t after = 0;
  for (std::uint64_t i = 0; i < key_count; ++i) {
    if (auto hit = reopened.get_block(key_of(i))) {
      ++after;
      CHECK(test::same_bytes(*hit, expected[i]));
    }
  }
  CHECK(after == reopened.entry_count());
  fs::remove_all(root);
}
