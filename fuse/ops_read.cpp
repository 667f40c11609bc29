// Read-side FUSE handlers (ro_mount, and the read half of rw_mount). Requests arrive on libfuse
// worker threads and block on the context's I/O threads (ctx.run / read_at_blocking), so a slow
// read never stalls the network loop. Listing is paged lazily: a readdir call fetches at most
// one more service page, so the first entries of a huge folder come back at once.
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "dataport/attribute_cache.hpp"
#include "dataport/log.hpp"
#include "filesystem.hpp"

namespace dataport::fuse_adapter {
namespace {

void reply_entry(fuse_req_t req, filesystem& fs, const std::string& rel) {
  const fuse_ino_t ino = fs.inodes.acquire(rel);
  std::optional<struct stat> st;
  try {
    st = fs.attributes(rel, ino);
  } catch (...) {
    fs.inodes.forget(ino, 1);
    fuse_reply_err(req, fs.errno_of(std::current_exception(), rel, "lookup of"));
    return;
  }
  if (!st) {
    fs.inodes.forget(ino, 1);
    fuse_entry_param negative{};
    negative.entry_timeout = fs.read_write ? 0 : fs.ttl_seconds;
    fuse_reply_entry(req, &negative);
    return;
  }
  fuse_entry_param e{};
  e.ino = ino;
  e.attr = *st;
  e.attr_timeout = fs.read_write ? 1.0 : fs.ttl_seconds;
  e.entry_timeout = e.attr_timeout;
  fuse_reply_entry(req, &e);
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto& fs = fs_of(req);
  ++fs.lookups;
  const auto dir = fs.inodes.path_of(parent);
  if (!dir) return (void)fuse_reply_err(req, ESTALE);
  if (!valid_name(name)) return (void)fuse_reply_err(req, ENOENT);
  reply_entry(req, fs, join_path(*dir, name));
}

void op_forget(fuse_req_t req, fuse_ino_t ino, std::uint64_t nlookup) {
  fs_of(req).inodes.forget(ino, nlookup);
  fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  auto& fs = fs_of(req);
  for (size_t i = 0; i < count; ++i) fs.inodes.forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  auto& fs = fs_of(req);
  ++fs.getattrs;
  const auto rel = fs.inodes.path_of(ino);
  if (!rel) return (void)fuse_reply_err(req, ESTALE);
  try {
    const auto st = fs.attributes(*rel, ino);
    if (!st) return (void)fuse_reply_err(req, ENOENT);
    fuse_reply_attr(req, &*st, fs.read_write ? 1.0 : fs.ttl_seconds);
  } catch (...) {
    fuse_reply_err(req, fs.errno_of(std::current_exception(), *rel, "stat of"));
  }
}

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  auto& fs = fs_of(req);
  const auto rel = fs.inodes.path_of(ino);
  if (!rel) return (void)fuse_reply_err(req, ESTALE);
  auto handle = std::make_unique<dir_handle>();
  handle->path = *rel;
  if (fs.single_file) {
    handle->entries.push_back({fs.single_name, false, std::nullopt});
    handle->index.emplace(fs.single_name, 0);
    handle->done = true;
  } else {
    list_options options;
    options.prefix = fs.store_path_of(*rel);
    options.recursive = false;
    handle->pager = fs.store->list(options);
  }
  fi->fh = reinterpret_cast<std::uint64_t>(handle.release());
  fuse_reply_open(req, fi);
}

/// Fetches one more page into the handle (caller holds its mutex). Returns false at the end.
bool fetch_page(filesystem& fs, dir_handle& dir) {
  if (dir.done) return false;
  auto page = fs.ctx->run(dir.pager->next_page());
  if (!page) {
    dir.done = true;
    // Folders and files made through an rw mount that the service does not list yet.
    std::lock_guard lock(fs.mutex);
    for (const auto& local : fs.local_dirs) {
      if (parent_path(local) == dir.path &&
          dir.index.emplace(name_of(local), dir.entries.size()).second) {
        dir.entries.push_back({name_of(local), true, std::nullopt});
      }
    }
    for (const auto& [path, file] : fs.staged) {
      if (parent_path(path) == dir.path &&
          dir.index.emplace(name_of(path), dir.entries.size()).second) {
        dir.entries.push_back({name_of(path), false, std::nullopt});
      }
    }
    return true;
  }
  for (const auto& info : *page) {
    const std::string name = name_of(info.path);
    if (!valid_name(name)) {
      std::string shown = info.path;
      std::replace(shown.begin(), shown.end(), '\0', '?');
      fs.log_once("hidden\n" + info.path,
                  fmt::format("hiding '{}' in {}: not a valid POSIX file name (empty, '.', '..', "
                              "over 255 bytes, or containing NUL)",
                              shown, fs.source));
      continue;
    }
    const auto [it, inserted] = dir.index.emplace(name, dir.entries.size());
    if (!inserted) {
      // A blob and a folder with one name (the blob lists first): show the folder.
      auto& existing = dir.entries[it->second];
      if (existing.is_directory != info.is_directory) {
        if (info.is_directory) existing = dir_entry{name, true, info};
        fs.prefer_folder(info.path);
      }
      continue;
    }
    dir.entries.push_back({name, info.is_directory, info});
    fs.seed(info);
  }
  return true;
}

/// Attributes of a listed entry: from the listing, or local state for files written here.
struct stat entry_stat(filesystem& fs, const std::string& rel, fuse_ino_t ino,
                       const dir_entry& entry) {
  const bool local = !entry.info || (fs.read_write && fs.staged_of(rel) != nullptr);
  if (!local) {
    return fs.make_stat(ino, entry.is_directory, entry.info->size, entry.info->last_modified);
  }
  try {
    if (auto st = fs.attributes(rel, ino)) return *st;
  } catch (...) {
    fs.errno_of(std::current_exception(), rel, "stat of");
  }
  return fs.make_stat(ino, entry.is_directory, 0, std::nullopt);
}

/// Builds one readdir / readdirplus reply of at most `size` bytes from `offset` (caller holds
/// dir.mutex). Offsets: 1 = ".", 2 = "..", 3 + i = entries[i]; the kernel passes the next one it
/// wants. Readdirplus entries carry attributes and count as lookups (not "." and "..").
std::vector<char> fill_listing(fuse_req_t req, filesystem& fs, dir_handle& dir, size_t size,
                               off_t offset, bool plus) {
  std::vector<char> buffer(size);
  std::size_t used = 0;
  const double timeout = fs.read_write ? 1.0 : fs.ttl_seconds;
  auto add = [&](const char* name, const dir_entry* entry, off_t next) {
    const std::size_t need = plus ? fuse_add_direntry_plus(req, nullptr, 0, name, nullptr, 0)
                                  : fuse_add_direntry(req, nullptr, 0, name, nullptr, 0);
    if (need > size - used) return false;
    if (!plus) {
      struct stat st {};
      st.st_ino = 0xffffffffu;  // unknown; 0 would make readdir(3) skip the entry
      st.st_mode = !entry || entry->is_directory ? S_IFDIR : S_IFREG;
      fuse_add_direntry(req, buffer.data() + used, size - used, name, &st, next);
    } else {
      fuse_entry_param e{};
      if (entry) {
        const std::string rel = join_path(dir.path, entry->name);
        e.ino = fs.inodes.acquire(rel);
        e.attr = entry_stat(fs, rel, e.ino, *entry);
        e.attr_timeout = timeout;
        e.entry_timeout = timeout;
      } else {
        e.attr.st_ino = 0xffffffffu;  // "." and "..": no inode reference is taken
        e.attr.st_mode = S_IFDIR;
      }
      fuse_add_direntry_plus(req, buffer.data() + used, size - used, name, &e, next);
    }
    used += need;
    return true;
  };
  auto finish = [&] {
    buffer.resize(used);
    return std::move(buffer);
  };
  if (offset < 1 && !add(".", nullptr, 1)) return finish();
  if (offset < 2 && !add("..", nullptr, 2)) return finish();
  auto index = static_cast<std::size_t>(std::max<off_t>(offset, 2) - 2);
  bool fetched = false;
  while (true) {
    while (index < dir.entries.size()) {
      const auto& entry = dir.entries[index];
      if (!add(entry.name.c_str(), &entry, static_cast<off_t>(index + 3))) return finish();
      ++index;
    }
    // Fetch at most one page per call once something is in the buffer: the caller sees the
    // first entries of a huge folder without waiting for the whole listing.
    if (dir.done || (fetched && used > 0)) break;
    fetched = fetch_page(fs, dir) || fetched;
    if (dir.done && index >= dir.entries.size()) break;
  }
  return finish();
}

void reply_listing(fuse_req_t req, size_t size, off_t offset, fuse_file_info* fi, bool plus) {
  auto& fs = fs_of(req);
  auto* dir = reinterpret_cast<dir_handle*>(fi->fh);
  std::vector<char> reply;
  int failed = 0;
  {
    std::lock_guard lock(dir->mutex);
    try {
      reply = fill_listing(req, fs, *dir, size, offset, plus);
    } catch (...) {
      failed = fs.errno_of(std::current_exception(), dir->path, "listing of");
    }
  }
  // Reply only after unlocking: once the kernel has the answer, releasedir may free the handle
  // (and its mutex) on another thread.
  if (failed != 0) return (void)fuse_reply_err(req, failed);
  fuse_reply_buf(req, reply.data(), reply.size());
}

void op_readdir(fuse_req_t req, fuse_ino_t, size_t size, off_t offset, fuse_file_info* fi) {
  ++fs_of(req).readdirs;
  reply_listing(req, size, offset, fi, false);
}

void op_readdirplus(fuse_req_t req, fuse_ino_t, size_t size, off_t offset, fuse_file_info* fi) {
  ++fs_of(req).readdirplus;
  reply_listing(req, size, offset, fi, true);
}

void op_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  auto* dir = reinterpret_cast<dir_handle*>(fi->fh);
  // op_readdir replies after unlocking dir->mutex; taking it here also waits out any reader
  // still inside the handle before it is freed.
  { std::lock_guard wait_for_readdir(dir->mutex); }
  delete dir;
  fuse_reply_err(req, 0);
}

/// This worker thread's read buffer, at least `size` bytes, reused across requests: a fresh
/// zero-filled vector per request cost a memset and fresh page faults for every MiB served.
std::span<std::byte> read_buffer(std::size_t size) {
  thread_local std::unique_ptr<std::byte[]> storage;
  thread_local std::size_t capacity = 0;
  if (capacity < size) {
    storage = std::make_unique_for_overwrite<std::byte[]>(size);
    capacity = size;
  }
  return {storage.get(), size};
}

void op_read(fuse_req_t req, fuse_ino_t, size_t size, off_t offset, fuse_file_info* fi) {
  auto& fs = fs_of(req);
  auto& handle = *reinterpret_cast<file_handle*>(fi->fh);
  try {
    std::size_t done = 0;
    std::span<std::byte> buffer;  // staged files and whole-file mode copy through it
    if (auto staged = handle.staged ? handle.staged : fs.staged_of(handle.path)) {
      buffer = read_buffer(size);
      int failed = 0;
      {
        std::lock_guard lock(staged->mutex);
        while (done < size) {
          const ssize_t n = ::pread(staged->fd, buffer.data() + done, size - done,
                                    offset + static_cast<off_t>(done));
          if (n < 0 && errno == EINTR) continue;
          if (n < 0) {
            failed = errno;
            break;
          }
          if (n == 0) break;
          done += static_cast<std::size_t>(n);
        }
      }
      if (failed != 0) return (void)fuse_reply_err(req, failed);
    } else if (!handle.reader->is_whole_file()) {
      // Zero-copy: the reply is written to the kernel straight from the cached blocks (one iovec
      // per block touched); the views keep the blocks alive until fuse_reply_iov returns.
      const auto views = handle.reader->view_blocking(static_cast<std::uint64_t>(offset), size);
      std::vector<iovec> parts;
      parts.reserve(views.size());
      for (const auto& view : views) {
        parts.push_back({const_cast<std::byte*>(view.bytes().data()), view.length});
      }
      return (void)fuse_reply_iov(req, parts.data(), static_cast<int>(parts.size()));
    } else {
      buffer = read_buffer(size);
      while (done < size) {
        const std::size_t n = handle.reader->read_at_blocking(
            static_cast<std::uint64_t>(offset) + done, buffer.subspan(done));
        if (n == 0) break;
        done += n;
      }
    }
    fuse_reply_buf(req, reinterpret_cast<const char*>(buffer.data()), done);
  } catch (...) {
    fuse_reply_err(req, fs.errno_of(std::current_exception(), handle.path, "read of"));
  }
}

void op_statfs(fuse_req_t req, fuse_ino_t) {
  struct statvfs st {};
  st.f_bsize = 1 << 20;
  st.f_frsize = 1 << 20;
  st.f_blocks = st.f_bfree = st.f_bavail = 1ull << 30;
  st.f_files = st.f_ffree = 1ull << 30;
  st.f_namemax = 255;
  fuse_reply_statfs(req, &st);
}

void op_init(void*, fuse_conn_info* conn) {
  conn->max_read = 1u << 20;   // must match the max_read mount option
  conn->max_write = 1u << 20;  // also raises max_pages, so reads of 1 MiB come in one request
  conn->max_readahead = kernel_readahead;  // the reader's own prefetcher does the rest
  conn->max_background = 64;
  conn->congestion_threshold = 48;
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
  // O_TRUNC arrives with open (not as a separate truncate that would upload an empty blob first).
  if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC) conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
  // Always readdirplus (not the kernel's adaptive choice): `ls -l` and os.scandir + stat of a
  // listed folder then cost no lookup per entry; the attributes come from the listing.
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  conn->want &= ~static_cast<unsigned>(FUSE_CAP_READDIRPLUS_AUTO);
  conn->want &= ~static_cast<unsigned>(FUSE_CAP_AUTO_INVAL_DATA);  // keep_cache decides instead
}

}  // namespace

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);  // fuse/ops_write.cpp for rw
void op_release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);

void op_open_read(fuse_req_t req, const std::string& rel, fuse_file_info* fi) {
  auto& fs = fs_of(req);
  try {
    const std::string path = fs.store_path_of(rel);
    std::optional<object_info> known;
    if (auto cached = fs.services->attributes().get(fs.store_id, path); cached && *cached)
      known = **cached;
    if (known && known->etag.empty() && !known->is_directory) {
      // From a web folder's listing, which has no ETags: the open asks the server for one, since
      // the handle pins its version with it (If-Match) and the kernel keeps a file's pages only
      // while it is unchanged (keep_cache below). The answer replaces the cached attributes.
      fs.services->attributes().invalidate(fs.store_id, path);
      known.reset();
    }
    if (!known) known = fs.ctx->run(fs.services->attributes().stat(*fs.store, path));
    if (known->is_directory) return (void)fuse_reply_err(req, EISDIR);
    auto handle = std::make_unique<file_handle>();
    handle->path = rel;
    handle->reader = readable_file::open_blocking(fs.services, fs.store, path, known);
    {
      std::lock_guard lock(fs.mutex);
      auto& previous = fs.last_etag[rel];
      fi->keep_cache = !previous.empty() && previous == handle->reader->etag();
      previous = handle->reader->etag();
    }
    fi->fh = reinterpret_cast<std::uint64_t>(handle.release());
    fuse_reply_open(req, fi);
  } catch (...) {
    fuse_reply_err(req, fs.errno_of(std::current_exception(), rel, "open of"));
  }
}

const fuse_lowlevel_ops& operations(bool read_write) {
  static const fuse_lowlevel_ops read_only = [] {
    fuse_lowlevel_ops ops{};
    ops.init = op_init;
    ops.lookup = op_lookup;
    ops.forget = op_forget;
    ops.forget_multi = op_forget_multi;
    ops.getattr = op_getattr;
    ops.opendir = op_opendir;
    ops.readdir = op_readdir;
    ops.readdirplus = op_readdirplus;
    ops.releasedir = op_releasedir;
    ops.open = op_open;
    ops.read = op_read;
    ops.release = op_release;
    ops.statfs = op_statfs;
    return ops;
  }();
  static const fuse_lowlevel_ops writable = [] {
    fuse_lowlevel_ops ops = read_only;
    add_write_operations(ops);
    return ops;
  }();
  return read_write ? writable : read_only;
}

}  // namespace dataport::fuse_adapter
