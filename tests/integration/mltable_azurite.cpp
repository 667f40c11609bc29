// MLTable evaluation against Azurite: patterns, folders and files across two storage accounts
// and three containers (wasbs, azureml datastore, blob https URLs, a path relative to the
// MLTable), the eval layout, the rewritten copy, the file-set store, download byte for byte, the
// fixed-prefix listing (seen through the fault proxy), errors with their line.
#include "support/test_support.hpp"  // first: silences a GCC 12 false positive in Asio headers

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "dataport/context.hpp"
#include "dataport/error.hpp"
#include "dataport/mltable.hpp"
#include "dataport/object_store.hpp"

namespace fs = std::filesystem;
namespace mlt = dataport::mltable;
using dataport::errc;
using dataport::test::servers;

namespace {

const std::string second_account = "dataportsecond";

std::string azurite() {
  return servers().at("azurite").at("blob_url").get<std::string>();
}
std::string key_of(const std::string& account) {
  return servers().at("azurite").at("accounts").at(account).get<std::string>();
}

/// Everything one test needs: containers on both accounts, a workspace that maps the two
/// accounts (and a datastore) to Azurite — possibly through a proxy — and a context using it.
struct scenario {
  std::string cam1 = dataport::test::unique_name("mlt-cam1");
  std::string cam2 = dataport::test::unique_name("mlt-cam2");
  std::string notes = dataport::test::unique_name("mlt-notes");
  std::string tables = dataport::test::unique_name("mlt-tables");
  fs::path dir = dataport::test::state_dir() / "mltable-tmp" / dataport::test::unique_name("ws");
  std::map<std::string, std::string> sha;  // "<account>/<container>/<path>" → sha256
  std::unique_ptr<dataport::context> ctx;

  explicit scenario(const std::string& origin = azurite()) {
    fs::create_directories(dir);
    const std::string ws = fmt::format(
        R"(datastores:
  cam2store:
    type: azure_blob
    account_name: devstoreaccount1
    container_name: {cam2}
    service_url: {origin}/devstoreaccount1
    credentials: {{account_key: "{key1}"}}
data_assets:
  cameras:
    versions:
      "1": {{type: mltable, path: "wasbs://{tables}@devstoreaccount1.blob.core.windows.net/cameras/"}}
accounts:
  devstoreaccount1:
    service_url: {origin}/devstoreaccount1
    credentials: {{account_key: "{key1}"}}
  {second}:
    service_url: {origin}/{second}
    credentials: {{account_key: "{key2}"}}
)",
        fmt::arg("cam2", cam2), fmt::arg("tables", tables), fmt::arg("origin", origin),
        fmt::arg("key1", key_of("devstoreaccount1")), fmt::arg("key2", key_of(second_account)),
        fmt::arg("second", second_account));
    std::ofstream(dir / "workspace.yaml") << ws;
    dataport::context_options options;
    options.config = dataport::settings{};
    options.config.retry_base_delay = std::chrono::milliseconds(10);
    options.config.retry_max_delay = std::chrono::milliseconds(100);
    options.workspace_file = (dir / "workspace.yaml").string();
    options.io_threads = 2;
    ctx = std::make_unique<dataport::context>(std::move(options));
  }
  ~scenario() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  scenario(const scenario&) = delete;
  scenario& operator=(const scenario&) = delete;

  std::shared_ptr<dataport::object_store> container(const std::string& account,
                                                    const std::string& name) {
    return ctx->open_store(
        ctx->resolve(fmt::format("wasbs://{}@{}.blob.core.windows.net/", name, account)));
  }

  void put(const std::string& account, const std::string& name, const std::string& path,
           const std::vector<std::byte>& data) {
    auto store = container(account, name);
    ctx->run(store->create_container());
    ctx->run(store->put(path, data, {}));
    sha[account + "/" + name + "/" + path] = dataport::test::sha256_hex(data);
  }
  void put(const std::string& account, const std::string& name, const std::string& path,
           std::string_view text) {
    put(account, name, path, dataport::test::to_bytes(text));
  }

  /// The seed document's example: two cameras in two containers, annotations in another
  /// account, plus decoys that the MLTable must not pick up.
  void seed() {
    const std::string a = "devstoreaccount1";
    put(a, cam1, "camera1/image1.jpg", dataport::test::random_bytes(300'000, 1));
    put(a, cam1, "camera1/image2.jpg", dataport::test::random_bytes(1'500'000, 2));
    put(a, cam1, "camera1/sub/image3.jpg", dataport::test::random_bytes(1000, 3));
    put(a, cam1, "camera1/image10.jpg", "not matched: two characters after 'image'");
    put(a, cam1, "camera1/notes.txt", "not matched: not a jpg");
    put(a, cam1, "elsewhere/image1.jpg", "not matched: outside the fixed prefix");
    put(a, cam2, "camera2/image1.jpg", dataport::test::random_bytes(2000, 4));
    put(a, cam2, "camera2/deeper/image2.jpg", dataport::test::random_bytes(3000, 5));
    put(second_account, notes, "annotations.csv", "image,label\nimage1.jpg,cat\n");
    put(second_account, notes, "annotations-old.csv", "not named by the MLTable");
    put(second_account, notes, "deep/2024/01/a.json", "{\"month\": 1}");
    put(second_account, notes, "deep/2024/07/b.json", "{\"month\": 7}");
    put(a, tables, "cameras/local-notes.txt", "next to the MLTable");
    put(a, tables, "cameras/MLTable", mltable_text());
  }

  std::string mltable_text() const {
    return fmt::format(
        "type: mltable\n"
        "paths:\n"
        "  - pattern: wasbs://{cam1}@devstoreaccount1.blob.core.windows.net/camera1/**/image?.jpg\n"
        "  - folder: azureml://datastores/cam2store/paths/camera2/   # a datastore\n"
        "  - file: \"wasbs://{notes}@{second}.blob.core.windows.net/annotations.csv\"\n"
        "  - pattern: https://{second}.blob.core.windows.net/{notes}/deep/2024/0[1-6]/*.json\n"
        "  - file: ./local-notes.txt\n"
        "transformations:\n"
        "  - read_delimited:\n"
        "      delimiter: ','\n"
        "  - take: 5\n",
        fmt::arg("cam1", cam1), fmt::arg("notes", notes), fmt::arg("second", second_account));
  }

  std::vector<std::string> expected_layout() const {
    std::vector<std::string> out = {
        "devstoreaccount1/" + cam1 + "/camera1/image1.jpg",
        "devstoreaccount1/" + cam1 + "/camera1/image2.jpg",
        "devstoreaccount1/" + cam1 + "/camera1/sub/image3.jpg",
        "devstoreaccount1/" + cam2 + "/camera2/deeper/image2.jpg",
        "devstoreaccount1/" + cam2 + "/camera2/image1.jpg",
        "devstoreaccount1/" + tables + "/cameras/local-notes.txt",
        second_account + "/" + notes + "/annotations.csv",
        second_account + "/" + notes + "/deep/2024/01/a.json",
    };
    std::sort(out.begin(), out.end());
    return out;
  }
};

std::string read_all(dataport::context& ctx, dataport::object_store& store,
                     const std::string& path) {
  const auto info = ctx.run(store.stat(path));
  std::vector<std::byte> data(info.size);
  std::uint64_t done = 0;
  while (done < info.size) {
    const auto got =
        ctx.run(store.read_range(path, done, std::span(data).subspan(done), info.etag));
    REQUIRE(got.bytes > 0);
    done += got.bytes;
  }
  return dataport::test::sha256_hex(data);
}

std::string file_sha(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  const std::string data((std::istreambuf_iterator<char>(in)), {});
  return dataport::test::sha256_hex(std::as_bytes(std::span(data)));
}

}  // namespace

TEST_CASE("MLTable patterns across two accounts evaluate to the eval layout", "[mltable]") {
  scenario s;
  s.seed();
  const std::string folder =
      fmt::format("wasbs://{}@devstoreaccount1.blob.core.windows.net/cameras/", s.tables);
  const auto ev = mlt::evaluate(*s.ctx, folder);
  std::vector<std::string> got;
  for (const auto& f : ev.files) got.push_back(f.relative_path);
  CHECK(got == s.expected_layout());
  CHECK(ev.skipped.empty());
  CHECK(ev.source == folder + "MLTable");

  // Every URI is in the entry's own form and reads back the seeded bytes.
  for (const auto& f : ev.files) {
    INFO(f.uri);
    CHECK(f.size > 0);
    CHECK_FALSE(f.etag.empty());
    const auto where = s.ctx->resolve(f.uri);
    auto store = s.ctx->open_store(where);
    CHECK(read_all(*s.ctx, *store, dataport::store_path(where)) == s.sha.at(f.relative_path));
  }
  const auto uri_of = [&](const std::string& layout) {
    for (const auto& f : ev.files) {
      if (f.relative_path == layout) return f.uri;
    }
    return std::string("<missing>");
  };
  CHECK(uri_of("devstoreaccount1/" + s.cam1 + "/camera1/sub/image3.jpg") ==
        "wasbs://" + s.cam1 + "@devstoreaccount1.blob.core.windows.net/camera1/sub/image3.jpg");
  CHECK(uri_of("devstoreaccount1/" + s.cam2 + "/camera2/image1.jpg") ==
        "azureml://datastores/cam2store/paths/camera2/image1.jpg");
  CHECK(uri_of(second_account + "/" + s.notes + "/deep/2024/01/a.json") ==
        "https://" + second_account + ".blob.core.windows.net/" + s.notes + "/deep/2024/01/a.json");
  CHECK(uri_of("devstoreaccount1/" + s.tables + "/cameras/local-notes.txt") ==
        "wasbs://" + s.tables + "@devstoreaccount1.blob.core.windows.net/cameras/local-notes.txt");

  // The copy: the five values now point into the layout; every other byte is unchanged.
  const std::string expected_copy = fmt::format(
      "type: mltable\n"
      "paths:\n"
      "  - pattern: ./devstoreaccount1/{cam1}/camera1/**/image?.jpg\n"
      "  - folder: ./devstoreaccount1/{cam2}/camera2/   # a datastore\n"
      "  - file: \"./{second}/{notes}/annotations.csv\"\n"
      "  - pattern: ./{second}/{notes}/deep/2024/0[1-6]/*.json\n"
      "  - file: ./devstoreaccount1/{tables}/cameras/local-notes.txt\n"
      "transformations:\n"
      "  - read_delimited:\n"
      "      delimiter: ','\n"
      "  - take: 5\n",
      fmt::arg("cam1", s.cam1), fmt::arg("cam2", s.cam2), fmt::arg("notes", s.notes),
      fmt::arg("second", second_account), fmt::arg("tables", s.tables));
  CHECK(ev.rewritten_yaml == expected_copy);

  // The same table named as the file, as a path-style URL without a trailing '/', and as a
  // registered data asset.
  for (const std::string uri :
       {folder + "MLTable", azurite() + "/devstoreaccount1/" + s.tables + "/cameras",
        std::string("azureml:cameras:1")}) {
    INFO(uri);
    const auto again = mlt::evaluate(*s.ctx, uri);
    std::vector<std::string> names;
    for (const auto& f : again.files) names.push_back(f.relative_path);
    CHECK(names == s.expected_layout());
    CHECK(again.rewritten_yaml == expected_copy);
  }
}

TEST_CASE("MLTable eval_download writes the tree across accounts byte for byte", "[mltable]") {
  scenario s;
  s.seed();
  const auto ev = mlt::evaluate(
      *s.ctx, fmt::format("wasbs://{}@devstoreaccount1.blob.core.windows.net/cameras", s.tables));
  const fs::path dest = s.dir / "input_data";
  dataport::transfer_options options;
  options.threads = 4;
  options.chunk_size = 256 * 1024;  // image2.jpg (1.5 MB) goes in several ranges
  const auto summary = mlt::download(*s.ctx, ev, dest, options);
  CHECK(summary.files_done == ev.files.size() + 1);
  CHECK(summary.files_failed == 0);
  std::size_t regular = 0;
  for (const auto& e : fs::recursive_directory_iterator(dest)) regular += e.is_regular_file();
  CHECK(regular == ev.files.size() + 1);  // no temporary names left behind
  for (const auto& layout : s.expected_layout()) {
    INFO(layout);
    CHECK(file_sha(dest / layout) == s.sha.at(layout));
  }
  std::ifstream copy(dest / "MLTable", std::ios::binary);
  CHECK(std::string((std::istreambuf_iterator<char>(copy)), {}) == ev.rewritten_yaml);

  // The downloaded copy evaluates locally to the same files.
  const auto local = mlt::evaluate(*s.ctx, dest.string());
  REQUIRE(local.files.size() == ev.files.size());
  for (std::size_t i = 0; i < local.files.size(); ++i) {
    CHECK(local.files[i].uri == (dest / ev.files[i].relative_path).string());
    CHECK(file_sha(local.files[i].uri) == s.sha.at(ev.files[i].relative_path));
  }
}

TEST_CASE("MLTable file-set store serves blobs of both accounts pinned to their version",
          "[mltable]") {
  scenario s;
  s.seed();
  const auto ev = mlt::evaluate(
      *s.ctx,
      fmt::format("wasbs://{}@devstoreaccount1.blob.core.windows.net/cameras/MLTable", s.tables));
  auto store = mlt::make_file_set_store(*s.ctx, ev);
  auto pager = store->list({.prefix = "", .recursive = false});
  std::vector<std::string> top;
  while (auto page = s.ctx->run(pager->next_page())) {
    for (const auto& e : *page) top.push_back(e.path + (e.is_directory ? "/" : ""));
  }
  CHECK(top == std::vector<std::string>{"MLTable", "dataportsecond/", "devstoreaccount1/"});
  for (const auto& layout : s.expected_layout()) {
    INFO(layout);
    CHECK(read_all(*s.ctx, *store, layout) == s.sha.at(layout));
  }
  // Streamed reads go through the real store too.
  const std::string image2 = "devstoreaccount1/" + s.cam1 + "/camera1/image2.jpg";
  std::vector<std::byte> streamed;
  std::vector<std::byte> scratch(64 * 1024);
  const auto info = s.ctx->run(store->stat(image2));
  const auto r = s.ctx->run(store->read_range_to(
      image2, 0, info.size, scratch,
      [&](std::span<const std::byte> piece) {
        streamed.insert(streamed.end(), piece.begin(), piece.end());
      },
      ""));
  CHECK(r.bytes == info.size);
  CHECK(dataport::test::sha256_hex(streamed) == s.sha.at(image2));

  // Overwritten after evaluation: reads fail as changed instead of mixing versions.
  s.put(second_account, s.notes, "annotations.csv", "image,label\nimage1.jpg,dog\n");
  std::vector<std::byte> buffer(16);
  try {
    s.ctx->run(
        store->read_range(second_account + "/" + s.notes + "/annotations.csv", 0, buffer, ""));
    FAIL("a changed blob was read");
  } catch (const dataport::error& e) {
    CHECK(e.code() == errc::changed);
  }
}

TEST_CASE("MLTable patterns list only their fixed prefix", "[mltable]") {
  dataport::test::fault_proxy proxy(azurite());
  scenario s(proxy.url());
  s.seed();
  proxy.clear();
  (void)mlt::evaluate(
      *s.ctx, fmt::format("wasbs://{}@devstoreaccount1.blob.core.windows.net/cameras/", s.tables));
  std::vector<std::string> prefixes;  // the prefix= of every List Blobs call, decoded
  for (const auto& r : proxy.requests()) {
    std::string path = r.at("path").get<std::string>();
    if (path.find("comp=list") == std::string::npos) continue;
    for (std::size_t at; (at = path.find("%2F")) != std::string::npos;) path.replace(at, 3, "/");
    const auto start = path.find("prefix=");
    REQUIRE(start != std::string::npos);
    const auto end = path.find('&', start);
    prefixes.push_back(path.substr(start + 7, end == std::string::npos ? end : end - start - 7));
  }
  std::sort(prefixes.begin(), prefixes.end());
  // The camera1 pattern, the camera2 folder, the json pattern: never a whole container.
  CHECK(prefixes == std::vector<std::string>{"camera1/", "camera2/", "deep/2024/"});
}

TEST_CASE("MLTable names that are both a file and a folder are skipped with a reason",
          "[mltable]") {
  scenario s;
  s.put("devstoreaccount1", s.cam1, "conflict/a", "a file named like a folder");
  s.put("devstoreaccount1", s.cam1, "conflict/a/b.txt", "below it");
  s.put("devstoreaccount1", s.cam1, "conflict/c.txt", "plain");
  const std::string uri =
      fmt::format("wasbs://{}@devstoreaccount1.blob.core.windows.net/MLTable", s.cam1);
  const auto ev = mlt::evaluate_text(*s.ctx, "paths:\n  - folder: ./conflict\n", uri);
  REQUIRE(ev.files.size() == 2);
  CHECK(ev.files[0].relative_path == "devstoreaccount1/" + s.cam1 + "/conflict/a/b.txt");
  CHECK(ev.files[1].relative_path == "devstoreaccount1/" + s.cam1 + "/conflict/c.txt");
  REQUIRE(ev.skipped.size() == 1);
  CHECK_THAT(ev.skipped[0], Catch::Contains("conflict/a: is also a folder"));
}

TEST_CASE("MLTable remote errors name the MLTable file and the line", "[mltable]") {
  scenario s;
  s.seed();
  const std::string uri =
      fmt::format("wasbs://{}@devstoreaccount1.blob.core.windows.net/cameras/MLTable", s.tables);
  const auto error_of = [&](const std::string& text) {
    try {
      (void)mlt::evaluate_text(*s.ctx, text, uri);
    } catch (const dataport::error& e) {
      return e;
    }
    return dataport::error(errc::ok, "<no error>");
  };
  auto e =
      error_of(fmt::format("paths:\n  - file: ./local-notes.txt\n  - file: "
                           "wasbs://{}@{}.blob.core.windows.net/missing.csv\n",
                           s.notes, second_account));
  CHECK(e.code() == errc::not_found);
  CHECK_THAT(e.what(), Catch::StartsWith(uri + ":3: file 'wasbs://"));

  e = error_of(
      fmt::format("paths:\n\n  - pattern: wasbs://{}@{}.blob.core.windows.net/deep/*.csv\n",
                  s.notes, second_account));
  CHECK(e.code() == errc::not_found);
  CHECK_THAT(e.what(), Catch::StartsWith(uri + ":3: pattern"));
  CHECK_THAT(e.what(), Catch::Contains("no file matches"));

  e = error_of("paths:\n  - folder: azureml://datastores/nosuchstore/paths/x/\n");
  CHECK(e.code() == errc::not_found);
  CHECK_THAT(e.what(), Catch::StartsWith(uri + ":2: folder"));
  CHECK_THAT(e.what(), Catch::Contains("nosuchstore"));

  try {
    (void)mlt::evaluate(*s.ctx, fmt::format("wasbs://{}@devstoreaccount1.blob.core.windows.net/"
                                            "nothing-here/",
                                            s.tables));
    FAIL("a folder without an MLTable evaluated");
  } catch (const dataport::error& err) {
    CHECK(err.code() == errc::not_found);
    CHECK_THAT(err.what(), Catch::Contains("no MLTable file in the folder"));
  }
}
