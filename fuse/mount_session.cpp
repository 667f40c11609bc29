// mount_session: checks, mounts and serves one location; see dataport/mount.hpp.
//
// Why the checks come first: a mount that fails later (missing container, mountpoint not empty)
// would leave the user with an empty or broken folder, so start() stats the remote root and the
// mountpoint and throws a clear error before touching the kernel. Unmounting is always lazy
// (MNT_DETACH / fusermount3 -u -z): a reader blocked in the mount never makes unmount hang; the
// loop ends when the kernel drops the connection. A program that keeps a file open would keep the
// connection alive for ever, so unmount() aborts it after DATASET_UNMOUNT_TIMEOUT_SECONDS
// (connection_abort.hpp).
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <thread>

#include <fmt/format.h>

#include "dataport/attribute_cache.hpp"
#include "dataport/log.hpp"
#include "dataport/redact.hpp"
#include "connection_abort.hpp"
#include "filesystem.hpp"

namespace dataport {

namespace stdfs = std::filesystem;
using fuse_adapter::filesystem;

struct mount_session::impl {
  std::unique_ptr<filesystem> fs;
  fuse_session* session = nullptr;
  std::string mountpoint;
  std::thread loop;
  std::atomic<bool> running{false};
  std::atomic<bool> unmount_requested{false};
  std::chrono::seconds unmount_timeout{30};
  unsigned max_threads = 32;
  std::optional<unsigned> connection;  ///< fusectl id, for the abort after the unmount timeout
  std::thread watchdog;                ///< started by unmount(); aborts a connection held open
  std::mutex loop_mutex;
  std::condition_variable loop_ended;
};

mount_session::mount_session() : impl_(std::make_unique<impl>()) {}

mount_session::~mount_session() {
  if (impl_->loop.joinable()) {
    unmount();
    wait();
  }
}

bool mount_session::running() const noexcept {
  return impl_->running;
}
const std::string& mount_session::mountpoint() const noexcept {
  return impl_->mountpoint;
}

void unmount_path(const std::string& mountpoint) {
  if (::geteuid() == 0 && ::umount2(mountpoint.c_str(), MNT_DETACH) == 0) return;
  const pid_t child = ::fork();
  if (child == 0) {
    ::execlp("fusermount3", "fusermount3", "-u", "-z", mountpoint.c_str(),
             static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  if (child < 0 || ::waitpid(child, &status, 0) < 0 || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    throw_error(errc::io, fmt::format("cannot unmount '{}': is it a mount (see `mount | grep {}`)?",
                                      mountpoint, mountpoint));
  }
}

namespace {

std::string default_cache_root() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::string(xdg) + "/dataport";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.cache/dataport";
  return "/tmp/dataport-cache";
}

void check_mountpoint(const std::string& mountpoint) {
  std::error_code ec;
  if (!stdfs::exists(mountpoint, ec)) {
    throw_error(
        errc::invalid_argument,
        fmt::format("mountpoint '{}' does not exist: create an empty folder first (mkdir -p {})",
                    mountpoint, mountpoint));
  }
  if (!stdfs::is_directory(mountpoint, ec)) {
    throw_error(errc::invalid_argument,
                fmt::format("mountpoint '{}' is not a folder: name an empty folder", mountpoint));
  }
  if (!stdfs::is_empty(mountpoint, ec) || ec) {
    throw_error(
        errc::invalid_argument,
        fmt::format("mountpoint '{}' is not empty (or not readable): mount on an empty folder, or "
                    "unmount what is mounted there (dataport unmount {})",
                    mountpoint, mountpoint));
  }
}

/// A store seen under another identity: describe() returns the identity, so the attribute cache
/// and the block caches (keyed by describe()) keep this mount's entries apart. Every call is
/// forwarded as is (the awaitables are the inner store's, no extra coroutine frame).
class identity_store final : public object_store {
 public:
  identity_store(std::shared_ptr<object_store> inner, std::string identity)
      : inner_(std::move(inner)), identity_(std::move(identity)) {}
  boost::asio::awaitable<object_info> stat(std::string path) override {
    return inner_->stat(std::move(path));
  }
  std::unique_ptr<list_pager> list(list_options options) override {
    return inner_->list(std::move(options));
  }
  boost::asio::awaitable<read_result> read_range(std::string path, std::uint64_t offset,
                                                 std::span<std::byte> into,
                                                 std::string if_match) override {
    return inner_->read_range(std::move(path), offset, into, std::move(if_match));
  }
  boost::asio::awaitable<read_result> read_range_to(std::string path, std::uint64_t offset,
                                                    std::uint64_t length,
                                                    std::span<std::byte> scratch, byte_sink sink,
                                                    std::string if_match) override {
    return inner_->read_range_to(std::move(path), offset, length, scratch, std::move(sink),
                                 std::move(if_match));
  }
  boost::asio::awaitable<read_result> read_range_into(std::string path, std::uint64_t offset,
                                                      std::uint64_t length, byte_room room,
                                                      byte_sink sink,
                                                      std::string if_match) override {
    return inner_->read_range_into(std::move(path), offset, length, std::move(room),
                                   std::move(sink), std::move(if_match));
  }
  boost::asio::awaitable<object_info> put(std::string path, std::span<const std::byte> data,
                                          put_options options) override {
    return inner_->put(std::move(path), data, std::move(options));
  }
  boost::asio::awaitable<void> stage_block(std::string path, std::string block_id,
                                           std::span<const std::byte> data,
                                           std::string content_md5) override {
    return inner_->stage_block(std::move(path), std::move(block_id), data, std::move(content_md5));
  }
  boost::asio::awaitable<object_info> commit_blocks(std::string path,
                                                    std::vector<std::string> block_ids,
                                                    put_options options) override {
    return inner_->commit_blocks(std::move(path), std::move(block_ids), std::move(options));
  }
  boost::asio::awaitable<void> remove(std::string path) override {
    return inner_->remove(std::move(path));
  }
  boost::asio::awaitable<void> create_container() override { return inner_->create_container(); }
  store_capabilities capabilities() const noexcept override { return inner_->capabilities(); }
  std::string describe() const override { return identity_; }

 private:
  std::shared_ptr<object_store> inner_;
  std::string identity_;
};

/// What start() found out about the remote root before mounting.
struct mount_root {
  std::string prefix;  ///< store path of the mount root ("" = the store's root)
  bool single_file = false;
  std::string single_name;
  std::string source;  ///< redacted, for logs and errors
};

void probe_folder(context& ctx, object_store& store) {
  ctx.run(has_entries(store, ""));
}

/// The one serving path of every start() overload.
void serve_store(mount_session::impl& state, context& ctx, std::shared_ptr<object_store> store,
                 const mount_root& root, const std::string& mountpoint,
                 const mount_options& options) {
  auto fs = std::make_unique<filesystem>();
  fs->ctx = &ctx;
  fs->read_write = options.read_write;
  fs->uid = ::getuid();
  fs->gid = ::getgid();
  fs->source = root.source;
  fs->prefix = root.prefix;
  fs->single_file = root.single_file;
  fs->single_name = root.single_name;

  settings config = ctx.config();
  if (options.reader_preset) apply_preset(config, *options.reader_preset);
  if (options.block_mode) config.block_based_cache_enabled = *options.block_mode;
  if (!options.cache_dir.empty()) config.cache_dir = options.cache_dir;
  if (config.cache_dir.empty()) config.cache_dir = default_cache_root();
  if (config.attribute_cache_ttl) {
    fs->ttl_seconds =
        std::max(0.0, static_cast<double>(config.attribute_cache_ttl->count()) / 1000.0);
  }
  fs->store = std::move(store);
  fs->store_id = fs->store->describe();
  fs->services = std::make_shared<reader_services>(ctx.io(), config, ctx.counters());

  fs->staging_dir =
      (stdfs::path(config.cache_dir) / "staging" / fmt::format("mount-{}", ::getpid())).string();
  if (options.read_write) {
    std::error_code ec;
    stdfs::create_directories(fs->staging_dir, ec);
    if (ec)
      throw_error(errc::io, fmt::format("cannot create the staging folder {}: {}; pass --cache-dir",
                                        fs->staging_dir, ec.message()));
  }

  std::string mount_opts = fmt::format(
      "fsname=dataport,subtype=dataport,nodev,nosuid,default_permissions,max_read={}", 1u << 20);
  if (!options.read_write) mount_opts += ",ro";
  if (options.allow_other) mount_opts += ",allow_other";
  for (const auto& extra : options.fuse_options) mount_opts += "," + extra;
  std::vector<std::string> arg_text{"dataport", "-o", mount_opts};
  std::vector<char*> argv;
  for (auto& a : arg_text) argv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  const auto& ops = fuse_adapter::operations(options.read_write);
  fuse_session* session = fuse_session_new(&args, &ops, sizeof(ops), fs.get());
  fuse_opt_free_args(&args);
  if (!session) {
    throw_error(errc::invalid_argument,
                fmt::format("libfuse refused the mount options '{}': check -o", mount_opts));
  }
  if (fuse_session_mount(session, mountpoint.c_str()) != 0) {
    fuse_session_destroy(session);
    throw_error(errc::io,
                fmt::format("cannot mount on '{}': is /dev/fuse available and are you allowed to "
                            "mount (root, or fusermount3 installed)?",
                            mountpoint));
  }
  state.fs = std::move(fs);
  state.session = session;
  state.mountpoint = mountpoint;
  state.unmount_timeout = config.unmount_timeout;
  state.connection = fuse_adapter::fuse_connection_id(mountpoint);
  if (state.connection) {  // kernel readahead as large as the FUSE init asks (fuse_adapter's init)
    const auto why =
        fuse_adapter::set_fuse_readahead(*state.connection, fuse_adapter::kernel_readahead >> 10);
    if (!why.empty()) log::debug("mount", "kernel readahead left at its default: {}", why);
  }
  state.max_threads = options.max_threads;
  state.running = true;
  state.loop = std::thread([state = &state] {
    fuse_loop_config* loop_config = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(loop_config, state->max_threads);
    fuse_loop_cfg_set_idle_threads(loop_config, 8);
    fuse_session_loop_mt(state->session, loop_config);
    fuse_loop_cfg_destroy(loop_config);
    std::lock_guard lock(state->loop_mutex);
    state->running = false;
    state->loop_ended.notify_all();
  });
  log::info("mount", "mounted {} on {} ({})", state.fs->source, mountpoint,
            options.read_write ? "read-write" : "read-only");
}

std::string checked_mountpoint(const mount_session::impl& state, const std::string& mountpoint) {
  if (state.loop.joinable())
    throw_error(errc::invalid_argument, "this mount session is already started");
  std::string normal = stdfs::absolute(mountpoint).lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  check_mountpoint(normal);
  return normal;
}

}  // namespace

void mount_session::start(context& ctx, std::string_view uri, const std::string& mountpoint,
                          mount_options options) {
  start(ctx, ctx.resolve(uri), mountpoint, std::move(options));
}

void mount_session::start(context& ctx, std::shared_ptr<object_store> store, std::string identity,
                          const std::string& mountpoint_in, mount_options options) {
  const std::string mountpoint = checked_mountpoint(*impl_, mountpoint_in);
  if (!store) throw_error(errc::invalid_argument, "mount_session::start: no store given");
  if (identity.empty()) identity = store->describe();
  if (options.read_write && !store->capabilities().writable) {
    throw_error(errc::unsupported,
                "the store of " + redact_text(identity) + " is read only: mount without --rw");
  }
  mount_root root;
  root.source = redact_text(identity);
  if (identity != store->describe()) {
    store = std::make_shared<identity_store>(std::move(store), std::move(identity));
  }
  try {
    probe_folder(ctx, *store);
  } catch (const error& e) {
    throw error(e.code(), fmt::format("cannot mount {}: {}", root.source, e.what()), e.details());
  }
  serve_store(*impl_, ctx, std::move(store), root, mountpoint, options);
}

void mount_session::start(context& ctx, const location& where, const std::string& mountpoint_in,
                          mount_options options) {
  const std::string mountpoint = checked_mountpoint(*impl_, mountpoint_in);
  mount_root root;
  root.source = where.source_uri.empty()
                    ? redact_url(where.service_url + "/" + where.container + "/" + where.path)
                    : redact_url(where.source_uri);
  if (options.read_write && where.backend == backend_kind::https) {
    throw_error(errc::unsupported, "https locations are read only: mount without --rw");
  }
  auto store = ctx.open_store(where);

  // The remote root: a folder (container / prefix) or one file.
  std::string prefix = store_path(where);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  root.prefix = prefix;
  try {
    if (prefix.empty()) {
      probe_folder(ctx, *store);
    } else {
      const object_info info = ctx.run(store->stat(prefix));
      if (!info.is_directory) {
        root.single_file = true;
        root.single_name = stdfs::path(prefix).filename().string();
        if (!fuse_adapter::valid_name(root.single_name)) {
          throw_error(errc::invalid_argument,
                      "the file name '" + root.single_name + "' cannot be shown in a mount");
        }
      }
    }
  } catch (const error& e) {
    // An rw mount may start on a folder that does not exist yet, as long as the container does.
    bool missing_folder_ok = e.code() == errc::not_found && options.read_write && !prefix.empty();
    if (missing_folder_ok) {
      try {
        probe_folder(ctx, *store);
      } catch (const error&) {
        missing_folder_ok = false;
      }
    }
    if (!missing_folder_ok) {
      throw error(e.code(), fmt::format("cannot mount {}: {}", root.source, e.what()), e.details());
    }
  }
  serve_store(*impl_, ctx, std::move(store), root, mountpoint, options);
}

mount_session::request_counts mount_session::requests() const noexcept {
  request_counts counts;
  if (const auto* fs = impl_->fs.get()) {
    counts.lookups = fs->lookups.load();
    counts.getattrs = fs->getattrs.load();
    counts.readdirs = fs->readdirs.load();
    counts.readdirplus = fs->readdirplus.load();
  }
  return counts;
}

void mount_session::unmount() {
  if (!impl_->running || impl_->unmount_requested.exchange(true)) return;
  try {
    unmount_path(impl_->mountpoint);
  } catch (const error& e) {
    log::warn("mount", "{}", e.what());
    impl_->unmount_requested = false;
    return;
  }
  std::lock_guard guard(impl_->loop_mutex);
  if (!impl_->running || impl_->watchdog.joinable()) return;  // wait() joins what is started here
  impl_->watchdog = std::thread([state = impl_.get()] {
    std::unique_lock lock(state->loop_mutex);
    if (state->loop_ended.wait_for(lock, state->unmount_timeout,
                                   [state] { return !state->running; }))
      return;
    lock.unlock();
    if (!state->connection) {
      log::error("mount",
                 "{} is still in use {}s after the unmount and its FUSE connection is "
                 "unknown: close the programs that use it",
                 state->mountpoint, state->unmount_timeout.count());
      return;
    }
    log::warn("mount",
              "{} is still in use {}s after the unmount "
              "(DATASET_UNMOUNT_TIMEOUT_SECONDS): aborting the FUSE connection; programs holding "
              "its files get ENOTCONN",
              state->mountpoint, state->unmount_timeout.count());
    if (auto why = fuse_adapter::abort_fuse_connection(*state->connection); !why.empty()) {
      log::error("mount", "cannot abort the FUSE connection of {}: {}", state->mountpoint, why);
    }
  });
}

std::vector<pending_upload> mount_session::wait() {
  std::vector<pending_upload> left;
  if (!impl_->loop.joinable()) return left;
  impl_->loop.join();
  std::thread watchdog;
  {
    std::lock_guard lock(impl_->loop_mutex);  // running is false now: unmount() starts no other
    watchdog = std::move(impl_->watchdog);
  }
  if (watchdog.joinable()) watchdog.join();
  fuse_session_unmount(impl_->session);
  fuse_session_destroy(impl_->session);
  impl_->session = nullptr;
  auto& fs = *impl_->fs;

  // Files still open or whose last upload failed: one more try, within the unmount timeout.
  std::vector<std::pair<std::string, std::shared_ptr<fuse_adapter::staged_file>>> dirty;
  {
    std::lock_guard lock(fs.mutex);
    for (const auto& [path, file] : fs.staged) dirty.emplace_back(path, file);
  }
  if (!dirty.empty()) {
    auto done = std::make_shared<std::promise<void>>();
    auto finished = done->get_future();
    auto* fs_ptr = impl_->fs.get();
    std::thread([fs_ptr, dirty, done] {
      for (const auto& [path, file] : dirty) {
        std::lock_guard lock(file->mutex);
        if (!file->dirty || file->write_error != 0) continue;  // incomplete: never uploaded
        try {
          fs_ptr->upload(path, *file);
        } catch (const std::exception& e) {
          log::error("mount", "upload of '{}' failed at unmount: {}", path, redact_text(e.what()));
        }
      }
      done->set_value();
    }).detach();
    if (finished.wait_for(impl_->unmount_timeout) != std::future_status::ready) {
      log::error("mount",
                 "pending uploads did not finish within DATASET_UNMOUNT_TIMEOUT_SECONDS={}s",
                 impl_->unmount_timeout.count());
      impl_->fs.release();  // the upload thread still uses it; leaking beats a crash at exit
    }
    for (const auto& [path, file] : dirty) {
      std::unique_lock lock(file->mutex, std::try_to_lock);
      if (!lock.owns_lock() || file->dirty) {
        left.push_back({path, file->staging_path});
        log::error("mount", "not uploaded: '{}' (data kept in {}{})", path, file->staging_path,
                   lock.owns_lock() && file->write_error != 0
                       ? "; a local write failed, the staged copy is incomplete"
                       : "");
      } else {
        ::unlink(file->staging_path.c_str());
      }
    }
  }
  log::info("mount", "unmounted {}", impl_->mountpoint);
  return left;
}

}  // namespace dataport
