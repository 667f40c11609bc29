// Azure Blob Storage backend (also serves dfs locations through the account's Blob endpoint).
//
// Why it looks like this: every operation is one REST call built as an http::request whose
// prepare hook stamps a fresh x-ms-date and then lets the credential sign (Shared Key), append a
// SAS or add a bearer token, so each retry is signed anew and signing always comes last. Reads
// are pinned with If-Match and land straight in the caller's buffer (body_into). Listings are
// lazy (one List Blobs call per next_page), size-capped, and guarded against a service that
// keeps returning the same NextMarker. All status → errc decisions live in blob_errors.cpp.
// g++ 12 reports a false -Wmismatched-new-delete for asio's awaitable frame allocator at -O2
// (GCC bug 104905-style false positive on coroutine frames); the pairing is asio's own.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <algorithm>
#include <cstring>
#include <set>

#include <fmt/format.h>
#include <pugixml.hpp>

#include "dataport/auth/sas.hpp"
#include "dataport/error.hpp"
#include "dataport/redact.hpp"
#include "dataport/storage.hpp"
#include "storage/detail/blob_errors.hpp"
#include "storage/detail/blob_listing.hpp"
#include "storage/detail/range_body.hpp"
#include "storage/detail/wire.hpp"

namespace dataport {
namespace {

using boost::asio::awaitable;
namespace sd = storage_detail;

constexpr std::string_view api_version = "2021-08-06";

awaitable<void> prepare_blob_request(std::shared_ptr<credential> cred, http::request& req) {
  http::set_header(req.headers, "x-ms-date",
                   sd::format_http_date(std::chrono::system_clock::now()));
  if (cred) co_await cred->apply(req);
}

std::string header_text(const http::response& resp, std::string_view name) {
  return std::string(resp.header(name).value_or(""));
}

class blob_store final : public object_store, public std::enable_shared_from_this<blob_store> {
 public:
  blob_store(const location& where, std::shared_ptr<http::client> client,
             std::shared_ptr<credential> cred, blob_store_options options,
             std::shared_ptr<metrics> counters)
      : client_(std::move(client)),
        cred_(std::move(cred)),
        options_(std::move(options)),
        counters_(std::move(counters)),
        container_(where.container) {
    std::string service = where.service_url;
    while (service.ends_with('/')) service.pop_back();
    container_url_ = service + "/" + sd::encode_path(container_);
    where_text_ = redact_url(service);
  }

  awaitable<object_info> stat(std::string path) override {
    if (path.empty()) {
      // Flat listings (no delimiter) of one entry: the service answers them in constant time
      // however the names below are grouped (see has_entries).
      co_await list_page("", true, 1, "");  // throws not_found when the container is missing
      object_info root;
      root.is_directory = true;
      co_return root;
    }
    auto resp = co_await send(make_request("HEAD", blob_url(path)));
    if (resp.status == 200) co_return info_from_headers(path, resp, 0);
    if (resp.status != 404 || header_text(resp, "x-ms-error-code") == "ContainerNotFound") {
      fail(resp, "stat of blob", path);
    }
    auto page = co_await list_page(path + "/", true, 1, "");
    if (!page.entries.empty()) {
      object_info dir;
      dir.path = path;
      dir.is_directory = true;
      co_return dir;
    }
    throw error(errc::not_found,
                fmt::format("blob '{}/{}' not found at {}: check the path (names are case "
                            "sensitive) and that the container is the right one",
                            container_, path, where_text_),
                service_details{404, header_text(resp, "x-ms-error-code"),
                                header_text(resp, "x-ms-request-id")});
  }

  std::unique_ptr<list_pager> list(list_options options) override;

  awaitable<read_result> read_range(std::string path, std::uint64_t offset,
                                    std::span<std::byte> into, std::string if_match) override {
    read_result result;
    result.etag = if_match;
    if (into.empty()) co_return result;
    auto req = make_request("GET", blob_url(path));
    http::set_header(req.headers, "Range",
                     fmt::format("bytes={}-{}", offset, offset + into.size() - 1));
    if (!if_match.empty()) http::set_header(req.headers, "If-Match", if_match);
    auto options = send_options();
    options.body_into = into;
    auto resp = co_await client_->send(std::move(req), std::move(options));
    if (resp.status == 206 || resp.status == 200) {
      result.etag = header_text(resp, "ETag");
      auto ranged = sd::place_range_body(resp.status, header_text(resp, "Content-Range"),
                                         header_text(resp, "Content-Length"), resp.body_size,
                                         offset, into, container_ + "/" + path);
      result.bytes = ranged.bytes;
      result.object_size = ranged.object_size;
      co_return result;
    }
    if (resp.status == 416) {
      if (auto range = sd::parse_content_range(header_text(resp, "Content-Range"))) {
        result.object_size = range->total.value_or(0);
      }
      co_return result;
    }
    if (resp.status == 412) fail_changed(resp, path, if_match);
    fail(resp, "read of blob", path);
  }

  awaitable<read_result> read_range_to(std::string path, std::uint64_t offset, std::uint64_t length,
                                       std::span<std::byte> scratch, byte_sink sink,
                                       std::string if_match) override {
    return streamed_read(std::move(path), offset, length, scratch, std::move(sink),
                         std::move(if_match), false);
  }

  awaitable<read_result> read_range_into(std::string path, std::uint64_t offset,
                                         std::uint64_t length, byte_room room, byte_sink sink,
                                         std::string if_match) override {
    return streamed_read(std::move(path), offset, length, {}, std::move(sink), std::move(if_match),
                         false, std::move(room));
  }

  awaitable<read_result> read_range_to_checked(std::string path, std::uint64_t offset,
                                               std::uint64_t length, std::span<std::byte> scratch,
                                               byte_sink sink, std::string if_match) override {
    if (length > max_checked_range) {
      throw error(
          errc::invalid_argument,
          fmt::format("a checked read covers at most {} bytes, not {}", max_checked_range, length));
    }
    return streamed_read(std::move(path), offset, length, scratch, std::move(sink),
                         std::move(if_match), true);
  }

  /// One ranged GET whose body streams through `scratch` (or into `room`'s memory) into the
  /// sink; with `want_md5` the service is asked for the range's MD5 (x-ms-range-get-content-md5,
  /// ranges up to 4 MiB).
  awaitable<read_result> streamed_read(std::string path, std::uint64_t offset, std::uint64_t length,
                                       std::span<std::byte> scratch, byte_sink sink,
                                       std::string if_match, bool want_md5, byte_room room = {}) {
    read_result result;
    result.etag = if_match;
    if (length == 0) co_return result;
    auto req = make_request("GET", blob_url(path));
    http::set_header(req.headers, "Range", fmt::format("bytes={}-{}", offset, offset + length - 1));
    if (want_md5) http::set_header(req.headers, "x-ms-range-get-content-md5", "true");
    if (!if_match.empty()) http::set_header(req.headers, "If-Match", if_match);
    auto options = send_options();
    options.body_into = scratch;
    options.body_sink = std::move(sink);
    options.body_room = std::move(room);
    // (A checked body resumed after a cut carries the MD5 of its tail only: the caller's
    // comparison then fails and it re-reads the range whole.)
    auto resp = co_await client_->send(std::move(req), std::move(options));
    if (resp.status == 206 || resp.status == 200) {
      // The bytes are already delivered: a response for another range fails the whole read
      // (the caller discards what it wrote), never silently wrong data.
      result.object_size =
          sd::check_streamed_range(resp.status, header_text(resp, "Content-Range"), resp.body_size,
                                   offset, length, container_ + "/" + path);
      result.etag = header_text(resp, "ETag");
      result.bytes = resp.body_size;
      if (want_md5) result.range_md5 = header_text(resp, "Content-MD5");
      co_return result;
    }
    if (resp.status == 416) co_return result;
    if (resp.status == 412) fail_changed(resp, path, if_match);
    fail(resp, "read of blob", path);
  }

  awaitable<object_info> put(std::string path, std::span<const std::byte> data,
                             put_options options) override {
    auto req = make_request("PUT", blob_url(path));
    req.body = data;
    http::set_header(req.headers, "x-ms-blob-type", "BlockBlob");
    set_content_headers(req, path, options);
    if (!options.content_md5.empty())
      http::set_header(req.headers, "Content-MD5", options.content_md5);
    auto resp = co_await send(std::move(req));
    if (resp.status != 201) fail_write(resp, "upload of blob", path);
    co_return info_from_headers(path, resp, data.size());
  }

  awaitable<void> stage_block(std::string path, std::string block_id,
                              std::span<const std::byte> data, std::string content_md5) override {
    auto url = fmt::format("{}?comp=block&blockid={}", blob_url(path),
                           sd::encode_query_value(sd::encode_block_id(block_id)));
    auto req = make_request("PUT", url);
    req.body = data;
    if (!content_md5.empty()) http::set_header(req.headers, "Content-MD5", content_md5);
    auto resp = co_await send(std::move(req));
    if (resp.status != 201) fail_write(resp, "staging a block of blob", path);
  }

  awaitable<object_info> commit_blocks(std::string path, std::vector<std::string> block_ids,
                                       put_options options) override {
    std::string xml = R"(<?xml version="1.0" encoding="utf-8"?><BlockList>)";
    for (const auto& id : block_ids) xml += "<Latest>" + sd::encode_block_id(id) + "</Latest>";
    xml += "</BlockList>";
    auto req = make_request("PUT", blob_url(path) + "?comp=blocklist");
    req.body = std::as_bytes(std::span<const char>(xml.data(), xml.size()));
    http::set_header(req.headers, "Content-Type", "application/xml");
    set_content_headers(req, path, options);
    auto resp = co_await send(std::move(req));  // `xml` outlives the send (coroutine frame)
    if (resp.status != 201) {
      // A commit whose response was lost is retried by the client; with If-None-Match: * the
      // retry then meets the blob the first try committed (409/412). When the blob's committed
      // list is exactly our ids (the transfer engine's carry a per-upload nonce), that blob is
      // this commit: success, not "already exists".
      bool own_commit = false;
      if (!options.overwrite && (resp.status == 409 || resp.status == 412)) {
        const std::vector<std::string> committed = co_await committed_block_ids(path);
        own_commit = !block_ids.empty() && committed.size() == block_ids.size() &&
                     std::equal(committed.begin(), committed.end(), block_ids.begin(),
                                [](const std::string& a, const std::string& b) {
                                  return a == sd::encode_block_id(b);
                                });
      }
      if (!own_commit) fail_write(resp, "committing the blocks of blob", path);
    }
    // Put Block List returns neither size nor type; a HEAD gives the complete picture.
    co_return co_await stat(path);
  }

  awaitable<object_info> append_blocks(std::string path, std::vector<std::string> committed_ids,
                                       std::uint64_t, std::vector<std::string> new_ids,
                                       put_options options) override {
    // Put Block List with <Latest> accepts committed and newly staged ids alike; naming the
    // committed ids again keeps their bytes without re-sending them.
    committed_ids.insert(committed_ids.end(), new_ids.begin(), new_ids.end());
    co_return co_await commit_blocks(std::move(path), std::move(committed_ids), std::move(options));
  }

  std::optional<std::string> copy_source_url(const std::string& path) const override {
    const std::string url = blob_url(path);
    if (!cred_) return url;
    auto grant = cred_->read_grant(container_, path);
    if (!grant) return std::nullopt;
    return grant->empty() ? url : auth::append_sas(url, *grant);
  }

  // Copy Blob From URL (x-ms-requires-sync): the service reads the source and answers when done.
  awaitable<void> put_from_url(std::string path, std::string source_url, std::string source_etag,
                               put_options options) override {
    auto req = copy_request(path, source_url, source_etag, options);
    http::set_header(req.headers, "x-ms-requires-sync", "true");
    auto resp = co_await send(std::move(req));
    if (resp.status == 202 || resp.status == 201) co_return;
    fail_copy(resp, "copying (server-side) into blob", path, source_etag);
  }

  // Copy Blob (the asynchronous kind): inside one account the service answers "success" once
  // the blob is whole. A "pending" answer is aborted and its blob removed: the caller must never
  // leave an incomplete blob under the final name.
  awaitable<bool> copy_within_account(std::string path, std::string source_url,
                                      std::string source_etag, put_options options) override {
    auto resp = co_await send(copy_request(path, source_url, source_etag, options));
    if (resp.status != 202 && resp.status != 201) {
      fail_copy(resp, "copying (server-side) into blob", path, source_etag);
    }
    if (header_text(resp, "x-ms-copy-status") == "success") co_return true;
    const std::string id = header_text(resp, "x-ms-copy-id");
    auto abort =
        make_request("PUT", blob_url(path) + "?comp=copy&copyid=" + sd::encode_query_value(id));
    http::set_header(abort.headers, "x-ms-copy-action", "abort");
    co_await send(std::move(abort));  // best effort: the copy may have finished meanwhile
    auto removed = co_await send(make_request("DELETE", blob_url(path)));
    if (removed.status != 202 && removed.status != 200 && removed.status != 404) {
      fail(removed, "removing the blob of an aborted background copy", path);
    }
    co_return false;
  }

  // Put Block From URL: one block from a range of the source.
  awaitable<void> stage_block_from_url(std::string path, std::string block_id,
                                       std::string source_url, std::uint64_t offset,
                                       std::uint64_t length, std::string source_etag) override {
    auto url = fmt::format("{}?comp=block&blockid={}", blob_url(path),
                           sd::encode_query_value(sd::encode_block_id(block_id)));
    auto req = make_request("PUT", url);
    http::set_header(req.headers, "x-ms-copy-source", source_url);
    http::set_header(req.headers, "x-ms-source-range",
                     fmt::format("bytes={}-{}", offset, offset + length - 1));
    if (!source_etag.empty()) http::set_header(req.headers, "x-ms-source-if-match", source_etag);
    auto resp = co_await send(std::move(req));
    if (resp.status == 201) co_return;
    fail_copy(resp, "staging a block (server-side) of blob", path, source_etag);
  }

  awaitable<void> remove(std::string path) override {
    auto resp = co_await send(make_request("DELETE", blob_url(path)));
    if (resp.status != 202 && resp.status != 200) fail(resp, "delete of blob", path);
  }

  awaitable<void> create_container() override {
    auto req = make_request("PUT", container_url_ + "?restype=container");
    if (!options_.public_access.empty()) {
      http::set_header(req.headers, "x-ms-blob-public-access", options_.public_access);
    }
    auto resp = co_await send(std::move(req));
    if (resp.status == 201) co_return;
    if (resp.status == 409 && header_text(resp, "x-ms-error-code") == "ContainerAlreadyExists") {
      co_return;
    }
    if (resp.status == 409 && sd::parse_error_body(resp.body).code == "ContainerAlreadyExists") {
      co_return;
    }
    fail(resp, "create of container", "");
  }

  store_capabilities capabilities() const noexcept override {
    store_capabilities caps;
    caps.paged_flat_listing = true;
    caps.copies_from_url = true;
    return caps;
  }

  std::string describe() const override { return where_text_ + "/" + container_; }

  /// One List Blobs call. `prefix` is the raw listing prefix ("a/b/" or "").
  awaitable<sd::listing_page> list_page(std::string prefix, bool recursive, unsigned page_size,
                                        std::string marker) {
    std::string url =
        fmt::format("{}?restype=container&comp=list&prefix={}&maxresults={}", container_url_,
                    sd::encode_query_value(prefix), std::clamp(page_size, 1u, 5000u));
    if (!recursive) url += "&delimiter=%2F";
    if (!marker.empty()) url += "&marker=" + sd::encode_query_value(marker);
    auto options = send_options();
    options.max_body = options_.max_listing_bytes;
    auto resp = co_await client_->send(make_request("GET", url), std::move(options));
    if (resp.status != 200) fail(resp, "listing of", prefix.empty() ? "(container root)" : prefix);
    auto page = sd::parse_list_blobs(resp.body, prefix, redact_url(url));
    // Azurite sends all blobs before all prefixes; Azure interleaves them. Sort for one order.
    std::sort(page.entries.begin(), page.entries.end(),
              [](const object_info& a, const object_info& b) { return a.path < b.path; });
    co_return page;
  }

 private:
  http::request make_request(std::string method, std::string url) const {
    http::request req;
    req.method = std::move(method);
    req.url = std::move(url);
    req.headers.emplace_back("x-ms-version", std::string(api_version));
    return req;
  }

  /// A Copy Blob (From URL) request: the source (with its grant) pinned to `source_etag`, and
  /// If-None-Match: * when the destination must not exist.
  http::request copy_request(std::string_view path, const std::string& source_url,
                             const std::string& source_etag, const put_options& options) const {
    auto req = make_request("PUT", blob_url(path));
    http::set_header(req.headers, "x-ms-copy-source", source_url);
    if (!source_etag.empty()) http::set_header(req.headers, "x-ms-source-if-match", source_etag);
    if (!options.overwrite) http::set_header(req.headers, "If-None-Match", "*");
    return req;
  }

  /// The base64 ids of the blob's committed blocks, in order; empty when it has none or the
  /// Get Block List call fails (the caller then reports its own error).
  awaitable<std::vector<std::string>> committed_block_ids(const std::string& path) {
    std::vector<std::string> ids;
    auto resp = co_await send(
        make_request("GET", blob_url(path) + "?comp=blocklist&blocklisttype=committed"));
    if (resp.status != 200) co_return ids;
    pugi::xml_document doc;
    if (!doc.load_buffer(resp.body.data(), resp.body.size())) co_return ids;
    for (const auto& block : doc.child("BlockList").child("CommittedBlocks").children("Block")) {
      ids.emplace_back(block.child("Name").text().as_string());
    }
    co_return ids;
  }

  http::send_options send_options() const {
    http::send_options options;
    options.prepare = [cred = cred_](http::request& req) {
      return prepare_blob_request(cred, req);
    };
    return options;
  }

  awaitable<http::response> send(http::request req) {
    return client_->send(std::move(req), send_options());
  }

  std::string blob_url(std::string_view path) const {
    if (path.empty() || path.starts_with('/')) {
      throw_error(errc::invalid_argument,
                  fmt::format("invalid blob path '{}' in container '{}': paths are relative to the "
                              "container and must not be empty or start with '/'",
                              path, container_));
    }
    return container_url_ + "/" + sd::encode_path(path);
  }

  void set_content_headers(http::request& req, std::string_view path,
                           const put_options& options) const {
    http::set_header(
        req.headers, "x-ms-blob-content-type",
        options.content_type.empty() ? sd::guess_content_type(path) : options.content_type);
    if (!options.content_md5.empty()) {
      http::set_header(req.headers, "x-ms-blob-content-md5", options.content_md5);
    }
    if (!options.overwrite) http::set_header(req.headers, "If-None-Match", "*");
  }

  static object_info info_from_headers(std::string_view path, const http::response& resp,
                                       std::uint64_t fallback_size) {
    object_info info;
    info.path = std::string(path);
    info.size = sd::parse_u64(header_text(resp, "Content-Length")).value_or(fallback_size);
    if (resp.status == 201) info.size = fallback_size;  // Content-Length of a PUT reply is 0
    info.etag = header_text(resp, "ETag");
    info.last_modified = sd::parse_http_date(header_text(resp, "Last-Modified"));
    info.content_md5 = header_text(resp, "Content-MD5");
    info.content_type = header_text(resp, "Content-Type");
    if (header_text(resp, "x-ms-meta-hdi_isfolder") == "true") {
      info.is_directory = true;
      info.size = 0;
    }
    return info;
  }

  /// A read pinned with If-Match found another version.
  [[noreturn]] void fail_changed(const http::response& resp, std::string_view path,
                                 std::string_view if_match) const {
    throw error(errc::changed,
                fmt::format("blob '{}/{}' at {} changed since it was opened (ETag {} no longer "
                            "matches): re-open it to read the new version",
                            container_, path, where_text_, if_match),
                service_details{412, header_text(resp, "x-ms-error-code"),
                                header_text(resp, "x-ms-request-id")});
  }

  /// A refused server-side copy. A source that moved on (412, SourceConditionNotMet) is
  /// errc::changed like a pinned read; a destination that exists (TargetConditionNotMet) is
  /// already_exists; the rest as fail().
  [[noreturn]] void fail_copy(const http::response& resp, std::string_view operation,
                              std::string_view path, std::string_view source_etag) const {
    const auto code = header_text(resp, "x-ms-error-code");
    if (resp.status == 412 &&
        (code == "SourceConditionNotMet" || code == "ConditionNotMet" || code.empty())) {
      throw error(errc::changed,
                  fmt::format("the source of '{}/{}' changed during the copy (ETag {} no longer "
                              "matches)",
                              container_, path, source_etag),
                  service_details{412, code, header_text(resp, "x-ms-request-id")});
    }
    if (code == "TargetConditionNotMet") {  // our only destination condition: If-None-Match: *
      throw error(errc::already_exists,
                  fmt::format("'{}/{}' already exists at the destination: use --if-exists "
                              "overwrite or skip-identical",
                              container_, path),
                  service_details{resp.status, code, header_text(resp, "x-ms-request-id")});
    }
    fail_write(resp, operation, path);
  }

  /// A refused write: a missing container says how to create it; the rest as fail().
  [[noreturn]] void fail_write(const http::response& resp, std::string_view operation,
                               std::string_view path) const {
    const auto code = header_text(resp, "x-ms-error-code");
    if (resp.status == 404 && code == "ContainerNotFound") {
      throw error(errc::not_found,
                  fmt::format("{} '{}/{}' at {} failed: the container '{}' does not exist. "
                              "Create it first, or let dataport create it: dataport cp (or put) "
                              "--create-container",
                              operation, container_, path, where_text_, container_),
                  service_details{404, code, header_text(resp, "x-ms-request-id")});
    }
    fail(resp, operation, path);
  }

  [[noreturn]] void fail(const http::response& resp, std::string_view operation,
                         std::string_view path) const {
    sd::failed_response failed{resp.status, resp.header("x-ms-error-code").value_or(""),
                               resp.header("x-ms-request-id").value_or(""), resp.body};
    throw sd::make_blob_error(failed, operation,
                              path.empty() ? container_ : container_ + "/" + std::string(path),
                              where_text_);
  }

  std::shared_ptr<http::client> client_;
  std::shared_ptr<credential> cred_;
  blob_store_options options_;
  std::shared_ptr<metrics> counters_;
  std::string container_;
  std::string container_url_;
  std::string where_text_;
};

class blob_pager final : public list_pager {
  static constexpr unsigned first_page_size = 200;

 public:
  blob_pager(std::shared_ptr<blob_store> store, list_options options)
      : store_(std::move(store)), options_(std::move(options)) {
    while (options_.prefix.ends_with('/')) options_.prefix.pop_back();
    while (options_.prefix.starts_with('/')) options_.prefix.erase(0, 1);
    if (!options_.prefix.empty()) options_.prefix += '/';
  }

  awaitable<std::optional<std::vector<object_info>>> next_page() override {
    if (done_) co_return std::nullopt;
    // The first page is small so the first entries arrive quickly (the service's time grows
    // with the page size); later pages use the full size.
    const unsigned size = marker_.empty() && options_.quick_first_page
                              ? std::min(options_.page_size, first_page_size)
                              : options_.page_size;
    auto page = co_await store_->list_page(options_.prefix, options_.recursive, size, marker_);
    if (page.next_marker.empty()) {
      done_ = true;
    } else {
      if (!seen_markers_.insert(page.next_marker).second) {
        throw_error(errc::protocol,
                    fmt::format("the listing of {} prefix '{}' returned a continuation marker it "
                                "had already returned (a pagination loop); the listing was "
                                "stopped. Retry later; if it persists report it to the service",
                                store_->describe(), options_.prefix));
      }
      marker_ = std::move(page.next_marker);
    }
    co_return std::move(page.entries);
  }

 private:
  std::shared_ptr<blob_store> store_;
  list_options options_;
  std::string marker_;
  std::set<std::string> seen_markers_;
  bool done_ = false;
};

std::unique_ptr<list_pager> blob_store::list(list_options options) {
  return std::make_unique<blob_pager>(shared_from_this(), std::move(options));
}

}  // namespace

std::shared_ptr<object_store> make_blob_store(const location& where,
                                              std::shared_ptr<http::client> client,
                                              std::shared_ptr<credential> cred,
                                              blob_store_options options,
                                              std::shared_ptr<metrics> counters) {
  if (where.container.empty()) {
    throw_error(errc::invalid_argument, fmt::format("the blob location {} names no container: use "
                                                    "<service>/<container>/<path>",
                                                    redact_url(where.service_url)));
  }
  if (!client) throw_error(errc::internal, "make_blob_store needs an http client");
  return std::make_shared<blob_store>(where, std::move(client), std::move(cred), std::move(options),
                                      std::move(counters));
}

}  // namespace dataport
