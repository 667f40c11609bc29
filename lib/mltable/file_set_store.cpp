// The evaluated file set as a read-only object_store (dataport::mltable::make_file_set_store).
//
// Why a store: eval_mount and eval_download then reuse what already serves ro_mount and
// download — the FUSE adapter, the reader and its caches, the transfer engine — unchanged. The
// tree is built once from the evaluation (immutable afterwards, so every call is thread-safe);
// reads are forwarded to the store that holds the real file, pinned to the ETag seen at
// evaluation, so a file changed since then fails with errc::changed instead of mixing versions.
// The evaluated MLTable copy is served from memory as `MLTable` at the root.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // asio coroutine frames; see local_store

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include <fmt/format.h>

#include "dataport/error.hpp"
#include "dataport/mltable.hpp"
#include "dataport/object_store.hpp"
#include "dataport/redact.hpp"
#include "transfer/detail/md5.hpp"

namespace dataport::mltable {
namespace {

using boost::asio::awaitable;

std::string normalized(std::string_view path) {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  return std::string(path);
}

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

/// Hands out a precomputed listing page by page.
class vector_pager final : public list_pager {
 public:
  vector_pager(std::vector<object_info> entries, unsigned page_size)
      : entries_(std::move(entries)), page_size_(page_size == 0 ? 5000 : page_size) {}

  awaitable<std::optional<std::vector<object_info>>> next_page() override {
    if (next_ >= entries_.size() && handed_out_) co_return std::nullopt;
    handed_out_ = true;
    const std::size_t end = std::min(entries_.size(), next_ + page_size_);
    std::vector<object_info> page(entries_.begin() + static_cast<std::ptrdiff_t>(next_),
                                  entries_.begin() + static_cast<std::ptrdiff_t>(end));
    next_ = end;
    co_return page;
  }

 private:
  std::vector<object_info> entries_;
  std::size_t page_size_;
  std::size_t next_ = 0;
  bool handed_out_ = false;
};

class file_set_store final : public object_store {
 public:
  explicit file_set_store(const evaluation& ev) : source_(ev.source) {
    caps_.writable = false;
    caps_.block_upload = false;
    for (const auto& store : ev.stores) {
      if (store && !store->capabilities().ranged_reads) caps_.ranged_reads = false;
    }
    for (const auto& file : ev.files) {
      entry e;
      e.info.path = file.relative_path;
      e.info.size = file.size;
      e.info.etag = file.etag;
      e.info.content_md5 = file.content_md5;
      e.info.last_modified = file.last_modified;
      e.store = file.store_index < ev.stores.size() ? ev.stores[file.store_index] : nullptr;
      if (!e.store) {
        throw_error(errc::invalid_argument,
                    fmt::format("evaluated file '{}' names no store: pass the evaluation as "
                                "evaluate() returned it",
                                file.relative_path));
      }
      e.store_path = file.store_path;
      add(std::move(e));
    }
    mltable_bytes_ = ev.rewritten_yaml;
    entry copy;
    copy.info.path = std::string(mltable_file_name);
    copy.info.size = mltable_bytes_.size();
    copy.info.content_md5 = transfer_detail::md5_base64(std::as_bytes(std::span(mltable_bytes_)));
    copy.info.etag = "\"mltable-" + copy.info.content_md5 + "\"";
    copy.info.content_type = "application/x-yaml";
    add(std::move(copy));
  }

  awaitable<object_info> stat(std::string path) override {
    const std::string key = normalized(path);
    if (key.empty() || directories_.contains(key)) {
      object_info dir;
      dir.path = key;
      dir.is_directory = true;
      co_return dir;
    }
    co_return find(key).info;
  }

  std::unique_ptr<list_pager> list(list_options options) override {
    const std::string prefix = normalized(options.prefix);
    std::vector<object_info> entries;
    if (options.recursive) {
      const std::string below = prefix.empty() ? std::string() : prefix + "/";
      for (auto it = files_.lower_bound(below); it != files_.end(); ++it) {
        if (!it->first.starts_with(below)) break;
        entries.push_back(it->second.info);
      }
    } else if (const auto it = children_.find(prefix); it != children_.end()) {
      for (const auto& [name, info] : it->second) entries.push_back(info);
    }
    return std::make_unique<vector_pager>(std::move(entries), options.page_size);
  }

  awaitable<read_result> read_range(std::string path, std::uint64_t offset,
                                    std::span<std::byte> into, std::string if_match) override {
    const entry& e = find(normalized(path));
    if (!e.store) co_return read_copy(e, offset, into, if_match);
    std::string pinned = if_match.empty() ? e.info.etag : std::move(if_match);
    std::string real_path = e.store_path;
    read_result result =
        co_await e.store->read_range(std::move(real_path), offset, into, std::move(pinned));
    co_return result;
  }

  awaitable<read_result> read_range_to(std::string path, std::uint64_t offset, std::uint64_t length,
                                       std::span<std::byte> scratch, byte_sink sink,
                                       std::string if_match) override {
    const entry& e = find(normalized(path));
    if (!e.store) {
      read_result copied = co_await object_store::read_range_to(
          std::move(path), offset, length, scratch, std::move(sink), std::move(if_match));
      co_return copied;
    }
    std::string pinned = if_match.empty() ? e.info.etag : std::move(if_match);
    std::string real_path = e.store_path;
    read_result result = co_await e.store->read_range_to(
        std::move(real_path), offset, length, scratch, std::move(sink), std::move(pinned));
    co_return result;
  }

  awaitable<read_result> read_range_into(std::string path, std::uint64_t offset,
                                         std::uint64_t length, byte_room room, byte_sink sink,
                                         std::string if_match) override {
    const entry& e = find(normalized(path));
    if (!e.store) {
      read_result copied = co_await object_store::read_range_into(
          std::move(path), offset, length, std::move(room), std::move(sink), std::move(if_match));
      co_return copied;
    }
    std::string pinned = if_match.empty() ? e.info.etag : std::move(if_match);
    std::string real_path = e.store_path;
    read_result result = co_await e.store->read_range_into(
        std::move(real_path), offset, length, std::move(room), std::move(sink), std::move(pinned));
    co_return result;
  }

  awaitable<object_info> put(std::string path, std::span<const std::byte>, put_options) override {
    read_only(path);
  }
  awaitable<void> stage_block(std::string path, std::string, std::span<const std::byte>,
                              std::string) override {
    read_only(path);
  }
  awaitable<object_info> commit_blocks(std::string path, std::vector<std::string>,
                                       put_options) override {
    read_only(path);
  }
  awaitable<void> remove(std::string path) override { read_only(path); }
  awaitable<void> create_container() override { read_only(""); }

  store_capabilities capabilities() const noexcept override { return caps_; }

  std::string describe() const override { return "mltable file set of " + source_; }

 private:
  struct entry {
    object_info info;
    std::shared_ptr<object_store> store;  ///< null: the MLTable copy, served from memory
    std::string store_path;
  };

  void add(entry e) {
    const std::string path = e.info.path;
    // Record every ancestor folder and each folder's direct children.
    std::string child = path;
    object_info child_info = e.info;
    while (true) {
      const std::string parent = parent_of(child);
      children_[parent].try_emplace(child, child_info);
      if (parent.empty() || !directories_.insert(parent).second) break;
      child = parent;
      child_info = object_info{};
      child_info.path = parent;
      child_info.is_directory = true;
    }
    files_.try_emplace(path, std::move(e));
  }

  const entry& find(const std::string& key) const {
    const auto it = files_.find(key);
    if (it != files_.end()) return it->second;
    if (key.empty() || directories_.contains(key)) {
      throw_error(errc::invalid_argument,
                  fmt::format("'{}' is a folder of the MLTable file set, not a file", key));
    }
    throw_error(errc::not_found,
                fmt::format("'{}' is not in the file set of {}", key, redact_url(source_)));
  }

  read_result read_copy(const entry& e, std::uint64_t offset, std::span<std::byte> into,
                        const std::string& if_match) const {
    if (!if_match.empty() && if_match != e.info.etag) {
      throw_error(errc::changed, "the evaluated MLTable copy changed (ETag mismatch)");
    }
    read_result r;
    r.etag = e.info.etag;
    r.object_size = mltable_bytes_.size();
    if (offset >= mltable_bytes_.size()) return r;
    r.bytes = std::min<std::size_t>(into.size(), mltable_bytes_.size() - offset);
    std::memcpy(into.data(), mltable_bytes_.data() + offset, r.bytes);
    return r;
  }

  [[noreturn]] void read_only(const std::string& path) const {
    throw_error(errc::unsupported,
                fmt::format("'{}': the MLTable file set of {} is read only (eval_mount and "
                            "eval_download inputs cannot be written)",
                            path, redact_url(source_)));
  }

  std::string source_;
  std::string mltable_bytes_;
  store_capabilities caps_;
  std::map<std::string, entry> files_;
  std::set<std::string> directories_;
  std::map<std::string, std::map<std::string, object_info>> children_;  ///< folder → name → info
};

}  // namespace

std::shared_ptr<object_store> make_file_set_store(context& /*ctx: reads run on its I/O threads*/,
                                                  const evaluation& ev) {
  return std::make_shared<file_set_store>(ev);
}

}  // namespace dataport::mltable
