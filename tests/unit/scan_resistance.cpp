// The RAM tier resists scans: blocks prefetched for a sequential stream wait in a probation
// segment (1/8 of the capacity) and only a hit promotes them, so a long stream neither flushes
// the blocks other readers reuse nor grows past its share. Checked on the cache itself and
// through a reader (the in-memory store counts every GET). The randomized model of the tier, with
// both admissions and resizes, is in cache_model.cpp.
#include "io_harness.hpp"

#include <vector>

#include <catch2/catch.hpp>

#include "dataport/block_cache.hpp"

using namespace dataport;
using dataport::test::reader_harness;

namespace {

block_key key_of(const std::string& object, std::uint64_t index) {
  return block_key{object, "etag", index};
}

block_data bytes_of(std::size_t n, unsigned seed) {
  return test::block_of(test::random_bytes(n, seed));
}

}  // namespace

TEST_CASE("RAM tier: streamed blocks stay within the probation share, reused blocks survive") {
  auto counters = std::make_shared<metrics>();
  memory_block_cache cache(80'000, counters);  // probation share: 10,000 bytes
  for (std::uint64_t i = 0; i < 6; ++i) cache.put(key_of("hot", i), bytes_of(10'000, 1));
  for (std::uint64_t i = 0; i < 200; ++i) {
    cache.put(key_of("stream", i), bytes_of(2'500, 2), admission::streamed);
    REQUIRE(cache.probation_bytes() <= 10'000);
    REQUIRE(cache.size_bytes() <= cache.capacity());
  }
  for (std::uint64_t i = 0; i < 6; ++i) CHECK(cache.get(key_of("hot", i)));  // none was flushed
  // The last four streamed blocks are still there (10,000 bytes), older ones are gone.
  for (std::uint64_t i = 196; i < 200; ++i) CHECK(cache.get(key_of("stream", i)));
  CHECK_FALSE(cache.get(key_of("stream", 195)));
  // Those four hits promoted them: the probation segment is empty, and the next stream
  // cannot push them out either (the main segment now holds 70,000 of 80,000 bytes).
  CHECK(cache.probation_bytes() == 0);
  CHECK(counters->get(counter::cache_promotions) == 4);
  for (std::uint64_t i = 0; i < 50; ++i)
    cache.put(key_of("stream2", i), bytes_of(2'500, 3), admission::streamed);
  for (std::uint64_t i = 196; i < 200; ++i) CHECK(cache.get(key_of("stream", i)));
  CHECK(cache.size_bytes() == 80'000);
}

TEST_CASE("RAM tier: when full, probation goes first, and a refresh never demotes a reused block") {
  memory_block_cache cache(40'000);  // probation share: 5,000 bytes
  cache.put(key_of("s", 0), bytes_of(5'000, 1), admission::streamed);
  for (std::uint64_t i = 0; i < 3; ++i) cache.put(key_of("m", i), bytes_of(10'000, 2));
  REQUIRE(cache.size_bytes() == 35'000);
  cache.put(key_of("m", 3), bytes_of(10'000, 3));  // 45,000 > 40,000: the streamed block goes
  CHECK_FALSE(cache.get(key_of("s", 0)));
  for (std::uint64_t i = 0; i < 4; ++i) CHECK(cache.get(key_of("m", i)));
  // Offered again as streamed (a prefetch run found it on disk), a reused block stays reused.
  cache.put(key_of("m", 0), bytes_of(10'000, 4), admission::streamed);
  CHECK(cache.probation_bytes() == 0);
  // A streamed block larger than the share is kept alone in probation (if it fits at all).
  cache.put(key_of("big", 0), bytes_of(8'000, 5), admission::streamed);
  CHECK(cache.probation_bytes() == 8'000);
  cache.put(key_of("big", 1), bytes_of(8'000, 6), admission::streamed);
  CHECK(cache.probation_bytes() == 8'000);
  CHECK_FALSE(cache.get(key_of("big", 0)));
  CHECK(cache.size_bytes() <= cache.capacity());
}

TEST_CASE("a file streamed through the reader does not flush the blocks another file reuses") {
  constexpr std::uint64_t block = 16 << 10;
  auto config = test::small_block_settings(block);
  config.block_file_cache_enabled = false;  // RAM tier only: a RAM miss is a GET
  config.memory_cache_size = 32 * block;    // probation: 4 blocks
  reader_harness h(config);
  const auto hot = test::random_bytes(4 * block, 11);
  const auto big = test::random_bytes(400 * block, 12);
  h.store->set_object("hot", hot);
  h.store->set_object("big", big);
  {
    auto file = h.open("hot");
    std::vector<std::byte> got(hot.size());
    REQUIRE(file->read_at_blocking(0, got) == got.size());
    REQUIRE(got == hot);
  }
  {
    auto file = h.open("big");  // 400 blocks, 12x the RAM tier, read in order
    std::vector<std::byte> got(64 << 10);
    std::vector<std::byte> all;
    for (std::uint64_t off = 0; off < big.size(); off += got.size()) {
      const auto n = file->read_at_blocking(off, got);
      all.insert(all.end(), got.begin(), got.begin() + static_cast<std::ptrdiff_t>(n));
    }
    REQUIRE(all == big);
    REQUIRE(h.counters->get(counter::prefetch_issued_bytes) > 300 * block);
  }
  auto* ram = h.services->memory_cache();
  REQUIRE(ram != nullptr);
  CHECK(ram->probation_bytes() <= 4 * block);
  const auto gets = h.store->read_calls();
  auto file = h.open("hot");
  std::vector<std::byte> got(hot.size());
  REQUIRE(file->read_at_blocking(0, got) == got.size());
  CHECK(got == hot);
  CHECK(h.store->read_calls() == gets);  // every block of "hot" came from the RAM tier
}
