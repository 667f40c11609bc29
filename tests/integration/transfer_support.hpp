// Helpers shared by the transfer engine tests (tests/integration/transfer_*.cpp): locations on
// Azurite (direct or through a fault proxy) and on the local disk, trees of deterministic files,
// and byte-exact comparison by SHA-256 of every file.
#pragma once

#include "support/test_support.hpp"  // first: silences a GCC 12 false positive in Asio headers

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "dataport/context.hpp"
#include "dataport/location.hpp"
#include "dataport/object_store.hpp"
#include "dataport/transfer.hpp"

namespace xfer {

namespace fs = std::filesystem;
using hashes = std::map<std::string, std::string>;  // relative path → sha256 hex

constexpr std::uint64_t chunk = 256 * 1024;  // the engine's smallest chunk

inline std::string azurite_url() {
  return dataport::test::servers().at("azurite").at("blob_url").get<std::string>();
}
inline std::string account_key(const std::string& account) {
  return dataport::test::servers().at("azurite").at("accounts").at(account).get<std::string>();
}

/// A blob location. `origin` is Azurite's blob_url or a fault proxy's url().
inline dataport::location blob(const std::string& container, const std::string& path,
                               const std::string& account = "devstoreaccount1",
                               const std::string& origin = azurite_url()) {
  dataport::location l;
  l.backend = dataport::backend_kind::blob;
  l.service_url = origin + "/" + account;
  l.account = account;
  l.container = container;
  l.path = path;
  l.credential.type = dataport::credential_config::kind::shared_key;
  l.credential.account_name = account;
  l.credential.account_key = account_key(account);
  l.source_uri = l.service_url + "/" + container + "/" + path;
  return l;
}

inline dataport::location local(const fs::path& p) {
  dataport::location l;
  l.backend = dataport::backend_kind::local;
  l.path = p.string();
  l.source_uri = p.string();
  return l;
}

/// A context with quick retries (no environment: deterministic settings).
inline std::unique_ptr<dataport::context> make_context(unsigned retries = 4) {
  dataport::context_options options;
  options.config = dataport::settings{};
  options.config.retry_base_delay = std::chrono::milliseconds(10);
  options.config.retry_max_delay = std::chrono::milliseconds(200);
  options.config.http_retry_count = retries;
  options.io_threads = 2;
  return std::make_unique<dataport::context>(std::move(options));
}

/// A fresh empty folder under the build's test state dir (ext4, xattrs work), removed at exit.
class temp_dir {
 public:
  explicit temp_dir(const std::string& prefix = "xfer") {
    path_ = dataport::test::state_dir() / "xfer-tmp" / dataport::test::unique_name(prefix);
    fs::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  fs::path path_;
};

inline void write_file(const fs::path& p, std::span<const std::byte> data) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  REQUIRE(out.good());
}

inline std::vector<std::byte> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE(in.good());
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(raw.size());
  if (!raw.empty()) std::memcpy(out.data(), raw.data(), raw.size());
  return out;
}

inline std::string file_sha(const fs::path& p) {
  return dataport::test::sha256_hex(read_file(p));
}

/// Every entry under `root` (files, folders, symlinks; not following links), relative paths.
inline std::vector<std::string> walk(const fs::path& root) {
  std::vector<std::string> out;
  if (!fs::exists(fs::symlink_status(root))) return out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    out.push_back(fs::relative(it->path(), root).string() + (it->is_symlink() ? "@" : ""));
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// SHA-256 of every regular file under `root` (anything else, e.g. a symlink, is an entry too).
inline hashes local_tree(const fs::path& root) {
  hashes out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    const auto rel = fs::relative(it->path(), root).string();
    if (it->is_symlink()) {
      out[rel] = "symlink";
    } else if (it->is_regular_file()) {
      out[rel] = file_sha(it->path());
    }
  }
  return out;
}

/// Reads one object through the store (the whole object, by ranges) and returns its bytes.
inline std::vector<std::byte> read_object(dataport::context& ctx, dataport::object_store& store,
                                          const std::string& path) {
  const auto info = ctx.run(store.stat(path));
  std::vector<std::byte> data(info.size);
  std::uint64_t offset = 0;
  while (offset < info.size) {
    const auto want = std::min<std::uint64_t>(info.size - offset, 4u << 20);
    auto r = ctx.run(store.read_range(path, offset, std::span(data).subspan(offset, want), ""));
    REQUIRE(r.bytes > 0);
    offset += r.bytes;
  }
  return data;
}

/// SHA-256 of every blob under `prefix` ("" = the whole container), names relative to it.
inline hashes blob_tree(dataport::context& ctx, const dataport::location& where) {
  auto store = ctx.open_store(where);
  hashes out;
  std::string prefix = where.path;
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  auto pager = store->list({.prefix = prefix, .recursive = true});
  std::vector<dataport::object_info> all;
  for (;;) {
    auto page = ctx.run(pager->next_page());
    if (!page) break;
    for (auto& e : *page) {
      if (!e.is_directory) all.push_back(e);
    }
  }
  for (const auto& e : all) {
    std::string rel = e.path;
    if (!prefix.empty()) rel = rel.substr(prefix.size() + 1);
    out[rel] = dataport::test::sha256_hex(read_object(ctx, *store, e.path));
  }
  return out;
}

inline void put_blob(dataport::context& ctx, const dataport::location& where,
                     std::span<const std::byte> data) {
  auto store = ctx.open_store(where);
  ctx.run(store->put(where.path, data, {}));
}

inline void create_container(dataport::context& ctx, const dataport::location& where) {
  ctx.run(ctx.open_store(where)->create_container());
}

/// Names of the failed / skipped items of a summary.
inline std::vector<std::string> paths_of(const std::vector<dataport::transfer_problem>& problems) {
  std::vector<std::string> out;
  for (const auto& p : problems) out.push_back(p.path);
  std::sort(out.begin(), out.end());
  return out;
}

inline std::string describe(const dataport::transfer_summary& s) {
  std::string out = "done=" + std::to_string(s.files_done) +
                    " failed=" + std::to_string(s.files_failed) +
                    " skipped=" + std::to_string(s.files_skipped);
  for (const auto& p : s.failed) out += "\n  failed " + p.path + ": " + p.reason;
  for (const auto& p : s.skipped) out += "\n  skipped " + p.path + ": " + p.reason;
  return out;
}

}  // namespace xfer
