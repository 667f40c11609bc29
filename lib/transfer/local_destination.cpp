// Local destination: files appear under their final names only when complete.
//
// Every directory below the root is opened with openat(O_DIRECTORY|O_NOFOLLOW), so a symlink
// planted in the destination is never followed; each file is written to a hidden partial file
// created with O_CREAT|O_EXCL|O_NOFOLLOW and renamed into place (renameat2 with RENAME_NOREPLACE
// when an existing file must not be replaced). The source's ETag is recorded in the
// user.dataport.etag extended attribute so a later --if-exists skip-identical can trust it.
// With direct_io, files of 1 MiB and more get a second descriptor opened with O_DIRECT and the
// engine writes them in page-aligned pieces (the last one padded; commit cuts the file back):
// the page cache is neither filled nor dirtied, which a download larger than memory (or a VM
// whose fresh page-cache memory is expensive) pays for otherwise.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include "core/detail/pwrite_all.hpp"
#include "dataport/error.hpp"
#include "dataport/local_path.hpp"
#include "transfer/detail/destination.hpp"
#include "transfer/detail/md5.hpp"

namespace dataport::transfer_detail {
namespace {

constexpr const char* etag_xattr = "user.dataport.etag";
/// Files smaller than this are written through the page cache even with direct_io.
constexpr std::uint64_t direct_min_size = 1 << 20;
/// Offsets, lengths and memory of direct writes: the page size, a multiple of every common
/// logical block size (512 and 4096).
constexpr std::size_t direct_alignment_bytes = 4096;

std::string errno_text(int err) {
  return std::strerror(err);
}

class unique_fd {
 public:
  explicit unique_fd(int fd = -1) noexcept : fd_(fd) {}
  ~unique_fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

int rename_no_replace(int dirfd, const char* from, const char* to) {
  return static_cast<int>(::syscall(SYS_renameat2, dirfd, from, dirfd, to, RENAME_NOREPLACE));
}

std::string partial_name(const std::string& name) {
  std::string partial = "." + name + ".dataport-partial";
  if (partial.size() > 255) {
    partial = fmt::format(".dataport-partial-{:016x}", std::hash<std::string>{}(name));
  }
  return partial;
}

class local_writer final : public file_writer {
 public:
  local_writer(unique_fd parent, unique_fd file, unique_fd direct, std::string name,
               std::string partial, object_info source, destination_settings settings,
               std::string display)
      : parent_(std::move(parent)),
        file_(std::move(file)),
        direct_(std::move(direct)),
        name_(std::move(name)),
        partial_(std::move(partial)),
        source_(std::move(source)),
        settings_(settings),
        display_(std::move(display)) {}

  ~local_writer() override {
    if (!finished_) abort();
  }

  boost::asio::awaitable<void> write(std::uint32_t, std::uint64_t offset,
                                     std::span<const std::byte> data) override {
    write_piece(offset, data);
    co_return;
  }

  bool accepts_pieces() const noexcept override { return true; }

  void write_piece(std::uint64_t offset, std::span<const std::byte> data) override {
    // One pwrite into this file at a time: concurrent writers of one inode wait for its lock in
    // the kernel by spinning (rwsem_spin_on_owner), which took a third of a 1 GiB download's
    // CPU time from the server on two cores; a futex wait here sleeps instead.
    std::lock_guard one_writer(write_mutex_);
    write_locked(file_.get(), offset, data);
  }

  std::size_t direct_alignment() const noexcept override {
    return direct_.get() >= 0 && direct_ok_.load(std::memory_order_relaxed) ? direct_alignment_bytes
                                                                            : 0;
  }

  void write_direct(std::uint64_t offset, std::span<const std::byte> data) override {
    std::lock_guard one_writer(write_mutex_);
    if (direct_ok_.load(std::memory_order_relaxed)) {
      if (detail::pwrite_all(direct_.get(), data, offset, data.size())) return;
      if (errno != EINVAL) fail_write(errno);
      // The file system refused this alignment after all: ordinary writes from now on.
      direct_ok_.store(false, std::memory_order_relaxed);
    }
    // Without O_DIRECT, the padding past the file's end is not written.
    const std::uint64_t end = std::min<std::uint64_t>(offset + data.size(), source_.size);
    if (end > offset) write_locked(file_.get(), offset, data.first(end - offset));
  }

  boost::asio::awaitable<void> commit() override {
    // Direct writes pad the file's last piece to the alignment: cut it back to its size.
    if (direct_.get() >= 0 && ::ftruncate(file_.get(), static_cast<off_t>(source_.size)) != 0) {
      throw_error(errc::io, fmt::format("cannot size '{}': {}", display_, errno_text(errno)));
    }
    if (settings_.verify_md5 && !source_.content_md5.empty()) {
      const std::string actual = md5_base64_of_fd(file_.get(), source_.size);
      if (actual != source_.content_md5) {
        throw_error(errc::protocol,
                    fmt::format("'{}' failed its MD5 check (expected {}, got {}): the data was "
                                "corrupted in transit; run the copy again",
                                display_, source_.content_md5, actual));
      }
    }
    if (!source_.etag.empty()) {
      // Best effort: file systems without user xattrs simply do not record it.
      (void)::fsetxattr(file_.get(), etag_xattr, source_.etag.data(), source_.etag.size(), 0);
    }
    if (settings_.fsync && ::fsync(file_.get()) != 0) {
      throw_error(errc::io, fmt::format("cannot fsync '{}': {}", display_, errno_text(errno)));
    }
    const int rc = settings_.if_exists == if_exists_policy::fail
                       ? rename_no_replace(parent_.get(), partial_.c_str(), name_.c_str())
                       : ::renameat(parent_.get(), partial_.c_str(), parent_.get(), name_.c_str());
    if (rc != 0) {
      const int err = errno;
      struct stat final_stat {};
      const bool final_is_folder =
          ::fstatat(parent_.get(), name_.c_str(), &final_stat, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISDIR(final_stat.st_mode);
      if (err == EISDIR || err == ENOTEMPTY || (err == EEXIST && final_is_folder)) {
        throw_error(errc::already_exists,
                    fmt::format("'{}' is both a file and a folder in the source; the folder was "
                                "written, the file cannot be",
                                display_));
      }
      if (err == EEXIST) {
        throw_error(errc::already_exists,
                    fmt::format("'{}' already exists: use --if-exists overwrite or skip-identical",
                                display_));
      }
      throw_error(errc::io, fmt::format("cannot rename into '{}': {}", display_, errno_text(err)));
    }
    finished_ = true;
    co_return;
  }

  void abort() noexcept override {
    if (finished_) return;
    finished_ = true;
    ::unlinkat(parent_.get(), partial_.c_str(), 0);
  }

 private:
  void write_locked(int fd, std::uint64_t offset, std::span<const std::byte> data) {
    if (!detail::pwrite_all(fd, data, offset)) fail_write(errno);
  }

  [[noreturn]] void fail_write(int err) {
    throw_error(err == ENOSPC || err == EDQUOT ? errc::no_space : errc::io,
                fmt::format("cannot write '{}': {}", display_, errno_text(err)));
  }

  unique_fd parent_;
  unique_fd file_;
  unique_fd direct_;  ///< O_DIRECT descriptor of the partial file, or -1
  std::atomic<bool> direct_ok_{true};
  std::mutex write_mutex_;
  std::string name_;
  std::string partial_;
  object_info source_;
  destination_settings settings_;
  std::string display_;
  bool finished_ = false;
};

class local_destination final : public destination {
 public:
  local_destination(std::string root, destination_settings settings)
      : root_(std::move(root)), settings_(settings) {
    std::error_code ec;
    std::filesystem::create_directories(root_, ec);
    root_fd_ = unique_fd(::open(root_.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (root_fd_.get() < 0) {
      throw_error(errc::io, fmt::format("cannot create or open the destination folder '{}': {}",
                                        root_, errno_text(errno)));
    }
  }

  bool takes_pieces() const noexcept override { return true; }

  boost::asio::awaitable<open_result> open(const file_plan& plan) override {
    auto mapped = map_remote_name(plan.relative);
    if (auto* rejected = std::get_if<rejected_name>(&mapped)) {
      co_return open_result{nullptr, fmt::format("not written: {}", rejected->reason),
                            errc::invalid_argument};
    }
    const auto& segments = std::get<local_name>(mapped).segments;
    const std::string display = root_ + "/" + std::get<local_name>(mapped).joined();
    unique_fd parent = open_parent(segments, display);
    const std::string& name = segments.back();

    struct stat existing {};
    if (::fstatat(parent.get(), name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISDIR(existing.st_mode)) {
        throw_error(errc::already_exists,
                    fmt::format("'{}' is a folder at the destination (or both a file and a folder "
                                "in the source): the file cannot be written",
                                display));
      }
      switch (settings_.if_exists) {
        case if_exists_policy::fail:
          throw_error(errc::already_exists,
                      fmt::format("'{}' already exists: use --if-exists overwrite or "
                                  "skip-identical",
                                  display));
        case if_exists_policy::skip_identical:
          if (is_identical(parent.get(), name, existing, plan.source)) {
            co_return open_result{nullptr, "identical file already at the destination"};
          }
          throw_error(errc::already_exists,
                      fmt::format("'{}' exists and differs from the source: use --if-exists "
                                  "overwrite to replace it",
                                  display));
        case if_exists_policy::overwrite:
          break;
      }
    }

    const std::string partial = partial_name(name);
    unique_fd file;
    for (int attempt = 0; attempt < 2; ++attempt) {
      file = unique_fd(::openat(parent.get(), partial.c_str(),
                                O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0644));
      if (file.get() >= 0 || errno != EEXIST) break;
      // A partial file left by a killed run: remove it (unlinkat never follows links).
      ::unlinkat(parent.get(), partial.c_str(), 0);
    }
    if (file.get() < 0) {
      throw_error(errc::io, fmt::format("cannot create a temporary file next to '{}': {}", display,
                                        errno_text(errno)));
    }
    if (plan.source.size > 0 &&
        ::ftruncate(file.get(), static_cast<off_t>(plan.source.size)) != 0) {
      const int err = errno;
      ::unlinkat(parent.get(), partial.c_str(), 0);
      throw_error(err == ENOSPC || err == EFBIG ? errc::no_space : errc::io,
                  fmt::format("cannot size '{}' to {} bytes: {}", display, plan.source.size,
                              errno_text(err)));
    }
    // A file system without O_DIRECT (tmpfs before Linux 6.6, some FUSE and network file
    // systems) refuses the open with EINVAL: that file is written through the page cache.
    unique_fd direct;
    if (settings_.direct_io && plan.source.size >= direct_min_size) {
      direct = unique_fd(
          ::openat(parent.get(), partial.c_str(), O_WRONLY | O_DIRECT | O_NOFOLLOW | O_CLOEXEC));
    }
    co_return open_result{
        std::make_unique<local_writer>(std::move(parent), std::move(file), std::move(direct), name,
                                       partial, plan.source, settings_, display),
        std::nullopt};
  }

  std::string describe() const override { return root_; }

 private:
  unique_fd open_parent(const std::vector<std::string>& segments, const std::string& display) {
    unique_fd current(::dup(root_fd_.get()));
    for (std::size_t i = 0; i + 1 < segments.size(); ++i) {
      const char* segment = segments[i].c_str();
      if (::mkdirat(current.get(), segment, 0755) != 0 && errno != EEXIST) {
        throw_error(errc::io, fmt::format("cannot create the folder for '{}': {}", display,
                                          errno_text(errno)));
      }
      unique_fd next(
          ::openat(current.get(), segment, O_DIRECTORY | O_NOFOLLOW | O_RDONLY | O_CLOEXEC));
      if (next.get() < 0) {
        const int err = errno;
        if (err == ENOTDIR || err == ELOOP) {
          throw_error(errc::already_exists,
                      fmt::format("cannot write '{}': '{}' is a file or a symbolic link at the "
                                  "destination, not a folder (a name that is both a file and a "
                                  "folder in the source, or a planted link: symbolic links are "
                                  "never followed)",
                                  display, segments[i]));
        }
        throw_error(errc::io,
                    fmt::format("cannot open the folder for '{}': {}", display, errno_text(err)));
      }
      current = std::move(next);
    }
    return current;
  }

  static bool is_identical(int dirfd, const std::string& name, const struct stat& existing,
                           const object_info& source) {
    if (!S_ISREG(existing.st_mode) || static_cast<std::uint64_t>(existing.st_size) != source.size) {
      return false;
    }
    unique_fd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) return false;
    if (!source.etag.empty()) {
      char recorded[512];
      const ssize_t n = ::fgetxattr(fd.get(), etag_xattr, recorded, sizeof recorded);
      if (n > 0 && std::string_view(recorded, static_cast<std::size_t>(n)) == source.etag)
        return true;
    }
    if (!source.content_md5.empty()) {
      return md5_base64_of_fd(fd.get(), source.size) == source.content_md5;
    }
    return false;
  }

  std::string root_;
  destination_settings settings_;
  unique_fd root_fd_;
};

}  // namespace

std::unique_ptr<destination> make_local_destination(const std::string& root,
                                                    destination_settings settings) {
  return std::make_unique<local_destination>(root, settings);
}

}  // namespace dataport::transfer_detail
