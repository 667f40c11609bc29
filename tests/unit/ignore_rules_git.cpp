// gitignore rules checked against git itself: for every case of the table a scratch work tree
// gets the .gitignore and the files, `git check-ignore --no-index` says which files git ignores,
// and snapshot::scan() must leave out exactly those (and the table's expectation agrees).
#include "support/test_support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "dataport/snapshot.hpp"
#include "snapshot/detail/ignore_rules.hpp"

namespace fs = std::filesystem;
using dataport::snapshot::detail::wildmatch;

namespace {

struct ignore_case {
  std::string name;
  std::string gitignore;
  std::vector<std::string> files;
  std::vector<std::string> ignored;  ///< the subset of `files` git leaves out
};

// clang-format off
const std::vector<ignore_case> cases = {
  {"extension anywhere", "*.log\n", {"a.log", "b.txt", "d/c.log"}, {"a.log", "d/c.log"}},
  {"anchored file", "/a.log\n", {"a.log", "d/a.log"}, {"a.log"}},
  {"directory only", "build/\n", {"build/x.o", "sub/build/y.o", "src/build"}, {"build/x.o", "sub/build/y.o"}},
  {"name matches file and folder", "build\n", {"build/x.o", "src/build"}, {"build/x.o", "src/build"}},
  {"slash inside anchors", "doc/*.txt\n", {"doc/a.txt", "doc/sub/b.txt", "x/doc/a.txt"}, {"doc/a.txt"}},
  {"leading double star", "**/foo\n", {"foo", "a/foo", "a/b/foo/bar"}, {"foo", "a/foo", "a/b/foo/bar"}},
  {"leading double star with folder", "**/foo/bar\n", {"foo/bar", "a/foo/bar", "a/foo/baz"}, {"foo/bar", "a/foo/bar"}},
  {"trailing double star", "abc/**\n", {"abc/x", "abc/d/y", "xabc/x"}, {"abc/x", "abc/d/y"}},
  {"middle double star", "a/**/b\n", {"a/b", "a/x/b", "a/x/y/b", "a/xb"}, {"a/b", "a/x/b", "a/x/y/b"}},
  {"negation re-includes", "*.log\n!important.log\n", {"a.log", "important.log", "d/important.log"}, {"a.log"}},
  {"no re-include below an ignored folder", "logs/\n!logs/keep.txt\n", {"logs/a.txt", "logs/keep.txt"}, {"logs/a.txt", "logs/keep.txt"}},
  {"re-include inside folder contents", "logs/*\n!logs/keep.txt\n", {"logs/a.txt", "logs/keep.txt"}, {"logs/a.txt"}},
  {"question mark", "?.txt\n", {"a.txt", "ab.txt", "d/b.txt"}, {"a.txt", "d/b.txt"}},
  {"bracket set", "[abc].txt\n", {"a.txt", "d.txt"}, {"a.txt"}},
  {"bracket range", "[a-c]*.md\n", {"alpha.md", "delta.md", "c.md"}, {"alpha.md", "c.md"}},
  {"bracket negation bang", "[!a]*.md\n", {"alpha.md", "beta.md"}, {"beta.md"}},
  {"bracket negation caret", "[^a]*.md\n", {"alpha.md", "beta.md"}, {"beta.md"}},
  {"escaped hash", "\\#file\n", {"#file", "file"}, {"#file"}},
  {"comment line", "# comment\n*.tmp\n", {"a.tmp", "# comment"}, {"a.tmp"}},
  {"escaped bang", "\\!important\n", {"!important", "important"}, {"!important"}},
  {"trailing spaces trimmed", "*.bak   \n", {"a.bak", "x.bak "}, {"a.bak"}},
  {"escaped trailing space kept", "foo\\ \n", {"foo ", "foo"}, {"foo "}},
  {"ignore all but python", "*\n!*.py\n", {"a.py", "b.txt", "d/c.py"}, {"b.txt", "d/c.py"}},
  {"ignore all but python in folders", "*\n!*/\n!*.py\n", {"a.py", "b.txt", "d/c.py", "d/e.txt"}, {"b.txt", "d/e.txt"}},
  {"anchored everything but one folder", "/*\n!/keep/\n", {"keep/a", "other/b", "top.txt"}, {"other/b", "top.txt"}},
  {"anchored negation", "*.txt\n!/a.txt\n", {"a.txt", "d/a.txt"}, {"d/a.txt"}},
  {"folder at any depth", "d/\n", {"d/x", "e/d/y"}, {"d/x", "e/d/y"}},
  {"anchored folder", "/d/\n", {"d/x", "e/d/y"}, {"d/x"}},
  {"two segment path", "d/e\n", {"d/e", "x/d/e"}, {"d/e"}},
  {"star in the middle", "foo*bar\n", {"foobar", "fooxbar", "foo/bar"}, {"foobar", "fooxbar"}},
  {"star before slash", "a*/b\n", {"ab/b", "a/b", "ac/x/b"}, {"ab/b", "a/b"}},
  {"double star alone", "**\n", {"x", "d/y"}, {"x", "d/y"}},
  {"double star then extension", "d/**/*.o\n", {"d/a.o", "d/e/b.o", "x/d/c.o"}, {"d/a.o", "d/e/b.o"}},
  {"bracket extension", "*.[oa]\n", {"x.o", "y.a", "z.c"}, {"x.o", "y.a"}},
  {"digit class", "[[:digit:]]*\n", {"1file", "file1"}, {"1file"}},
  {"upper class", "[[:upper:]]*\n", {"Readme", "readme"}, {"Readme"}},
  {"last pattern wins", "*.txt\n!b.txt\nb.txt\n", {"a.txt", "b.txt"}, {"a.txt", "b.txt"}},
  {"early negation has no effect", "!b.txt\n*.txt\n", {"a.txt", "b.txt"}, {"a.txt", "b.txt"}},
  {"anchored directory path", "foo/bar/\n", {"foo/bar/x", "a/foo/bar/y"}, {"foo/bar/x"}},
  {"double star folder then files", "**/logs/*.log\n", {"logs/a.log", "x/logs/b.log", "x/logs/c.txt"}, {"logs/a.log", "x/logs/b.log"}},
  {"escaped star", "a\\*b\n", {"a*b", "axb"}, {"a*b"}},
  {"question mark never matches slash", "a?b\n", {"a/b", "axb"}, {"axb"}},
  {"single star one level", "x/*/z\n", {"x/y/z", "x/y/w/z", "x/z"}, {"x/y/z"}},
  {"double star any levels", "x/**/z\n", {"x/y/z", "x/y/w/z", "x/z"}, {"x/y/z", "x/y/w/z", "x/z"}},
  {"python bytecode", "*.py[cod]\n", {"a.pyc", "b.pyo", "c.py", "d.pyd"}, {"a.pyc", "b.pyo", "d.pyd"}},
  {"pycache folders", "__pycache__/\n", {"src/__pycache__/m.pyc", "__pycache__/n.pyc", "src/m.py"}, {"src/__pycache__/m.pyc", "__pycache__/n.pyc"}},
  {"hidden folder name", ".ipynb_checkpoints\n", {"nb/.ipynb_checkpoints/x", "nb/y"}, {"nb/.ipynb_checkpoints/x"}},
  {"negation with a path", "*.csv\n!data/keep.csv\n", {"data/keep.csv", "data/other.csv", "keep.csv"}, {"data/other.csv", "keep.csv"}},
  {"keep one sub folder", "/data/*\n!/data/small/\n", {"data/big/x", "data/small/y", "data/file.bin"}, {"data/big/x", "data/file.bin"}},
  {"crlf and blank lines", "*.tmp\r\n\r\n*.bak\r\n", {"a.tmp", "b.bak", "c.txt"}, {"a.tmp", "b.bak"}},
  {"bracket starting with ]", "[]]x\n", {"]x", "ax"}, {"]x"}},
  {"bracket with trailing dash", "[a-]x\n", {"-x", "ax", "bx"}, {"-x", "ax"}},
  {"bracket never matches slash", "a[/]b\n", {"a/b", "axb"}, {}},
  {"double star folders only", "foo/**/\n", {"foo/a/x", "foo/b", "foo/c/d/y"}, {"foo/a/x", "foo/c/d/y"}},
  {"every folder", "*/\n", {"d/x", "top"}, {"d/x"}},
  {"leading space is significant", " space.txt\n", {" space.txt", "space.txt"}, {" space.txt"}},
  {"double star extension", "**/*.txt\n", {"a.txt", "d/e/b.txt", "c.md"}, {"a.txt", "d/e/b.txt"}},
  {"folder contents one level", "d/*\n", {"d/x", "d/e/y", "f/d/x"}, {"d/x", "d/e/y"}},
  {"case sensitive", "*.TXT\n", {"a.txt", "b.TXT"}, {"b.TXT"}},
  {"two brackets", "[a-z][0-9].dat\n", {"a1.dat", "A1.dat", "ab.dat"}, {"a1.dat"}},
  {"triple star like star", "***.log\n", {"x.log", "d/y.log"}, {"x.log", "d/y.log"}},
  {"star does not cross slash in path pattern", "src/*.js\n", {"src/a.js", "src/lib/b.js"}, {"src/a.js"}},
  {"tab is not trimmed", "a.txt\t\n", {"a.txt", "a.txt\t"}, {"a.txt\t"}},
};
// clang-format on

class scratch {
 public:
  explicit scratch(const std::string& prefix) {
    path_ = fs::temp_directory_path() / dataport::test::unique_name(prefix);
    fs::create_directories(path_ / "tree");
  }
  ~scratch() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  scratch(const scratch&) = delete;
  scratch& operator=(const scratch&) = delete;
  fs::path tree() const { return path_ / "tree"; }
  fs::path git_dir() const { return path_ / "repo.git"; }
  fs::path root() const { return path_; }

 private:
  fs::path path_;
};

void write_text(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out << text;
  REQUIRE(out.good());
}

/// Runs a shell command; returns its stdout. Fails the test on a non-zero exit other than
/// `allowed_rc`.
std::string run(const std::string& command, int allowed_rc = 0) {
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  const int status = ::pclose(pipe);
  INFO(command);
  REQUIRE(WIFEXITED(status));
  const int rc = WEXITSTATUS(status);
  REQUIRE((rc == 0 || rc == allowed_rc));
  return out;
}

std::string quoted(const fs::path& p) {
  return "'" + p.string() + "'";
}

/// The files of `files` that git ignores in the work tree `s.tree()`.
std::set<std::string> git_ignored(const scratch& s, const std::vector<std::string>& files) {
  if (!fs::exists(s.git_dir())) run("git init -q --bare " + quoted(s.git_dir()));
  const auto list = s.root() / "paths";
  {
    std::ofstream out(list, std::ios::binary);
    for (const auto& f : files) out << f << '\0';
  }
  // No user or system configuration (no global excludes file), NUL-separated in and out.
  const auto out = run(fmt::format("GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME={} "
                                   "git --git-dir={} --work-tree={} -C {} -c core.excludesFile= "
                                   "check-ignore --no-index --stdin -z < {}",
                                   quoted(s.root()), quoted(s.git_dir()), quoted(s.tree()),
                                   quoted(s.tree()), quoted(list)),
                       1);
  std::set<std::string> ignored;
  std::size_t start = 0;
  for (auto end = out.find('\0'); end != std::string::npos; end = out.find('\0', start)) {
    ignored.insert(out.substr(start, end - start));
    start = end + 1;
  }
  return ignored;
}

std::set<std::string> dataport_ignored(const fs::path& tree,
                                       const std::vector<std::string>& files) {
  const auto plan = dataport::snapshot::scan(tree);
  std::set<std::string> included;
  for (const auto& f : plan.files) included.insert(f.relative_path);
  std::set<std::string> ignored;
  for (const auto& f : files)
    if (included.count(f) == 0) ignored.insert(f);
  return ignored;
}

}  // namespace

TEST_CASE("gitignore table: dataport and git check-ignore agree on every case") {
  REQUIRE(cases.size() >= 50);
  for (const auto& c : cases) {
    INFO("case: " << c.name << "  .gitignore: " << c.gitignore);
    scratch s("ign");
    write_text(s.tree() / ".gitignore", c.gitignore);
    for (const auto& f : c.files) write_text(s.tree() / f, "x");
    const std::set<std::string> expected(c.ignored.begin(), c.ignored.end());
    CHECK(git_ignored(s, c.files) == expected);
    CHECK(dataport_ignored(s.tree(), c.files) == expected);
  }
}

TEST_CASE("gitignore nested files: each applies below its folder, deeper ones win, as in git") {
  scratch s("nest");
  write_text(s.tree() / ".gitignore", "*.log\n!keep.log\n/top-only.txt\n");
  write_text(s.tree() / "sub/.gitignore", "!*.log\n/local.txt\n");
  write_text(s.tree() / "sub/deeper/.gitignore", "*.txt\n!keep.txt\n");
  write_text(s.tree() / "vendor/.gitignore", "*\n");
  const std::vector<std::string> files = {"a.log",
                                          "keep.log",
                                          "sub/b.log",
                                          "sub/local.txt",
                                          "sub/x/local.txt",
                                          "sub/deeper/c.txt",
                                          "sub/deeper/keep.txt",
                                          "sub/deeper/d.md",
                                          "other/local.txt",
                                          "top-only.txt",
                                          "sub/top-only.txt",
                                          "vendor/lib.js",
                                          "vendor/.gitignore"};
  for (const auto& f : files)
    if (!fs::exists(s.tree() / f)) write_text(s.tree() / f, "x");
  const std::set<std::string> expected = {"a.log",        "sub/local.txt", "sub/deeper/c.txt",
                                          "top-only.txt", "vendor/lib.js", "vendor/.gitignore"};
  CHECK(git_ignored(s, files) == expected);
  CHECK(dataport_ignored(s.tree(), files) == expected);
}

TEST_CASE("wildmatch follows git on patterns the table does not reach") {
  CHECK(wildmatch("a/**/b", "a/b"));
  CHECK(wildmatch("**/b", "b"));
  CHECK_FALSE(wildmatch("a/**", "a"));
  CHECK(wildmatch("a/**", "a/x/y"));
  CHECK_FALSE(wildmatch("a*", "ab/c"));
  CHECK(wildmatch("[[:alpha:]][[:xdigit:]]", "zF"));
  CHECK_FALSE(wildmatch("[[:alpha:]]", "1"));
  CHECK_FALSE(wildmatch("[[:nope:]]", "a"));  // unknown class: no match, like git
  CHECK_FALSE(wildmatch("[abc", "a"));        // unterminated bracket
  CHECK(wildmatch("\\[x]", "[x]"));
  CHECK(wildmatch("a\\", "a\\") == false);  // a trailing backslash matches nothing
  CHECK(wildmatch("*", ""));
  CHECK_FALSE(wildmatch("?", ""));
}
