// Live log upload: keeps a remote folder a growing prefix of a local folder.
//
// Why it looks like this: logs only grow, so each round sends the bytes past what the remote
// object holds as new blocks and re-commits the block list (object_store::append_blocks): the
// remote object is the old blocks plus the new ones, always a prefix of the local file, and no
// byte is sent twice. What the streamer remembers per file (committed block ids and size, the
// inode, the first and last uploaded bytes) lets it notice a file that was truncated or rewritten
// and send that one whole again. Rounds run one at a time (background thread or sync_now()); a
// failed file keeps its state and is simply tried again the next round, so a failure never
// corrupts the remote prefix: at worst uncommitted blocks are staged twice.
#include "dataport/log_streamer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "dataport/error.hpp"
#include "dataport/location.hpp"
#include "dataport/log.hpp"
#include "dataport/object_store.hpp"

namespace dataport {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t fingerprint_bytes = 4096;
constexpr std::string_view component = "logs";

class readonly_file {
 public:
  explicit readonly_file(const fs::path& path)
      : fd_(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) {}
  ~readonly_file() {
    if (fd_ >= 0) ::close(fd_);
  }
  readonly_file(const readonly_file&) = delete;
  readonly_file& operator=(const readonly_file&) = delete;
  int fd() const { return fd_; }

  /// Reads up to into.size() bytes at `offset` (short only at end of file).
  std::size_t read_at(std::uint64_t offset, std::span<std::byte> into, const fs::path& path) const {
    std::size_t done = 0;
    while (done < into.size()) {
      const ssize_t n =
          ::pread(fd_, into.data() + done, into.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        throw_error(errc::io, fmt::format("cannot read log file '{}': {}", path.string(),
                                          std::strerror(errno)));
      }
      if (n == 0) break;
      done += static_cast<std::size_t>(n);
    }
    return done;
  }

 private:
  int fd_;
};

std::string block_id(std::uint64_t generation, std::uint64_t sequence) {
  return fmt::format("{:016x}{:08x}", generation, sequence);  // same length for every id
}

}  // namespace

struct log_streamer::file_state {
  bool uploaded = false;         ///< the remote object exists with `committed` bytes
  bool force_full = false;       ///< next sync uploads the whole file
  std::uint64_t committed = 0;   ///< bytes the remote object holds
  std::vector<std::string> ids;  ///< its committed block ids, in order
  std::uint64_t generation = 0;  ///< id prefix of the current upload
  dev_t dev = 0;
  ino_t ino = 0;
  std::int64_t mtime_ns = -1;
  std::vector<std::byte> head;  ///< first bytes uploaded (up to fingerprint_bytes)
  std::vector<std::byte> tail;  ///< last bytes uploaded, ending at `committed`
  bool failing = false;         ///< last attempt failed (log the recovery)
};

namespace {

struct local_file {
  std::string relative;
  fs::path path;
};

std::int64_t mtime_ns_of(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

}  // namespace

log_streamer::log_streamer(context& ctx, fs::path local_dir, std::string remote_folder_uri,
                           std::chrono::milliseconds interval)
    : ctx_(ctx), local_dir_(std::move(local_dir)), interval_(interval) {
  const location where = ctx.resolve(remote_folder_uri);
  store_ = ctx.open_store(where);
  remote_prefix_ = store_path(where);
  const auto caps = store_->capabilities();
  if (!caps.writable || !caps.block_upload) {
    throw_error(errc::unsupported,
                fmt::format("cannot stream logs to {}: {} is read only; use a blob, abfss or "
                            "local folder",
                            where.source_uri, store_->describe()));
  }
  while (remote_prefix_.ends_with('/')) remote_prefix_.pop_back();
  if (interval_ < std::chrono::milliseconds(10)) interval_ = std::chrono::milliseconds(10);
}

log_streamer::log_streamer(context& ctx, fs::path local_dir, std::shared_ptr<object_store> store,
                           std::string remote_prefix, std::chrono::milliseconds interval)
    : ctx_(ctx),
      local_dir_(std::move(local_dir)),
      store_(std::move(store)),
      remote_prefix_(std::move(remote_prefix)),
      interval_(interval) {
  if (!store_) throw_error(errc::invalid_argument, "log_streamer needs a store");
  while (remote_prefix_.ends_with('/')) remote_prefix_.pop_back();
  while (remote_prefix_.starts_with('/')) remote_prefix_.erase(0, 1);
  if (interval_ < std::chrono::milliseconds(10)) interval_ = std::chrono::milliseconds(10);
}

log_streamer::~log_streamer() {
  stop(std::chrono::seconds(10));
}

void log_streamer::set_tuning(tuning t) {
  std::lock_guard lock(round_mutex_);
  t.block_size = std::max<std::size_t>(t.block_size, 1);
  t.max_blocks = std::max<std::size_t>(t.max_blocks, 2);
  tuning_ = t;
}

void log_streamer::start() {
  std::lock_guard lock(thread_mutex_);
  if (thread_.joinable() || stopped_) return;
  thread_ = std::thread([this] { run_thread(); });
}

void log_streamer::run_thread() {
  std::unique_lock lock(thread_mutex_);
  while (!stopping_) {
    if (wake_.wait_for(lock, interval_, [this] { return stopping_; })) break;
    lock.unlock();
    try {
      round(clock::time_point::max());
    } catch (const std::exception& e) {  // round() handles per-file failures; this is a bug
      ++failures_;
      log::error(component, "log upload round failed: {}", e.what());
    }
    lock.lock();
  }
}

void log_streamer::stop(std::chrono::seconds timeout) {
  try {
    {
      std::lock_guard lock(thread_mutex_);
      if (stopped_) return;
      stopped_ = true;
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    const bool synced = round(clock::now() + timeout);
    const auto s = current();
    log::info(component, "log upload of {} stopped{}: {} file syncs, {} bytes, {} failures",
              local_dir_.string(), synced ? "" : " (some files not in sync)", s.files_synced,
              s.bytes_uploaded, s.failures);
  } catch (const std::exception& e) {
    ++failures_;
    log::error(component, "final log upload of {} failed: {}", local_dir_.string(), e.what());
  } catch (...) {
    ++failures_;
  }
}

bool log_streamer::sync_now() {
  return round(clock::time_point::max());
}

log_streamer::stats log_streamer::current() const {
  return stats{files_synced_.load(), bytes_uploaded_.load(), failures_.load()};
}

bool log_streamer::round(clock::time_point deadline) {
  std::lock_guard lock(round_mutex_);
  std::vector<local_file> found;
  std::error_code ec;
  if (!fs::is_directory(local_dir_, ec)) return true;  // nothing written yet
  for (fs::recursive_directory_iterator it(local_dir_, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::error_code type_ec;
    if (!it->is_regular_file(type_ec) || it->is_symlink(type_ec)) continue;
    found.push_back(
        local_file{it->path().lexically_relative(local_dir_).generic_string(), it->path()});
  }
  bool all_ok = true;
  if (ec) {
    ++failures_;
    all_ok = false;
    log::warn(component, "cannot list the log folder {}: {} (retrying next round)",
              local_dir_.string(), ec.message());
  }
  std::sort(found.begin(), found.end(),
            [](const local_file& a, const local_file& b) { return a.relative < b.relative; });

  for (const auto& f : found) {
    if (clock::now() > deadline) {
      ++failures_;
      log::warn(component, "log upload of {} ran out of time; {} and later files may be behind",
                local_dir_.string(), f.relative);
      return false;
    }
    auto& state_ptr = files_[f.relative];
    if (!state_ptr) state_ptr = std::make_shared<file_state>();
    file_state& state = *state_ptr;
    const std::string remote =
        remote_prefix_.empty() ? f.relative : remote_prefix_ + "/" + f.relative;
    try {
      sync_file(state, f.path, remote, deadline);
      if (state.failing) {
        log::info(component, "log upload of {} recovered", f.relative);
        state.failing = false;
      }
    } catch (const std::exception& e) {
      ++failures_;
      all_ok = false;
      if (!state.failing) {
        log::warn(component, "uploading log {} to {} failed (retrying every round): {}", f.relative,
                  store_->describe(), e.what());
      } else {
        log::debug(component, "uploading log {} failed again: {}", f.relative, e.what());
      }
      state.failing = true;
    }
  }
  return all_ok;
}

void log_streamer::sync_file(file_state& state, const fs::path& path, const std::string& remote,
                             clock::time_point deadline) {
  readonly_file file(path);
  if (file.fd() < 0) {
    if (errno == ENOENT) return;  // deleted since the listing: the remote copy stays
    throw_error(errc::io,
                fmt::format("cannot open log file '{}': {}", path.string(), std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(file.fd(), &st) != 0) {
    throw_error(errc::io,
                fmt::format("cannot stat log file '{}': {}", path.string(), std::strerror(errno)));
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  const auto mtime = mtime_ns_of(st);

  bool full = !state.uploaded || state.force_full || st.st_ino != state.ino ||
              st.st_dev != state.dev || size < state.committed;
  if (!full) {
    if (size == state.committed && mtime == state.mtime_ns) return;  // unchanged
    // Grown, or touched: the bytes already uploaded must still be there.
    std::vector<std::byte> probe(state.head.size());
    full = file.read_at(0, probe, path) != probe.size() || probe != state.head;
    if (!full) {
      probe.resize(state.tail.size());
      full = file.read_at(state.committed - state.tail.size(), probe, path) != probe.size() ||
             probe != state.tail;
    }
    if (!full && size == state.committed) {
      state.mtime_ns = mtime;
      return;
    }
  }
  std::uint64_t block = tuning_.block_size;
  if (!full && state.ids.size() + (size - state.committed + block - 1) / block > tuning_.max_blocks)
    full = true;  // near the service's block-count limit: consolidate into fewer blocks

  // A whole upload uses blocks big enough to leave room for growth within the block limit.
  if (full)
    block = std::max<std::uint64_t>(block,
                                    (size + tuning_.max_blocks / 2 - 1) / (tuning_.max_blocks / 2));
  const std::uint64_t from = full ? 0 : state.committed;
  const std::uint64_t generation = full ? ++generation_ : state.generation;
  std::uint64_t sequence = full ? 0 : state.ids.size();
  std::vector<std::string> new_ids;
  std::vector<std::byte> buffer(static_cast<std::size_t>(
      std::min<std::uint64_t>(block, std::max<std::uint64_t>(size - from, 1))));
  std::uint64_t offset = from;
  std::uint64_t sent = 0;
  // The fingerprints describe the bytes sent, not the file as it is after the commit.
  std::vector<std::byte> head = full ? std::vector<std::byte>{} : state.head;
  std::vector<std::byte> tail = full ? std::vector<std::byte>{} : state.tail;
  while (offset < size) {
    if (clock::now() > deadline) {
      throw_error(errc::timeout, fmt::format("ran out of time uploading log '{}'", path.string()));
    }
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(block, size - offset));
    const std::size_t got = file.read_at(offset, std::span(buffer).first(want), path);
    if (got == 0) break;  // the file shrank meanwhile: the next round notices
    new_ids.push_back(block_id(generation, sequence++));
    const std::span<const std::byte> data = std::span(buffer).first(got);
    ctx_.run(store_->stage_block(remote, new_ids.back(), data, ""));
    if (head.size() < fingerprint_bytes) {
      const auto more = data.first(std::min(fingerprint_bytes - head.size(), data.size()));
      head.insert(head.end(), more.begin(), more.end());
    }
    const auto last = data.last(std::min(fingerprint_bytes, data.size()));
    tail.insert(tail.end(), last.begin(), last.end());
    if (tail.size() > fingerprint_bytes) {
      tail.erase(tail.begin(), tail.end() - static_cast<std::ptrdiff_t>(fingerprint_bytes));
    }
    offset += got;
    sent += got;
    if (got < want) break;
  }
  put_options options;
  if (full) {
    ctx_.run(store_->commit_blocks(remote, new_ids, options));
    state.ids = std::move(new_ids);
    state.generation = generation;
    state.force_full = false;
  } else {
    try {
      ctx_.run(store_->append_blocks(remote, state.ids, state.committed, new_ids, options));
    } catch (const error& e) {
      // A connection or credential problem leaves the remote as it was: append again next
      // round. Anything else (the object changed, was removed, refused the block list) means
      // the remote is not what we committed: send the file whole next round.
      switch (e.code()) {
        case errc::network:
        case errc::timeout:
        case errc::transient_exhausted:
        case errc::cancelled:
        case errc::authentication_failed:
        case errc::permission_denied:
        case errc::tls:
          break;
        default:
          state.force_full = true;
      }
      throw;
    }
    state.ids.insert(state.ids.end(), new_ids.begin(), new_ids.end());
  }
  state.uploaded = true;
  state.committed = offset;
  state.dev = st.st_dev;
  state.ino = st.st_ino;
  state.mtime_ns = mtime;
  state.head = std::move(head);
  state.tail = std::move(tail);
  ++files_synced_;
  bytes_uploaded_ += sent;
}

}  // namespace dataport
