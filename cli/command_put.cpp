// `dataport put`: uploads one local file to one blob. Small files go in one Put Blob; larger
// ones as blocks committed with one Put Block List, so the blob appears whole or not at all.
// (The parallel transfer engine, folders and remote copies are `dataport cp`'s job.)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <vector>

#include <fmt/format.h>

#include "app.hpp"
#include "dataport/error.hpp"
#include "dataport/log.hpp"
#include "dataport/object_store.hpp"
#include "output.hpp"

namespace dataport::cli {
namespace {

struct put_flags {
  std::string source;
  std::string uri;
  bool create_container = false;
  bool no_overwrite = false;
};

constexpr std::size_t single_put_limit = 32u << 20;
constexpr std::size_t block_size = 8u << 20;

class file_reader {
 public:
  explicit file_reader(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) {
      throw_error(errc::io, fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
    }
  }
  ~file_reader() { ::close(fd_); }
  file_reader(const file_reader&) = delete;
  file_reader& operator=(const file_reader&) = delete;
  std::uint64_t size() const {
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      throw_error(errc::invalid_argument, "the source of `dataport put` must be a regular file");
    }
    return static_cast<std::uint64_t>(st.st_size);
  }
  void read_exact(std::uint64_t offset, std::span<std::byte> into) const {
    std::size_t done = 0;
    while (done < into.size()) {
      const ssize_t n =
          ::pread(fd_, into.data() + done, into.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        throw_error(errc::io, "the source file shrank or could not be read while uploading");
      done += static_cast<std::size_t>(n);
    }
  }

 private:
  int fd_;
};

boost::asio::awaitable<object_info> upload(object_store& store, const location& where,
                                           const put_flags& flags) {
  const std::string path = store_path(where);
  if (flags.create_container) co_await store.create_container();
  const file_reader file(flags.source);
  const std::uint64_t size = file.size();
  put_options options;
  options.overwrite = !flags.no_overwrite;
  if (size <= single_put_limit) {
    std::vector<std::byte> data(static_cast<std::size_t>(size));
    file.read_exact(0, data);
    co_return co_await store.put(path, data, options);
  }
  std::vector<std::string> ids;
  std::vector<std::byte> buffer(block_size);
  for (std::uint64_t offset = 0; offset < size; offset += block_size) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(block_size, size - offset));
    file.read_exact(offset, std::span(buffer).first(n));
    ids.push_back(fmt::format("{:08}", ids.size()));
    co_await store.stage_block(path, ids.back(), std::span(buffer).first(n), "");
  }
  co_return co_await store.commit_blocks(path, ids, options);
}

}  // namespace

void add_put_command(CLI::App& app, app_state& state, std::optional<int>& result) {
  auto* cmd =
      app.add_subcommand("put", "Upload one local file to a blob (atomic: whole or nothing)");
  auto flags = std::make_shared<put_flags>();
  cmd->add_option("FILE", flags->source, "local file")->required()->check(CLI::ExistingFile);
  cmd->add_option("URI", flags->uri, "destination blob URI")->required();
  cmd->add_flag("--create-container", flags->create_container, "create the container if missing");
  cmd->add_flag("--no-overwrite", flags->no_overwrite, "fail if the blob already exists");
  cmd->footer(uri_help);
  cmd->callback([&state, &result, flags] {
    state.set_default_log_level(log::level::info);
    auto& ctx = state.ctx();
    const location where = ctx.resolve(flags->uri);
    auto store = ctx.open_store(where);
    const auto started = std::chrono::steady_clock::now();
    const object_info info = ctx.run(upload(*store, where, *flags));
    log::info("put", "uploaded {} ({}) in {} ms", where.path,
              format_bytes(info.size ? info.size : std::filesystem::file_size(flags->source)),
              std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - started)
                  .count());
    result = 0;
  });
}

}  // namespace dataport::cli
