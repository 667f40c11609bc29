// The conformance suite against the local file-system backend, plus local-only checks.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "conformance_suite.hpp"
#include "dataport/storage.hpp"

namespace {

using namespace dataport;

conformance::target make_local_target() {
  std::string pattern = (std::filesystem::temp_directory_path() / "dataport-conf-XXXXXX").string();
  REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  conformance::target t;
  t.cleanup = std::shared_ptr<void>(nullptr, [root = pattern](void*) {
    std::error_code ignored;
    std::filesystem::remove_all(root, ignored);
  });
  t.name = "local";
  t.store = make_local_store(pattern);
  t.seed = conformance::seed_through(t.io, t.store, t.root);
  return t;
}

}  // namespace

CONFORMANCE_CASES("local", make_local_target)

TEST_CASE("local: paths cannot escape the root", "[conformance]") {
  auto t = make_local_target();
  const auto data = test::to_bytes("x");
  const std::vector<std::string> bad_paths = {"../escape.txt", "a/../../b", "/abs",
                                              "a//b",          "./a",       std::string("a\0b", 3)};
  for (const auto& bad : bad_paths) {
    INFO(bad);
    CHECK(conformance::code_of([&] { t.run(t.store->put(bad, data, put_options{})); }) ==
          errc::invalid_argument);
  }
  CHECK(conformance::code_of([&] { t.run(t.store->stat("..")); }) == errc::invalid_argument);
}

TEST_CASE("local: writes leave no temp files and refuse to follow planted links", "[conformance]") {
  auto t = make_local_target();
  const auto root = std::filesystem::path(t.store->describe().substr(6));
  const auto data = test::random_bytes(1000, 5);
  t.run(t.store->put("d/f.bin", data, put_options{}));
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(root / "d")) {
    names.push_back(entry.path().filename().string());
  }
  CHECK(names == std::vector<std::string>{"f.bin"});
  // A symlink at the destination is replaced, not written through.
  const auto outside = root / "outside.txt";
  { std::ofstream(outside) << "keep"; }
  std::filesystem::create_symlink(outside, root / "d" / "link.txt");
  t.run(t.store->put("d/link.txt", data, put_options{}));
  CHECK_FALSE(std::filesystem::is_symlink(root / "d" / "link.txt"));
  std::ifstream in(outside);
  std::string kept;
  in >> kept;
  CHECK(kept == "keep");
}
