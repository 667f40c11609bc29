// Page-aligned, huge-page-advised mappings for block buffers (dataport/block_memory.hpp).
#include "dataport/block_memory.hpp"

#include <sys/mman.h>

#include <cstdint>

namespace dataport::block_memory {
namespace {

constexpr std::size_t page = 4096;
constexpr std::size_t huge_page = 2u << 20;
constexpr std::size_t huge_threshold = 1u << 20;

std::size_t round_up(std::size_t n, std::size_t to) {
  return (n + to - 1) / to * to;
}

// The length actually mapped for a request of n bytes (n ≥ page_threshold).
std::size_t mapped_length(std::size_t n) {
  return round_up(n, n >= huge_threshold ? huge_page : page);
}

}  // namespace

void* allocate(std::size_t n) {
  if (n < page_threshold) return ::operator new(n);
  const std::size_t length = mapped_length(n);
  if (n < huge_threshold) {
    void* p = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    return p;
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
  if (end > aligned + length)
    ::munmap(reinterpret_cast<void*>(aligned + length), end - aligned - length);
  void* p = reinterpret_cast<void*>(aligned);
  ::madvise(p, length, MADV_HUGEPAGE);  // advice only: without THP the kernel uses small pages
  return p;
}

void deallocate(void* p, std::size_t n) noexcept {
  if (p == nullptr) return;
  if (n < page_threshold) {
    ::operator delete(p);
    return;
  }
  ::munmap(p, mapped_length(n));
}

}  // namespace dataport::block_memory
