// Read-only backend for public web servers (http:// and https:// locations).
//
// Why it looks like this: a web server is not an object store, so this backend leans on what
// HTTP offers: HEAD for size/ETag/Accept-Ranges, ranged GETs pinned with If-Match (strong ETags
// only), and nginx autoindex pages for listings. Servers without range support still work: the
// store learns it (no Accept-Ranges on HEAD, or a 200 to a Range request), reports
// ranged_reads=false, and serves a read at any offset by fetching the whole object (at most
// full_body_limit bytes) and copying the requested slice. Writes are refused.
// g++ 12 reports a false -Wmismatched-new-delete for asio's awaitable frame allocator at -O2
// (GCC bug 104905-style false positive on coroutine frames); the pairing is asio's own.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <atomic>
#include <cstring>
#include <deque>

#include <fmt/format.h>

#include "dataport/error.hpp"
#include "dataport/redact.hpp"
#include "dataport/storage.hpp"
#include "storage/detail/autoindex.hpp"
#include "storage/detail/blob_errors.hpp"
#include "storage/detail/range_body.hpp"
#include "storage/detail/wire.hpp"

namespace dataport {
namespace {

using boost::asio::awaitable;
namespace sd = storage_detail;

constexpr unsigned public_redirects = 5;
constexpr std::size_t full_body_limit = 64u << 20;

awaitable<void> prepare_web_request(std::shared_ptr<credential> cred, http::request& req) {
  if (cred) co_await cred->apply(req);
}

std::string header_text(const http::response& resp, std::string_view name) {
  return std::string(resp.header(name).value_or(""));
}

class https_store final : public object_store, public std::enable_shared_from_this<https_store> {
 public:
  https_store(const location& where, std::shared_ptr<http::client> client,
              std::shared_ptr<credential> cred, std::shared_ptr<metrics> counters)
      : client_(std::move(client)), cred_(std::move(cred)), counters_(std::move(counters)) {
    origin_ = where.service_url;
    while (origin_.ends_with('/')) origin_.pop_back();
    where_text_ = redact_url(origin_);
  }

  awaitable<object_info> stat(std::string path) override {
    // First without following redirects: a web server answers a folder without its trailing
    // '/' with a redirect to the same URL plus '/', which is how we recognise directories.
    auto resp = co_await send("HEAD", url_of(path), {}, std::nullopt, 4u << 20, 0);
    if (resp.status >= 300 && resp.status < 400) {
      const auto target = header_text(resp, "Location");
      const auto folder = sd::encode_path(path) + "/";
      if (target.ends_with(folder)) {
        object_info dir;
        dir.path = path;
        dir.is_directory = true;
        co_return dir;
      }
      resp = co_await send("HEAD", url_of(path), {});
    }
    if (resp.status != 200) fail(resp, "stat of", path);
    object_info info;
    info.path = path;
    info.size = sd::parse_u64(header_text(resp, "Content-Length")).value_or(0);
    info.etag = header_text(resp, "ETag");
    info.last_modified = sd::parse_http_date(header_text(resp, "Last-Modified"));
    info.content_type = header_text(resp, "Content-Type");
    ranges_.store(header_text(resp, "Accept-Ranges") == "bytes" ? ranges_yes : ranges_no);
    co_return info;
  }

  std::unique_ptr<list_pager> list(list_options options) override;

  awaitable<read_result> read_range(std::string path, std::uint64_t offset,
                                    std::span<std::byte> into, std::string if_match) override {
    read_result result;
    result.etag = if_match;
    if (into.empty()) co_return result;
    if (ranges_.load() != ranges_no) {
      http::header_list headers;
      headers.emplace_back("Range", fmt::format("bytes={}-{}", offset, offset + into.size() - 1));
      add_if_match(headers, if_match);
      std::optional<http::response> ranged;
      try {
        ranged = co_await send("GET", url_of(path), std::move(headers), into);
      } catch (const error& e) {
        // A 200 with the whole object does not fit `into`: the server ignores Range. Anything
        // else is a real failure.
        if (e.code() != errc::protocol) throw;
        ranges_.store(ranges_no);
      }
      if (ranged) {
        auto& resp = *ranged;
        if (resp.status == 206 || resp.status == 200) {
          if (resp.status == 200) ranges_.store(ranges_no);
          if (resp.status == 206) ranges_.store(ranges_yes);
          auto placed = sd::place_range_body(resp.status, header_text(resp, "Content-Range"),
                                             header_text(resp, "Content-Length"), resp.body_size,
                                             offset, into, redact_url(url_of(path)));
          result.bytes = placed.bytes;
          result.object_size = placed.object_size;
          result.etag = header_text(resp, "ETag");
          co_return result;
        }
        if (resp.status == 416) {
          if (auto range = sd::parse_content_range(header_text(resp, "Content-Range"))) {
            result.object_size = range->total.value_or(0);
          }
          co_return result;
        }
        fail(resp, "read of", path, if_match);
      }
    }
    co_return co_await read_whole(std::move(path), offset, into, std::move(if_match));
  }

  awaitable<read_result> read_range_to(std::string path, std::uint64_t offset, std::uint64_t length,
                                       std::span<std::byte> scratch, byte_sink sink,
                                       std::string if_match) override {
    if (ranges_.load() != ranges_yes) {  // unknown or none: piece by piece (learns, or whole)
      co_return co_await object_store::read_range_to(std::move(path), offset, length, scratch,
                                                     std::move(sink), std::move(if_match));
    }
    co_return co_await streamed_read(std::move(path), offset, length, scratch, std::move(sink),
                                     std::move(if_match), {});
  }

  awaitable<read_result> read_range_into(std::string path, std::uint64_t offset,
                                         std::uint64_t length, byte_room room, byte_sink sink,
                                         std::string if_match) override {
    if (ranges_.load() != ranges_yes) {
      co_return co_await object_store::read_range_into(
          std::move(path), offset, length, std::move(room), std::move(sink), std::move(if_match));
    }
    co_return co_await streamed_read(std::move(path), offset, length, {}, std::move(sink),
                                     std::move(if_match), std::move(room));
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
  awaitable<object_info> append_blocks(std::string path, std::vector<std::string>, std::uint64_t,
                                       std::vector<std::string>, put_options) override {
    read_only(path);
  }
  awaitable<void> remove(std::string path) override { read_only(path); }
  awaitable<void> create_container() override { read_only(""); }

  store_capabilities capabilities() const noexcept override {
    store_capabilities caps;
    caps.ranged_reads = ranges_.load() != ranges_no;
    caps.writable = false;
    caps.block_upload = false;
    return caps;
  }

  std::string describe() const override { return where_text_; }

  /// One autoindex page for `folder` ("" = the origin root).
  awaitable<std::vector<object_info>> list_folder(std::string folder) {
    const std::string url = origin_ + "/" + sd::encode_path(folder) + (folder.empty() ? "" : "/");
    auto resp = co_await send("GET", url, {});
    if (resp.status != 200) fail(resp, "listing of", folder);
    auto entries = sd::parse_autoindex(resp.body, folder);
    if (!entries) {
      throw_error(errc::unsupported,
                  fmt::format("{} did not answer with a directory index for '{}': listing an "
                              "http(s) location needs a server with autoindex (nginx) turned on; "
                              "name the files directly instead",
                              where_text_, folder));
    }
    co_return std::move(*entries);
  }

 private:
  static constexpr int ranges_unknown = 0;
  static constexpr int ranges_yes = 1;
  static constexpr int ranges_no = 2;

  std::string url_of(std::string_view path) const {
    return origin_ + "/" + sd::encode_path(path.starts_with('/') ? path.substr(1) : path);
  }

  static void add_if_match(http::header_list& headers, const std::string& etag) {
    if (!etag.empty() && !sd::is_weak_etag(etag)) headers.emplace_back("If-Match", etag);
  }

  awaitable<http::response> send(std::string method, std::string url, http::header_list headers,
                                 std::optional<std::span<std::byte>> into = std::nullopt,
                                 std::size_t max_body = 4u << 20,
                                 unsigned max_redirects = public_redirects) {
    http::send_options options;
    options.max_redirects = max_redirects;
    options.body_into = into;
    options.max_body = max_body;
    co_return co_await send_with(std::move(method), std::move(url), std::move(headers),
                                 std::move(options));
  }

  /// Sends with the store's credential (if any) applied to every attempt.
  awaitable<http::response> send_with(std::string method, std::string url,
                                      http::header_list headers, http::send_options options) {
    http::request req;
    req.method = std::move(method);
    req.url = std::move(url);
    req.headers = std::move(headers);
    options.prepare = [cred = cred_](http::request& r) { return prepare_web_request(cred, r); };
    co_return co_await client_->send(std::move(req), std::move(options));
  }

  /// One ranged GET (the server is known to honour ranges) whose body streams through `scratch`
  /// (or into `room`'s memory) into the sink: a 128 MiB chunk is one request, not 256.
  awaitable<read_result> streamed_read(std::string path, std::uint64_t offset, std::uint64_t length,
                                       std::span<std::byte> scratch, byte_sink sink,
                                       std::string if_match, byte_room room) {
    read_result result;
    result.etag = if_match;
    if (length == 0) co_return result;
    http::header_list headers;
    headers.emplace_back("Range", fmt::format("bytes={}-{}", offset, offset + length - 1));
    add_if_match(headers, if_match);
    http::send_options options;
    options.max_redirects = public_redirects;
    options.body_into = scratch;
    options.body_sink = std::move(sink);
    options.body_room = std::move(room);
    auto resp = co_await send_with("GET", url_of(path), std::move(headers), std::move(options));
    if (resp.status == 206 || resp.status == 200) {
      // The bytes are already delivered: a response for another range (a server that stopped
      // honouring Range) fails the whole read, never silently wrong data; later reads go whole.
      if (resp.status == 200) ranges_.store(ranges_no);
      result.object_size =
          sd::check_streamed_range(resp.status, header_text(resp, "Content-Range"), resp.body_size,
                                   offset, length, redact_url(url_of(path)));
      result.etag = header_text(resp, "ETag");
      result.bytes = resp.body_size;
      co_return result;
    }
    if (resp.status == 416) co_return result;
    fail(resp, "read of", path, if_match);
  }

  /// The server has no range support: fetch the object and copy the slice.
  awaitable<read_result> read_whole(std::string path, std::uint64_t offset,
                                    std::span<std::byte> into, std::string if_match) {
    http::header_list headers;
    add_if_match(headers, if_match);
    http::response resp;
    try {
      resp = co_await send("GET", url_of(path), std::move(headers), std::nullopt, full_body_limit);
    } catch (const error& e) {
      if (e.code() != errc::protocol) throw;
      throw error(errc::unsupported,
                  fmt::format("{} does not support range requests and '{}' could not be read "
                              "whole (at most {} MiB are buffered): {}. Download it with a "
                              "single stream instead, or serve it from a server with Range support",
                              where_text_, path, full_body_limit >> 20, e.what()));
    }
    if (resp.status != 200) fail(resp, "read of", path, if_match);
    read_result result;
    result.etag = header_text(resp, "ETag");
    result.object_size = resp.body.size();
    if (offset < resp.body.size()) {
      result.bytes = std::min<std::size_t>(into.size(), resp.body.size() - offset);
      std::memcpy(into.data(), resp.body.data() + offset, result.bytes);
    }
    co_return result;
  }

  [[noreturn]] void read_only(std::string_view path) const {
    throw_error(errc::unsupported,
                fmt::format("cannot write '{}' at {}: http(s):// locations are read only; write "
                            "to a blob, abfss or local destination instead",
                            path, where_text_));
  }

  [[noreturn]] void fail(const http::response& resp, std::string_view operation,
                         std::string_view path, std::string_view if_match = {}) const {
    const std::string url = redact_url(url_of(path));
    if (resp.status == 412) {
      throw error(errc::changed,
                  fmt::format("{} changed since it was opened (ETag {} no longer matches): "
                              "re-open it to read the new version",
                              url, if_match),
                  service_details{412, {}, {}});
    }
    if (resp.status >= 300 && resp.status < 400) {
      throw error(errc::unsupported,
                  fmt::format("{} redirects ({} to {}); dataport follows only same-origin "
                              "redirects, never to another host or from https to http: use the "
                              "final URL directly",
                              url, resp.status, redact_url(header_text(resp, "Location"))),
                  service_details{resp.status, {}, {}});
    }
    const errc category = sd::map_blob_status(resp.status, {}, {});
    throw error(
        category,
        fmt::format("{} {} failed: HTTP {} {}. {}", operation, url, resp.status, resp.reason,
                    category == errc::not_found ? std::string_view("check the URL")
                                                : sd::advice_for(category)),
        service_details{resp.status, {}, {}});
  }

  std::shared_ptr<http::client> client_;
  std::shared_ptr<credential> cred_;
  std::shared_ptr<metrics> counters_;
  std::string origin_;
  std::string where_text_;
  std::atomic<int> ranges_{ranges_unknown};
};

/// Walks autoindex pages: one folder per next_page (breadth first when recursive).
class https_pager final : public list_pager {
 public:
  https_pager(std::shared_ptr<https_store> store, list_options options)
      : store_(std::move(store)), recursive_(options.recursive) {
    std::string prefix = options.prefix;
    while (prefix.ends_with('/')) prefix.pop_back();
    while (prefix.starts_with('/')) prefix.erase(0, 1);
    pending_.push_back(std::move(prefix));
  }

  awaitable<std::optional<std::vector<object_info>>> next_page() override {
    if (pending_.empty()) co_return std::nullopt;
    std::string folder = std::move(pending_.front());
    pending_.pop_front();
    auto entries = co_await store_->list_folder(std::move(folder));
    if (!recursive_) co_return entries;
    std::vector<object_info> files;
    for (auto& entry : entries) {
      if (entry.is_directory) {
        pending_.push_back(std::move(entry.path));
      } else {
        files.push_back(std::move(entry));
      }
    }
    co_return files;
  }

 private:
  std::shared_ptr<https_store> store_;
  bool recursive_;
  std::deque<std::string> pending_;
};

std::unique_ptr<list_pager> https_store::list(list_options options) {
  return std::make_unique<https_pager>(shared_from_this(), std::move(options));
}

}  // namespace

std::shared_ptr<object_store> make_https_store(const location& where,
                                               std::shared_ptr<http::client> client,
                                               std::shared_ptr<credential> cred,
                                               std::shared_ptr<metrics> counters) {
  if (!client) throw_error(errc::internal, "make_https_store needs an http client");
  return std::make_shared<https_store>(where, std::move(client), std::move(cred),
                                       std::move(counters));
}

}  // namespace dataport
