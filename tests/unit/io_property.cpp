// Property tests of readable_file: random read sequences (sequential, strided, random, concurrent)
// on random sizes, under every mode and preset, byte-compared with the source. Failures found
// while developing are kept as named regression cases at the end.
#include "io_harness.hpp"

#include <cstring>
#include <random>

#include <catch2/catch.hpp>

#include "dataport/disk_cache.hpp"
#include "dataport/error.hpp"
#include "dataport/presets.hpp"

using namespace dataport;
using dataport::test::reader_harness;

namespace {

struct mode {
  std::string name;
  settings config;
};

std::vector<mode> all_modes() {
  std::vector<mode> modes;
  auto base = test::small_block_settings();
  auto no_tiers = base;
  no_tiers.memory_cache_size = 0;
  no_tiers.block_file_cache_enabled = false;
  modes.push_back({"block, no tiers", no_tiers});
  auto ram = base;
  ram.block_file_cache_enabled = false;
  modes.push_back({"block, RAM tier", ram});
  auto both = base;
  modes.push_back({"block, RAM and disk tiers", both});
  auto disk_only = base;
  disk_only.memory_cache_size = 0;
  modes.push_back({"block, disk tier", disk_only});
  auto whole = base;
  whole.block_based_cache_enabled = false;
  modes.push_back({"whole file", whole});
  auto whole_no_room = whole;
  whole_no_room.mount_cache_size = 1000;  // nothing fits: falls back to streaming
  modes.push_back({"whole file, no room", whole_no_room});
  for (preset p : all_presets()) {
    auto s = base;
    apply_preset(s, p);
    s.read_block_size = base.read_block_size;  // keep blocks small whatever the preset says
    s.read_buffer_block_count = std::min(s.read_buffer_block_count, 16u);
    modes.push_back({"preset " + std::string(to_string(p)), s});
  }
  return modes;
}

enum class pattern { sequential, strided, random, backwards_jitter };

// Reads `file` with `p` and checks every byte against `source`.
void check_pattern(readable_file& file, const std::vector<std::byte>& source, pattern p,
                   std::mt19937_64& rng) {
  const std::uint64_t size = source.size();
  std::uniform_int_distribution<std::size_t> request(1, 3 * 4096);
  std::vector<std::byte> buffer;
  bool use_views = false;  // every other read is the zero-copy view_blocking (block mode)
  auto check_at = [&](std::uint64_t offset, std::size_t length) {
    buffer.assign(length, std::byte{0x5A});
    std::size_t n = 0;
    use_views = !use_views;
    if (use_views && !file.is_whole_file()) {
      for (const auto& view : file.view_blocking(offset, length)) {
        REQUIRE(view.length > 0);
        REQUIRE(n + view.length <= length);
        std::memcpy(buffer.data() + n, view.bytes().data(), view.length);
        n += view.length;
      }
    } else {
      n = file.read_at_blocking(offset, buffer);
    }
    const std::size_t expected =
        offset >= size ? 0
                       : static_cast<std::size_t>(std::min<std::uint64_t>(length, size - offset));
    REQUIRE(n == expected);
    REQUIRE(std::equal(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n),
                       source.begin() + static_cast<std::ptrdiff_t>(std::min(offset, size))));
  };
  switch (p) {
    case pattern::sequential:
      for (std::uint64_t offset = 0; offset < size;) {
        const auto length = request(rng);
        check_at(offset, length);
        offset += length;
      }
      check_at(size, 10);
      break;
    case pattern::strided: {
      const std::uint64_t stride = request(rng) + 4096;
      for (std::uint64_t offset = 0; offset < size; offset += stride) check_at(offset, 1000);
      break;
    }
    case pattern::random:
      for (int i = 0; i < 40; ++i) {
        std::uniform_int_distribution<std::uint64_t> where(0, size + 100);
        check_at(where(rng), request(rng));
      }
      break;
    case pattern::backwards_jitter:
      // 4 KiB pieces, each pair swapped (kernel readahead reordering).
      for (std::uint64_t offset = 0; offset < size; offset += 8192) {
        check_at(offset + 4096, 4096);
        check_at(offset, 4096);
      }
      break;
  }
}

}  // namespace

TEST_CASE("random read sequences return the source bytes under every mode and preset") {
  std::mt19937_64 rng(20240611);
  for (const auto& m : all_modes()) {
    SECTION(m.name) {
      reader_harness h(m.config);
      for (int round = 0; round < 6; ++round) {
        std::uniform_int_distribution<std::size_t> sizes(0, 20 * 4096 + 17);
        const std::size_t size = round == 0 ? 0 : sizes(rng);
        const auto source = test::random_bytes(size, rng());
        const std::string path = "dir/object-" + std::to_string(round);
        h.store->set_object(path, source);
        for (pattern p :
             {pattern::sequential, pattern::strided, pattern::random, pattern::backwards_jitter}) {
          auto file = h.open(path);  // reopen: later passes may hit the caches
          REQUIRE(file->size() == size);
          check_pattern(*file, source, p, rng);
        }
      }
      for (const auto& call : h.store->range_calls()) {
        REQUIRE_FALSE(call.if_match.empty());  // every GET is pinned to the version seen at open
      }
      REQUIRE(h.services->prefetch_bytes_held() <= h.services->options().prefetch_memory_budget);
    }
  }
}

TEST_CASE("concurrent readers of one file and of many files get the right bytes") {
  for (const auto& m : all_modes()) {
    SECTION(m.name) {
      reader_harness h(m.config);
      const auto big = test::random_bytes(64 * 4096 + 123, 7);
      h.store->set_object("big", big);
      std::vector<std::vector<std::byte>> smalls;
      for (int i = 0; i < 8; ++i) {
        smalls.push_back(test::random_bytes(3000 + 1000 * static_cast<std::size_t>(i), 100 + i));
        h.store->set_object("small/" + std::to_string(i), smalls.back());
      }
      auto shared_file = h.open("big");
      std::vector<std::thread> readers;
      std::atomic<int> failures{0};
      for (int t = 0; t < 4; ++t) {
        readers.emplace_back([&, t] {
          std::mt19937_64 rng(static_cast<std::uint64_t>(t));
          try {
            // Each thread reads its own quarter sequentially, then random pieces anywhere.
            const std::uint64_t quarter = big.size() / 4;
            std::vector<std::byte> buffer(5000);
            for (std::uint64_t off = quarter * static_cast<std::uint64_t>(t);
                 off < quarter * static_cast<std::uint64_t>(t + 1); off += buffer.size()) {
              const auto n = shared_file->read_at_blocking(off, buffer);
              if (!std::equal(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n),
                              big.begin() + static_cast<std::ptrdiff_t>(off)))
                ++failures;
            }
            for (int i = 0; i < 20; ++i) {
              const auto off = std::uniform_int_distribution<std::uint64_t>(0, big.size() - 1)(rng);
              const auto n = shared_file->read_at_blocking(off, buffer);
              if (n != std::min<std::uint64_t>(buffer.size(), big.size() - off) ||
                  !std::equal(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n),
                              big.begin() + static_cast<std::ptrdiff_t>(off)))
                ++failures;
            }
            for (int i = 0; i < 8; ++i) {
              auto f = h.open("small/" + std::to_string((i + t) % 8));
              std::vector<std::byte> all(f->size());
              if (f->read_at_blocking(0, all) != all.size() ||
                  all != smalls[static_cast<std::size_t>((i + t) % 8)])
                ++failures;
            }
          } catch (const std::exception& e) {
            UNSCOPED_INFO(e.what());
            ++failures;
          }
        });
      }
      for (auto& r : readers) r.join();
      REQUIRE(failures == 0);
      REQUIRE(h.services->prefetch_bytes_held() <= h.services->options().prefetch_memory_budget);
    }
  }
}

TEST_CASE("awaitable read_at works from a coroutine on the I/O threads") {
  reader_harness h(test::small_block_settings());
  const auto source = test::random_bytes(10 * 4096 + 5, 3);
  h.store->set_object("a", source);
  auto read_all = [&]() -> boost::asio::awaitable<std::vector<std::byte>> {
    auto file = co_await readable_file::open(h.services, h.store, "a");
    std::vector<std::byte> out(file->size());
    std::size_t done = 0;
    while (done < out.size())
      done += co_await file->read_at(
          done, std::span(out).subspan(done, std::min<std::size_t>(3000, out.size() - done)));
    co_return out;
  };
  auto got = boost::asio::co_spawn(h.io, read_all(), boost::asio::use_future).get();
  REQUIRE(got == source);
}

TEST_CASE("read_at_blocking from an I/O thread is refused, not a deadlock") {
  reader_harness h(test::small_block_settings());
  h.store->set_object("a", test::random_bytes(100, 1));
  auto file = h.open("a");
  auto attempt = [&]() -> boost::asio::awaitable<int> {
    std::vector<std::byte> b(10);
    try {
      file->read_at_blocking(0, b);
    } catch (const error& e) {
      co_return static_cast<int>(e.code());
    }
    co_return 0;
  };
  REQUIRE(boost::asio::co_spawn(h.io, attempt(), boost::asio::use_future).get() ==
          static_cast<int>(errc::internal));
}

// ---- named regression cases ------------------------------------------------------------------

TEST_CASE("regression: read ending exactly at a block boundary of the last block") {
  reader_harness h(test::small_block_settings());
  const auto source = test::random_bytes(3 * 4096, 11);
  h.store->set_object("a", source);
  auto file = h.open("a");
  std::vector<std::byte> b(4096);
  REQUIRE(file->read_at_blocking(2 * 4096, b) == 4096);
  REQUIRE(std::equal(b.begin(), b.end(), source.begin() + 2 * 4096));
  REQUIRE(file->read_at_blocking(3 * 4096, b) == 0);
}

TEST_CASE("regression: a read spanning more blocks than the seek tolerance") {
  reader_harness h(test::small_block_settings());
  const auto source = test::random_bytes(40 * 4096, 12);
  h.store->set_object("a", source);
  auto file = h.open("a");
  std::vector<std::byte> b(9 * 4096 + 1);
  for (std::uint64_t off = 1; off < source.size(); off += b.size()) {
    const auto n = file->read_at_blocking(off, b);
    REQUIRE(std::equal(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n),
                       source.begin() + static_cast<std::ptrdiff_t>(off)));
  }
  // Every byte was fetched once: the big reads do not drop blocks they still need.
  REQUIRE(h.store->bytes_served() == source.size());
}

TEST_CASE("regression: empty object in whole-file mode") {
  auto s = test::small_block_settings();
  s.block_based_cache_enabled = false;
  reader_harness h(s);
  h.store->set_object("empty", {});
  auto file = h.open("empty");
  std::vector<std::byte> b(10);
  REQUIRE(file->read_at_blocking(0, b) == 0);
  REQUIRE(file->is_whole_file());
}

TEST_CASE("view_blocking is refused in whole-file mode with a message that names the fix") {
  auto s = test::small_block_settings();
  s.block_based_cache_enabled = false;
  reader_harness h(s);
  h.store->set_object("f", test::random_bytes(5000, 3));
  auto file = h.open("f");
  REQUIRE(file->is_whole_file());
  try {
    file->view_blocking(0, 10);
    FAIL("view_blocking returned in whole-file mode");
  } catch (const error& e) {
    REQUIRE(e.code() == errc::internal);
    REQUIRE(std::string(e.what()).find("read_at_blocking") != std::string::npos);
  }
}
