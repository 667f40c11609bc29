// Block buffers (dataport/block_memory.hpp): huge-page-advised mappings kept for reuse, and
// page-aligned heap memory for mid-sized blocks.
#include "dataport/block_memory.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <mutex>
#include <vector>

namespace dataport::block_memory {
namespace {

constexpr std::size_t page = 4096;
constexpr std::size_t huge_page = 2u << 20;
constexpr std::size_t huge_threshold = 1u << 20;
// Freed huge mappings kept for the next block (a fresh one costs mmap, munmap and a page fault
// per huge page); beyond this many bytes they go back to the system.
constexpr std::size_t idle_limit = 64u << 20;

std::size_t round_up(std::size_t n, std::size_t to) {
  return (n + to - 1) / to * to;
}

struct idle_mappings {
  std::mutex mutex;
  std::vector<std::pair<void*, std::size_t>> free;  // (address, mapped length)
  std::size_t bytes = 0;
};

idle_mappings& idle() {
  static auto* mappings = new idle_mappings;  // never destroyed: blocks may be freed at exit
  return *mappings;
}

void* map_huge(std::size_t length) {
  {
    auto& pool = idle();
    std::lock_guard lock(pool.mutex);
    for (auto it = pool.free.rbegin(); it != pool.free.rend(); ++it) {
      if (it->second == length) {
        void* p = it->first;
        pool.bytes -= length;
        pool.free.erase(std::next(it).base());
        return p;
      }
    }
  }
  // Map one huge page more than needed and unmap the ends, so the buffer starts on a 2 MiB
  // boundary (a huge page can only back an aligned 2 MiB range).
  const std::size_t span = length + huge_page;
  void* raw = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = round_up(start, huge_page);
  if (aligned > start) ::munmap(raw, aligned - start);
  const std::uintptr_t end = start + span;
  if (end > aligned + length) {
    ::munmap(reinterpret_cast<void*>(aligned + length), end - aligned - length);
  }
  void* p = reinterpret_cast<void*>(aligned);
  ::madvise(p, length, MADV_HUGEPAGE);  // advice only: without THP the kernel uses small pages
  return p;
}

void unmap_huge(void* p, std::size_t length) noexcept {
  {
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
  if (n < huge_threshold) return ::operator new (n, std::align_val_t{page});
  return map_huge(round_up(n, huge_page));
}

void deallocate(void* p, std::size_t n) noexcept {
  if (p == nullptr) return;
  if (n < page_threshold) {
    ::operator delete(p);
  } else if (n < huge_threshold) {
    ::operator delete (p, std::align_val_t{page});
  } else {
    unmap_huge(p, round_up(n, huge_page));
  }
}

}  // namespace dataport::block_memory
