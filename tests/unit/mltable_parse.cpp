// MLTable files: parsing, the byte-exact rewrite of path values, every malformed-file error with
// its file and line, and evaluation on local folders (file, folder, pattern, relative paths,
// the file-set store, download with hashes).
#include <filesystem>
#include <fstream>
#include <random>

#include "support/test_support.hpp"  // first: it includes Asio with a GCC false positive silenced

#include <catch2/catch.hpp>

#include "dataport/context.hpp"
#include "dataport/error.hpp"
#include "dataport/mltable.hpp"
#include "dataport/object_store.hpp"
#include "mltable/detail/document.hpp"

namespace fs = std::filesystem;
namespace mlt = dataport::mltable;
using dataport::errc;
using dataport::mltable_detail::parse_document;
using dataport::mltable_detail::path_kind;
using dataport::mltable_detail::rewrite_paths;

namespace {

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::random_device rd;
    path = fs::temp_directory_path() /
           ("dataport-mltable-test-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  /// Writes `data` to path/name and returns its SHA-256.
  std::string write(const std::string& name, const std::string& data) const {
    const auto file = path / name;
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << data;
    return dataport::test::sha256_hex(std::as_bytes(std::span(data)));
  }
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string sha_of_file(const fs::path& p) {
  const std::string data = read_file(p);
  return dataport::test::sha256_hex(std::as_bytes(std::span(data)));
}

/// The error of parsing `text` as an MLTable called "/t/MLTable".
dataport::error parse_error(const std::string& text) {
  try {
    (void)parse_document(text, "/t/MLTable");
  } catch (const dataport::error& e) {
    return e;
  }
  return dataport::error(errc::ok, "<no error>");
}

dataport::context& shared_context() {
  static dataport::context ctx;
  return ctx;
}

dataport::error evaluate_error(const std::string& text, const std::string& uri) {
  try {
    (void)mlt::evaluate_text(shared_context(), text, uri);
  } catch (const dataport::error& e) {
    return e;
  }
  return dataport::error(errc::ok, "<no error>");
}

/// "_local/<absolute path without its leading '/'>": the layout of a local file.
std::string local_layout(const fs::path& p) {
  return "_local" + p.lexically_normal().string();
}

}  // namespace

TEST_CASE("MLTable parse finds every path entry with kind, line and value", "[mltable]") {
  const std::string text =
      "type: mltable\n"
      "paths:\n"
      "  - file: ./a.csv   # trailing comment\n"
      "  - folder: \"wasbs://c@acct.blob.core.windows.net/imgs/\"\n"
      "  - pattern: 'data/**/*.csv'\n"
      "transformations:\n"
      "  - read_delimited:\n"
      "      delimiter: ','\n";
  const auto doc = parse_document(text, "/t/MLTable");
  REQUIRE(doc.paths.size() == 3);
  CHECK(doc.paths[0].kind == path_kind::file);
  CHECK(doc.paths[0].value == "./a.csv");
  CHECK(doc.paths[0].line == 3);
  CHECK(doc.paths[1].kind == path_kind::folder);
  CHECK(doc.paths[1].value == "wasbs://c@acct.blob.core.windows.net/imgs/");
  CHECK(doc.paths[1].quote == '"');
  CHECK(doc.paths[2].kind == path_kind::pattern);
  CHECK(doc.paths[2].value == "data/**/*.csv");
  CHECK(doc.paths[2].line == 5);
  CHECK_FALSE(doc.delta);
  CHECK(parse_document("paths: [{folder: x}]\ntransformations:\n  - read_delta_lake: {}\n", "m")
            .delta);
}

TEST_CASE("MLTable rewrite replaces only the path values, byte for byte", "[mltable]") {
  const std::string text =
      "# dataset of the week\r\n"
      "type: mltable\r\n"
      "paths:\r\n"
      "  - file: ./a.csv   # keep me\r\n"
      "  - folder: \"wasbs://c@acct.blob.core.windows.net/imgs/\"\r\n"
      "  - pattern: 'it''s/*.csv'\r\n"
      "flow: [{file: x}]\r\n"
      "transformations:\r\n"
      "  - take: 10\r\n";
  const auto doc = parse_document(text, "/t/MLTable");
  const std::string out =
      rewrite_paths(doc, {"./_local/t/a.csv", "./acct/c/imgs/", "./acct/c/it's/*.csv"}, "m");
  CHECK(out ==
        "# dataset of the week\r\n"
        "type: mltable\r\n"
        "paths:\r\n"
        "  - file: ./_local/t/a.csv   # keep me\r\n"
        "  - folder: \"./acct/c/imgs/\"\r\n"
        "  - pattern: './acct/c/it''s/*.csv'\r\n"
        "flow: [{file: x}]\r\n"
        "transformations:\r\n"
        "  - take: 10\r\n");
}

TEST_CASE("MLTable rewrite quotes a plain value that needs it", "[mltable]") {
  const std::string flow = "paths: [{pattern: a/*.csv}, {file: b.csv}]\n";
  const auto doc = parse_document(flow, "m");
  REQUIRE(doc.paths.size() == 2);
  CHECK(doc.paths[0].in_flow);
  const std::string out = rewrite_paths(doc, {"./x/a,b/[ab]*.csv", "./x/b.csv"}, "m");
  CHECK(out == "paths: [{pattern: \"./x/a,b/[ab]*.csv\"}, {file: ./x/b.csv}]\n");
  const auto back = parse_document(out, "m");
  CHECK(back.paths[0].value == "./x/a,b/[ab]*.csv");

  const auto block = parse_document("paths:\n  - file: a.csv\n", "m");
  CHECK(rewrite_paths(block, {"./x/a #1.csv"}, "m") == "paths:\n  - file: \"./x/a #1.csv\"\n");
}

TEST_CASE("Malformed MLTable files give the file, the line and the fix", "[mltable]") {
  struct bad_case {
    const char* text;
    const char* where;  ///< expected "<file>:<line>:" prefix
    const char* says;
  };
  const bad_case bad[] = {
      {"paths:\n  - file: [unclosed\n", "/t/MLTable:3:", "not valid YAML"},
      {"", "/t/MLTable:1:", "empty"},
      {"type: mltable\ntransformations: []\n", "/t/MLTable:1:", "no 'paths:'"},
      {"- a\n- b\n", "/t/MLTable:1:", "YAML mapping"},
      {"type: mltable\npaths: []\n", "/t/MLTable:2:", "non-empty list"},
      {"type: mltable\npaths:\n", "/t/MLTable:1:", "non-empty list"},
      {"paths: ./data\n", "/t/MLTable:1:", "non-empty list"},
      {"paths:\n  - file: a.csv\n  - files: b.csv\n",
       "/t/MLTable:3:", "unknown path kind 'files': use file:, folder: or pattern:"},
      {"paths:\n  - ./a.csv\n", "/t/MLTable:2:", "mapping with one key"},
      {"paths:\n  - file: a.csv\n    folder: b\n", "/t/MLTable:2:", "exactly one key"},
      {"paths:\n\n  - file:\n", "/t/MLTable:3:", "'file:' needs a path"},
      {"paths:\n  - folder: [a, b]\n", "/t/MLTable:2:", "'folder:' needs a path"},
      {"query_source:\n  sql: select 1\n", "/t/MLTable:2:", "query_source"},
      {"paths:\n  - file: ./a\n      b.csv\n", "/t/MLTable:2:", "on one line"},
      {"x: &p ./a.csv\npaths:\n  - file: *p\n", "/t/MLTable:", "anchors, aliases"},
      {"paths:\n  - file: |\n      a.csv\n", "/t/MLTable:2:", "on one line"},
  };
  for (const auto& c : bad) {
    INFO("MLTable text:\n" << c.text);
    const auto e = parse_error(c.text);
    CHECK(e.code() == errc::invalid_argument);
    CHECK_THAT(e.what(), Catch::StartsWith(c.where));
    CHECK_THAT(e.what(), Catch::Contains(c.says));
    CHECK_THAT(e.what(), Catch::Contains("docs/mltable.md"));
  }
}

TEST_CASE("Malformed MLTable entries fail at evaluation with their line", "[mltable]") {
  temp_dir dir;
  dir.write("t/data/a.csv", "a\n");
  const std::string mltable = (dir.path / "t" / "MLTable").string();

  auto e = evaluate_error("paths:\n  - file: ./data/a.csv\n  - pattern: ./data/[ab.csv\n", mltable);
  CHECK(e.code() == errc::invalid_argument);
  CHECK_THAT(e.what(), Catch::StartsWith(mltable + ":3: pattern './data/[ab.csv': bad pattern"));
  CHECK_THAT(e.what(), Catch::Contains("unclosed '['"));

  e = evaluate_error("paths:\n  - pattern: ./data/[z-a].csv\n", mltable);
  CHECK_THAT(e.what(), Catch::StartsWith(mltable + ":2:"));
  CHECK_THAT(e.what(), Catch::Contains("reversed range 'z-a'"));

  e = evaluate_error("paths:\n  - pattern: data/x**.csv\n", mltable);
  CHECK_THAT(e.what(), Catch::StartsWith(mltable + ":2:"));
  CHECK_THAT(e.what(), Catch::Contains("whole path segment"));

  e = evaluate_error("paths:\n  - file: ./data/a.csv\n  - file: ./missing.csv\n", mltable);
  CHECK(e.code() == errc::not_found);
  CHECK_THAT(e.what(), Catch::StartsWith(mltable + ":3: file './missing.csv':"));

  e = evaluate_error("paths:\n  - pattern: ./data/*.parquet\n", mltable);
  CHECK(e.code() == errc::not_found);
  CHECK_THAT(e.what(), Catch::StartsWith(mltable + ":2:"));
  CHECK_THAT(e.what(), Catch::Contains("no file matches"));

  e = evaluate_error("paths:\n  - folder: ./nothing-here/\n", mltable);
  CHECK(e.code() == errc::not_found);
  CHECK_THAT(e.what(), Catch::StartsWith(mltable + ":2:"));

  e = evaluate_error("paths:\n  - file: ./data\n", mltable);
  CHECK(e.code() == errc::invalid_argument);
  CHECK_THAT(e.what(), Catch::Contains("folder"));

  e = evaluate_error("paths:\n  - folder: s3://bucket/data/\n", mltable);
  CHECK(e.code() == errc::invalid_argument);
  CHECK_THAT(e.what(), Catch::StartsWith(mltable + ":2:"));
  CHECK_THAT(e.what(), Catch::Contains("unsupported URI scheme"));

  e = evaluate_error("paths:\n  - pattern: ./data/*/../a.csv\n", mltable);
  CHECK(e.code() == errc::invalid_argument);
  CHECK_THAT(e.what(), Catch::Contains("cannot follow a wildcard"));
}

TEST_CASE("MLTable relative paths cannot climb above a remote root, and SAS stays secret",
          "[mltable]") {
  // Fails before any request: the join is checked first.
  const std::string uri =
      "wasbs://tables@acct.blob.core.windows.net/t/MLTable?sv=2022-11-02&sig=TOPSECRETSIGNATURE";
  const auto e = evaluate_error("paths:\n  - folder: ../../../up/\n", uri);
  CHECK(e.code() == errc::invalid_argument);
  CHECK_THAT(e.what(), Catch::StartsWith("wasbs://tables@acct.blob.core.windows.net/t/MLTable?"));
  CHECK_THAT(e.what(), Catch::Contains(":2: folder '../../../up/'"));
  CHECK_THAT(e.what(), Catch::Contains("climbs above the root"));
  CHECK_THAT(e.what(), !Catch::Contains("TOPSECRETSIGNATURE"));
}

TEST_CASE("MLTable evaluation on a local folder: file, folder, patterns, relative paths",
          "[mltable]") {
  temp_dir dir;
  std::map<std::string, std::string> sha;  // path below dir → sha256
  const auto put = [&](const std::string& name, const std::string& data) {
    sha[name] = dir.write(name, data);
  };
  put("t/data/a.csv", "id,x\n1,2\n");
  put("t/data/b.csv", "id,x\n3,4\n");
  put("t/data/notes.txt", "not a csv");
  put("t/data/sub/c.csv", "id,x\n5,6\n");
  put("t/data/sub/deep/d.csv", std::string(70000, 'd'));
  put("t/data/img1.jpg", "jpeg 1");
  put("t/data/img2.jpg", "jpeg 2");
  put("t/data/imgA.jpg", "jpeg A");
  put("other/e.csv", "id,x\n7,8\n");
  put("other/nested/f.bin", "f");
  const std::string yaml =
      "$schema: http://azureml/sdk-2-0/MLTable.json\n"
      "type: mltable\n"
      "paths:\n"
      "  - file: ./data/a.csv      # the first file\n"
      "  - folder: ../other/\n"
      "  - pattern: data/**/*.csv\n"
      "  - pattern: \"data/img[0-9].jpg\"\n"
      "transformations:\n"
      "  - read_delimited:\n"
      "      delimiter: ','\n"
      "  - take: 10\n";
  put("t/MLTable", yaml);
  const fs::path root = dir.path;

  auto& ctx = shared_context();
  const auto by_folder = mlt::evaluate(ctx, (root / "t").string());
  const auto by_file = mlt::evaluate(ctx, (root / "t" / "MLTable").string());
  const auto by_file_uri = mlt::evaluate(ctx, "file://" + (root / "t" / "MLTable").string());

  std::vector<std::string> expected = {
      "other/e.csv",     "other/nested/f.bin", "t/data/a.csv",     "t/data/b.csv",
      "t/data/img1.jpg", "t/data/img2.jpg",    "t/data/sub/c.csv", "t/data/sub/deep/d.csv"};
  for (const auto* ev : {&by_folder, &by_file, &by_file_uri}) {
    REQUIRE(ev->files.size() == expected.size());
    CHECK(ev->skipped.empty());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      const auto& f = ev->files[i];
      INFO(f.relative_path);
      CHECK(f.relative_path == local_layout(root / expected[i]));
      CHECK(f.uri == (root / expected[i]).string());
      CHECK(f.size == fs::file_size(root / expected[i]));
      CHECK_FALSE(f.etag.empty());
      CHECK(sha_of_file(f.uri) == sha[expected[i]]);
    }
    CHECK(ev->source == (root / "t" / "MLTable").string());
  }
  // The copy: only the four values changed, each to its layout path.
  const std::string t = local_layout(root / "t");
  const std::string other = local_layout(root / "other");
  CHECK(by_folder.rewritten_yaml ==
        "$schema: http://azureml/sdk-2-0/MLTable.json\n"
        "type: mltable\n"
        "paths:\n"
        "  - file: ./" +
            t +
            "/data/a.csv      # the first file\n"
            "  - folder: ./" +
            other +
            "/\n"
            "  - pattern: ./" +
            t +
            "/data/**/*.csv\n"
            "  - pattern: \"./" +
            t +
            "/data/img[0-9].jpg\"\n"
            "transformations:\n"
            "  - read_delimited:\n"
            "      delimiter: ','\n"
            "  - take: 10\n");
}

TEST_CASE("MLTable file-set store shows the layout tree and forwards reads", "[mltable]") {
  temp_dir dir;
  const std::string a_sha = dir.write("t/data/a.csv", "id,x\n1,2\n");
  dir.write("t/data/b.csv", "id,x\n3,4\n");
  dir.write("t/MLTable", "paths:\n  - pattern: ./data/*.csv\n");
  auto& ctx = shared_context();
  const auto ev = mlt::evaluate(ctx, (dir.path / "t").string());
  REQUIRE(ev.files.size() == 2);
  auto store = mlt::make_file_set_store(ctx, ev);

  const auto list = [&](const std::string& prefix, bool recursive) {
    auto pager = store->list({.prefix = prefix, .recursive = recursive, .page_size = 1});
    std::vector<std::string> names;
    while (auto page = ctx.run(pager->next_page())) {
      for (const auto& e : *page) names.push_back(e.path + (e.is_directory ? "/" : ""));
    }
    return names;
  };
  CHECK(list("", false) == std::vector<std::string>{"MLTable", "_local/"});
  const std::string data_dir = local_layout(dir.path / "t" / "data");
  CHECK(list(data_dir, false) ==
        std::vector<std::string>{data_dir + "/a.csv", data_dir + "/b.csv"});
  CHECK(list("", true) ==
        std::vector<std::string>{"MLTable", data_dir + "/a.csv", data_dir + "/b.csv"});
  CHECK(list("_local", true).size() == 2);
  CHECK(list(data_dir + "/a.csv", false).empty());

  CHECK(ctx.run(store->stat("")).is_directory);
  CHECK(ctx.run(store->stat("_local/")).is_directory);
  const auto info = ctx.run(store->stat(data_dir + "/a.csv"));
  CHECK_FALSE(info.is_directory);
  CHECK(info.size == 9);
  CHECK(info.etag == ev.files[0].etag);

  std::vector<std::byte> buffer(64);
  const auto got = ctx.run(store->read_range(data_dir + "/a.csv", 0, buffer, info.etag));
  CHECK(dataport::test::sha256_hex(std::span(buffer).first(got.bytes)) == a_sha);
  const auto part = ctx.run(store->read_range(data_dir + "/a.csv", 5, buffer, ""));
  CHECK(dataport::test::to_string(std::span(buffer).first(part.bytes)) == "1,2\n");

  const auto copy = ctx.run(store->stat("MLTable"));
  REQUIRE(copy.size == ev.rewritten_yaml.size());
  std::vector<std::byte> whole(copy.size + 10);
  const auto read_copy = ctx.run(store->read_range("MLTable", 0, whole, copy.etag));
  CHECK(dataport::test::to_string(std::span(whole).first(read_copy.bytes)) == ev.rewritten_yaml);
  CHECK_THAT(ev.rewritten_yaml, Catch::Contains("pattern: ./" + data_dir + "/*.csv"));

  using dataport::test::code_of;
  CHECK(code_of([&] { ctx.run(store->stat("_local/nope")); }) == errc::not_found);
  CHECK(code_of([&] { ctx.run(store->remove(data_dir + "/a.csv")); }) == errc::unsupported);
  const std::vector<std::byte> data(3);
  CHECK(code_of([&] { ctx.run(store->put("x", data, {})); }) == errc::unsupported);
  CHECK_FALSE(store->capabilities().writable);

  // A file changed after evaluation is not served under the old version.
  dir.write("t/data/a.csv", "id,x\n1,2\n9,9\n");
  CHECK(code_of([&] { ctx.run(store->read_range(data_dir + "/a.csv", 0, buffer, "")); }) ==
        errc::changed);
}

TEST_CASE("MLTable download writes the layout tree byte for byte and a usable copy", "[mltable]") {
  temp_dir dir;
  std::map<std::string, std::string> sha;
  const auto put = [&](const std::string& name, const std::string& data) {
    sha[name] = dir.write(name, data);
  };
  const auto big = dataport::test::random_bytes(3'000'000, 7);
  put("src/t/big.bin", dataport::test::to_string(big));
  put("src/t/small/one.txt", "one");
  put("src/t/small/two.txt", "two");
  put("src/t/MLTable", "paths:\n  - file: big.bin\n  - pattern: small/*.txt\n");
  auto& ctx = shared_context();
  const auto ev = mlt::evaluate(ctx, (dir.path / "src" / "t").string());
  REQUIRE(ev.files.size() == 3);

  const fs::path dest = dir.path / "dest";
  dataport::transfer_options options;
  options.threads = 4;
  options.chunk_size = 1 << 20;  // the big file goes in several ranges
  const auto summary = mlt::download(ctx, ev, dest, options);
  CHECK(summary.files_done == 4);  // three files and the MLTable copy
  CHECK(summary.files_failed == 0);
  for (const auto& f : ev.files) {
    const std::string below = f.uri.substr(dir.path.string().size() + 1);
    INFO(f.relative_path);
    CHECK(sha_of_file(dest / f.relative_path) == sha[below]);
  }
  CHECK(read_file(dest / "MLTable") == ev.rewritten_yaml);
  // Nothing else: no temporary names left behind.
  std::size_t regular = 0;
  for (const auto& e : fs::recursive_directory_iterator(dest)) regular += e.is_regular_file();
  CHECK(regular == 4);

  // The downloaded copy is itself a valid MLTable over the downloaded files.
  const auto again = mlt::evaluate(ctx, dest.string());
  REQUIRE(again.files.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(again.files[i].uri == (dest / ev.files[i].relative_path).string());
    CHECK(again.files[i].size == ev.files[i].size);
  }

  // A second download into the same folder fails by default (the platform's if-exists policy).
  CHECK_THROWS_AS(mlt::download(ctx, ev, dest), dataport::error);
}
