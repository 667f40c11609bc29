// Local file-system backend: a directory tree seen through the object_store interface.
//
// Why it looks like this: it mirrors blob semantics so engines and tests treat every backend
// alike: paths are relative and may not escape the root ('..', '.', empty segments and NUL are
// refused), reads are pinned with a synthetic ETag ("mtime_ns-size-inode") and fail with
// errc::changed when the file changed, and writes are atomic: data goes to a temp file created
// with O_EXCL|O_NOFOLLOW in the destination folder (via openat on the folder's fd) and is
// renamed over the final name. Block uploads stage blocks in a hidden ".dataport-blocks-<name>"
// folder next to the destination; listings hide every ".dataport-" entry.
// File I/O is synchronous inside the coroutines (fine for local disks; an io_uring or thread-pool
// offload can come later without changing the interface).
// g++ 12 reports a false -Wmismatched-new-delete for asio's awaitable frame allocator at -O2
// (GCC bug 104905-style false positive on coroutine frames); the pairing is asio's own.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "dataport/error.hpp"
#include "dataport/storage.hpp"
#include "storage/detail/wire.hpp"

namespace dataport {
namespace {

using boost::asio::awaitable;
namespace fs = std::filesystem;

constexpr std::string_view hidden_prefix = ".dataport-";

class unique_fd {
 public:
  explicit unique_fd(int fd = -1) : fd_(fd) {}
  ~unique_fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  unique_fd& operator=(unique_fd&&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

errc errno_category(int err) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return errc::not_found;
    case EACCES:
    case EPERM:
      return errc::permission_denied;
    case ENOSPC:
    case EDQUOT:
      return errc::no_space;
    case EEXIST:
      return errc::already_exists;
    default:
      return errc::io;
  }
}

[[noreturn]] void throw_errno(int err, std::string_view what, const std::string& file) {
  const errc category = errno_category(err);
  std::string_view advice = "check the path and its permissions";
  if (category == errc::no_space) advice = "free disk space or choose another destination";
  if (category == errc::not_found) advice = "check the path";
  throw_error(category,
              fmt::format("{} '{}' failed: {}; {}", what, file, std::strerror(err), advice));
}

std::string synthetic_etag(const struct stat& st) {
  const auto mtime_ns = static_cast<unsigned long long>(st.st_mtim.tv_sec) * 1000000000ull +
                        static_cast<unsigned long long>(st.st_mtim.tv_nsec);
  return fmt::format("\"{}-{}-{}\"", mtime_ns, static_cast<unsigned long long>(st.st_size),
                     static_cast<unsigned long long>(st.st_ino));
}

object_info info_from_stat(std::string path, const struct stat& st) {
  object_info info;
  info.path = std::move(path);
  info.is_directory = S_ISDIR(st.st_mode);
  if (!info.is_directory) {
    info.size = static_cast<std::uint64_t>(st.st_size);
    info.etag = synthetic_etag(st);
    info.content_type = storage_detail::guess_content_type(info.path);
  }
  info.last_modified = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
  return info;
}

void write_all(int fd, std::span<const std::byte> data, const std::string& file) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "writing", file);
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
}

std::string temp_name() {
  static std::atomic<std::uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{}tmp-{}-{}-{:016x}", hidden_prefix, ::getpid(), counter.fetch_add(1), rng());
}

std::string hex_of(std::string_view raw) {
  std::string out;
  for (unsigned char c : raw) out += fmt::format("{:02x}", c);
  return out;
}

class local_store final : public object_store, public std::enable_shared_from_this<local_store> {
 public:
  explicit local_store(std::string root) : root_(std::move(root)) {
    while (root_.size() > 1 && root_.ends_with('/')) root_.pop_back();
  }

  awaitable<object_info> stat(std::string path) override {
    const auto file = full_path(path);
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) throw_errno(errno, "stat of", file);
    co_return info_from_stat(path, st);
  }

  std::unique_ptr<list_pager> list(list_options options) override;

  awaitable<read_result> read_range(std::string path, std::uint64_t offset,
                                    std::span<std::byte> into, std::string if_match) override {
    const auto file = full_path(path);
    unique_fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) throw_errno(errno, "opening", file);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_errno(errno, "stat of", file);
    if (S_ISDIR(st.st_mode)) {
      throw_error(errc::invalid_argument, fmt::format("'{}' is a directory, not a file", file));
    }
    read_result result;
    result.etag = synthetic_etag(st);
    result.object_size = static_cast<std::uint64_t>(st.st_size);
    if (!if_match.empty() && if_match != result.etag) {
      throw_error(errc::changed,
                  fmt::format("file '{}' changed since it was opened (version {} is now {}): "
                              "re-open it to read the new version",
                              file, if_match, result.etag));
    }
    while (result.bytes < into.size()) {
      const ssize_t n = ::pread(fd.get(), into.data() + result.bytes, into.size() - result.bytes,
                                static_cast<off_t>(offset + result.bytes));
      if (n < 0) {
        if (errno == EINTR) continue;
        throw_errno(errno, "reading", file);
      }
      if (n == 0) break;
      result.bytes += static_cast<std::size_t>(n);
    }
    co_return result;
  }

  awaitable<object_info> put(std::string path, std::span<const std::byte> data,
                             put_options options) override {
    const auto file = full_path(path);
    auto [dir_fd, name] = open_parent(file);
    const std::string temp = temp_name();
    write_temp(dir_fd.get(), temp, file, [&](int fd) { write_all(fd, data, file); });
    publish(dir_fd.get(), temp, name, file, options.overwrite);
    co_return co_await stat(std::move(path));
  }

  awaitable<void> stage_block(std::string path, std::string block_id,
                              std::span<const std::byte> data, std::string) override {
    const auto file = full_path(path);
    const auto staging = staging_dir(file);
    std::error_code ec;
    fs::create_directories(staging, ec);
    if (ec) throw_errno(ec.value(), "creating the staging folder", staging);
    ::chmod(staging.c_str(), 0700);
    unique_fd dir_fd(::open(staging.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (dir_fd.get() < 0) throw_errno(errno, "opening the staging folder", staging);
    const std::string temp = temp_name();
    write_temp(dir_fd.get(), temp, file, [&](int fd) { write_all(fd, data, file); });
    publish(dir_fd.get(), temp, hex_of(block_id), staging, /*overwrite=*/true);
    co_return;
  }

  awaitable<object_info> commit_blocks(std::string path, std::vector<std::string> block_ids,
                                       put_options options) override {
    const auto file = full_path(path);
    const auto staging = staging_dir(file);
    auto [dir_fd, name] = open_parent(file);
    const std::string temp = temp_name();
    write_temp(dir_fd.get(), temp, file,
               [&](int out) { copy_staged_blocks(out, staging, block_ids, file); });
    publish(dir_fd.get(), temp, name, file, options.overwrite);
    std::error_code ignored;  // leftover staging is harmless and hidden; do not fail the commit
    fs::remove_all(staging, ignored);
    co_return co_await stat(std::move(path));
  }

  awaitable<object_info> append_blocks(std::string path, std::vector<std::string> committed_ids,
                                       std::uint64_t committed_size,
                                       std::vector<std::string> new_ids,
                                       put_options options) override {
    // In place (not atomic): a reader may see part of the new bytes, never anything else. The
    // size check makes a repeated append (after a lost reply) fail instead of duplicating bytes.
    if (committed_ids.empty() && committed_size == 0) {
      co_return co_await commit_blocks(std::move(path), std::move(new_ids), std::move(options));
    }
    const auto file = full_path(path);
    const auto staging = staging_dir(file);
    {
      unique_fd out(::open(file.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
      if (out.get() < 0) throw_errno(errno, "opening for append", file);
      struct stat st {};
      if (::fstat(out.get(), &st) != 0) throw_errno(errno, "stat of", file);
      if (static_cast<std::uint64_t>(st.st_size) != committed_size) {
        throw_error(errc::changed,
                    fmt::format("cannot append to '{}': it holds {} bytes, not the {} committed "
                                "before (someone else changed it); upload it whole instead",
                                file, st.st_size, committed_size));
      }
      if (::lseek(out.get(), 0, SEEK_END) < 0) throw_errno(errno, "seeking in", file);
      copy_staged_blocks(out.get(), staging, new_ids, file);
      if (::fsync(out.get()) != 0) throw_errno(errno, "flushing", file);
    }
    std::error_code ignored;  // leftover staging is harmless and hidden
    fs::remove_all(staging, ignored);
    co_return co_await stat(std::move(path));
  }

  awaitable<void> remove(std::string path) override {
    const auto file = full_path(path);
    if (path.empty()) throw_error(errc::invalid_argument, "refusing to remove the store root");
    if (::unlink(file.c_str()) != 0) {
      if (errno == EISDIR || errno == EPERM) {
        struct stat st {};
        if (::stat(file.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
          throw_error(errc::invalid_argument,
                      fmt::format("'{}' is a directory; remove() deletes files only", file));
        }
      }
      throw_errno(errno, "removing", file);
    }
    co_return;
  }

  awaitable<void> create_container() override {
    std::error_code ec;
    fs::create_directories(root_, ec);
    if (ec) throw_errno(ec.value(), "creating folder", root_);
    co_return;
  }

  store_capabilities capabilities() const noexcept override { return {}; }

  std::string describe() const override { return "local:" + root_; }

  /// Every entry under `prefix`, sorted by path (recursive: files only).
  std::vector<object_info> collect(const std::string& prefix, bool recursive) const {
    std::vector<object_info> entries;
    const std::string base = full_path(prefix);
    std::error_code ec;
    if (!fs::is_directory(base, ec)) return entries;
    const std::string rel_base = prefix.empty() ? "" : prefix + "/";
    auto add = [&](const fs::directory_entry& entry, const std::string& rel) {
      struct stat st {};
      if (::stat(entry.path().c_str(), &st) != 0) return;  // vanished or dangling link
      entries.push_back(info_from_stat(rel, st));
    };
    if (!recursive) {
      for (const auto& entry : fs::directory_iterator(base, ec)) {
        const auto name = entry.path().filename().string();
        if (name.starts_with(hidden_prefix)) continue;
        add(entry, rel_base + name);
      }
    } else {
      auto it = fs::recursive_directory_iterator(base, ec);
      for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        const auto name = it->path().filename().string();
        if (name.starts_with(hidden_prefix)) {
          it.disable_recursion_pending();
          continue;
        }
        if (it->is_directory(ec)) continue;
        add(*it, rel_base + fs::relative(it->path(), base).generic_string());
      }
    }
    if (ec) throw_errno(ec.value(), "listing", base);
    std::sort(entries.begin(), entries.end(),
              [](const object_info& a, const object_info& b) { return a.path < b.path; });
    return entries;
  }

 private:
  std::string full_path(std::string_view path) const {
    if (path.empty()) return root_;
    bool valid = !path.starts_with('/') && path.find('\0') == std::string_view::npos;
    std::size_t start = 0;
    while (valid && start <= path.size()) {
      const auto end = std::min(path.find('/', start), path.size());
      const auto segment = path.substr(start, end - start);
      if (segment.empty() || segment == "." || segment == "..") valid = false;
      start = end + 1;
    }
    if (!valid) {
      throw_error(errc::invalid_argument,
                  fmt::format("invalid path '{}' under {}: paths are relative, '/'-separated, "
                              "without empty, '.' or '..' segments",
                              path, root_));
    }
    return root_ == "/" ? "/" + std::string(path) : root_ + "/" + std::string(path);
  }

  /// Writes the staged blocks `ids`, in order, to `out`.
  static void copy_staged_blocks(int out, const std::string& staging,
                                 const std::vector<std::string>& ids, const std::string& file) {
    std::vector<std::byte> buffer(1 << 20);
    for (const auto& id : ids) {
      const auto block = staging + "/" + hex_of(id);
      unique_fd in(::open(block.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (in.get() < 0) {
        throw_error(errc::invalid_argument,
                    fmt::format("cannot commit '{}': block '{}' was not staged", file, hex_of(id)));
      }
      for (;;) {
        const ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno(errno, "reading staged block of", file);
        if (n == 0) break;
        write_all(out, std::span(buffer).first(static_cast<std::size_t>(n)), file);
      }
    }
  }

  static std::string staging_dir(const std::string& file) {
    const auto slash = file.rfind('/');
    return file.substr(0, slash + 1) + std::string(hidden_prefix) + "blocks-" +
           file.substr(slash + 1);
  }

  /// Creates the parent folders and opens the parent; returns (fd, file name).
  static std::pair<unique_fd, std::string> open_parent(const std::string& file) {
    const auto slash = file.rfind('/');
    const std::string parent = slash == 0 ? "/" : file.substr(0, slash);
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec) throw_errno(ec.value(), "creating folder", parent);
    unique_fd fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) throw_errno(errno, "opening folder", parent);
    return {std::move(fd), file.substr(slash + 1)};
  }

  template <class Writer>
  static void write_temp(int dir_fd, const std::string& temp, const std::string& file,
                         Writer&& writer) {
    unique_fd fd(
        ::openat(dir_fd, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (fd.get() < 0) throw_errno(errno, "creating a temporary file for", file);
    try {
      writer(fd.get());
      if (::fsync(fd.get()) != 0) throw_errno(errno, "flushing", file);
    } catch (...) {
      ::unlinkat(dir_fd, temp.c_str(), 0);
      throw;
    }
  }

  static void publish(int dir_fd, const std::string& temp, const std::string& name,
                      const std::string& file, bool overwrite) {
    const int rc = overwrite
                       ? ::renameat(dir_fd, temp.c_str(), dir_fd, name.c_str())
                       : ::renameat2(dir_fd, temp.c_str(), dir_fd, name.c_str(), RENAME_NOREPLACE);
    if (rc == 0) return;
    const int err = errno;
    ::unlinkat(dir_fd, temp.c_str(), 0);
    if (err == EEXIST) {
      throw_error(errc::already_exists,
                  fmt::format("'{}' already exists and overwriting was not allowed", file));
    }
    throw_errno(err, "renaming into place", file);
  }

  std::string root_;
};

class local_pager final : public list_pager {
 public:
  local_pager(std::shared_ptr<local_store> store, list_options options)
      : store_(std::move(store)), options_(std::move(options)) {
    while (options_.prefix.ends_with('/')) options_.prefix.pop_back();
    while (options_.prefix.starts_with('/')) options_.prefix.erase(0, 1);
  }

  awaitable<std::optional<std::vector<object_info>>> next_page() override {
    if (!loaded_) {
      entries_ = store_->collect(options_.prefix, options_.recursive);
      loaded_ = true;
    }
    if (next_ >= entries_.size() && next_ > 0) co_return std::nullopt;
    if (entries_.empty()) {
      next_ = 1;  // one empty page, then done
      co_return std::vector<object_info>{};
    }
    const std::size_t count =
        std::min<std::size_t>(std::max(options_.page_size, 1u), entries_.size() - next_);
    std::vector<object_info> page(
        std::make_move_iterator(entries_.begin() + static_cast<std::ptrdiff_t>(next_)),
        std::make_move_iterator(entries_.begin() + static_cast<std::ptrdiff_t>(next_ + count)));
    next_ += count;
    co_return page;
  }

 private:
  std::shared_ptr<local_store> store_;
  list_options options_;
  std::vector<object_info> entries_;
  std::size_t next_ = 0;
  bool loaded_ = false;
};

std::unique_ptr<list_pager> local_store::list(list_options options) {
  return std::make_unique<local_pager>(shared_from_this(), std::move(options));
}

}  // namespace

std::shared_ptr<object_store> make_local_store(const std::string& root) {
  if (root.empty() || root.front() != '/') {
    throw_error(errc::invalid_argument,
                fmt::format("local store root '{}' must be an absolute path", root));
  }
  return std::make_shared<local_store>(root);
}

}  // namespace dataport
