// Block buffers (dataport/block_memory.hpp): page-aligned mappings (huge-page-advised from
// 1 MiB) kept for reuse after they are freed.
#include "dataport/block_memory.hpp"

#include <sys/mman.h>

#include <atomic>
#include <cstdint>
#include <mutex>
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
  std::size_t bytes = 0;
  // The idle mappings go back to the system: a library loaded and unloaded in a loop must not
  // leave them behind (the C ABI's dlopen test).
  ~idle_mappings() {
    pool_closed.store(true);
    for (const auto& [p, length] : free) ::munmap(p, length);
  }
};

idle_mappings& idle() {
  static idle_mappings pool;
  return pool;
}

/// An idle mapping of exactly `length` bytes; for a mid-sized length, else the newest idle
/// mid-sized mapping of another length (resized by the caller). nullptr when there is none.
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
  if (length < huge_threshold) {
    for (auto it = pool.free.rbegin(); it != pool.free.rend(); ++it) {
      if (it->second < huge_threshold) return take(it);
    }
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

/// Mid-sized buffers (64 KiB to 1 MiB): page-aligned mappings in 64 KiB steps. An idle one of
/// another size is resized with mremap (its pages stay mapped; only growth faults).
void* map_mid(std::size_t length) {
  const auto [idle_p, idle_length] = take_idle(length);
  if (idle_p == nullptr) return map_or_throw(length);
  if (idle_length == length) return idle_p;
  void* p = ::mremap(idle_p, idle_length, length, MREMAP_MAYMOVE);
  if (p != MAP_FAILED) return p;
  ::munmap(idle_p, idle_length);
  return map_or_throw(length);
}

void* map_huge(std::size_t length) {
  if (void* p = take_idle(length).first) return p;
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
    release(p, round_up(n, mid_granule));
  } else {
    release(p, round_up(n, huge_page));
  }
}

}  // namespace dataport::block_memory
