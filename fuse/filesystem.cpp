// Shared helpers of the FUSE adapter: the inode table, attributes, errno mapping and the upload
// of staged files. Why an inode table of paths: blob storage has no inode numbers, so inodes are
// handed out per path while the kernel holds a lookup on them and recycled after forget.
#include "filesystem.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <future>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <fmt/format.h>

#include "dataport/attribute_cache.hpp"
#include "dataport/log.hpp"
#include "dataport/redact.hpp"

namespace dataport::fuse_adapter {

inode_table::inode_table() {
  by_ino_[FUSE_ROOT_ID] = node{"", 1};
  by_path_[""] = FUSE_ROOT_ID;
}

fuse_ino_t inode_table::acquire(const std::string& path) {
  std::lock_guard lock(mutex_);
  if (auto it = by_path_.find(path); it != by_path_.end()) {
    ++by_ino_[it->second].lookups;
    return it->second;
  }
  const fuse_ino_t ino = next_++;
  by_ino_[ino] = node{path, 1};
  by_path_[path] = ino;
  return ino;
}

std::optional<std::string> inode_table::path_of(fuse_ino_t ino) const {
  std::lock_guard lock(mutex_);
  auto it = by_ino_.find(ino);
  if (it == by_ino_.end()) return std::nullopt;
  return it->second.path;
}

void inode_table::forget(fuse_ino_t ino, std::uint64_t count) {
  if (ino == FUSE_ROOT_ID) return;
  std::lock_guard lock(mutex_);
  auto it = by_ino_.find(ino);
  if (it == by_ino_.end()) return;
  it->second.lookups = it->second.lookups > count ? it->second.lookups - count : 0;
  if (it->second.lookups == 0) {
    auto p = by_path_.find(it->second.path);
    if (p != by_path_.end() && p->second == ino) by_path_.erase(p);
    by_ino_.erase(it);
  }
}

void inode_table::rename(const std::string& from, const std::string& to) {
  std::lock_guard lock(mutex_);
  if (auto old = by_path_.find(to); old != by_path_.end()) by_path_.erase(old);
  std::vector<std::pair<std::string, fuse_ino_t>> moved;
  const std::string under = from + "/";
  for (auto& [path, ino] : by_path_) {
    if (path == from || path.starts_with(under)) moved.emplace_back(path, ino);
  }
  for (auto& [path, ino] : moved) {
    by_path_.erase(path);
    std::string renamed = to + path.substr(from.size());
    by_ino_[ino].path = renamed;
    by_path_[renamed] = ino;
  }
}

staged_file::~staged_file() {
  if (fd >= 0) ::close(fd);
}

bool valid_name(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.size() > 255) return false;
  return name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

std::string join_path(const std::string& dir, std::string_view name) {
  return dir.empty() ? std::string(name) : dir + "/" + std::string(name);
}

std::string parent_path(const std::string& rel) {
  const auto slash = rel.rfind('/');
  return slash == std::string::npos ? std::string() : rel.substr(0, slash);
}

std::string name_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string filesystem::store_path_of(const std::string& rel) const {
  if (single_file) return prefix;
  if (prefix.empty()) return rel;
  return rel.empty() ? prefix : prefix + "/" + rel;
}

struct stat filesystem::make_stat(
    fuse_ino_t ino, bool dir, std::uint64_t size,
    std::optional<std::chrono::system_clock::time_point> mtime) const {
  struct stat st {};
  st.st_ino = ino;
  st.st_mode =
      dir ? (S_IFDIR | (read_write ? 0755 : 0555)) : (S_IFREG | (read_write ? 0644 : 0444));
  st.st_nlink = dir ? 2 : 1;
  st.st_size = static_cast<off_t>(size);
  st.st_blocks = static_cast<blkcnt_t>((size + 511) / 512);
  st.st_blksize = 1 << 20;
  st.st_uid = uid;
  st.st_gid = gid;
  if (mtime) {
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(mtime->time_since_epoch()).count();
    st.st_mtim.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    st.st_mtim.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    st.st_ctim = st.st_mtim;
    st.st_atim = st.st_mtim;
  }
  return st;
}

std::shared_ptr<staged_file> filesystem::staged_of(const std::string& rel) {
  std::lock_guard lock(mutex);
  auto it = staged.find(rel);
  return it == staged.end() ? nullptr : it->second;
}

std::optional<struct stat> filesystem::attributes(const std::string& rel, fuse_ino_t ino) {
  if (rel.empty()) return make_stat(ino, true, 0, std::nullopt);
  if (single_file && rel != single_name) return std::nullopt;
  if (auto file = staged_of(rel)) {
    struct stat local {};
    std::lock_guard lock(file->mutex);
    if (::fstat(file->fd, &local) != 0) throw_error(errc::io, "cannot stat the staging file");
    return make_stat(ino, false, static_cast<std::uint64_t>(local.st_size),
                     std::chrono::system_clock::from_time_t(local.st_mtime));
  }
  {
    std::lock_guard lock(mutex);
    if (local_dirs.contains(rel)) return make_stat(ino, true, 0, std::nullopt);
  }
  try {
    const std::string path = store_path_of(rel);
    if (!single_file && !services->attributes().get(store_id, path)) prime_folder(parent_path(rel));
    const object_info info = ctx->run(services->attributes().stat(*store, path));
    if (!info.is_directory && !single_file && folder_shadows(path)) {
      return make_stat(ino, true, 0, std::nullopt);
    }
    return make_stat(ino, info.is_directory, info.size, info.last_modified);
  } catch (const error& e) {
    if (e.code() == errc::not_found) return std::nullopt;
    throw;
  }
}

void filesystem::seed(const object_info& info) {
  auto& cache = services->attributes();
  cache.put(store_id, info.path, info);
  if (!info.is_directory) cache.put(folder_check_id(), info.path, info);
}

void filesystem::prime_folder(const std::string& dir_rel) {
  // A program that opens files by name without listing their folder (a data loader with a file
  // list) would otherwise cost a stat and a folder check per file: two requests, and the folder
  // check is a listing, which Azurite answers slowly in a large container (2000 files read by 16
  // threads made Azurite spend 32 CPU s, 6 x what one listing per folder costs). So the second
  // lookup in a folder lists it (its first pages, up to ~5000 entries) and seeds the attribute
  // cache as readdir does; names beyond those, and absent names, still get their own stat.
  // Once per folder per attribute TTL; concurrent lookups wait for the one listing.
  // Not the first name looked up in a folder: a job that opens one big file in a folder of
  // 22,000 blobs waited 0.5 s for a 5,000-entry page (3 MB of XML; Azurite, single-threaded,
  // served no range meanwhile: ~25 % of a 1 GiB read through the mount) where a stat and a
  // one-entry folder check cost a few ms. A second name means a program working through the
  // folder: from then on, one listing.
  const std::string dir_path = store_path_of(dir_rel);
  auto& cache = services->attributes();
  const std::string primed_id = store_id + "\n#primed";
  const std::string seen_id = store_id + "\n#looked-up";
  std::lock_guard lock(prime_mutex);
  if (cache.get(primed_id, dir_path)) return;
  object_info marker;
  marker.path = dir_path;
  marker.is_directory = true;
  if (!cache.get(seen_id, dir_path)) {
    cache.put(seen_id, dir_path, marker);
    return;
  }
  list_options options;
  options.prefix = dir_path;
  options.quick_first_page = false;  // the bulk at once (see list_options)
  // Where a flat page is cheap (blob), the folder is primed from a flat listing: its sub-folders
  // are the first segments of deeper names. Azurite answers a one-level listing whose names fold
  // into a few sub-folders in time growing with the square of the blobs below (10.6 s to the
  // first scandir entry of a 100,000-blob folder under the root); a flat page costs the same
  // whatever lies below. It may hold fewer direct children than a one-level page would.
  options.recursive = store->capabilities().paged_flat_listing;
  auto pager = store->list(options);
  std::vector<object_info> entries;  // the first page(s): ~5000 entries
  bool complete = false;
  while (entries.size() < options.page_size) {
    auto page = ctx->run(pager->next_page());
    if (!page) {
      complete = true;
      break;
    }
    entries.insert(entries.end(), page->begin(), page->end());
  }
  const std::string last = entries.empty() ? std::string() : entries.back().path;
  const std::string below = dir_path.empty() ? std::string() : dir_path + "/";
  std::unordered_map<std::string, bool> kinds;  // name → is_directory, to spot blob/folder twins
  for (auto info : entries) {
    if (options.recursive) {
      const auto slash = info.path.find('/', below.size());
      if (slash != std::string::npos) {
        object_info dir;
        dir.path = info.path.substr(0, slash);
        dir.is_directory = true;
        info = std::move(dir);
      }
    }
    if (!valid_name(name_of(info.path))) continue;  // readdir hides and logs these
    const auto [it, inserted] = kinds.emplace(info.path, info.is_directory);
    if (!inserted) {
      if (it->second != info.is_directory) prefer_folder(info.path);
      continue;
    }
    // A flat page proves a file has no folder twin only if every "name/..." sorts inside it.
    const std::string twin = info.path + "/";
    if (options.recursive && !info.is_directory && !complete &&
        (last <= twin || last.starts_with(twin))) {
      cache.put(store_id, info.path, info);  // attributes only: the folder check stays open
      continue;
    }
    seed(info);
  }
  cache.put(primed_id, dir_path, marker);
}

std::string filesystem::folder_check_id() const {
  return store_id + "\n#folder-check";
}

bool filesystem::folder_shadows(const std::string& store_path) {
  // A blob "x" and blobs under "x/" can both exist; a folder and a file cannot share a name in a
  // POSIX tree, so the folder wins. Listings record the answer; a name looked up before its
  // parent was listed costs one listing request here, remembered for the attribute TTL.
  auto& cache = services->attributes();
  if (auto known = cache.get(folder_check_id(), store_path); known && *known) {
    return (*known)->is_directory;
  }
  const bool folder = ctx->run(has_entries(*store, store_path));
  if (folder) {
    prefer_folder(store_path);
  } else {
    object_info file;
    file.path = store_path;
    cache.put(folder_check_id(), store_path, file);
  }
  return folder;
}

void filesystem::prefer_folder(const std::string& store_path) {
  object_info dir;
  dir.path = store_path;
  dir.is_directory = true;
  services->attributes().put(store_id, store_path, dir);
  services->attributes().put(folder_check_id(), store_path, dir);
  log_once(
      "shadowed\n" + store_path,
      fmt::format("blob '{}' in {} is hidden: a folder has the same name", store_path, source));
}

void filesystem::log_once(const std::string& key, const std::string& message) {
  {
    std::lock_guard lock(mutex);
    if (!logged.insert(key).second) return;
  }
  log::warn("mount", "{}", redact_text(message));
}

void filesystem::invalidate(const std::string& rel) {
  auto& cache = services->attributes();
  const std::string checks = folder_check_id();
  cache.invalidate(store_id, store_path_of(rel));
  cache.invalidate(checks, store_path_of(rel));
  for (std::string dir = parent_path(rel);; dir = parent_path(dir)) {
    cache.invalidate(store_id, store_path_of(dir));
    cache.invalidate(checks, store_path_of(dir));
    if (dir.empty()) break;
  }
}

int filesystem::errno_of(std::exception_ptr failure, const std::string& rel,
                         std::string_view what) {
  int code = EIO;
  std::string message;
  try {
    std::rethrow_exception(failure);
  } catch (const error& e) {
    switch (e.code()) {
      case errc::not_found:
        code = ENOENT;
        break;
      case errc::changed:
        code = ESTALE;
        break;
      case errc::permission_denied:
      case errc::authentication_failed:
        code = EACCES;
        break;
      case errc::already_exists:
        code = EEXIST;
        break;
      case errc::no_space:
        code = ENOSPC;
        break;
      case errc::unsupported:
        code = ENOTSUP;
        break;
      default:
        code = EIO;
        break;
    }
    message = e.what();
  } catch (const std::exception& e) {
    message = e.what();
  } catch (...) {
    message = "unknown failure";
  }
  bool first = false;
  {
    std::lock_guard lock(mutex);
    first = logged.insert(fmt::format("{}\n{}", code, rel)).second;
  }
  if (first && code != ENOENT) {
    log::warn("mount", "{} '{}' in {}: {} (reported as errno {})", what, rel, source,
              redact_text(message), code);
  }
  return code;
}

void filesystem::upload(const std::string& rel, staged_file& file) {
  // Caller holds file.mutex. Blocks go up in parallel; the commit makes them the blob at once, so
  // a failure anywhere leaves the remote object as it was.
  if (file.write_error != 0) {
    throw_error(errc::io, fmt::format("a write to the staging file {} failed (errno {}): the file "
                                      "is incomplete and is not uploaded",
                                      file.staging_path, file.write_error));
  }
  struct stat local {};
  if (::fstat(file.fd, &local) != 0)
    throw_error(errc::io, "cannot stat the staging file " + file.staging_path);
  const auto size = static_cast<std::uint64_t>(local.st_size);
  const std::string target = store_path_of(rel);
  const std::uint64_t block = std::max<std::uint64_t>(ctx->config().chunk_size, 1 << 20);
  auto read_part = [&](std::uint64_t offset, std::size_t length) {
    std::vector<std::byte> data(length);
    std::size_t done = 0;
    while (done < length) {
      const ssize_t n =
          ::pread(file.fd, data.data() + done, length - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw_error(errc::io, "cannot read the staging file " + file.staging_path);
      done += static_cast<std::size_t>(n);
    }
    return data;
  };
  if (size <= block || !store->capabilities().block_upload) {
    const std::vector<std::byte> data = read_part(0, static_cast<std::size_t>(size));
    ctx->run(store->put(target, std::span<const std::byte>(data), put_options{}));
  } else {
    std::vector<std::string> ids;
    constexpr std::size_t parallel = 4;
    for (std::uint64_t offset = 0; offset < size;) {
      std::vector<std::vector<std::byte>> buffers;
      std::vector<std::future<void>> running;
      for (std::size_t i = 0; i < parallel && offset < size; ++i) {
        const auto length = static_cast<std::size_t>(std::min(block, size - offset));
        buffers.push_back(read_part(offset, length));
        ids.push_back(fmt::format("dataport-mount-{:010}", ids.size()));
        running.push_back(boost::asio::co_spawn(
            ctx->io(),
            store->stage_block(target, ids.back(), std::span<const std::byte>(buffers.back()),
                               std::string()),
            boost::asio::use_future));
        offset += length;
      }
      for (auto& f : running) f.wait();
      for (auto& f : running) f.get();
    }
    ctx->run(store->commit_blocks(target, ids, put_options{}));
  }
  file.dirty = false;
  invalidate(rel);
  log::info("mount", "uploaded '{}' ({} bytes) to {}", rel, size, source);
}

}  // namespace dataport::fuse_adapter
