// dataport::block_bytes — the memory that holds one block of a remote object.
//
// Blocks are large (DATASET_MOUNT_READ_BLOCK_SIZE, 2 MB by default), short-lived when a file is
// streamed once, and always written in full before anyone reads them. A std::vector<std::byte>
// would zero every byte on construction and, being above malloc's mmap threshold, fault in 512
// fresh 4 KiB pages per block: profiles of a sequential read through the mount showed a third of
// the daemon's CPU time there. block_allocator instead
//   - leaves elements uninitialised (a block is filled by the network or the disk before use),
//   - maps buffers of 1 MiB and more on 2 MiB boundaries and advises transparent huge pages
//     (madvise(MADV_HUGEPAGE): one page fault per 2 MiB where the kernel allows it),
//   - carves buffers of 64 KiB to 1 MiB, in 64 KiB units, out of arenas of one 2 MiB huge page
//     (a new buffer goes into the fullest arena it fits): the RAM tier's blocks then span a few
//     dozen huge pages instead of tens of thousands of small ones, and on a VM with nested
//     paging reading a just-received 500 KiB block cost ~8x more in small pages (TLB misses).
//     A live mid-sized buffer keeps its arena's 2 MiB mapped (the worst case of fragmentation:
//     one 64 KiB buffer per arena),
//   - keeps up to 64 MiB of freed mappings and empty arenas for reuse (process-wide),
// so every buffer of 64 KiB and more is page-aligned and the disk tier can write it with
// O_DIRECT (no copy into the page cache). Smaller buffers come from operator new.
//
// Thread-safety: any thread may allocate and free (the pool of idle mappings has a mutex).
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace dataport {

namespace block_memory {
/// At least `n` bytes, page-aligned when n >= page_threshold. Throws std::bad_alloc when the
/// system has no memory left.
void* allocate(std::size_t n);
/// Frees what allocate(n) returned (same `n`).
void deallocate(void* p, std::size_t n) noexcept;
/// Buffers of this many bytes or more are page-aligned.
inline constexpr std::size_t page_threshold = 64u << 10;
}  // namespace block_memory

/// Allocator for block buffers (see the file comment): page-aligned for large sizes, and
/// `construct(p)` without arguments default-initialises (no zero fill).
template <class T>
struct block_allocator {
  using value_type = T;

  block_allocator() noexcept = default;
  template <class U>
  block_allocator(const block_allocator<U>&) noexcept {}

  T* allocate(std::size_t n) { return static_cast<T*>(block_memory::allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { block_memory::deallocate(p, n * sizeof(T)); }

  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;  // default-initialisation: bytes are left as they are
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(static_cast<Args&&>(args)...);
  }

  template <class U>
  bool operator==(const block_allocator<U>&) const noexcept {
    return true;
  }
};

/// The bytes of one block. `block_bytes(n)` has size n with unspecified contents.
using block_bytes = std::vector<std::byte, block_allocator<std::byte>>;

}  // namespace dataport
