// mount_session in-process (real FUSE; CI runs as root with /dev/fuse): an upload that fails at
// close or fsync (the fault proxy makes Put Block List / Put Blob fail) is EIO and leaves the blob
// unchanged; serving an already-open store (the memory store) with hidden names, a folder that
// shadows a blob of the same name, readdirplus (no lookup per entry of a listed folder); and
// listing / writing while handles are closed on other threads (the reply-after-unlock fixes).
#include "transfer_support.hpp"  // first: test_support.hpp silences a GCC 12 Asio warning

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "dataport/memory_store.hpp"
#include "dataport/mount.hpp"

using namespace xfer;
using nlohmann::json;

namespace {

/// A mounted session that is always unmounted, also when a check throws.
struct mounted {
  dataport::mount_session session;
  fs::path mountpoint;
  std::vector<dataport::pending_upload> left;
  bool waited = false;
  std::vector<dataport::pending_upload> stop() {
    if (!waited) {
      session.unmount();
      left = session.wait();
      waited = true;
    }
    return left;
  }
  ~mounted() { stop(); }
};

/// Writes `data` to `path` (created or truncated) and returns the errno of close, or 0.
int write_through(const fs::path& path, std::span<const std::byte> data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  REQUIRE(fd >= 0);
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    REQUIRE(n > 0);
    done += static_cast<std::size_t>(n);
  }
  return ::close(fd) == 0 ? 0 : errno;
}

std::string sha_of(std::span<const std::byte> data) {
  return dataport::test::sha256_hex(data);
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

/// A memory store whose capabilities say whether flat listing pages are cheap (as on blob).
std::shared_ptr<dataport::memory_store> store_listing_flat(std::string name, bool flat) {
  auto store = std::make_shared<dataport::memory_store>(std::move(name));
  dataport::store_capabilities caps;
  caps.paged_flat_listing = flat;
  store->set_capabilities(caps);
  return store;
}

dataport::mount_options options_in(const temp_dir& tmp, bool read_write) {
  dataport::mount_options o;
  o.read_write = read_write;
  o.cache_dir = (tmp / "cache").string();
  return o;
}

}  // namespace

TEST_CASE("fuse: an upload that fails at close or fsync is EIO and the blob stays unchanged") {
  auto ctx_direct = make_context(1);
  dataport::context_options copts;
  copts.config = dataport::settings{};
  copts.config.retry_base_delay = std::chrono::milliseconds(10);
  copts.config.retry_max_delay = std::chrono::milliseconds(50);
  copts.config.http_retry_count = 1;
  copts.config.chunk_size = 1u << 20;  // files over 1 MiB go up as Put Block + Put Block List
  copts.config.unmount_timeout = std::chrono::seconds(60);
  copts.io_threads = 2;
  dataport::context ctx(std::move(copts));

  temp_dir tmp("fuseup");
  const std::string container = dataport::test::unique_name("fuse-upload");
  create_container(*ctx_direct, blob(container, ""));
  const auto old_big = dataport::test::random_bytes(3u << 20, 11);
  const auto old_small = dataport::test::random_bytes(1000, 12);
  put_blob(*ctx_direct, blob(container, "data/big.bin"), old_big);
  put_blob(*ctx_direct, blob(container, "data/small.bin"), old_small);
  auto direct = ctx_direct->open_store(blob(container, ""));

  dataport::test::fault_proxy proxy(azurite_url());
  mounted m;
  m.mountpoint = tmp / "mnt";
  fs::create_directories(m.mountpoint);
  m.session.start(ctx, blob(container, "data", "devstoreaccount1", proxy.url()),
                  m.mountpoint.string(), options_in(tmp, true));

  const auto new_big = dataport::test::random_bytes((3u << 20) + 4321, 13);
  const auto new_small = dataport::test::random_bytes(900, 14);
  proxy.set_rules(json::array({{{"match", {{"method", "PUT"}, {"path_regex", "comp=blocklist"}}},
                                {"action", {{"status", 500}, {"body", "injected commit failure"}}}},
                               {{"match", {{"method", "PUT"}, {"path_regex", "small\\.bin"}}},
                                {"action", {{"status", 500}, {"body", "injected put failure"}}}}}));

  SECTION("close reports EIO for block and single-request uploads") {
    CHECK(write_through(m.mountpoint / "big.bin", new_big) == EIO);
    CHECK(write_through(m.mountpoint / "small.bin", new_small) == EIO);
    CHECK(sha_of(read_object(*ctx_direct, *direct, "data/big.bin")) == sha_of(old_big));
    CHECK(sha_of(read_object(*ctx_direct, *direct, "data/small.bin")) == sha_of(old_small));
    bool committed_tried = false;
    for (const auto& r : proxy.requests()) {
      const auto path = r.at("path").get<std::string>();
      if (path.find("comp=blocklist") != std::string::npos && r.at("status") == 500)
        committed_tried = true;
    }
    CHECK(committed_tried);
    // The unmount tries once more (the faults persist), then reports both as pending.
    const auto left = m.stop();
    std::set<std::string> pending;
    for (const auto& p : left) {
      pending.insert(p.path);
      CHECK(fs::exists(p.staging_file));
    }
    CHECK(pending == std::set<std::string>{"big.bin", "small.bin"});
    CHECK(sha_of(read_object(*ctx_direct, *direct, "data/big.bin")) == sha_of(old_big));
  }

  SECTION("fsync reports EIO; a later close uploads once the service recovers") {
    const int fd = ::open((m.mountpoint / "big.bin").c_str(), O_WRONLY | O_TRUNC);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, new_big.data(), new_big.size()) == static_cast<ssize_t>(new_big.size()));
    const int fsync_errno = ::fsync(fd) == 0 ? 0 : errno;
    CHECK(fsync_errno == EIO);
    CHECK(sha_of(read_object(*ctx_direct, *direct, "data/big.bin")) == sha_of(old_big));
    // The mount still shows the written bytes (staged), and the next flush uploads them.
    CHECK(sha_of(read_file(m.mountpoint / "big.bin")) == sha_of(new_big));
    proxy.clear();
    CHECK(::close(fd) == 0);
    CHECK(sha_of(read_object(*ctx_direct, *direct, "data/big.bin")) == sha_of(new_big));
    CHECK(m.stop().empty());
  }
}

TEST_CASE("fuse: an open store mounts at its root with hidden names and folders over blobs") {
  auto ctx = make_context();
  temp_dir tmp("fusemem");
  auto store = std::make_shared<dataport::memory_store>("memory://fuse-session");
  const auto a = dataport::test::random_bytes(70000, 21);
  store->set_object("a.txt", a);
  store->set_object("dir/b.txt", dataport::test::random_bytes(10, 22));
  store->set_object("x", dataport::test::random_bytes(5, 23));  // shadowed by the folder x/
  store->set_object("x/y.txt", dataport::test::random_bytes(6, 24));
  store->set_object("p", dataport::test::random_bytes(5, 25));  // looked up before listing
  store->set_object("p/q.txt", dataport::test::random_bytes(7, 26));
  store->set_object("bad/../c", dataport::test::random_bytes(3, 27));
  store->set_object("e//f", dataport::test::random_bytes(3, 28));
  store->set_object(std::string(300, 'n'), dataport::test::random_bytes(3, 29));
  store->set_object(std::string("nul\0name", 8), dataport::test::random_bytes(3, 30));
  for (int i = 0; i < 300; ++i) {
    store->set_object(fmt::format("many/f{:03}", i),
                      dataport::test::random_bytes(static_cast<std::size_t>(i) + 1, 100 + i));
  }

  mounted m;
  m.mountpoint = tmp / "mnt";
  fs::create_directories(m.mountpoint);
  m.session.start(*ctx, store, "mltable:test-identity", m.mountpoint.string(),
                  options_in(tmp, false));
  const fs::path& root = m.mountpoint;

  // Looked up before its parent was listed: the folder wins over the blob "p".
  struct stat st {};
  REQUIRE(::stat((root / "p").c_str(), &st) == 0);
  CHECK(S_ISDIR(st.st_mode));
  CHECK(names_in(root / "p") == std::vector<std::string>{"q.txt"});

  CHECK(names_in(root) ==
        std::vector<std::string>{"a.txt", "bad", "dir", "e", "many", "p", "x"});  // no 300-byte
                                                                                  // or NUL name
  REQUIRE(::stat((root / "x").c_str(), &st) == 0);
  CHECK(S_ISDIR(st.st_mode));
  CHECK(names_in(root / "x") == std::vector<std::string>{"y.txt"});
  CHECK(names_in(root / "bad").empty());  // ".." is hidden
  CHECK(names_in(root / "e").empty());    // the empty name is hidden
  CHECK(sha_of(read_file(root / "a.txt")) == sha_of(a));
  CHECK(::stat((root / "bad/../c").c_str(), &st) != 0);

  // readdirplus: listing 300 entries then stat'ing each costs no lookup or getattr.
  REQUIRE(::stat((root / "many").c_str(), &st) == 0);
  const auto before = m.session.requests();
  DIR* dir = ::opendir((root / "many").c_str());
  REQUIRE(dir != nullptr);
  std::vector<std::string> listed;
  while (const dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") listed.push_back(name);
  }
  ::closedir(dir);
  REQUIRE(listed.size() == 300);
  std::size_t sizes_right = 0;
  for (const auto& name : listed) {
    REQUIRE(::lstat((root / "many" / name).c_str(), &st) == 0);
    const int i = std::stoi(name.substr(1));
    if (st.st_size == i + 1 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0444) ++sizes_right;
  }
  CHECK(sizes_right == 300);
  const auto after = m.session.requests();
  CHECK(after.readdirplus > before.readdirplus);
  CHECK(after.lookups == before.lookups);
  CHECK(after.getattrs - before.getattrs <= 2);  // the folder itself, at most
  m.stop();
}

TEST_CASE("fuse: files opened by name in a folder nobody listed cost no stat each") {
  // Primed from a one-level listing, and from a flat one where the store says flat pages are
  // cheap (blob): sub-folders then come from the first segments of deeper names.
  for (const bool flat : {false, true}) {
    INFO("flat listing: " << flat);
    auto ctx = make_context();
    temp_dir tmp("fuseprime");
    auto store = store_listing_flat("memory://fuse-prime", flat);
    std::vector<std::string> want(120);
    for (int i = 0; i < 120; ++i) {
      const auto data = dataport::test::random_bytes(1000 + static_cast<std::size_t>(i), 300 + i);
      store->set_object(fmt::format("data/f{:03}", i), data);
      want[static_cast<std::size_t>(i)] = sha_of(data);
    }
    store->set_object("data/g", dataport::test::random_bytes(5, 1));    // a blob ...
    store->set_object("data/g/h", dataport::test::random_bytes(5, 2));  // ... and a folder "g"
    store->set_object("data/sub/deep/x", dataport::test::random_bytes(5, 3));
    mounted m;
    m.mountpoint = tmp / "mnt";
    fs::create_directories(m.mountpoint);
    m.session.start(*ctx, store, "prime:test-identity", m.mountpoint.string(),
                    options_in(tmp, false));
    store->reset_counters();
    // Four threads read every file by name (a data loader with a file list): the first lookup
    // lists "data" once; no file costs a stat.
    std::atomic<int> right{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 4; ++t) {
      readers.emplace_back([&, t] {
        for (int i = t; i < 120; i += 4) {
          const auto got = read_file(m.mountpoint / fmt::format("data/f{:03}", i));
          if (sha_of(got) == want[static_cast<std::size_t>(i)]) ++right;
        }
      });
    }
    for (auto& r : readers) r.join();
    CHECK(right == 120);
    // The first name looked up in a folder gets its own stat ("data" in the root, one file in
    // "data"); the second lists the folder.
    CHECK(store->stat_calls() <= 2);
    const auto after_reads = store->stat_calls();
    struct stat st {};
    REQUIRE(::stat((m.mountpoint / "data/g").c_str(), &st) == 0);
    CHECK(S_ISDIR(st.st_mode));  // the folder wins, also when known from the primed listing
    REQUIRE(::stat((m.mountpoint / "data/sub").c_str(), &st) == 0);
    CHECK(S_ISDIR(st.st_mode));
    CHECK(store->stat_calls() == after_reads);
    CHECK(sha_of(read_file(m.mountpoint / "data/sub/deep/x")) ==
          sha_of(dataport::test::random_bytes(5, 3)));
    // A name the listing did not show still gets its own (negative) stat.
    const auto before = store->stat_calls();
    CHECK(::stat((m.mountpoint / "data/missing").c_str(), &st) != 0);
    CHECK(store->stat_calls() == before + 1);
    m.stop();
  }
}

TEST_CASE("fuse: one file opened in a large folder nobody listed costs no listing of it") {
  // A job opening one big file in a folder of many blobs: a stat and a one-entry folder check,
  // not a page of the folder (0.5 s of Azurite for 5,000 entries). The second name lists it.
  auto ctx = make_context();
  temp_dir tmp("fuseone");
  auto store = store_listing_flat("memory://fuse-one", true);
  for (int i = 0; i < 50; ++i) {
    store->set_object(fmt::format("data/f{:03}", i),
                      dataport::test::random_bytes(100, 400 + static_cast<std::uint64_t>(i)));
  }
  mounted m;
  m.mountpoint = tmp / "mnt";
  fs::create_directories(m.mountpoint);
  m.session.start(*ctx, store, "one:test-identity", m.mountpoint.string(), options_in(tmp, false));
  store->reset_counters();
  auto expect = [](int i) {
    return sha_of(dataport::test::random_bytes(100, 400 + static_cast<std::uint64_t>(i)));
  };
  CHECK(sha_of(read_file(m.mountpoint / "data/f007")) == expect(7));
  CHECK(store->stat_calls() == 2);  // "data", then "data/f007"
  CHECK(store->list_calls() == 1);  // is "data/f007" also a folder? (one entry)
  CHECK(sha_of(read_file(m.mountpoint / "data/f011")) == expect(11));
  CHECK(store->list_calls() == 2);  // the second name lists "data" ...
  CHECK(store->stat_calls() == 2);
  for (int i = 20; i < 50; ++i) {
    CHECK(sha_of(read_file(m.mountpoint / fmt::format("data/f{:03}", i))) == expect(i));
  }
  CHECK(store->list_calls() == 2);  // ... once: every other name comes from that listing
  CHECK(store->stat_calls() == 2);
  m.stop();
}

TEST_CASE("fuse: listing and writing while other threads close their handles") {
  auto ctx = make_context();
  temp_dir tmp("fuserace");
  auto store = std::make_shared<dataport::memory_store>("memory://fuse-race");
  for (int i = 0; i < 40; ++i) {
    store->set_object(fmt::format("d/f{:02}", i), dataport::test::random_bytes(100, 200 + i));
  }
  mounted m;
  m.mountpoint = tmp / "mnt";
  fs::create_directories(m.mountpoint);
  m.session.start(*ctx, store, "memory://fuse-race", m.mountpoint.string(), options_in(tmp, true));

  std::atomic<int> bad_listings{0};
  std::atomic<int> bad_writes{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 60; ++round) {
        if (t % 2 == 0) {
          std::size_t n = 0;
          DIR* dir = ::opendir((m.mountpoint / "d").c_str());
          if (dir == nullptr) {
            ++bad_listings;
            continue;
          }
          while (const dirent* e = ::readdir(dir)) n += e->d_name[0] == 'f' ? 1 : 0;
          ::closedir(dir);
          if (n < 40) ++bad_listings;
        } else {
          const auto data = dataport::test::random_bytes(4096, static_cast<std::uint64_t>(round));
          const auto path = m.mountpoint / fmt::format("w{}-{}.bin", t, round % 5);
          const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
          if (fd < 0) {
            ++bad_writes;
            continue;
          }
          for (std::size_t off = 0; off < data.size(); off += 512) {
            if (::pwrite(fd, data.data() + off, 512, static_cast<off_t>(off)) != 512) ++bad_writes;
          }
          if (::close(fd) != 0) ++bad_writes;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(bad_listings == 0);
  CHECK(bad_writes == 0);
  // The last round of each writer (round 59 → slot 4, content seed 59) reached the store.
  CHECK(sha_of(store->object("w1-4.bin")) == sha_of(dataport::test::random_bytes(4096, 59)));
  CHECK(sha_of(store->object("w3-4.bin")) == sha_of(dataport::test::random_bytes(4096, 59)));
  CHECK(m.stop().empty());
}
