// memory_store: the in-memory object_store used by reader, mount and C API tests.
#include "dataport/memory_store.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "dataport/error.hpp"

namespace dataport {
namespace {

class vector_pager final : public list_pager {
 public:
  explicit vector_pager(std::vector<object_info> items) : items_(std::move(items)) {}
  boost::asio::awaitable<std::optional<std::vector<object_info>>> next_page() override {
    if (done_) co_return std::nullopt;
    done_ = true;
    co_return std::move(items_);
  }

 private:
  std::vector<object_info> items_;
  bool done_ = false;
};

}  // namespace

memory_store::memory_store(std::string name) : name_(std::move(name)) {}

std::string memory_store::set_object(const std::string& path, std::vector<std::byte> data) {
  std::lock_guard lock(mutex_);
  auto& slot = objects_[path];
  slot.data = std::make_shared<const std::vector<std::byte>>(std::move(data));
  slot.etag = fmt::format("\"0x{:X}\"", ++version_);
  return slot.etag;
}

std::vector<std::byte> memory_store::object(const std::string& path) const {
  std::lock_guard lock(mutex_);
  auto it = objects_.find(path);
  if (it == objects_.end()) throw_error(errc::not_found, "no object '" + path + "'");
  return *it->second.data;
}

void memory_store::set_failure_hook(failure_hook hook) {
  std::lock_guard lock(mutex_);
  hook_ = std::move(hook);
}

std::vector<memory_store::range_call> memory_store::range_calls() const {
  std::lock_guard lock(mutex_);
  return range_calls_;
}

void memory_store::reset_counters() {
  std::lock_guard lock(mutex_);
  range_calls_.clear();
  stat_calls_ = 0;
  read_calls_ = 0;
  list_calls_ = 0;
  bytes_served_ = 0;
}

void memory_store::check(std::string_view operation, const std::string& path) {
  failure_hook hook;
  {
    std::lock_guard lock(mutex_);
    hook = hook_;
  }
  if (hook) hook(operation, path);
}

object_info memory_store::info_of(const std::string& path, const stored& s) const {
  object_info info;
  info.path = path;
  info.size = s.data->size();
  info.etag = s.etag;
  info.content_type = "application/octet-stream";
  return info;
}

boost::asio::awaitable<object_info> memory_store::stat(std::string path) {
  ++stat_calls_;
  check("stat", path);
  std::lock_guard lock(mutex_);
  if (auto it = objects_.find(path); it != objects_.end()) co_return info_of(path, it->second);
  const std::string prefix = path + "/";
  auto it = objects_.lower_bound(prefix);
  if (it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0) {
    object_info info;
    info.path = path;
    info.is_directory = true;
    co_return info;
  }
  throw_error(errc::not_found, fmt::format("'{}' does not exist in {}", path, name_));
}

std::unique_ptr<list_pager> memory_store::list(list_options options) {
  ++list_calls_;
  std::vector<object_info> items;
  std::lock_guard lock(mutex_);
  std::string prefix = options.prefix;
  if (!prefix.empty() && prefix.back() != '/') prefix += '/';
  std::string last_dir;
  for (const auto& [path, s] : objects_) {
    if (path.compare(0, prefix.size(), prefix) != 0) continue;
    const auto rest = path.substr(prefix.size());
    const auto slash = rest.find('/');
    if (!options.recursive && slash != std::string::npos) {
      const std::string dir = prefix + rest.substr(0, slash);
      if (dir != last_dir) {
        object_info info;
        info.path = dir;
        info.is_directory = true;
        items.push_back(info);
        last_dir = dir;
      }
      continue;
    }
    items.push_back(info_of(path, s));
  }
  return std::make_unique<vector_pager>(std::move(items));
}

boost::asio::awaitable<read_result> memory_store::read_range(std::string path, std::uint64_t offset,
                                                             std::span<std::byte> into,
                                                             std::string if_match) {
  ++read_calls_;
  std::shared_ptr<const std::vector<std::byte>> data;
  std::string etag;
  {
    std::lock_guard lock(mutex_);
    range_calls_.push_back({path, offset, into.size(), if_match});
  }
  check("read_range", path);
  {
    std::lock_guard lock(mutex_);
    auto it = objects_.find(path);
    if (it == objects_.end())
      throw_error(errc::not_found, fmt::format("'{}' does not exist", path));
    data = it->second.data;
    etag = it->second.etag;
  }
  if (!if_match.empty() && if_match != etag) {
    throw_error(errc::changed,
                fmt::format("'{}' changed (ETag {} is now {}); reopen it", path, if_match, etag),
                {412, "ConditionNotMet", ""});
  }
  read_result result;
  result.etag = etag;
  result.object_size = data->size();
  if (offset < data->size()) {
    result.bytes =
        static_cast<std::size_t>(std::min<std::uint64_t>(into.size(), data->size() - offset));
    std::memcpy(into.data(), data->data() + offset, result.bytes);
  }
  bytes_served_ += result.bytes;
  co_return result;
}

boost::asio::awaitable<object_info> memory_store::put(std::string path,
                                                      std::span<const std::byte> data,
                                                      put_options options) {
  check("put", path);
  {
    std::lock_guard lock(mutex_);
    if (!options.overwrite && objects_.count(path) != 0) {
      throw_error(errc::already_exists, fmt::format("'{}' already exists", path));
    }
  }
  set_object(path, std::vector<std::byte>(data.begin(), data.end()));
  std::lock_guard lock(mutex_);
  co_return info_of(path, objects_.at(path));
}

boost::asio::awaitable<void> memory_store::stage_block(std::string path, std::string block_id,
                                                       std::span<const std::byte> data,
                                                       std::string /*content_md5*/) {
  check("stage_block", path);
  std::lock_guard lock(mutex_);
  staged_[path][block_id].assign(data.begin(), data.end());
  co_return;
}

boost::asio::awaitable<object_info> memory_store::commit_blocks(std::string path,
                                                                std::vector<std::string> block_ids,
                                                                put_options /*options*/) {
  check("commit_blocks", path);
  std::vector<std::byte> all;
  {
    std::lock_guard lock(mutex_);
    auto& blocks = staged_[path];
    for (const auto& id : block_ids) {
      auto it = blocks.find(id);
      if (it == blocks.end())
        throw_error(errc::invalid_argument, "block " + id + " was not staged");
      all.insert(all.end(), it->second.begin(), it->second.end());
    }
    staged_.erase(path);
  }
  set_object(path, std::move(all));
  std::lock_guard lock(mutex_);
  co_return info_of(path, objects_.at(path));
}

boost::asio::awaitable<object_info> memory_store::append_blocks(
    std::string path, std::vector<std::string> /*committed_ids*/, std::uint64_t committed_size,
    std::vector<std::string> new_ids, put_options /*options*/) {
  check("append_blocks", path);
  std::vector<std::byte> all;
  {
    std::lock_guard lock(mutex_);
    auto found = objects_.find(path);
    const std::uint64_t current = found == objects_.end() ? 0 : found->second.data->size();
    if (current != committed_size) {
      throw_error(errc::changed, fmt::format("cannot append to '{}': it holds {} bytes, not {}",
                                             path, current, committed_size));
    }
    if (found != objects_.end()) all = *found->second.data;
    auto& blocks = staged_[path];
    for (const auto& id : new_ids) {
      auto it = blocks.find(id);
      if (it == blocks.end())
        throw_error(errc::invalid_argument, "block " + id + " was not staged");
      all.insert(all.end(), it->second.begin(), it->second.end());
    }
    staged_.erase(path);
  }
  set_object(path, std::move(all));
  std::lock_guard lock(mutex_);
  co_return info_of(path, objects_.at(path));
}

boost::asio::awaitable<void> memory_store::remove(std::string path) {
  check("remove", path);
  std::lock_guard lock(mutex_);
  if (objects_.erase(path) == 0)
    throw_error(errc::not_found, fmt::format("'{}' does not exist", path));
  co_return;
}

boost::asio::awaitable<void> memory_store::create_container() {
  co_return;
}

store_capabilities memory_store::capabilities() const noexcept {
  return caps_;
}

std::string memory_store::describe() const {
  return name_;
}

}  // namespace dataport
