// snapshot::scan / make_plan: .amlignore over .gitignore, totals and biggest items, ignored
// folders counted once and not entered, the platform's limit messages (exact text), limits from
// settings, bad roots.
#include "support/test_support.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "dataport/error.hpp"
#include "dataport/settings.hpp"
#include "dataport/snapshot.hpp"

namespace fs = std::filesystem;
namespace snap = dataport::snapshot;

namespace {

class temp_tree {
 public:
  temp_tree() : path_(fs::temp_directory_path() / dataport::test::unique_name("snap")) {
    fs::create_directories(path_);
  }
  ~temp_tree() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_tree(const temp_tree&) = delete;
  temp_tree& operator=(const temp_tree&) = delete;
  const fs::path& path() const { return path_; }
  void write(const std::string& rel, const std::string& text) const {
    fs::create_directories((path_ / rel).parent_path());
    std::ofstream out(path_ / rel, std::ios::binary);
    out << text;
    REQUIRE(out.good());
  }
  /// A sparse file of `size` bytes (no disk space used).
  void sparse(const std::string& rel, std::uint64_t size) const {
    fs::create_directories((path_ / rel).parent_path());
    const int fd = ::open((path_ / rel).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, static_cast<off_t>(size)) == 0);
    ::close(fd);
  }

 private:
  fs::path path_;
};

std::set<std::string> names(const snap::plan& p) {
  std::set<std::string> out;
  for (const auto& f : p.files) out.insert(f.relative_path);
  return out;
}

std::string error_text(const fs::path& root, const snap::limits& lim) {
  try {
    snap::make_plan(root, lim);
  } catch (const dataport::error& e) {
    CHECK(e.code() == dataport::errc::invalid_argument);
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE(".amlignore replaces .gitignore in its folder, .gitignore still applies elsewhere") {
  temp_tree t;
  t.write(".amlignore", "*.bin\n");
  t.write(".gitignore", "*.txt\n");  // unused: the folder has a .amlignore
  t.write("a.bin", "1");
  t.write("a.txt", "22");
  t.write("sub/.gitignore", "*.md\n");  // no .amlignore in sub: the .gitignore applies
  t.write("sub/b.md", "333");
  t.write("sub/b.bin", "4444");
  t.write("sub/b.txt", "55555");
  t.write("both/.amlignore", "!*.bin\n");
  t.write("both/.gitignore", "*\n");
  t.write("both/c.bin", "666666");
  const auto p = snap::scan(t.path());
  CHECK(names(p) == std::set<std::string>{".amlignore", ".gitignore", "a.txt", "sub/.gitignore",
                                          "sub/b.txt", "both/.amlignore", "both/.gitignore",
                                          "both/c.bin"});
  CHECK(p.ignored_count == 3);  // a.bin, sub/b.md, sub/b.bin
  CHECK(p.ignore_files ==
        std::vector<std::string>{".amlignore", "both/.amlignore", "sub/.gitignore"});
  std::uint64_t total = 0;
  for (const auto& f : p.files) total += fs::file_size(t.path() / f.relative_path);
  CHECK(p.total_bytes == total);
}

TEST_CASE("an ignored folder is counted once and never entered") {
  temp_tree t;
  t.write(".amlignore", "node_modules/\n");
  for (int i = 0; i < 300; ++i) t.write(fmt::format("node_modules/m{}/index.js", i), "x");
  // Inside the ignored folder: an ignore file that would re-include everything if it were read.
  t.write("node_modules/.amlignore", "!*\n");
  t.write("main.py", "print(1)\n");
  const auto p = snap::scan(t.path());
  CHECK(names(p) == std::set<std::string>{".amlignore", "main.py"});
  CHECK(p.ignored_count == 1);
  CHECK(p.ignore_files == std::vector<std::string>{".amlignore"});
}

TEST_CASE("biggest files and folders are ranked by size") {
  temp_tree t;
  t.write("data/big.bin", std::string(5000, 'b'));
  t.write("data/mid.bin", std::string(3000, 'm'));
  t.write("data/deep/x.bin", std::string(4000, 'x'));
  t.write("code/main.py", std::string(100, 'c'));
  t.write("README", std::string(10, 'r'));
  const auto p = snap::scan(t.path());
  REQUIRE(p.files.size() == 5);
  CHECK(p.total_bytes == 12110);
  REQUIRE(p.biggest_files.size() == 5);
  CHECK(p.biggest_files[0].relative_path == "data/big.bin");
  CHECK(p.biggest_files[1].relative_path == "data/deep/x.bin");
  CHECK(p.biggest_files[4].relative_path == "README");
  REQUIRE(p.biggest_folders.size() == 3);
  CHECK(p.biggest_folders[0].relative_path == "data");
  CHECK(p.biggest_folders[0].bytes == 12000);
  CHECK(p.biggest_folders[0].files == 3);
  CHECK(p.biggest_folders[1].relative_path == "data/deep");
  CHECK(p.biggest_folders[2].relative_path == "code");
}

TEST_CASE("past 300 MB the platform's size message, with a hint on .amlignore") {
  temp_tree t;
  t.sparse("data/huge.bin", 301ull << 20);
  t.write("train.py", "pass\n");
  const auto text = error_text(t.path(), snap::limits{});
  const auto expected_start = fmt::format(
      "While attempting to take snapshot of {}\nYour total snapshot size exceeds the "
      "limit of 300.0 MB\n",
      t.path().string());
  CHECK(text.rfind(expected_start, 0) == 0);
  CHECK(text.find(".amlignore") != std::string::npos);
  CHECK(text.find("AZUREML_SNAPSHOT_MAX_SIZE_MB") != std::string::npos);
  CHECK(text.find("data/huge.bin") != std::string::npos);  // the biggest item is named

  // Exactly at the limit is allowed, as on the platform (size > limit fails).
  temp_tree at;
  at.sparse("exact.bin", 300ull << 20);
  CHECK(snap::make_plan(at.path(), snap::limits{}).total_bytes == 300ull << 20);

  // Raised through the settings: 400 MB passes.
  auto config =
      dataport::settings::from_environment([](std::string_view name) -> std::optional<std::string> {
        if (name == "AZUREML_SNAPSHOT_MAX_SIZE_MB") return "400";
        return std::nullopt;
      });
  const auto raised = snap::limits::from_settings(config);
  CHECK(raised.max_bytes == 400ull << 20);
  CHECK(raised.max_files == 2000);
  CHECK(snap::make_plan(t.path(), raised).files.size() == 2);
  snap::limits small;
  small.max_bytes = 1ull << 20;
  CHECK(error_text(at.path(), small).find("exceeds the limit of 1.0 MB\n") != std::string::npos);
}

TEST_CASE("past 2000 files the platform's file-count message") {
  temp_tree t;
  for (int i = 0; i < 2001; ++i) t.write(fmt::format("f/{:04}.txt", i), "");
  const auto text = error_text(t.path(), snap::limits{});
  const auto expected_start = fmt::format(
      "While attempting to take snapshot of {}\nYour project exceeds the file limit of 2000.\n",
      t.path().string());
  CHECK(text.rfind(expected_start, 0) == 0);
  CHECK(text.find(".amlignore") != std::string::npos);
  CHECK(text.find("AZUREML_SNAPSHOT_MAX_FILES") != std::string::npos);

  snap::limits raised;
  raised.max_files = 2001;  // exactly at the limit passes
  CHECK(snap::make_plan(t.path(), raised).files.size() == 2001);
  auto config = dataport::settings{};
  config.set("AZUREML_SNAPSHOT_MAX_FILES", "5000");
  CHECK(snap::limits::from_settings(config).max_files == 5000);
  CHECK_THROWS_AS(config.set("AZUREML_SNAPSHOT_MAX_FILES", "many"), dataport::error);
  CHECK_THROWS_AS(config.set("AZUREML_SNAPSHOT_MAX_SIZE_MB", "0"), dataport::error);
}

TEST_CASE("a missing root or a file as root is a clear error") {
  temp_tree t;
  t.write("file.txt", "x");
  try {
    snap::scan(t.path() / "nope");
    FAIL("scan of a missing folder must throw");
  } catch (const dataport::error& e) {
    CHECK(e.code() == dataport::errc::invalid_argument);
    CHECK(std::string(e.what()).find("does not exist") != std::string::npos);
  }
  try {
    snap::scan(t.path() / "file.txt");
    FAIL("scan of a file must throw");
  } catch (const dataport::error& e) {
    CHECK(std::string(e.what()).find("is not a folder") != std::string::npos);
  }
}

TEST_CASE("links to folders are not followed, links to files count as files") {
  temp_tree t;
  t.write("real/a.txt", "abc");
  fs::create_directory_symlink(t.path() / "real", t.path() / "linkdir");
  fs::create_symlink(t.path() / "real/a.txt", t.path() / "linkfile");
  fs::create_symlink(t.path() / "missing", t.path() / "dangling");
  const auto p = snap::scan(t.path());
  CHECK(names(p) == std::set<std::string>{"real/a.txt", "linkfile"});
  CHECK(p.total_bytes == 6);
  CHECK(p.ignored_count == 2);
}
