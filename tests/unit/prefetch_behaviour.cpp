// Prefetch behaviour through the in-memory store's call log: sequential readers get their blocks
// fetched once and ahead of time, random readers pay only for what they read, seeks drop useless
// prefetch, the shared memory budget holds, every GET is pinned with If-Match.
#include "io_harness.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <thread>
#include <set>

#include <catch2/catch.hpp>

#include "dataport/disk_cache.hpp"
#include "dataport/error.hpp"
#include "dataport/presets.hpp"
#include "io/detail/prefetch_planner.hpp"

using namespace dataport;
using dataport::test::reader_harness;

namespace {
settings no_tiers() {
  auto s = test::small_block_settings();
  s.memory_cache_size = 0;
  s.block_file_cache_enabled = false;
  return s;
}
}  // namespace

TEST_CASE("planner: sequential reads ramp the window - a far seek starts a new stream") {
  io_detail::prefetch_planner p(8, 2, 2, 0, 100);
  REQUIRE_FALSE(p.on_read(0, 0));
  REQUIRE(p.wanted().empty());  // one read says nothing yet
  REQUIRE(p.on_read(1, 1));
  REQUIRE(p.wanted() == std::vector<std::uint64_t>{2, 3});
  for (std::uint64_t b = 2; b < 6; ++b) REQUIRE(p.on_read(b, b));
  REQUIRE(p.current_window() == 8);
  REQUIRE(p.on_read(4, 4));  // a small backward seek keeps the stream
  REQUIRE_FALSE(p.on_read(50, 50));
  REQUIRE_FALSE(p.on_read(80, 80));  // replaces the oldest stream (max 2)
  REQUIRE_FALSE(p.keep(7));
  REQUIRE(p.keep(50));
}

TEST_CASE(
    "planner: a file read at random gets a strict tolerance, and loses it when read in order") {
  io_detail::prefetch_planner p(8, 4, 2, 0, 1000);  // forward tolerance 2 blocks, back 2
  REQUIRE_FALSE(p.on_read(100, 100));
  REQUIRE_FALSE(p.random());  // one read: not yet
  REQUIRE_FALSE(p.on_read(500, 500));
  REQUIRE(p.random());
  // 503 is within the usual tolerance of the stream at 500 (next 501, + 2), not the strict one.
  REQUIRE_FALSE(p.on_read(503, 503));
  REQUIRE_FALSE(p.on_read(97, 97));  // 3 behind the next block of the stream at 100
  REQUIRE(p.wanted().empty());       // no window ramped
  REQUIRE(p.on_read(504, 504));      // the block after 503: a stream even at random
  REQUIRE(p.wanted().empty());       // but two reads open no window at random
  // Reading in order for a while ends the random mode (half of the last 8 reads continued).
  for (std::uint64_t b = 505; b < 507; ++b) REQUIRE(p.on_read(b, b));
  REQUIRE(p.random());  // 3 of the 6 reads after the first started streams
  REQUIRE(p.on_read(507, 507));
  REQUIRE_FALSE(p.random());
  REQUIRE(p.on_read(510, 510));  // 2 blocks past the next one: the usual tolerance again
}

TEST_CASE("planner: a window stops where another stream began (threads reading quarters)") {
  io_detail::prefetch_planner p(8, 4, 2, 0, 100);
  // Stream B starts at block 10 first; stream A then reads 0, 1, 2 ... towards it.
  REQUIRE_FALSE(p.on_read(10, 10));
  REQUIRE_FALSE(p.on_read(0, 0));
  for (std::uint64_t b = 1; b < 7; ++b) REQUIRE(p.on_read(b, b));
  REQUIRE(p.current_window() == 8);
  const auto wanted = p.wanted();
  REQUIRE(wanted == std::vector<std::uint64_t>{7, 8, 9});  // not 10..14: B reads those
  // Once A passes B's start its window is its own again.
  for (std::uint64_t b = 7; b < 12; ++b) REQUIRE(p.on_read(b, b));
  const auto after = p.wanted();
  REQUIRE(after.front() == 12);
  for (std::uint64_t b = 12; b < 20; ++b) {
    REQUIRE(std::find(after.begin(), after.end(), b) != after.end());
  }
}

TEST_CASE("planner: a stream survives while other threads' streams read much faster") {
  io_detail::prefetch_planner p(8, 4, 2, 0, 1000);
  const std::uint64_t starts[4] = {0, 250, 500, 750};
  for (std::uint64_t b = 0; b < 3; ++b) {
    for (auto start : starts) p.on_read(start + b, start + b);
  }
  // Stream 0 waits for a fetch while the three others read 10 blocks each (cached, fast): 30
  // reads by other streams (the old horizon, 2 x (streams + 1) = 10, dropped it after 10).
  for (std::uint64_t b = 3; b < 13; ++b) {
    for (std::size_t i = 1; i < 4; ++i) REQUIRE(p.on_read(starts[i] + b, starts[i] + b));
  }
  REQUIRE(p.on_read(3, 3));  // still its stream: the window it built is not thrown away
  REQUIRE(p.keep(5));
}

TEST_CASE("planner: a stream is idle only after its horizon, its idle time, and no wait") {
  using std::chrono::milliseconds;
  io_detail::prefetch_planner p(8, 4, 2, 0, 1000);
  for (std::uint64_t b = 0; b < 3; ++b) p.on_read(b, b, milliseconds(1000));  // stream A
  // Stream B reads far more than A's horizon (8 x (2 + 1) = 24 reads) within 100 ms: A stays.
  for (std::uint64_t b = 500; b < 560; ++b) p.on_read(b, b, milliseconds(1100));
  REQUIRE(p.keep(3));
  // Past the idle time, but A's last read still waits for its block: A stays.
  p.on_read(560, 560, milliseconds(2000), [](std::uint64_t block) { return block == 2; });
  REQUIRE(p.keep(3));
  // Past the idle time and nothing waits: A is abandoned, its window released.
  p.on_read(561, 561, milliseconds(2000), [](std::uint64_t) { return false; });
  REQUIRE_FALSE(p.keep(3));
  REQUIRE(p.on_read(3, 3, milliseconds(2000)) == false);  // A's reader comes back: a new stream
}

TEST_CASE("planner: streams share the budget - one window cannot take all of it") {
  io_detail::prefetch_planner p(32, 8, 2, 0, 10000, /*budget_blocks=*/64);
  const std::uint64_t starts[4] = {0, 2500, 5000, 7500};
  for (std::uint64_t b = 0; b < 12; ++b) {
    for (auto start : starts) p.on_read(start + b, start + b);
  }
  const auto lists = p.wanted_by_stream();
  REQUIRE(lists.size() == 4);
  std::size_t total = 0;
  for (const auto& list : lists) {
    REQUIRE(list.size() == 16);  // 64 / 4, not the full window of 32
    total += list.size();
  }
  REQUIRE(total == 64);
  // Blocks already loaded past the share stay wanted by keep() (the whole window).
  REQUIRE(p.keep(12 + 20));
  // Alone again, a stream gets its whole window.
  io_detail::prefetch_planner alone(32, 8, 2, 0, 10000, 64);
  for (std::uint64_t b = 0; b < 12; ++b) alone.on_read(b, b);
  REQUIRE(alone.wanted().size() == 32);
}

TEST_CASE("four threads reading quarters of one file: every block once, in few requests") {
  // Through FUSE, four threads on one descriptor reach the reader as four interleaved streams.
  // Each stream gets requests of its own (the per-file request limit is shared out, a reader
  // that outran its prefetch asks for the next blocks in the same request) instead of
  // single-block GETs, and no block is fetched twice.
  auto config = no_tiers();
  config.read_buffer_block_count = 16;
  config.read_fetch_size = 4 * 4096;
  reader_harness h(config);
  const auto source = test::random_bytes(800 * 4096, 31);
  const auto etag = h.store->set_object("a", source);
  h.store->set_failure_hook([](std::string_view operation, const std::string&) {
    if (operation == "read_range") std::this_thread::sleep_for(std::chrono::microseconds(500));
  });
  auto file = h.open("a");
  std::atomic<int> mismatches{0};
  std::vector<std::thread> readers;
  for (std::uint64_t q = 0; q < 4; ++q) {
    readers.emplace_back([&, q] {
      std::vector<std::byte> b(2048);
      for (std::uint64_t off = q * 200 * 4096; off < (q + 1) * 200 * 4096; off += b.size()) {
        if (file->read_at_blocking(off, b) != b.size() ||
            !std::equal(b.begin(), b.end(), source.begin() + static_cast<std::ptrdiff_t>(off))) {
          ++mismatches;
        }
      }
    });
  }
  for (auto& r : readers) r.join();
  REQUIRE(mismatches == 0);
  const auto calls = h.store->range_calls();
  std::map<std::uint64_t, std::size_t> ranges;
  for (const auto& c : calls) {
    REQUIRE(c.if_match == etag);
    REQUIRE(ranges.emplace(c.offset, c.length).second);
  }
  std::uint64_t covered = 0;
  for (const auto& [offset, length] : ranges) {
    REQUIRE(offset == covered);  // disjoint and complete: no block twice
    covered += length;
  }
  REQUIRE(covered == source.size());
  // 800 blocks in runs of up to 4: 200 requests at best (~230 here: the windows ramp up);
  // single-block demand reads and cut-short runs made ~300, with blocks fetched twice.
  REQUIRE(calls.size() <= 260);
}

TEST_CASE("sequential read fetches each block once, ahead of the reader, with If-Match") {
  reader_harness h(no_tiers());
  const auto source = test::random_bytes(100 * 4096, 1);
  const auto etag = h.store->set_object("a", source);
  auto file = h.open("a");
  std::vector<std::byte> b(1024);
  for (std::uint64_t off = 0; off < source.size(); off += b.size()) {
    REQUIRE(file->read_at_blocking(off, b) == b.size());
    REQUIRE(std::equal(b.begin(), b.end(), source.begin() + static_cast<std::ptrdiff_t>(off)));
  }
  const auto calls = h.store->range_calls();
  std::map<std::uint64_t, std::size_t> ranges;  // offset -> length
  for (const auto& c : calls) {
    REQUIRE(c.if_match == etag);
    REQUIRE(ranges.emplace(c.offset, c.length).second);
  }
  // The ranges tile the object exactly: no byte fetched twice, none missed.
  std::uint64_t covered = 0;
  for (const auto& [offset, length] : ranges) {
    REQUIRE(offset == covered);
    covered += length;
  }
  REQUIRE(covered == source.size());
  // Adjacent prefetched blocks share requests (DATAPORT_MOUNT_READ_FETCH_SIZE).
  REQUIRE(calls.size() < 100);
  // Most blocks were prefetched: 99 of 100 when the I/O thread keeps up; 87 in a CI run with
  // other tests loading both cores (the reader reached blocks whose prefetch had not started and
  // asked for them itself). Timing decides the split, not the tiling checked above.
  REQUIRE(h.counters->get(counter::prefetch_issued_bytes) >= 75 * 4096);
  REQUIRE(h.counters->get(counter::prefetch_wasted_bytes) == 0);
  REQUIRE(h.counters->get(counter::prefetch_used_bytes) ==
          h.counters->get(counter::prefetch_issued_bytes));
}

TEST_CASE("random reads fetch little more than they read - seeks drop useless prefetch") {
  reader_harness h(no_tiers());
  const auto source = test::random_bytes(2000 * 4096, 2);
  h.store->set_object("a", source);
  auto file = h.open("a");
  std::mt19937_64 rng(3);
  std::vector<std::byte> b(512);
  for (int i = 0; i < 200; ++i) {
    const auto off = std::uniform_int_distribution<std::uint64_t>(0, source.size() - b.size())(rng);
    file->read_at_blocking(off, b);
    REQUIRE(std::equal(b.begin(), b.end(), source.begin() + static_cast<std::ptrdiff_t>(off)));
  }
  // One block per read, two when the 512 bytes straddle a boundary (1 in 8), plus rare prefetch.
  REQUIRE(h.store->read_calls() <= 250);
  REQUIRE(h.counters->get(counter::prefetch_issued_bytes) <= 10 * 4096);
  // Sequential for a while, then jump: once the old stream is abandoned (its idle time and its
  // horizon of reads by others passed), its window is wasted, not kept.
  for (std::uint64_t off = 0; off < 20 * 4096; off += 4096) file->read_at_blocking(off, b);
  const auto held_before = h.services->prefetch_bytes_held();
  REQUIRE(held_before > 0);
  const auto wasted_before = h.counters->get(counter::prefetch_wasted_bytes);
  for (std::uint64_t off = 1500 * 4096; off < 1506 * 4096; off += 4096)
    file->read_at_blocking(off, b);
  std::this_thread::sleep_for(io_detail::prefetch_planner::idle_time +
                              std::chrono::milliseconds(50));
  for (std::uint64_t off = 1506 * 4096; off < 1600 * 4096; off += 4096)
    file->read_at_blocking(off, b);
  REQUIRE(h.counters->get(counter::prefetch_wasted_bytes) > wasted_before);
  REQUIRE(h.services->prefetch_bytes_held() <= h.services->options().prefetch_memory_budget);
  file->close();
  // Prefetch still in flight at close finishes in the background and then returns its lease.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (h.services->prefetch_bytes_held() != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(h.services->prefetch_bytes_held() == 0);
}

TEST_CASE("every prefetched byte is counted once: used or wasted, never both") {
  // Four threads take one block each from one cursor (kernel readahead: parallel reads, slightly
  // out of order) from a slow store, and now and then jump far ahead: a thread's read moves the
  // stream past blocks another thread still waits for, which drops them from the map. Such a
  // block is used, not wasted: issued == used + wasted once the file is closed and every fetch
  // has ended (the old accounting counted it as both).
  reader_harness h(no_tiers());
  const auto source = test::random_bytes(1000 * 4096, 21);
  h.store->set_object("a", source);
  h.store->set_failure_hook([](std::string_view operation, const std::string&) {
    if (operation == "read_range") std::this_thread::sleep_for(std::chrono::microseconds(300));
  });
  auto file = h.open("a");
  std::atomic<std::uint64_t> cursor{0};
  std::atomic<int> mismatches{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      std::vector<std::byte> b(4096);
      for (int i = 0;; ++i) {
        std::uint64_t off = cursor.fetch_add(b.size());
        if (i % 23 == 22 && t == 0) off = cursor.fetch_add(40 * 4096);  // a far seek
        if (off + b.size() > source.size()) return;
        if (file->read_at_blocking(off, b) != b.size() ||
            !std::equal(b.begin(), b.end(), source.begin() + static_cast<std::ptrdiff_t>(off))) {
          ++mismatches;
        }
      }
    });
  }
  for (auto& r : readers) r.join();
  REQUIRE(mismatches == 0);
  file->close();
  file.reset();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (h.services->prefetch_bytes_held() != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(h.services->prefetch_bytes_held() == 0);
  const auto issued = h.counters->get(counter::prefetch_issued_bytes);
  REQUIRE(issued > 100 * 4096);
  REQUIRE(h.counters->get(counter::prefetch_used_bytes) +
              h.counters->get(counter::prefetch_wasted_bytes) ==
          issued);
}

TEST_CASE("a block that arrives unwanted returns its budget at once, not at the next read") {
  // Blocks still loading stay mapped (a second read of one waits for it); once one lands and no
  // stream wants it any more, it is let go there and then: an idle file must not keep the
  // budget every open file shares until it is read again.
  auto options = reader_options::from_settings(no_tiers());
  options.max_streams = 1;  // a far seek replaces the stream: its window is unwanted at once
  reader_harness h(no_tiers(), options);
  const auto source = test::random_bytes(2000 * 4096, 41);
  h.store->set_object("a", source);
  std::atomic<bool> slow{false};  // requests started while set take 300 ms
  std::atomic<int> slow_started{0};
  h.store->set_failure_hook([&](std::string_view operation, const std::string&) {
    if (operation == "read_range" && slow) {
      ++slow_started;
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
  });
  auto file = h.open("a");
  std::vector<std::byte> b(4096);
  for (std::uint64_t off = 0; off < 19 * 4096; off += 4096) file->read_at_blocking(off, b);
  slow = true;  // the window's next request is slow: still loading when the reader leaves
  file->read_at_blocking(19 * 4096, b);  // moves the window: one more block is requested
  const auto started_by = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (slow_started == 0 && std::chrono::steady_clock::now() < started_by)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(slow_started >= 1);
  slow = false;
  REQUIRE(h.services->prefetch_bytes_held() > 0);
  REQUIRE(file->read_at_blocking(1500 * 4096, b) == b.size());  // far away: a new stream
  REQUIRE(std::equal(b.begin(), b.end(), source.begin() + 1500 * 4096));
  // No more reads. The old window's last request lands and gives its budget back.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (h.services->prefetch_bytes_held() != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(h.services->prefetch_bytes_held() == 0);
  REQUIRE(h.counters->get(counter::prefetch_wasted_bytes) > 0);
}

TEST_CASE("the prefetch memory budget is shared by all files and never exceeded") {
  reader_options options = reader_options::from_settings(no_tiers());
  options.prefetch_memory_budget = 6 * 4096;
  reader_harness h(no_tiers(), options);
  std::vector<std::vector<std::byte>> sources;
  std::vector<std::shared_ptr<readable_file>> files;
  for (int i = 0; i < 4; ++i) {
    sources.push_back(test::random_bytes(60 * 4096, 10 + i));
    h.store->set_object("f" + std::to_string(i), sources.back());
    files.push_back(h.open("f" + std::to_string(i)));
  }
  std::vector<std::byte> b(4096);
  for (std::uint64_t off = 0; off < 60 * 4096; off += 4096) {
    for (std::size_t i = 0; i < files.size(); ++i) {
      REQUIRE(files[i]->read_at_blocking(off, b) == 4096);
      REQUIRE(
          std::equal(b.begin(), b.end(), sources[i].begin() + static_cast<std::ptrdiff_t>(off)));
      REQUIRE(h.services->prefetch_bytes_held() <= options.prefetch_memory_budget);
    }
  }
  REQUIRE(h.counters->get(counter::prefetch_issued_bytes) > 0);
}

TEST_CASE("a changed object fails with errc::changed - a new open sees the new bytes") {
  reader_harness h(no_tiers());
  const auto v1 = test::random_bytes(10 * 4096, 1);
  const auto v2 = test::random_bytes(10 * 4096, 2);
  h.store->set_object("a", v1);
  auto file = h.open("a");
  std::vector<std::byte> b(100);
  REQUIRE(file->read_at_blocking(0, b) == 100);
  h.store->set_object("a", v2);
  try {
    file->read_at_blocking(8 * 4096, b);
    FAIL("read of a changed object succeeded");
  } catch (const error& e) {
    REQUIRE(e.code() == errc::changed);
  }
  auto fresh = h.open("a");
  REQUIRE(fresh->read_at_blocking(8 * 4096, b) == 100);
  REQUIRE(std::equal(b.begin(), b.end(), v2.begin() + 8 * 4096));
}

TEST_CASE("a failed request fails that read only - the next read retries the block") {
  reader_harness h(no_tiers());
  const auto source = test::random_bytes(10 * 4096, 4);
  h.store->set_object("a", source);
  auto file = h.open("a");
  std::atomic<int> failures_left{1};
  h.store->set_failure_hook([&](std::string_view op, const std::string&) {
    if (op == "read_range" && failures_left-- > 0)
      throw_error(errc::transient_exhausted, "injected");
  });
  std::vector<std::byte> b(100);
  REQUIRE_THROWS_AS(file->read_at_blocking(0, b), error);
  REQUIRE(file->read_at_blocking(0, b) == 100);
  REQUIRE(std::equal(b.begin(), b.end(), source.begin()));
}

TEST_CASE("RAM tier: a second open of the same version hits memory, no storage request") {
  auto s = test::small_block_settings();
  s.block_file_cache_enabled = false;
  reader_harness h(s);
  const auto source = test::random_bytes(20 * 4096, 5);
  h.store->set_object("a", source);
  std::vector<std::byte> all(source.size());
  REQUIRE(h.open("a")->read_at_blocking(0, all) == all.size());
  h.store->reset_counters();
  REQUIRE(h.open("a")->read_at_blocking(0, all) == all.size());
  REQUIRE(all == source);
  REQUIRE(h.store->read_calls() == 0);
  REQUIRE(h.counters->get(counter::cache_hits_memory) >= 20);
}

TEST_CASE("disk tier survives a restart - whole-file mode reads locally after open") {
  auto s = test::small_block_settings();
  s.memory_cache_size = 0;
  reader_harness h(s);
  const auto source = test::random_bytes(20 * 4096, 6);
  h.store->set_object("a", source);
  std::vector<std::byte> all(source.size());
  REQUIRE(h.open("a")->read_at_blocking(0, all) == all.size());
  h.services->disk()->flush();
  h.restart(s);
  h.store->reset_counters();
  REQUIRE(h.open("a")->read_at_blocking(0, all) == all.size());
  REQUIRE(all == source);
  REQUIRE(h.store->read_calls() == 0);

  auto whole = s;
  whole.block_based_cache_enabled = false;
  h.restart(whole);
  auto f = h.open("a");
  REQUIRE(f->is_whole_file());
  h.store->reset_counters();
  std::fill(all.begin(), all.end(), std::byte{0});
  REQUIRE(f->read_at_blocking(0, all) == all.size());
  REQUIRE(all == source);
  REQUIRE(h.store->read_calls() == 0);
}

TEST_CASE("presets: names round-trip and explicit settings override the preset") {
  for (preset p : all_presets()) REQUIRE(parse_preset(to_string(p)) == p);
  REQUIRE(parse_preset("LARGE_RANDOM") == preset::large_random);
  REQUIRE_FALSE(parse_preset("fast"));
  auto env = [](std::map<std::string, std::string> values) {
    return [values](std::string_view name) -> std::optional<std::string> {
      auto it = values.find(std::string(name));
      if (it == values.end()) return std::nullopt;
      return it->second;
    };
  };
  auto seq = settings_with_preset(preset::large_sequential, env({}));
  REQUIRE(seq.read_buffer_block_count == 80);
  REQUIRE(seq.memory_cache_size == 0);
  REQUIRE_FALSE(seq.block_file_cache_enabled);
  auto overridden = settings_with_preset(preset::large_sequential,
                                         env({{"DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT", "12"}}));
  REQUIRE(overridden.read_buffer_block_count == 12);
  REQUIRE(settings_from_environment_with_preset(env({{"DATAPORT_PRESET", "large-random"}}))
              .block_based_cache_enabled == false);
  REQUIRE_THROWS_AS(settings_from_environment_with_preset(env({{"DATAPORT_PRESET", "nope"}})),
                    error);
  auto epochs = settings_with_preset(preset::small_files_epochs, env({}));
  REQUIRE((epochs.block_file_cache_enabled && epochs.memory_cache_size > 0));
}
