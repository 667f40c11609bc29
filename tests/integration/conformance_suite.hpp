// The object_store conformance suite: one body of cases that every backend runs.
//
// A backend provides a `target`: the store under test, a root folder inside it where this run's
// objects live, a way to seed objects (the store itself, or a side channel for read-only
// backends: a Shared Key store for an anonymous container, the nginx www folder for web
// servers), and flags for what it supports. CONFORMANCE_CASES(name, factory) then defines one
// Catch TEST_CASE per behaviour so ctest reports each separately.
//
// Coroutines run on the target's own io_context (the one its http::client was built on).
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "dataport/error.hpp"
#include "dataport/object_store.hpp"
#include "support/test_support.hpp"

namespace dataport::conformance {

/// Runs `task` to completion on `io` (which the stores' http::client was built on).
template <class T>
T run_on(boost::asio::io_context& io, boost::asio::awaitable<T> task) {
  std::exception_ptr failure;
  if constexpr (std::is_void_v<T>) {
    boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr e) { failure = e; });
    io.restart();
    io.run();
    if (failure) std::rethrow_exception(failure);
  } else {
    std::optional<T> result;
    boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
      failure = e;
      if (!e) result.emplace(std::move(value));
    });
    io.restart();
    io.run();
    if (failure) std::rethrow_exception(failure);
    return std::move(*result);
  }
}

/// A seed function that writes through `store` with put().
inline auto seed_through(std::shared_ptr<boost::asio::io_context> io,
                         std::shared_ptr<object_store> store, std::string root) {
  return [io = std::move(io), store = std::move(store), root = std::move(root)](
             const std::string& relative, std::span<const std::byte> data) {
    run_on(*io, store->put(root.empty() ? relative : root + "/" + relative, data, put_options{}));
  };
}

struct target {
  /// Released last (declared first): removes what the target made on disk, if anything.
  std::shared_ptr<void> cleanup;
  std::shared_ptr<boost::asio::io_context> io = std::make_shared<boost::asio::io_context>();
  std::shared_ptr<object_store> store;
  /// Folder (relative to the store root) holding this run's objects; "" = the root.
  std::string root;
  /// Writes an object at `root/relative` by a channel that always works (may be via `store`).
  std::function<void(const std::string& relative, std::span<const std::byte> data)> seed;
  bool writable = true;            ///< put/stage/commit/remove through `store`
  bool listable = true;            ///< list() supported
  bool exact_pages = true;         ///< list honours page_size (one service page per next_page)
  bool etag_pinning = true;        ///< If-Match honoured
  bool writes_unsupported = true;  ///< read only by design (errc::unsupported), not by permission
  std::string name;

  template <class T>
  T run(boost::asio::awaitable<T> task) {
    return run_on(*io, std::move(task));
  }

  std::string path(const std::string& relative) const {
    return root.empty() ? relative : root + "/" + relative;
  }
  std::vector<std::byte> read(const std::string& relative, std::uint64_t offset, std::size_t n,
                              const std::string& if_match = {}) {
    std::vector<std::byte> buffer(n);
    auto result = run(store->read_range(path(relative), offset, buffer, if_match));
    buffer.resize(result.bytes);
    return buffer;
  }
  /// read_range_into with rooms of odd, growing sizes; requires every piece the sink receives to
  /// lie in the room handed out last (the caller's own memory, no copy needed).
  std::vector<std::byte> read_into_rooms(const std::string& relative, std::uint64_t offset,
                                         std::uint64_t n, const std::string& if_match = {}) {
    std::vector<std::unique_ptr<std::vector<std::byte>>> rooms;
    std::vector<std::byte> got;
    auto room = [&]() -> std::span<std::byte> {
      rooms.push_back(std::make_unique<std::vector<std::byte>>(1000 + 7 * rooms.size()));
      return *rooms.back();
    };
    auto sink = [&](std::span<const std::byte> piece) {
      REQUIRE_FALSE(rooms.empty());
      const auto& last = *rooms.back();
      REQUIRE(piece.data() >= last.data());
      REQUIRE(piece.data() + piece.size() <= last.data() + last.size());
      got.insert(got.end(), piece.begin(), piece.end());
    };
    const auto result =
        run(store->read_range_into(path(relative), offset, n, room, sink, if_match));
    REQUIRE(result.bytes == got.size());
    return got;
  }
  /// Every entry of a listing, with the number of next_page() calls that returned a page.
  std::pair<std::vector<object_info>, int> list_all(list_options options) {
    auto pager = store->list(std::move(options));
    std::vector<object_info> all;
    int pages = 0;
    while (auto page = run(pager->next_page())) {
      ++pages;
      for (auto& entry : *page) all.push_back(std::move(entry));
      REQUIRE(pages < 1000);
    }
    return {std::move(all), pages};
  }
};

using test::code_of;

inline std::vector<std::byte> slice(const std::vector<std::byte>& data, std::size_t offset,
                                    std::size_t n) {
  if (offset >= data.size()) return {};
  n = std::min(n, data.size() - offset);
  return {data.begin() + static_cast<std::ptrdiff_t>(offset),
          data.begin() + static_cast<std::ptrdiff_t>(offset + n)};
}

inline void case_put_stat_read(target& t) {
  const auto data = test::random_bytes(100'000, 1);
  t.seed("obj.bin", data);
  const auto info = t.run(t.store->stat(t.path("obj.bin")));
  CHECK(info.path == t.path("obj.bin"));
  CHECK(info.size == data.size());
  CHECK_FALSE(info.is_directory);
  CHECK_FALSE(info.etag.empty());
  CHECK(info.last_modified.has_value());
  CHECK(test::sha256_hex(t.read("obj.bin", 0, data.size())) == test::sha256_hex(data));
  // Every boundary: empty read, one byte at each end, exact size, straddling and past the end.
  CHECK(t.read("obj.bin", 0, 0).empty());
  CHECK(t.read("obj.bin", 0, 1) == slice(data, 0, 1));
  CHECK(t.read("obj.bin", data.size() - 1, 1) == slice(data, data.size() - 1, 1));
  CHECK(t.read("obj.bin", data.size() - 10, 100) == slice(data, data.size() - 10, 100));
  CHECK(t.read("obj.bin", 4096, 8192) == slice(data, 4096, 8192));
  CHECK(t.read("obj.bin", 0, data.size() + 50) == data);
  CHECK(t.read("obj.bin", data.size(), 10).empty());
  CHECK(t.read("obj.bin", data.size() + 1000, 10).empty());
  // Straight into the caller's memory: whole, inside, and running past the end.
  CHECK(t.read_into_rooms("obj.bin", 0, data.size()) == data);
  CHECK(t.read_into_rooms("obj.bin", 12'345, 54'321, info.etag) == slice(data, 12'345, 54'321));
  CHECK(t.read_into_rooms("obj.bin", data.size() - 10, 100) == slice(data, data.size() - 10, 100));
  // The read reports the version it read and pins to it.
  std::vector<std::byte> buffer(16);
  const auto result = t.run(t.store->read_range(t.path("obj.bin"), 5, buffer, info.etag));
  CHECK(result.bytes == 16);
  CHECK(result.etag == info.etag);
  CHECK(std::vector<std::byte>(buffer.begin(), buffer.end()) == slice(data, 5, 16));

  const std::vector<std::byte> empty;
  t.seed("empty.bin", empty);
  CHECK(t.run(t.store->stat(t.path("empty.bin"))).size == 0);
  CHECK(t.read("empty.bin", 0, 10).empty());
}

inline void case_put_result(target& t) {
  if (!t.writable) return;
  const auto data = test::to_bytes("hello, conformance");
  put_options options;
  const auto info = t.run(t.store->put(t.path("dir/hello.txt"), data, options));
  CHECK(info.size == data.size());
  CHECK_FALSE(info.etag.empty());
  const auto again = t.run(t.store->stat(t.path("dir/hello.txt")));
  CHECK(again.etag == info.etag);
  CHECK(again.content_type == "text/plain");
  CHECK(t.read("dir/hello.txt", 0, 100) == data);
  // overwrite=false refuses an existing object and keeps its content.
  options.overwrite = false;
  const auto other = test::to_bytes("other");
  CHECK(code_of([&] { t.run(t.store->put(t.path("dir/hello.txt"), other, options)); }) ==
        errc::already_exists);
  CHECK(t.read("dir/hello.txt", 0, 100) == data);
  t.run(t.store->put(t.path("dir/new.txt"), other, options));
  CHECK(t.read("dir/new.txt", 0, 100) == other);
}

inline void case_etag_pinning(target& t) {
  if (!t.etag_pinning) return;
  const auto first = test::random_bytes(3000, 2);
  t.seed("pinned.bin", first);
  const auto old_info = t.run(t.store->stat(t.path("pinned.bin")));
  const auto second = test::random_bytes(3500, 3);  // a different size changes every kind of ETag
  t.seed("pinned.bin", second);
  std::string message;
  CHECK(code_of([&] { t.read("pinned.bin", 0, 100, old_info.etag); }, &message) == errc::changed);
  CHECK_THAT(message, Catch::Contains("re-open"));
  const auto new_info = t.run(t.store->stat(t.path("pinned.bin")));
  CHECK(new_info.etag != old_info.etag);
  CHECK(t.read("pinned.bin", 10, 100, new_info.etag) == slice(second, 10, 100));
}

inline void case_listing(target& t) {
  if (!t.listable) return;
  const auto one = test::to_bytes("1");
  for (const char* name : {"tree/a.txt", "tree/b.txt", "tree/sub/c.txt", "tree/sub/deeper/d.txt",
                           "tree/z/e.txt", "tree-sibling.txt"}) {
    t.seed(name, one);
  }
  list_options options;
  options.prefix = t.path("tree");
  auto [level, level_pages] = t.list_all(options);
  std::map<std::string, bool> got;
  for (const auto& e : level) got[e.path] = e.is_directory;
  CHECK(got == std::map<std::string, bool>{{t.path("tree/a.txt"), false},
                                           {t.path("tree/b.txt"), false},
                                           {t.path("tree/sub"), true},
                                           {t.path("tree/z"), true}});
  for (const auto& e : level) {
    if (!e.is_directory) CHECK(e.size == 1);
  }
  options.recursive = true;
  auto [all, all_pages] = t.list_all(options);
  std::set<std::string> files;
  for (const auto& e : all) {
    CHECK_FALSE(e.is_directory);
    files.insert(e.path);
  }
  CHECK(files == std::set<std::string>{t.path("tree/a.txt"), t.path("tree/b.txt"),
                                       t.path("tree/sub/c.txt"), t.path("tree/sub/deeper/d.txt"),
                                       t.path("tree/z/e.txt")});
  // A trailing '/' on the prefix means the same folder; a missing folder lists nothing.
  options.prefix = t.path("tree/sub/");
  options.recursive = false;
  auto [sub, sub_pages] = t.list_all(options);
  REQUIRE(sub.size() == 2);
  CHECK(sub[0].path == t.path("tree/sub/c.txt"));
  CHECK(sub[1].path == t.path("tree/sub/deeper"));
  CHECK(sub[1].is_directory);
  // stat of a folder says directory.
  CHECK(t.run(t.store->stat(t.path("tree/sub"))).is_directory);
}

inline void case_pagination(target& t) {
  if (!t.listable || !t.exact_pages) return;
  const auto one = test::to_bytes("x");
  std::set<std::string> expected;
  for (int i = 0; i < 7; ++i) {
    const auto name = "pages/f" + std::to_string(i) + ".bin";
    t.seed(name, one);
    expected.insert(t.path(name));
  }
  list_options options;
  options.prefix = t.path("pages");
  options.page_size = 2;
  auto [entries, pages] = t.list_all(options);
  CHECK(pages >= 4);
  std::multiset<std::string> seen;
  for (const auto& e : entries) seen.insert(e.path);
  CHECK(seen.size() == 7);
  CHECK(std::set<std::string>(seen.begin(), seen.end()) == expected);
}

inline void case_hostile_names(target& t) {
  const std::vector<std::string> names = {
      "with space.txt",  "percent%25%.txt", "hash#tag.txt",
      "question?.txt",   "plus+sign.txt",   "\xC3\xA9t\xC3\xA9/\xE6\x97\xA5\xE6\x9C\xAC.txt",
      "amp&eq=semi;.txt"};
  std::map<std::string, std::vector<std::byte>> contents;
  std::uint64_t seed = 100;
  for (const auto& name : names) {
    contents["names/" + name] = test::random_bytes(64 + seed, seed);
    t.seed("names/" + name, contents["names/" + name]);
    ++seed;
  }
  for (const auto& [name, data] : contents) {
    INFO(name);
    CHECK(t.run(t.store->stat(t.path(name))).size == data.size());
    CHECK(t.read(name, 0, 1000) == data);
  }
  if (!t.listable) return;
  list_options options;
  options.prefix = t.path("names");
  options.recursive = true;
  auto [entries, pages] = t.list_all(options);
  std::set<std::string> listed;
  for (const auto& e : entries) listed.insert(e.path);
  std::set<std::string> expected;
  for (const auto& [name, data] : contents) expected.insert(t.path(name));
  CHECK(listed == expected);
  for (const auto& e : entries) {
    const auto relative = t.root.empty() ? e.path : e.path.substr(t.root.size() + 1);
    CHECK(t.read(relative, 0, 1000) == contents[relative]);
  }
}

inline void case_blocks(target& t) {
  if (!t.writable) return;
  const auto a = test::random_bytes(5000, 7);
  const auto b = test::random_bytes(3000, 8);
  const auto c = test::random_bytes(1, 9);
  const auto target_path = t.path("blocks/big.bin");
  t.run(t.store->stage_block(target_path, "block-000", a, ""));
  t.run(t.store->stage_block(target_path, "block-001", b, ""));
  t.run(t.store->stage_block(target_path, "block-002", c, ""));
  // Nothing is visible before the commit.
  CHECK(code_of([&] { t.run(t.store->stat(target_path)); }) == errc::not_found);
  const auto info = t.run(
      t.store->commit_blocks(target_path, {"block-002", "block-000", "block-001"}, put_options{}));
  std::vector<std::byte> expected(c);
  expected.insert(expected.end(), a.begin(), a.end());
  expected.insert(expected.end(), b.begin(), b.end());
  CHECK(info.size == expected.size());
  CHECK(t.read("blocks/big.bin", 0, 20000) == expected);

  // Re-uploading keeps the old content until the commit.
  const auto d = test::random_bytes(2000, 10);
  t.run(t.store->stage_block(target_path, "block-100", d, ""));
  CHECK(t.read("blocks/big.bin", 0, 20000) == expected);
  t.run(t.store->commit_blocks(target_path, {"block-100"}, put_options{}));
  CHECK(t.read("blocks/big.bin", 0, 20000) == d);
  if (t.listable) {  // no staging artefacts show up in listings
    list_options options;
    options.prefix = t.path("blocks");
    auto [entries, pages] = t.list_all(options);
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].path == target_path);
  }
}

inline void case_remove(target& t) {
  if (!t.writable) return;
  const auto data = test::to_bytes("bye");
  t.run(t.store->put(t.path("gone.txt"), data, put_options{}));
  t.run(t.store->remove(t.path("gone.txt")));
  CHECK(code_of([&] { t.run(t.store->stat(t.path("gone.txt"))); }) == errc::not_found);
  CHECK(code_of([&] { t.run(t.store->remove(t.path("gone.txt"))); }) == errc::not_found);
}

inline void case_not_found(target& t) {
  std::string message;
  CHECK(code_of([&] { t.run(t.store->stat(t.path("missing/nothing.bin"))); }, &message) ==
        errc::not_found);
  CHECK_THAT(message, Catch::Contains("nothing.bin"));
  CHECK(code_of([&] { t.read("missing/nothing.bin", 0, 10); }) == errc::not_found);
}

inline void case_read_only(target& t) {
  if (t.writable) return;
  std::string message;
  const auto data = test::to_bytes("x");
  const auto code =
      code_of([&] { t.run(t.store->put(t.path("x"), data, put_options{})); }, &message);
  if (t.writes_unsupported) {
    CHECK(code == errc::unsupported);
  } else {
    CHECK(code != errc::ok);
  }
  CHECK_FALSE(message.empty());
  CHECK(code_of([&] { t.run(t.store->remove(t.path("x"))); }) != errc::ok);
}

}  // namespace dataport::conformance

#define DATAPORT_CONFORMANCE_CASE(backend, title, fn, factory) \
  TEST_CASE(backend ": " title, "[conformance]") {             \
    auto target = factory();                                   \
    ::dataport::conformance::fn(target);                       \
  }

/// One TEST_CASE per behaviour for `backend` (a string literal), using `factory()` → target.
#define CONFORMANCE_CASES(backend, factory)                                                      \
  DATAPORT_CONFORMANCE_CASE(backend, "put, stat and ranged reads", case_put_stat_read, factory)  \
  DATAPORT_CONFORMANCE_CASE(backend, "put result and overwrite=false", case_put_result, factory) \
  DATAPORT_CONFORMANCE_CASE(backend, "ETag pinning", case_etag_pinning, factory)                 \
  DATAPORT_CONFORMANCE_CASE(backend, "listing one level and recursive", case_listing, factory)   \
  DATAPORT_CONFORMANCE_CASE(backend, "pagination", case_pagination, factory)                     \
  DATAPORT_CONFORMANCE_CASE(backend, "hostile names round-trip", case_hostile_names, factory)    \
  DATAPORT_CONFORMANCE_CASE(backend, "stage and commit blocks", case_blocks, factory)            \
  DATAPORT_CONFORMANCE_CASE(backend, "remove", case_remove, factory)                             \
  DATAPORT_CONFORMANCE_CASE(backend, "not found", case_not_found, factory)                       \
  DATAPORT_CONFORMANCE_CASE(backend, "writes refused when read only", case_read_only, factory)
