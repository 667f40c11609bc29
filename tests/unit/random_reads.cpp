// Random readers through the in-memory store's byte and call counts: a random reader's reads of
// a block fetch only the pages they ask for (DATAPORT_MOUNT_RANDOM_READ_PARTS) until their parts
// would cost more than the block (DATAPORT_MOUNT_RANDOM_READ_REQUEST_COST per request plus the
// bytes); then it is loaded whole and cached; sequential readers never get parts, and a part is
// pinned to the version opened like any block.
#include "io_harness.hpp"

#include <algorithm>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "dataport/error.hpp"

using namespace dataport;
using dataport::test::reader_harness;

namespace {

constexpr std::uint64_t block = 16 << 10;
constexpr std::uint64_t blocks = 1024;
constexpr std::uint64_t stride = 97;  // blocks between reads: never near an earlier stream

/// The default request cost (128 KiB) is worth more than a part of these 16 KiB blocks saves, so
/// a block read a second time is loaded whole unless a test lowers it.
settings random_settings(bool parts, bool ram_tier,
                         std::uint64_t request_cost = settings{}.random_read_request_cost) {
  auto s = test::small_block_settings(block);
  s.block_file_cache_enabled = false;
  s.memory_cache_size = ram_tier ? 16 * block : 0;
  s.random_read_parts = parts;
  s.random_read_request_cost = request_cost;
  return s;
}

bool read_matches(readable_file& file, const std::vector<std::byte>& source, std::uint64_t off,
                  std::size_t length) {
  std::vector<std::byte> got(length);
  return file.read_at_blocking(off, got) == length &&
         std::equal(got.begin(), got.end(), source.begin() + static_cast<std::ptrdiff_t>(off));
}

/// A harness with one object "a" of `blocks` blocks of random bytes (seeded), open.
struct random_file {
  random_file(bool parts, bool ram_tier, unsigned seed,
              std::uint64_t request_cost = settings{}.random_read_request_cost)
      : h(random_settings(parts, ram_tier, request_cost)),
        source(test::random_bytes(blocks * block, seed)) {
    h.store->set_object("a", source);
    file = h.open("a");
  }
  reader_harness h;
  std::vector<std::byte> source;
  std::shared_ptr<readable_file> file;
};

/// Offsets of `count` random reads: block k × 97 (mod 1024) for k = 1, 2 ..., so that no read
/// lands within the seek tolerance of the 8 streams before it (the prefetcher would take it for
/// a sequential reader), at a random place in the block.
std::vector<std::uint64_t> scattered_offsets(std::size_t count, std::size_t length) {
  std::mt19937_64 rng(7);
  std::vector<std::uint64_t> out;
  for (std::uint64_t k = 1; k <= count; ++k) {
    out.push_back((k * stride) % blocks * block +
                  std::uniform_int_distribution<std::uint64_t>(0, block - length)(rng));
  }
  return out;
}
}  // namespace

TEST_CASE("a random reader fetches the pages it reads, not whole blocks") {
  random_file f(true, false, 31);
  auto& [h, source, file] = f;
  REQUIRE(read_matches(*file, source, 100, 4096));  // the file's first read: a whole block
  REQUIRE(h.store->bytes_served() == block);
  for (const auto off : scattered_offsets(40, 4096))
    REQUIRE(read_matches(*file, source, off, 4096));
  // The second read already counts as random: 40 GETs of one or two pages each.
  CHECK(h.store->read_calls() == 41);
  CHECK(h.counters->get(counter::random_part_fetches) == 40);
  CHECK(h.store->bytes_served() <= block + 40 * 8192);
  CHECK(h.store->bytes_served() >= block + 40 * 4096);
  CHECK(h.counters->get(counter::prefetch_issued_bytes) == 0);
}

TEST_CASE("a random reader that lands near its earlier reads now and then still gets parts") {
  random_file f(true, false, 38, 0);  // request cost 0: a second part of a block stays a part
  auto& [h, source, file] = f;
  REQUIRE(read_matches(*file, source, 0, 4096));
  // Every other read lands 3 blocks after the one before: inside the prefetcher's usual forward
  // tolerance (2 blocks past the next one), so it took those for a sequential reader and ramped a
  // window; at random the tolerance is the next block only.
  std::size_t reads = 0;
  for (const auto off : scattered_offsets(20, 4096)) {
    REQUIRE(read_matches(*file, source, off, 4096));
    REQUIRE(read_matches(*file, source, off + 3 * block, 4096));
    reads += 2;
  }
  CHECK(h.counters->get(counter::random_part_fetches) == reads);
  CHECK(h.counters->get(counter::prefetch_issued_bytes) == 0);
  CHECK(h.store->bytes_served() <= block + reads * 8192);
  // A read and the next one in the same block (a record and its neighbour; through FUSE, the
  // kernel's readahead after a read) continue one stream, but until the stream opens a window
  // (its third read, at random) the second read is a part too: it loaded its whole block before,
  // 2 MiB for 4 KiB (1.99 -> 1.29 bytes fetched per byte read for 2000 random 64 KiB reads).
  const auto served = h.store->bytes_served();
  const auto more = scattered_offsets(30, 8192);
  for (std::size_t k = 20; k < more.size(); ++k) {
    REQUIRE(read_matches(*file, source, more[k], 4096));
    REQUIRE(read_matches(*file, source, more[k] + 4096, 4096));
  }
  CHECK(h.counters->get(counter::prefetch_issued_bytes) == 0);
  CHECK(h.counters->get(counter::random_part_fetches) == reads + 20);
  CHECK(h.store->bytes_served() - served <= 20 * 8192);
}

TEST_CASE("a block a random reader comes back to is loaded whole and then cached") {
  random_file f(true, true, 32);
  auto& [h, source, file] = f;
  REQUIRE(read_matches(*file, source, 0, 4096));
  const auto offsets = scattered_offsets(10, 4096);
  for (const auto off : offsets) REQUIRE(read_matches(*file, source, off, 4096));
  REQUIRE(h.counters->get(counter::random_part_fetches) == 10);
  // Back in the first scattered block after 9 other reads (its stream is gone): whole, cached.
  const auto served = h.store->bytes_served();
  const auto again = offsets[0] / block * block + (offsets[0] % block + 6000) % (block - 4096);
  REQUIRE(read_matches(*file, source, again, 4096));
  CHECK(h.store->bytes_served() - served == block);
  CHECK(h.counters->get(counter::random_part_fetches) == 10);
  CHECK(h.counters->get(counter::prefetch_issued_bytes) == 0);

  // Another open of the file finds that block in the RAM tier: a random read of it costs no
  // request, while its other scattered blocks are parts again.
  file->close();
  auto second = h.open("a");
  REQUIRE(read_matches(*second, source, 0, 4096));  // the file's first read: block 0, cached
  const auto calls = h.store->read_calls();
  REQUIRE(read_matches(*second, source, offsets[0], 4096));  // random, from the RAM tier
  CHECK(h.store->read_calls() == calls);
  REQUIRE(read_matches(*second, source, offsets[1], 4096));  // random, a part
  CHECK(h.store->read_calls() == calls + 1);
  CHECK(h.counters->get(counter::random_part_fetches) == 11);
}

TEST_CASE("a block a random reader keeps reading is loaded whole once its parts cost as much") {
  // Request cost 4 KiB: a one-page part costs 8 KiB, the 16 KiB block 20 KiB. Reads 1 and 2 of
  // the block are parts (16 KiB paid); the third would make it 24 KiB: the block is loaded whole
  // and cached, and the fourth costs no request.
  random_file f(true, true, 33, 4096);
  auto& [h, source, file] = f;
  REQUIRE(read_matches(*file, source, 0, 4096));
  const auto others = scattered_offsets(36, 4096);
  const std::uint64_t hot = 700;  // no scattered read lands in it or next to it
  for (const auto off : others) REQUIRE((off / block + 1 < hot || off / block > hot + 1));
  auto scatter = others.begin();
  std::vector<std::uint64_t> served;  // bytes each read of the hot block cost
  for (std::uint64_t page = 0; page < 4; ++page) {
    const auto before = h.store->bytes_served();
    REQUIRE(read_matches(*file, source, hot * block + page * 4096, 4096));
    served.push_back(h.store->bytes_served() - before);
    for (int k = 0; k < 9; ++k) REQUIRE(read_matches(*file, source, *scatter++, 4096));
  }
  CHECK(served == std::vector<std::uint64_t>{4096, 4096, block, 0});
  CHECK(h.counters->get(counter::random_part_fetches) == 2 + others.size());
  CHECK(h.counters->get(counter::prefetch_issued_bytes) == 0);
}

TEST_CASE("a file's first read past its first block is a part, one in block 0 loads whole blocks") {
  random_file f(true, false, 42);
  auto& [h, source, file] = f;
  // A record looked up by offset (or a footer): one page, not a block.
  REQUIRE(read_matches(*file, source, 500 * block + 4096, 4096));
  CHECK(h.store->bytes_served() == 4096);
  CHECK(h.counters->get(counter::random_part_fetches) == 1);

  // Another open of the file, read from its start: its first block whole.
  file->close();
  auto second = h.open("a");
  const auto served = h.store->bytes_served();
  REQUIRE(read_matches(*second, source, 100, 4096));
  CHECK(h.store->bytes_served() - served == block);
  CHECK(h.counters->get(counter::random_part_fetches) == 1);

  // A third open read in order from block 10: the first read is a part, the rest come from
  // whole blocks and the stream's prefetch.
  second->close();
  auto third = h.open("a");
  for (std::uint64_t off = 10 * block; off < 74 * block; off += 4096)
    REQUIRE(read_matches(*third, source, off, 4096));
  CHECK(h.counters->get(counter::random_part_fetches) == 2);
  CHECK(h.counters->get(counter::prefetch_used_bytes) >= 56 * block);
}

TEST_CASE("a random read across a block boundary gets a part of each block") {
  random_file f(true, false, 33);
  auto& [h, source, file] = f;
  REQUIRE(read_matches(*file, source, 0, 4096));  // the file's first read, in block 0: whole
  REQUIRE(read_matches(*file, source, 10 * block - 6000, 12000));  // 2 pages of each block
  CHECK(h.counters->get(counter::random_part_fetches) == 2);
  CHECK(h.store->bytes_served() == block + 4 * 4096);
  // The last block, shorter than the others, up to its very end.
  REQUIRE(read_matches(*file, source, source.size() - 777, 777));
  CHECK(h.counters->get(counter::random_part_fetches) == 3);
  // Without the copy (the mount's path): the views point into the parts at the right places.
  const std::uint64_t at = 700 * block - 5000;
  const auto views = file->view_blocking(at, 9000);
  REQUIRE(views.size() == 2);
  std::vector<std::byte> joined;
  for (const auto& v : views) joined.insert(joined.end(), v.bytes().begin(), v.bytes().end());
  REQUIRE(joined.size() == 9000);
  CHECK(std::equal(joined.begin(), joined.end(), source.begin() + static_cast<std::ptrdiff_t>(at)));
  CHECK(h.counters->get(counter::random_part_fetches) == 5);
}

TEST_CASE("sequential readers and the setting's off switch get whole blocks") {
  SECTION("sequential 4 KiB reads: every block once, no parts") {
    random_file f(true, false, 34);
    auto& [h, source, file] = f;
    for (std::uint64_t off = 0; off < source.size(); off += 4096)
      REQUIRE(read_matches(*file, source, off, 4096));
    CHECK(h.counters->get(counter::random_part_fetches) == 0);
    CHECK(h.store->bytes_served() == source.size());
  }
  SECTION("DATAPORT_MOUNT_RANDOM_READ_PARTS=false: each random read costs its whole block") {
    auto config = random_settings(true, false);
    config.set("DATAPORT_MOUNT_RANDOM_READ_PARTS", "false");
    reader_harness h(config);
    const auto source = test::random_bytes(blocks * block, 35);
    h.store->set_object("a", source);
    auto file = h.open("a");
    for (const auto off : scattered_offsets(20, 4096))
      REQUIRE(read_matches(*file, source, off, 4096));
    CHECK(h.counters->get(counter::random_part_fetches) == 0);
    CHECK(h.store->bytes_served() == 20 * block);
  }
}

TEST_CASE("a part is pinned to the version opened: a replaced object is an error, not new bytes") {
  random_file f(true, false, 36);
  auto& [h, source, file] = f;
  REQUIRE(read_matches(*file, source, 0, 4096));
  REQUIRE(read_matches(*file, source, 30 * block, 4096));
  REQUIRE(h.counters->get(counter::random_part_fetches) == 1);
  h.store->set_object("a", test::random_bytes(blocks * block, 37));
  std::vector<std::byte> got(4096);
  try {
    file->read_at_blocking(12 * block + 99, got);
    FAIL("a read of the replaced object returned bytes");
  } catch (const error& e) {
    CHECK(e.code() == errc::changed);
  }
}

TEST_CASE("a sequential reader sharing the file with a random one keeps its prefetch") {
  random_file f(true, false, 41);
  auto& [h, source, file] = f;
  const auto random_offsets = scattered_offsets(400, 4096);
  // 400 blocks read in order, every 8th pair swapped (the kernel's readahead reorders reads
  // through FUSE), each read followed by a random 4 KiB read elsewhere in the file.
  for (std::uint64_t b = 0; b < 400; ++b) {
    const std::uint64_t block_index = b % 8 == 6 ? b + 1 : b % 8 == 7 ? b - 1 : b;
    REQUIRE(read_matches(*file, source, block_index * block, block));
    REQUIRE(read_matches(*file, source, random_offsets[b], 4096));
  }
  // The random reads get parts (at most one each); the sequential reads' blocks come from the
  // stream's prefetch. The file is in random mode throughout (half its reads start streams), so
  // a swapped pair restarts the stream's ramp, but the old window's blocks are still used.
  // A variant that kept the usual tolerance for a stream continued 4 times was tried: random
  // reads landing up to 8 blocks ahead of the stream were taken for the stream's own, and this
  // mix took 723 GETs instead of 537. The bound below catches that.
  CHECK(h.counters->get(counter::random_part_fetches) <= 400);
  CHECK(h.counters->get(counter::prefetch_used_bytes) >= 380 * block);
  CHECK(h.store->read_calls() <= 600);
}
