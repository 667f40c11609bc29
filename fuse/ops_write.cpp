// Write-side FUSE handlers (rw_mount). Why staging files: blob storage cannot change part of a
// blob, so a file opened for writing is materialised in a local file under the cache folder,
// written there (sequential or random), and uploaded whole at flush/fsync/close with a block
// upload whose commit is atomic: a failed upload (reported as EIO) leaves the blob as it was, and
// the staging file stays for the next flush or the unmount report. Reads of a staged file are
// served from it, so data written through the mount is visible at once.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <span>

#include "core/detail/pwrite_all.hpp"
#include "dataport/log.hpp"
#include "filesystem.hpp"

namespace dataport::fuse_adapter {

void op_open_read(fuse_req_t req, const std::string& rel, fuse_file_info* fi);

namespace {

/// The staged file of `rel`, made if absent; `fill` copies the remote content into a new one.
std::shared_ptr<staged_file> stage(filesystem& fs, const std::string& rel, bool fill) {
  if (auto existing = fs.staged_of(rel)) return existing;
  auto file = std::make_shared<staged_file>();
  std::string name = fs.staging_dir + "/upload-XXXXXX";
  file->fd = ::mkstemp(name.data());
  if (file->fd < 0)
    throw_error(errc::io, "cannot create a staging file in " + fs.staging_dir +
                              ": check the cache folder (--cache-dir)");
  file->staging_path = name;
  if (fill) {
    try {
      auto reader = readable_file::open_blocking(fs.services, fs.store, fs.store_path_of(rel));
      std::vector<std::byte> chunk(4u << 20);
      for (std::uint64_t offset = 0;;) {
        const std::size_t n = reader->read_at_blocking(offset, chunk);
        if (n == 0) break;
        if (!detail::pwrite_all(file->fd, std::span(chunk).first(n), offset)) {
          throw_error(errc::no_space, "cannot write the staging file " + name);
        }
        offset += n;
      }
    } catch (const error& e) {
      if (e.code() != errc::not_found) {
        ::unlink(name.c_str());
        throw;
      }
    }
  }
  std::lock_guard lock(fs.mutex);
  auto [it, inserted] = fs.staged.emplace(rel, file);
  if (!inserted) ::unlink(name.c_str());
  return it->second;
}

/// Drops the staged copy of `rel` when nobody has it open and everything is uploaded.
void drop_if_idle(filesystem& fs, const std::string& rel,
                  const std::shared_ptr<staged_file>& file) {
  std::lock_guard lock(fs.mutex);
  if (file->open_count != 0 || file->dirty) return;
  auto it = fs.staged.find(rel);
  if (it != fs.staged.end() && it->second == file) {
    ::unlink(file->staging_path.c_str());
    fs.staged.erase(it);
  }
}

void reply_new_entry(fuse_req_t req, filesystem& fs, const std::string& rel, fuse_file_info* fi) {
  const fuse_ino_t ino = fs.inodes.acquire(rel);
  auto st = fs.attributes(rel, ino);
  if (!st) st = fs.make_stat(ino, false, 0, std::nullopt);
  fuse_entry_param e{};
  e.ino = ino;
  e.attr = *st;
  e.attr_timeout = 1.0;
  e.entry_timeout = 1.0;
  if (fi) {
    fuse_reply_create(req, &e, fi);
  } else {
    fuse_reply_entry(req, &e);
  }
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t, fuse_file_info* fi) {
  auto& fs = fs_of(req);
  const auto dir = fs.inodes.path_of(parent);
  if (!dir) return (void)fuse_reply_err(req, ESTALE);
  if (!valid_name(name) || fs.single_file) return (void)fuse_reply_err(req, EINVAL);
  const std::string rel = join_path(*dir, name);
  try {
    auto file = stage(fs, rel, false);
    {
      std::lock_guard lock(file->mutex);
      if (::ftruncate(file->fd, 0) != 0)
        throw_error(errc::io, "cannot truncate " + file->staging_path);
      file->write_error = 0;
      file->dirty = true;
      ++file->open_count;
    }
    auto handle = std::make_unique<file_handle>();
    handle->path = rel;
    handle->staged = file;
    fi->fh = reinterpret_cast<std::uint64_t>(handle.release());
    fs.invalidate(rel);
    reply_new_entry(req, fs, rel, fi);
  } catch (...) {
    fuse_reply_err(req, fs.errno_of(std::current_exception(), rel, "create of"));
  }
}

void op_write(fuse_req_t req, fuse_ino_t, const char* data, size_t size, off_t offset,
              fuse_file_info* fi) {
  auto& fs = fs_of(req);
  auto& handle = *reinterpret_cast<file_handle*>(fi->fh);
  if (!handle.staged) return (void)fuse_reply_err(req, EBADF);
  int failed = 0;
  {
    std::lock_guard lock(handle.staged->mutex);
    if (!detail::pwrite_all(handle.staged->fd, std::as_bytes(std::span(data, size)),
                            static_cast<std::uint64_t>(offset))) {
      failed = errno;
    }
    handle.staged->dirty = true;
    if (failed != 0 && handle.staged->write_error == 0) {
      // The staging file now misses bytes the caller wrote: never upload it as it is.
      handle.staged->write_error = failed;
      log::error("mount",
                 "write to '{}' failed locally ({}): the file will not be uploaded; the "
                 "staging folder {} needs space (--cache-dir)",
                 handle.path, std::strerror(failed), fs.staging_dir);
    }
  }
  // Reply only after unlocking: once the caller has its answer it may close the file, and the
  // release on another thread may free the staged file (and its mutex).
  if (failed != 0) return (void)fuse_reply_err(req, failed);
  fuse_reply_write(req, size);
}

/// Uploads the staged file if it changed. EIO (nothing uploaded) after a failed local write or a
/// failed upload; the data stays staged either way.
int upload_if_dirty(filesystem& fs, const std::string& rel, staged_file& file) {
  std::lock_guard lock(file.mutex);
  if (!file.dirty) return 0;
  if (file.write_error != 0) {
    log::error("mount",
               "'{}' is not uploaded: a local write to {} failed ({}); truncate the file to 0 and "
               "write it again",
               rel, file.staging_path, std::strerror(file.write_error));
    return EIO;
  }
  try {
    fs.upload(rel, file);
    return 0;
  } catch (...) {
    fs.errno_of(std::current_exception(), rel, "upload of");
    log::error("mount", "upload of '{}' failed; the data stays in {}", rel, file.staging_path);
    return EIO;
  }
}

void op_flush(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  auto& handle = *reinterpret_cast<file_handle*>(fi->fh);
  fuse_reply_err(req, handle.staged ? upload_if_dirty(fs_of(req), handle.path, *handle.staged) : 0);
}

void op_fsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info* fi) {
  op_flush(req, 0, fi);
}

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  auto& fs = fs_of(req);
  const auto rel = fs.inodes.path_of(ino);
  if (!rel) return (void)fuse_reply_err(req, ESTALE);
  try {
    if (to_set & FUSE_SET_ATTR_SIZE) {
      auto* handle = fi ? reinterpret_cast<file_handle*>(fi->fh) : nullptr;
      auto file = handle && handle->staged ? handle->staged : stage(fs, *rel, attr->st_size > 0);
      bool upload_now = false;
      {
        std::lock_guard lock(file->mutex);
        if (::ftruncate(file->fd, attr->st_size) != 0)
          throw_error(errc::io, "cannot truncate " + file->staging_path);
        if (attr->st_size == 0) file->write_error = 0;  // nothing of the failed write is left
        file->dirty = true;
        upload_now = file->open_count == 0;
      }
      if (upload_now) {
        if (const int failed = upload_if_dirty(fs, *rel, *file))
          return (void)fuse_reply_err(req, failed);
        drop_if_idle(fs, *rel, file);
      }
    }
    const auto st = fs.attributes(*rel, ino);
    if (!st) return (void)fuse_reply_err(req, ENOENT);
    fuse_reply_attr(req, &*st, 1.0);
  } catch (...) {
    fuse_reply_err(req, fs.errno_of(std::current_exception(), *rel, "truncate of"));
  }
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t) {
  auto& fs = fs_of(req);
  const auto dir = fs.inodes.path_of(parent);
  if (!dir) return (void)fuse_reply_err(req, ESTALE);
  if (!valid_name(name) || fs.single_file) return (void)fuse_reply_err(req, EINVAL);
  const std::string rel = join_path(*dir, name);
  try {
    if (fs.attributes(rel, 0)) return (void)fuse_reply_err(req, EEXIST);
    {
      std::lock_guard lock(fs.mutex);
      fs.local_dirs.insert(rel);
    }
    reply_new_entry(req, fs, rel, nullptr);
  } catch (...) {
    fuse_reply_err(req, fs.errno_of(std::current_exception(), rel, "mkdir of"));
  }
}

bool has_children(filesystem& fs, const std::string& rel) {
  {
    std::lock_guard lock(fs.mutex);
    for (const auto& [path, file] : fs.staged)
      if (parent_path(path) == rel) return true;
    for (const auto& local : fs.local_dirs)
      if (parent_path(local) == rel) return true;
  }
  return fs.ctx->run(has_entries(*fs.store, fs.store_path_of(rel)));
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto& fs = fs_of(req);
  const auto dir = fs.inodes.path_of(parent);
  if (!dir) return (void)fuse_reply_err(req, ESTALE);
  const std::string rel = join_path(*dir, name);
  try {
    const auto st = fs.attributes(rel, 0);
    if (!st) return (void)fuse_reply_err(req, ENOENT);
    if (!S_ISDIR(st->st_mode)) return (void)fuse_reply_err(req, ENOTDIR);
    if (has_children(fs, rel)) return (void)fuse_reply_err(req, ENOTEMPTY);
    {
      std::lock_guard lock(fs.mutex);
      fs.local_dirs.erase(rel);
    }
    fs.invalidate(rel);
    fuse_reply_err(req, 0);
  } catch (...) {
    fuse_reply_err(req, fs.errno_of(std::current_exception(), rel, "rmdir of"));
  }
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto& fs = fs_of(req);
  const auto dir = fs.inodes.path_of(parent);
  if (!dir) return (void)fuse_reply_err(req, ESTALE);
  const std::string rel = join_path(*dir, name);
  try {
    bool was_staged = false;
    if (auto file = fs.staged_of(rel)) {
      std::lock_guard lock(file->mutex);
      file->dirty = false;  // open handles keep their bytes but must not upload them again
      was_staged = true;
      std::lock_guard map_lock(fs.mutex);
      ::unlink(file->staging_path.c_str());
      fs.staged.erase(rel);
    }
    try {
      fs.ctx->run(fs.store->remove(fs.store_path_of(rel)));
    } catch (const error& e) {
      if (e.code() != errc::not_found || !was_staged) throw;
    }
    fs.invalidate(rel);
    fuse_reply_err(req, 0);
  } catch (...) {
    fs.invalidate(rel);
    fuse_reply_err(req, fs.errno_of(std::current_exception(), rel, "delete of"));
  }
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent,
               const char* new_name, unsigned int flags) {
  auto& fs = fs_of(req);
  const auto from_dir = fs.inodes.path_of(parent);
  const auto to_dir = fs.inodes.path_of(new_parent);
  if (!from_dir || !to_dir) return (void)fuse_reply_err(req, ESTALE);
  if (flags & RENAME_EXCHANGE) return (void)fuse_reply_err(req, EINVAL);
  if (!valid_name(new_name)) return (void)fuse_reply_err(req, EINVAL);
  const std::string from = join_path(*from_dir, name);
  const std::string to = join_path(*to_dir, new_name);
  try {
    const auto st = fs.attributes(from, 0);
    if (!st) return (void)fuse_reply_err(req, ENOENT);
    // Folders are not renamed server-side: EXDEV makes mv(1) fall back to copy and delete.
    if (S_ISDIR(st->st_mode)) return (void)fuse_reply_err(req, EXDEV);
    if ((flags & RENAME_NOREPLACE) && fs.attributes(to, 0))
      return (void)fuse_reply_err(req, EEXIST);
    const bool was_staged = fs.staged_of(from) != nullptr;
    auto file = stage(fs, from, true);
    {
      std::lock_guard lock(file->mutex);
      fs.upload(to, *file);
    }
    try {
      fs.ctx->run(fs.store->remove(fs.store_path_of(from)));
    } catch (const error& e) {
      if (e.code() != errc::not_found) throw;
    }
    {
      std::lock_guard lock(fs.mutex);
      fs.staged.erase(from);
      fs.last_etag.erase(from);
      fs.last_etag.erase(to);
      if (was_staged) {
        fs.staged[to] = file;
      } else {
        ::unlink(file->staging_path.c_str());
      }
    }
    fs.inodes.rename(from, to);
    fs.invalidate(from);
    fs.invalidate(to);
    fuse_reply_err(req, 0);
  } catch (...) {
    fuse_reply_err(req, fs.errno_of(std::current_exception(), from, "rename of"));
  }
}

}  // namespace

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  auto& fs = fs_of(req);
  const auto rel = fs.inodes.path_of(ino);
  if (!rel) return (void)fuse_reply_err(req, ESTALE);
  const bool writes = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);
  if (!fs.read_write) {
    if (writes) return (void)fuse_reply_err(req, EROFS);
    return op_open_read(req, *rel, fi);
  }
  if (!writes && !fs.staged_of(*rel)) return op_open_read(req, *rel, fi);
  try {
    auto file = stage(fs, *rel, !(fi->flags & O_TRUNC));
    {
      std::lock_guard lock(file->mutex);
      if (fi->flags & O_TRUNC) {
        if (::ftruncate(file->fd, 0) != 0)
          throw_error(errc::io, "cannot truncate " + file->staging_path);
        file->write_error = 0;
        file->dirty = true;
      }
      ++file->open_count;
    }
    auto handle = std::make_unique<file_handle>();
    handle->path = *rel;
    handle->staged = file;
    fi->fh = reinterpret_cast<std::uint64_t>(handle.release());
    fuse_reply_open(req, fi);
  } catch (...) {
    fuse_reply_err(req, fs.errno_of(std::current_exception(), *rel, "open of"));
  }
}

void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  auto& fs = fs_of(req);
  std::unique_ptr<file_handle> handle(reinterpret_cast<file_handle*>(fi->fh));
  if (handle->staged) {
    upload_if_dirty(fs, handle->path, *handle->staged);
    {
      std::lock_guard lock(handle->staged->mutex);
      if (handle->staged->open_count > 0) --handle->staged->open_count;
    }
    drop_if_idle(fs, handle->path, handle->staged);
  } else if (handle->reader) {
    handle->reader->close();
  }
  fuse_reply_err(req, 0);
}

void add_write_operations(fuse_lowlevel_ops& ops) {
  ops.create = op_create;
  ops.write = op_write;
  ops.flush = op_flush;
  ops.fsync = op_fsync;
  ops.setattr = op_setattr;
  ops.mkdir = op_mkdir;
  ops.rmdir = op_rmdir;
  ops.unlink = op_unlink;
  ops.rename = op_rename;
}

}  // namespace dataport::fuse_adapter
