// Read-side FUSE handlers (ro_mount, and the read half of rw_mount). Requests arrive on libfuse
// worker threads and block on the context's I/O threads (ctx.run / read_at_blocking), so a slow
// read never stalls the network loop. Listing is paged lazily: a readdir call fetches at most
// one more service page, so the first entries of a huge folder come back at once.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "dataport/attribute_cache.hpp"
#include "dataport/log.hpp"
#include "filesystem.hpp"

namespace dataport::fuse_adapter {
namespace {

std::string name_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

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
    handle->entries.emplace_back(fs.single_name, false);
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
      if (parent_path(local) == dir.path && dir.seen.insert(name_of(local)).second) {
        dir.entries.emplace_back(name_of(local), true);
      }
    }
    for (const auto& [path, file] : fs.staged) {
      if (parent_path(path) == dir.path && dir.seen.insert(name_of(path)).second) {
        dir.entries.emplace_back(name_of(path), false);
      }
    }
    return true;
  }
  for (const auto& info : *page) {
    const std::string name = name_of(info.path);
    if (!valid_name(name)) {
      log::warn("mount", "hiding '{}' in {}: not a valid POSIX file name", info.path, fs.source);
      continue;
    }
    if (!dir.seen.insert(name).second) continue;
    dir.entries.emplace_back(name, info.is_directory);
    fs.services->attributes().put(fs.store_id, info.path, info);
  }
  return true;
}

void op_readdir(fuse_req_t req, fuse_ino_t, size_t size, off_t offset, fuse_file_info* fi) {
  auto& fs = fs_of(req);
  auto& dir = *reinterpret_cast<dir_handle*>(fi->fh);
  std::lock_guard lock(dir.mutex);
  std::vector<char> buffer(size);
  std::size_t used = 0;
  // Offsets: 1 = ".", 2 = "..", 3 + i = entries[i]; the kernel passes the next one it wants.
  auto add = [&](const char* name, bool is_dir, off_t next) {
    struct stat st {};
    st.st_ino = 0xffffffffu;  // unknown; 0 would make readdir(3) skip the entry
    st.st_mode = is_dir ? S_IFDIR : S_IFREG;
    const size_t need = fuse_add_direntry(req, buffer.data() + used, size - used, name, &st, next);
    if (need > size - used) return false;
    used += need;
    return true;
  };
  try {
    off_t position = offset;
    if (position < 1 && !add(".", true, 1)) return (void)fuse_reply_buf(req, buffer.data(), used);
    if (position < 2 && !add("..", true, 2)) return (void)fuse_reply_buf(req, buffer.data(), used);
    auto index = static_cast<std::size_t>(std::max<off_t>(position, 2) - 2);
    bool fetched = false;
    while (true) {
      while (index < dir.entries.size()) {
        const auto& [name, is_dir] = dir.entries[index];
        if (!add(name.c_str(), is_dir, static_cast<off_t>(index + 3))) {
          return (void)fuse_reply_buf(req, buffer.data(), used);
        }
        ++index;
      }
      // Fetch at most one page per call once something is in the buffer: the caller sees the
      // first entries of a huge folder without waiting for the whole listing.
      if (dir.done || (fetched && used > 0)) break;
      fetched = fetch_page(fs, dir) || fetched;
      if (dir.done && index >= dir.entries.size()) break;
    }
    fuse_reply_buf(req, buffer.data(), used);
  } catch (...) {
    fuse_reply_err(req, fs.errno_of(std::current_exception(), dir.path, "listing of"));
  }
}

void op_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  auto* dir = reinterpret_cast<dir_handle*>(fi->fh);
  // op_readdir replies while holding dir->mutex; wait for it to unlock before freeing it.
  { std::lock_guard wait_for_readdir(dir->mutex); }
  delete dir;
  fuse_reply_err(req, 0);
}

void op_read(fuse_req_t req, fuse_ino_t, size_t size, off_t offset, fuse_file_info* fi) {
  auto& fs = fs_of(req);
  auto& handle = *reinterpret_cast<file_handle*>(fi->fh);
  std::vector<std::byte> buffer(size);
  try {
    std::size_t done = 0;
    if (auto staged = handle.staged ? handle.staged : fs.staged_of(handle.path)) {
      std::lock_guard lock(staged->mutex);
      while (done < size) {
        const ssize_t n = ::pread(staged->fd, buffer.data() + done, size - done,
                                  offset + static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return (void)fuse_reply_err(req, errno);
        if (n == 0) break;
        done += static_cast<std::size_t>(n);
      }
    } else {
      while (done < size) {
        const std::size_t n = handle.reader->read_at_blocking(
            static_cast<std::uint64_t>(offset) + done, std::span(buffer).subspan(done));
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
  conn->max_read = 1u << 20;       // must match the max_read mount option
  conn->max_write = 1u << 20;      // also raises max_pages, so reads of 1 MiB come in one request
  conn->max_readahead = 4u << 20;  // the reader's own prefetcher does the rest
  conn->max_background = 64;
  conn->congestion_threshold = 48;
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
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
