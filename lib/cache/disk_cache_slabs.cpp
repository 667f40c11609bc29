// Blocks of the disk tier, kept in slab files (layout in detail/block_slabs.hpp): one file per
// slot capacity, a block written into a free slot with one O_DIRECT pwritev, an evicted block's
// slot punched back into a hole and reused. One file per block (until stop 16) cost an inode
// allocation, a rename and a shard folder per block, and with them a quarter of the mount
// daemon's CPU time on this VM's ext4; here a block costs its write and its CRC.
//
// Safety without temp files: a slot is indexed only once its write returned; a reader pins the
// slot (slot_readers), so a slot evicted while being read is freed only afterwards; every hit is
// checked against the header (key hash, ETag, length) and the CRC of its bytes, so a slot torn by
// a crash, overwritten by hand or punched is a miss, never wrong bytes. A slab that cannot be
// opened or is not a regular file (replaced by a link or a FIFO) is "lost": its blocks are
// forgotten and the next write creates a new file (O_EXCL, O_NOFOLLOW, mode 0600).
#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <fmt/format.h>

#include "cache/detail/block_slabs.hpp"
#include "cache/detail/cache_file_format.hpp"
#include "cache/detail/disk_cache_impl.hpp"
#include "cache/detail/disk_io.hpp"
#include "dataport/block_memory.hpp"
#include "dataport/log.hpp"

namespace dataport {

namespace fs = std::filesystem;
using namespace cache_detail;

std::optional<std::uint64_t> cache_detail::parse_slab_file_name(std::string_view name) {
  constexpr std::string_view suffix = ".slab";
  if (name.size() <= suffix.size() || !name.ends_with(suffix)) return std::nullopt;
  const auto digits = name.substr(0, name.size() - suffix.size());
  std::uint64_t capacity = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), capacity);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  if (capacity < smallest_slot_capacity || !std::has_single_bit(capacity)) return std::nullopt;
  if (slab_file_name(capacity) != name) return std::nullopt;  // no leading zeros
  return capacity;
}

namespace {

std::string block_hash_text(const block_key& key) {
  return "block\n" + key.to_string();
}

void set_nonblocking(int fd, bool on) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK));
}

bool punch(int fd, std::uint64_t offset, std::uint64_t length) {
  return ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                     static_cast<off_t>(length)) == 0;
}

// The slot's header if it is a block of `capacity`, else nullopt.
std::optional<file_header> read_slot_header(int fd, std::uint64_t offset, std::uint64_t capacity) {
  auto page = std::make_unique<aligned_page>();
  if (read_full(fd, std::span<std::byte>(page->bytes), offset) != direct_alignment) {
    return std::nullopt;
  }
  auto header = decode_header(std::span<const std::byte>(page->bytes));
  if (!header || header->header_size != slot_header_size || header->length > capacity) {
    return std::nullopt;
  }
  return header;
}

}  // namespace

disk_cache::impl::slab_file::~slab_file() {
  if (fd >= 0) ::close(fd);
}

fs::path disk_cache::impl::slab_path(std::uint64_t capacity) const {
  return directory / "v1" / "slabs" / slab_file_name(capacity);
}

void disk_cache::impl::scan_slabs() {
  const fs::path base = directory / "v1" / "slabs";
  std::error_code ec;
  for (fs::directory_iterator it(base, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path p = it->path();
    const auto capacity = parse_slab_file_name(p.filename().string());
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) continue;
    if (!capacity || !S_ISREG(st.st_mode)) {
      std::error_code ignored;     // what cannot be removed is never used either
      fs::remove_all(p, ignored);  // not ours, a link, a FIFO or a folder: never followed
      continue;
    }
    const int fd = ::open(p.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue;
    const std::uint64_t stride = slot_stride(*capacity);
    const auto size = static_cast<std::uint64_t>(st.st_size);
    auto& s = slabs[*capacity];
    s.identity = {st.st_dev, st.st_ino};
    std::vector<bool> used_slots((size + stride - 1) / stride, false);
    // Only slots with data: SEEK_DATA skips the holes of free slots.
    for (off_t at = ::lseek(fd, 0, SEEK_DATA); at >= 0 && static_cast<std::uint64_t>(at) < size;) {
      const std::uint64_t slot = static_cast<std::uint64_t>(at) / stride;
      const auto header = read_slot_header(fd, slot * stride, *capacity);
      const std::string hex = header ? to_hex(header->hash) : std::string();
      if (header && entries.count(hex) == 0) {
        used_slots[slot] = true;
        add_entry(hex, slot_usage(header->length), false, 0, {*capacity, slot, s.generation});
      } else {
        punch(fd, slot * stride, stride);  // torn, foreign or a duplicate: free it
      }
      at = ::lseek(fd, static_cast<off_t>((slot + 1) * stride), SEEK_DATA);
    }
    // Free slots at the end are cut off; the others are reused first, lowest first.
    std::uint64_t count = used_slots.size();
    while (count > 0 && !used_slots[count - 1]) --count;
    if (count * stride < size && ::ftruncate(fd, static_cast<off_t>(count * stride)) != 0) {
      count = used_slots.size();  // keep them as free slots
    }
    s.slot_count = count;
    for (std::uint64_t i = count; i-- > 0;) {
      if (!used_slots[i]) s.free_slots.push_back(i);
    }
    ::close(fd);
  }
}

std::shared_ptr<disk_cache::impl::slab_file> disk_cache::impl::writable_slab(std::uint64_t capacity,
                                                                             bool may_recreate) {
  auto& s = slabs[capacity];
  if (s.file) return s.file;
  const fs::path path = slab_path(capacity);
  const auto open_slab = [&](int extra) {
    auto file = std::make_shared<slab_file>();
    file->fd = ::open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_DIRECT | extra, 0600);
    file->direct = file->fd >= 0;
    if (file->fd < 0 && errno == EINVAL) {  // a file system without O_DIRECT
      file->fd = ::open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC | extra, 0600);
    }
    return file;
  };
  // A slab with slots was found by the scan at start; it is opened as it is. One that is gone or
  // replaced since (a link, a FIFO) is lost, and like a slab never written it is created anew,
  // with O_EXCL after removing whatever sits at its name.
  std::shared_ptr<slab_file> file;
  if (s.slot_count > 0) {
    file = open_slab(O_NONBLOCK);
    struct stat st {};
    if (file->fd >= 0 && (::fstat(file->fd, &st) != 0 || !S_ISREG(st.st_mode))) file.reset();
    if (file && file->fd >= 0) {
      set_nonblocking(file->fd, false);
    } else if (may_recreate) {
      lose_slab(capacity);
    } else {
      return {};
    }
  }
  if (s.slot_count == 0) {
    ensure_real_folder(path.parent_path());
    std::error_code ignored;  // the O_EXCL open reports what matters
    if (struct stat st{}; ::lstat(path.c_str(), &st) == 0) fs::remove_all(path, ignored);
    file = open_slab(O_CREAT | O_EXCL);
  }
  if (!file || file->fd < 0) {
    log::debug("cache", "cannot open the slab {}: {}", path.string(), std::strerror(errno));
    return {};
  }
  ::fchmod(file->fd, 0600);
  if (struct stat st{}; ::fstat(file->fd, &st) == 0) s.identity = {st.st_dev, st.st_ino};
  s.file = file;
  return file;
}

std::optional<disk_cache::impl::slot_id> disk_cache::impl::allocate_slot(std::uint64_t capacity) {
  if (!writable_slab(capacity, true)) return std::nullopt;
  auto& s = slabs[capacity];
  std::uint64_t index;
  if (!s.free_slots.empty()) {
    index = s.free_slots.back();
    s.free_slots.pop_back();
  } else {
    index = s.slot_count++;
  }
  return slot_id{capacity, index, s.generation};
}

void disk_cache::impl::release_slot(const slot_id& slot) {
  if (slot_readers.count(slot) != 0) {
    free_after_read.insert(slot);
    return;
  }
  auto& s = slabs[slot.capacity];
  if (slot.generation != s.generation) return;  // a slot of a lost file
  const auto file = writable_slab(slot.capacity, false);
  if (!file) return;  // gone: the next write finds out and starts the slab anew
  const std::uint64_t stride = slot_stride(slot.capacity);
  if (!punch(file->fd, slot.index * stride, stride)) {
    if (!holes_unsupported) {
      log::warn("cache",
                "the cache folder's file system cannot punch holes ({}); blocks are no longer "
                "written to the disk tier (set DATAPORT_CACHE_DIR to an ext4, xfs or tmpfs folder)",
                std::strerror(errno));
    }
    holes_unsupported = true;
  }
  s.free_slots.push_back(slot.index);
}

void disk_cache::impl::end_read(const slot_id& slot) {
  auto it = slot_readers.find(slot);
  if (it == slot_readers.end() || --it->second > 0) return;
  slot_readers.erase(it);
  if (free_after_read.erase(slot) != 0) release_slot(slot);
}

void disk_cache::impl::lose_slab(std::uint64_t capacity) {
  for (auto it = entries.begin(); it != entries.end();) {
    if (!it->second.whole_file && it->second.slot.capacity == capacity) {
      used -= it->second.size;
      lru.erase(it->second.lru_position);
      it = entries.erase(it);
    } else {
      ++it;
    }
  }
  auto& s = slabs[capacity];
  const std::uint64_t generation = s.generation + 1;
  s = slab{};
  s.generation = generation;
  log::debug("cache", "slab {} is missing or replaced; its blocks are forgotten",
             slab_file_name(capacity));
}

block_data disk_cache::get_block(const block_key& key) {
  auto& s = *impl_;
  const key_hash hash = hash_key(block_hash_text(key));
  const std::string hex = to_hex(hash);
  impl::slot_id slot;
  std::pair<dev_t, ino_t> identity;
  {
    std::lock_guard lock(s.mutex);
    auto* entry = s.lookup(hex);
    if (!entry) return {};
    slot = entry->slot;
    identity = s.slabs[slot.capacity].identity;
    ++s.slot_readers[slot];
  }
  if (s.options.before_block_read) s.options.before_block_read(key);
  const std::uint64_t offset = slot.index * slot_stride(slot.capacity);
  bool lost = false;
  block_data result;
  // Opened per read (not shared with the writers): a slab replaced on disk is seen at once.
  const int fd = ::open(s.slab_path(slot.capacity).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      std::pair(st.st_dev, st.st_ino) != identity) {
    lost = true;  // gone, a link, a FIFO, or another file put in its place
  } else {
    const bool direct = set_direct(fd, true);
    const auto header = read_slot_header(fd, offset, slot.capacity);
    if (header && header->hash == hash && header->etag == key.etag) {
      auto data = std::make_shared<block_bytes>(static_cast<std::size_t>(header->length));
      const bool aligned = reinterpret_cast<std::uintptr_t>(data->data()) % direct_alignment == 0;
      bool read = false;
      if (direct && aligned) {
        read = read_direct(fd, *data, offset + slot_header_size);
      } else if (set_direct(fd, false)) {
        read = read_full(fd, *data, offset + slot_header_size) == data->size();
      }
      if (read && crc32c(*data) == header->data_crc) result = std::move(data);
    }
  }
  if (fd >= 0) ::close(fd);
  std::lock_guard lock(s.mutex);
  s.end_read(slot);
  if (!result) {
    log::debug("cache", "disk block {} is missing or invalid; removed", hex.substr(0, 12));
    const auto slab = s.slabs.find(slot.capacity);
    if (lost && slab != s.slabs.end() && slab->second.generation == slot.generation) {
      s.lose_slab(slot.capacity);
    } else if (auto it = s.entries.find(hex); it != s.entries.end() && it->second.slot == slot) {
      s.remove_entry(hex, false);
    }
    s.count(counter::cache_misses_disk);
    return {};
  }
  s.count(counter::cache_hits_disk);
  return result;
}

bool disk_cache::impl::write_block(const block_key& key, std::span<const std::byte> data) {
  const key_hash hash = hash_key(block_hash_text(key));
  const std::string hex = to_hex(hash);
  const std::uint64_t capacity = slot_capacity(data.size());
  const std::uint64_t total = slot_usage(data.size());
  std::optional<slot_id> slot;
  std::shared_ptr<slab_file> file;
  {
    std::lock_guard guard(mutex);
    if (entries.count(hex) != 0) return true;
    if (holes_unsupported || !reserve(total)) return false;
    slot = allocate_slot(capacity);
    if (!slot) {
      in_flight -= total;
      return false;
    }
    file = slabs[capacity].file;
  }
  // Summed once the write is sure to happen (a full disk or a cached block skips it).
  const auto header = encode_header({hash, key.etag, data.size(), crc32c(data), 0},
                                    static_cast<std::size_t>(slot_header_size));
  // One pwritev: the header page, then the bytes. With O_DIRECT the bytes go from the block's
  // memory to the disk without a page-cache copy when they are page-aligned (every block from the
  // network: block_memory); others are copied into aligned pages first. The last partial page is
  // zero-padded (O_DIRECT writes whole pages).
  auto head = std::make_unique<aligned_page>();
  std::memcpy(head->bytes, header.data(), direct_alignment);
  std::array<iovec, 3> iov{};
  int count = 0;
  iov[count++] = {head->bytes, direct_alignment};
  std::unique_ptr<aligned_page[]> copy;
  std::unique_ptr<aligned_page> last;
  if (!file->direct) {
    if (!data.empty()) iov[count++] = {const_cast<std::byte*>(data.data()), data.size()};
  } else if (reinterpret_cast<std::uintptr_t>(data.data()) % direct_alignment == 0) {
    const std::size_t body = data.size() / direct_alignment * direct_alignment;
    const std::size_t tail = data.size() - body;
    if (body > 0) iov[count++] = {const_cast<std::byte*>(data.data()), body};
    if (tail > 0) {
      last = std::make_unique<aligned_page>();
      std::memcpy(last->bytes, data.data() + body, tail);
      std::memset(last->bytes + tail, 0, direct_alignment - tail);
      iov[count++] = {last->bytes, direct_alignment};
    }
  } else if (!data.empty()) {
    const std::size_t pages = static_cast<std::size_t>(whole_pages(data.size()) / 4096);
    copy = std::make_unique<aligned_page[]>(pages);
    auto* pages_bytes = reinterpret_cast<std::byte*>(copy.get());  // the pages, contiguous
    std::memcpy(pages_bytes, data.data(), data.size());
    std::memset(pages_bytes + data.size(), 0, pages * direct_alignment - data.size());
    iov[count++] = {pages_bytes, pages * direct_alignment};
  }
  bool written = false;
  {
    std::lock_guard one_writer(file->write_mutex);
    written = pwritev_all(file->fd, iov.data(), count, slot->index * slot_stride(capacity));
  }
  std::lock_guard guard(mutex);
  in_flight -= total;
  if (slabs[capacity].generation != slot->generation) return false;  // lost meanwhile
  if (!written) {
    release_slot(*slot);  // ENOSPC or another I/O error: the block just misses
    return false;
  }
  if (entries.count(hex) != 0) {  // the same block, written by another writer meanwhile
    release_slot(*slot);
    return true;
  }
  add_entry(hex, total, false, 0, *slot);
  return true;
}

}  // namespace dataport
