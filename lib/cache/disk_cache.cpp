// The disk tier (design in dataport/disk_cache.hpp). One index in memory (hash → size, pins or
// slab slot, LRU position) is the source of truth for the budget; it is rebuilt at start from a
// scan of the whole-file folder and of the slab headers. Contents are verified lazily, on every
// hit, so start-up stays O(entries).
#include "dataport/disk_cache.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <fmt/format.h>

#include "cache/detail/cache_file_format.hpp"
#include "cache/detail/disk_cache_impl.hpp"
#include "dataport/error.hpp"
#include "dataport/log.hpp"
#include "dataport/metrics.hpp"
#include "dataport/settings.hpp"

namespace dataport {

namespace fs = std::filesystem;
using namespace cache_detail;

namespace {

std::uint64_t statvfs_free(const fs::path& path) {
  struct statvfs info {};
  if (::statvfs(path.c_str(), &info) != 0) return 0;
  return static_cast<std::uint64_t>(info.f_bavail) * info.f_frsize;
}

// Creates `dir` 0700 when missing; refuses a symlink, a non-directory, a foreign owner or a
// world-writable folder (another user could plant files or links in it).
void ensure_private_dir(const fs::path& dir, bool create_parents) {
  if (create_parents && dir.has_parent_path()) {
    std::error_code ignored;  // the mkdir/lstat below reports the real problem
    fs::create_directories(dir.parent_path(), ignored);
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    throw_error(errc::io, fmt::format("cannot create cache folder {}: {}; set DATAPORT_CACHE_DIR "
                                      "to a writable folder",
                                      dir.string(), std::strerror(errno)));
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    throw_error(errc::io, fmt::format("cannot inspect cache folder {}: {}", dir.string(),
                                      std::strerror(errno)));
  }
  if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode)) {
    throw_error(errc::permission_denied,
                fmt::format("cache folder {} is a symbolic link or not a folder; remove it or set "
                            "DATAPORT_CACHE_DIR to another folder",
                            dir.string()));
  }
  if (st.st_uid != ::geteuid()) {
    throw_error(errc::permission_denied,
                fmt::format("cache folder {} belongs to another user (uid {}); use a folder you "
                            "own (DATAPORT_CACHE_DIR)",
                            dir.string(), st.st_uid));
  }
  if ((st.st_mode & S_IWOTH) != 0) {
    throw_error(errc::permission_denied,
                fmt::format("cache folder {} is world-writable; run chmod 700 on it or set "
                            "DATAPORT_CACHE_DIR to a private folder",
                            dir.string()));
  }
  if ((st.st_mode & 07777) != 0700) ::chmod(dir.c_str(), 0700);
}

int open_lock(const fs::path& file) {
  return ::open(file.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
}

bool try_lock(int fd) {
  return fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) == 0;
}

bool ends_with(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

fs::path default_cache_root() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg == '/') {
    return fs::path(xdg) / "dataport";
  }
  if (const char* home = std::getenv("HOME"); home && *home == '/') {
    return fs::path(home) / ".cache" / "dataport";
  }
  return fs::path(fmt::format("/tmp/dataport-cache-{}", ::geteuid()));
}

disk_cache_options disk_cache_options::from_settings(const settings& config) {
  disk_cache_options options;
  options.root = config.cache_dir.empty() ? default_cache_root() : fs::path(config.cache_dir);
  options.max_size = config.mount_cache_size;
  options.reserved_free_space = config.reserved_free_disk_space;
  options.prune_threshold = config.file_cache_prune_threshold;
  options.prune_target = config.file_cache_prune_target;
  options.max_queue_bytes = config.block_file_cache_max_queue_size;
  options.write_threads = std::max(1u, config.effective_block_file_cache_write_threads());
  return options;
}

// ---- impl: index and budget ------------------------------------------------------------------

disk_cache::impl::impl(disk_cache_options o, std::shared_ptr<metrics> c)
    : options(std::move(o)), counters(std::move(c)) {
  if (!options.free_space) options.free_space = statvfs_free;
}

void disk_cache::impl::count(counter c, std::uint64_t n) {
  if (counters) counters->add(c, n);
}

fs::path disk_cache::impl::file_path_of(const std::string& hex) const {
  return directory / "v1" / "files" / hex.substr(0, 2) / (hex + ".file");
}

void disk_cache::impl::touch(index_entry& e) {
  lru.splice(lru.begin(), lru, e.lru_position);
}

disk_cache::impl::index_entry* disk_cache::impl::lookup(const std::string& hex) {
  auto it = entries.find(hex);
  if (it == entries.end()) {
    count(counter::cache_misses_disk);
    return nullptr;
  }
  touch(it->second);
  return &it->second;
}

void disk_cache::impl::add_entry(const std::string& hex, std::uint64_t size, bool whole_file,
                                 int pins, slot_id slot) {
  if (auto it = entries.find(hex); it != entries.end()) {
    if (!it->second.whole_file) release_slot(it->second.slot);
    used -= it->second.size;
    lru.erase(it->second.lru_position);
    entries.erase(it);
  }
  lru.push_front(hex);
  entries.emplace(hex, index_entry{size, whole_file, pins, lru.begin(), slot});
  used += size;
}

void disk_cache::impl::remove_entry(const std::string& hex, bool count_eviction) {
  auto it = entries.find(hex);
  if (it == entries.end()) return;
  if (it->second.whole_file) {
    ::unlink(file_path_of(hex).c_str());
  } else {
    release_slot(it->second.slot);
  }
  used -= it->second.size;
  lru.erase(it->second.lru_position);
  entries.erase(it);
  if (count_eviction) count(counter::evictions);
}

bool disk_cache::impl::evict_one() {
  for (auto it = lru.rbegin(); it != lru.rend(); ++it) {
    if (entries.at(*it).pins == 0) {
      remove_entry(std::string(*it), true);
      return true;
    }
  }
  return false;
}

bool disk_cache::impl::reserve(std::uint64_t n) {
  const auto cap = options.max_size.value_or(0);
  if (cap > 0) {
    const auto ucap = static_cast<double>(cap);
    if (static_cast<double>(used + in_flight + n) > options.prune_threshold * ucap) {
      while (static_cast<double>(used + in_flight + n) > options.prune_target * ucap &&
             evict_one()) {
      }
    }
  }
  const std::uint64_t keep_free = std::max<std::uint64_t>(
      options.reserved_free_space, cap < 0 ? static_cast<std::uint64_t>(-cap) : 0);
  for (;;) {
    const bool cap_ok = cap <= 0 || used + in_flight + n <= static_cast<std::uint64_t>(cap);
    const std::uint64_t free = options.free_space(directory);
    const bool free_ok = free >= keep_free + in_flight + n;
    if (cap_ok && free_ok) {
      in_flight += n;
      return true;
    }
    if (!evict_one()) return false;
  }
}

void disk_cache::impl::scan() {
  struct found {  // a whole-file entry (blocks are in slabs: scan_slabs)
    std::string hex;
    std::uint64_t size;
    std::int64_t mtime;
  };
  std::vector<found> items;
  const fs::path base = directory / "v1" / "files";
  std::error_code ec;
  for (fs::recursive_directory_iterator it(base, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path p = it->path();
    const std::string name = p.filename().string();
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) continue;
    const bool ours = ends_with(name, ".file") && name.find('.') == 64;
    if (ends_with(name, ".tmp") || S_ISLNK(st.st_mode) || !S_ISREG(st.st_mode)) {
      ::unlink(p.c_str());  // a crash left it, or someone planted a link: never follow it
      continue;
    }
    if (!ours) continue;
    items.push_back({name.substr(0, 64), static_cast<std::uint64_t>(st.st_size),
                     static_cast<std::int64_t>(st.st_mtime)});
  }
  std::sort(items.begin(), items.end(),
            [](const found& a, const found& b) { return a.mtime < b.mtime; });
  for (const auto& item : items) add_entry(item.hex, item.size, true, 0, {});
  scan_slabs();
}

// ---- construction ----------------------------------------------------------------------------

disk_cache::disk_cache(disk_cache_options options, std::shared_ptr<metrics> counters)
    : impl_(std::make_shared<impl>(std::move(options), std::move(counters))) {
  auto& s = *impl_;
  const fs::path root = s.options.root;
  if (root.empty() || !root.is_absolute()) {
    throw_error(errc::invalid_argument,
                fmt::format("cache root '{}' must be an absolute path (DATAPORT_CACHE_DIR)",
                            root.string()));
  }
  ensure_private_dir(root, true);
  s.root_lock_fd = open_lock(root / "lock");
  if (try_lock(s.root_lock_fd)) {
    directory_ = root;
  } else {
    directory_ = root / fmt::format("private-{}", ::getpid());
    private_ = true;
    log::info("cache",
              "cache folder {} is in use by another process; using the private folder {} "
              "(removed at exit)",
              root.string(), directory_.string());
  }
  // Private folders whose owner is gone (its lock is free) are stale: remove them.
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("private-", 0) != 0 || it->path() == directory_) continue;
    if (it->is_symlink()) continue;
    const int fd = ::open((it->path() / "lock").c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 && try_lock(fd)) fs::remove_all(it->path(), ec);
    if (fd >= 0) ::close(fd);
  }
  if (private_) {
    ensure_private_dir(directory_, false);
    s.private_lock_fd = open_lock(directory_ / "lock");
    if (!try_lock(s.private_lock_fd)) {
      throw_error(errc::io, fmt::format("cannot lock the cache folder {}; set DATAPORT_CACHE_DIR "
                                        "to another folder",
                                        directory_.string()));
    }
  }
  s.directory = directory_;
  ensure_private_dir(directory_ / "v1", false);
  // Before stop 16 every block was a file under v1/blocks/<shard>/: that layout is gone.
  if (fs::exists(fs::symlink_status(directory_ / "v1" / "blocks"))) {
    log::info("cache", "removing block files of the older one-file-per-block layout in {}",
              (directory_ / "v1" / "blocks").string());
    fs::remove_all(directory_ / "v1" / "blocks", ec);
  }
  ensure_private_dir(directory_ / "v1" / "slabs", false);
  ensure_private_dir(directory_ / "v1" / "files", false);
  s.scan();
  for (unsigned i = 0; i < std::max(1u, s.options.write_threads); ++i) {
    s.writers.emplace_back([state = impl_] { state->writer_loop(); });
  }
}

disk_cache::~disk_cache() {
  {
    std::unique_lock lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->queue_changed.notify_all();
  for (auto& t : impl_->writers) t.join();
  if (private_) {
    std::error_code ignored;  // best effort: the next start removes it if this fails
    fs::remove_all(directory_, ignored);
  }
  if (impl_->private_lock_fd >= 0) ::close(impl_->private_lock_fd);
  if (impl_->root_lock_fd >= 0) ::close(impl_->root_lock_fd);
}

void disk_cache::set_max_size(std::optional<std::int64_t> max_size) {
  std::lock_guard lock(impl_->mutex);
  impl_->options.max_size = max_size;
  if (max_size && *max_size > 0) {
    while (impl_->used > static_cast<std::uint64_t>(*max_size) && impl_->evict_one()) {
    }
  }
}

std::uint64_t disk_cache::used_bytes() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->used;
}

std::size_t disk_cache::entry_count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->entries.size();
}

void disk_cache::clear() {
  std::lock_guard lock(impl_->mutex);
  while (impl_->evict_one()) {
  }
}

}  // namespace dataport
