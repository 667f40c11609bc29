// Block buffers (dataport/block_memory.hpp): huge-page-advised mappings from 1 MiB, kept for
// reuse after they are freed; mid-sized buffers (64 KiB to 1 MiB) carved from huge-page arenas.
#include "dataport/block_memory.hpp"

#include <sys/mman.h>

#include <atomic>
#include <bit>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace dataport::block_memory {
namespace {

constexpr std::size_t huge_page = 2u << 20;
constexpr std::size_t huge_threshold = 1u << 20;
constexpr std::size_t mid_granule = 64u << 10;  // mid-sized buffers are mapped in these steps
// Freed mappings kept for the next block (a fresh one costs mmap, munmap and a page fault per
// page: profiles of many small files through the mount showed 8 % of the daemon's CPU in page
// faults of fresh 500 KiB blocks); beyond this many bytes they go back to the system.
constexpr std::size_t idle_limit = 64u << 20;

std::size_t round_up(std::size_t n, std::size_t to) {
  return (n + to - 1) / to * to;
}

// Set when the pool is destroyed (exit, or dlclose of the C library): blocks freed later are
// unmapped at once. Constant-initialised and trivially destructible, so it outlives the pool.
std::atomic<bool> pool_closed{false};

struct idle_mappings {
  std::mutex mutex;
  std::vector<std::pair<void*, std::size_t>> free;  // (address, mapped length), newest last
  // Arenas of mid-sized buffers: base address -> units in use (see map_mid).
  std::unordered_map<std::uintptr_t, std::uint32_t> arenas;
  std::size_t bytes = 0;  // idle: the free mappings and the arenas with no unit in use
  // The idle mappings go back to the system: a library loaded and unloaded in a loop must not
  // leave them behind (the C ABI's dlopen test). An arena still in use stays mapped; its
  // buffers unmap their own pages when freed.
  ~idle_mappings() {
    std::lock_guard lock(mutex);
    pool_closed.store(true);
    for (const auto& [p, length] : free) ::munmap(p, length);
    for (const auto& [base, used] : arenas) {
      if (used == 0) ::munmap(reinterpret_cast<void*>(base), huge_page);
    }
  }
};

idle_mappings& idle() {
  static idle_mappings pool;
  return pool;
}

/// An idle huge-page mapping of exactly `length` bytes, or nullptr.
std::pair<void*, std::size_t> take_idle(std::size_t length) {
  if (pool_closed.load()) return {nullptr, 0};
  auto& pool = idle();
  std::lock_guard lock(pool.mutex);
  auto take = [&](auto it) {
    const auto found = *it;
    pool.bytes -= found.second;
    pool.free.erase(std::next(it).base());
    return found;
  };
  for (auto it = pool.free.rbegin(); it != pool.free.rend(); ++it) {
    if (it->second == length) return take(it);
  }
  return {nullptr, 0};
}

// A fresh mapping is populated at once (MAP_POPULATE, MADV_POPULATE_WRITE): a block is written
// whole right after it is allocated, and one populate call costs far less than a page fault per
// page, each an exit to the hypervisor on this VM. Filling the 128 MB RAM tier with 500 KiB
// blocks took ~36,000 faults, about 0.4 of the mount daemon's 2.0 CPU s for 2000 small files
// (scratch A/B, alternated: 1.56-1.89 s populated, 2.00-2.24 s not).
void* map_or_throw(std::size_t length, int flags = MAP_POPULATE) {
  void* p =
      ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return p;
}

/// A fresh mapping of `length` bytes (a multiple of 2 MiB) starting on a 2 MiB boundary, advised
/// for transparent huge pages and populated.
void* map_huge_aligned(std::size_t length) {
  // Map one huge page more than needed and unmap the ends, so the buffer starts on a 2 MiB
  // boundary (a huge page can only back an aligned 2 MiB range).
  const std::size_t span = length + huge_page;
  void* raw = map_or_throw(span, 0);  // populated below, once its huge pages are advised
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = round_up(start, huge_page);
  if (aligned > start) ::munmap(raw, aligned - start);
  const std::uintptr_t end = start + span;
  if (end > aligned + length) {
    ::munmap(reinterpret_cast<void*>(aligned + length), end - aligned - length);
  }
  void* p = reinterpret_cast<void*>(aligned);
  ::madvise(p, length, MADV_HUGEPAGE);  // advice only: without THP the kernel uses small pages
#ifdef MADV_POPULATE_WRITE
  ::madvise(p, length, MADV_POPULATE_WRITE);  // Linux 5.14+; older kernels fault page by page
#endif
  return p;
}

// Mid-sized buffers (64 KiB to 1 MiB) are carved from arenas of one huge page: 32 units of
// 64 KiB, a buffer takes a run of units. With each buffer its own small-page mapping, the
// RAM tier's 128 MB of 500 KiB blocks spans 32,768 pages, and on this VM (nested paging) a TLB
// miss is costly enough that reading a block just received cost ~8 x more than reading one in
// huge pages (a CRC-32C of blocks received over loopback: 6 GB/s vs 50 GB/s, scratch
// micro-benchmark). A new buffer goes into the fullest arena it fits, so live buffers pack
// together and emptied arenas return to the system (or wait idle, within idle_limit).
constexpr std::size_t arena_units = huge_page / mid_granule;  // 32: one bit each in a mask
static_assert(arena_units == 32);

/// The first of `units` free units in a row in `used` (bit i = unit i in use), or -1.
int find_run(std::uint32_t used, unsigned units) {
  std::uint32_t run = ~used;  // bit i set: units i .. i + k are free, for k = 0 so far
  for (unsigned k = 1; k < units && run != 0; ++k) run &= ~used >> k;
  return run == 0 ? -1 : std::countr_zero(run);
}

std::uint32_t unit_mask(unsigned first, unsigned units) {
  const std::uint32_t ones = units >= 32 ? ~0u : (1u << units) - 1;
  return ones << first;
}

void* map_mid(std::size_t length) {
  const auto units = static_cast<unsigned>(length / mid_granule);
  if (!pool_closed.load()) {
    auto& pool = idle();
    for (int attempt = 0; attempt < 2; ++attempt) {
      {
        std::lock_guard lock(pool.mutex);
        std::uintptr_t best = 0;
        int best_at = -1;
        int best_fill = -1;
        for (const auto& [base, used] : pool.arenas) {
          const int fill = std::popcount(used);
          if (fill <= best_fill || fill + units > arena_units) continue;
          if (const int at = find_run(used, units); at >= 0) {
            best = base;
            best_at = at;
            best_fill = fill;
          }
        }
        if (best_at >= 0) {
          auto& used = pool.arenas[best];
          if (used == 0) pool.bytes -= huge_page;  // an idle arena is back in use
          used |= unit_mask(static_cast<unsigned>(best_at), units);
          return reinterpret_cast<void*>(best + static_cast<std::uintptr_t>(best_at) * mid_granule);
        }
      }
      if (attempt == 1) break;
      // No room: a new arena (mapped without the lock: populating 2 MiB takes a while), then
      // the search again (another thread may have freed room meanwhile; then it stays idle).
      void* fresh = map_huge_aligned(huge_page);
      std::lock_guard lock(pool.mutex);
      try {
        pool.arenas.emplace(reinterpret_cast<std::uintptr_t>(fresh), 0u);
        pool.bytes += huge_page;
      } catch (const std::bad_alloc&) {
        ::munmap(fresh, huge_page);
        throw;
      }
    }
  }
  return map_or_throw(length);  // after the pool closed (exit): a mapping of its own
}

/// Frees the units of a mid-sized buffer; an arena left empty waits idle or is unmapped.
void release_mid(void* p, std::size_t length) noexcept {
  const auto address = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t base = address / huge_page * huge_page;
  std::uintptr_t unmap_base = 0;
  if (!pool_closed.load()) {
    auto& pool = idle();
    std::lock_guard lock(pool.mutex);
    const auto found = pool.arenas.find(base);
    if (found != pool.arenas.end()) {
      found->second &= ~unit_mask(static_cast<unsigned>((address - base) / mid_granule),
                                  static_cast<unsigned>(length / mid_granule));
      if (found->second != 0) return;
      if (pool.bytes + huge_page <= idle_limit) {
        pool.bytes += huge_page;
        return;
      }
      pool.arenas.erase(found);
      unmap_base = base;
    }
  }
  if (unmap_base != 0) {
    ::munmap(reinterpret_cast<void*>(unmap_base), huge_page);
  } else {
    ::munmap(p, length);  // its own mapping, or the pool is gone: return just its pages
  }
}

void* map_huge(std::size_t length) {
  if (void* p = take_idle(length).first) return p;
  return map_huge_aligned(length);
}

void release(void* p, std::size_t length) noexcept {
  if (!pool_closed.load()) {
    auto& pool = idle();
    std::lock_guard lock(pool.mutex);
    if (pool.bytes + length <= idle_limit) {
      try {
        pool.free.emplace_back(p, length);
        pool.bytes += length;
        return;
      } catch (const std::bad_alloc&) {  // no room to remember it: unmap it
      }
    }
  }
  ::munmap(p, length);
}

}  // namespace

void* allocate(std::size_t n) {
  if (n < page_threshold) return ::operator new(n);
  if (n < huge_threshold) return map_mid(round_up(n, mid_granule));
  return map_huge(round_up(n, huge_page));
}

void deallocate(void* p, std::size_t n) noexcept {
  if (p == nullptr) return;
  if (n < page_threshold) {
    ::operator delete(p);
  } else if (n < huge_threshold) {
    release_mid(p, round_up(n, mid_granule));
  } else {
    release(p, round_up(n, huge_page));
  }
}

}  // namespace dataport::block_memory
