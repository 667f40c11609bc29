// Self-test of the pure helpers in tests/support (no servers needed).
#include "support/test_support.hpp"

#include <cstdlib>
#include <regex>
#include <set>
#include <stdexcept>

#include <catch2/catch.hpp>

#include "dataport/error.hpp"

using namespace dataport::test;

TEST_CASE("random_bytes is deterministic per seed and prefix-stable") {
  const auto a = random_bytes(1000, 42);
  const auto b = random_bytes(1000, 42);
  const auto c = random_bytes(1000, 43);
  REQUIRE(a.size() == 1000);
  CHECK(a == b);
  CHECK(a != c);
  const auto shorter = random_bytes(13, 42);  // not a multiple of the 8-byte word
  REQUIRE(shorter.size() == 13);
  CHECK(std::equal(shorter.begin(), shorter.end(), a.begin()));
  CHECK(random_bytes(0, 1).empty());
  // Not degenerate: a 1000-byte buffer uses many distinct byte values.
  std::set<std::byte> distinct(a.begin(), a.end());
  CHECK(distinct.size() > 200);
}

TEST_CASE("sha256_hex matches the FIPS 180-2 test vectors") {
  CHECK(sha256_hex(to_bytes("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex({}) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex(to_bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("unique_name gives distinct valid container names") {
  const std::regex container_name("^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$");
  std::set<std::string> seen;
  const std::string long_prefix(200, 'X');
  for (std::string_view prefix :
       {std::string_view("download"), std::string_view("My_Test Name!!"), std::string_view(""),
        std::string_view("--a--b--"), std::string_view(long_prefix)}) {
    for (int i = 0; i < 200; ++i) {
      const std::string name = unique_name(prefix);
      INFO(name);
      CHECK(std::regex_match(name, container_name));
      CHECK(seen.insert(name).second);
    }
  }
  CHECK(unique_name("Download").starts_with("download-"));
  CHECK(unique_name("my test").starts_with("my-test-"));
}

TEST_CASE("well_known_key is the emulator's 64-byte base64 key") {
  const std::string key = well_known_key();
  CHECK(key.size() == 88);
  CHECK(key.starts_with("Eby8vdM02x"));
  CHECK(key.ends_with("=="));
}

namespace {
boost::asio::awaitable<int> add(int a, int b) {
  co_return a + b;
}
boost::asio::awaitable<void> fail() {
  throw std::runtime_error("boom");
  co_return;
}
}  // namespace

TEST_CASE("run_async returns the coroutine's value and rethrows its exception") {
  CHECK(run_async(add(2, 3)) == 5);
  CHECK_THROWS_WITH(run_async(fail()), "boom");
}

TEST_CASE("servers() explains how to start the fixture when DATAPORT_TEST_STATE is unset") {
  const char* saved = std::getenv("DATAPORT_TEST_STATE");
  const std::string restore = saved != nullptr ? saved : "";
  ::unsetenv("DATAPORT_TEST_STATE");
  try {
    servers();
    FAIL("servers() should throw without DATAPORT_TEST_STATE");
  } catch (const dataport::error& e) {
    CHECK(e.code() == dataport::errc::invalid_argument);
    CHECK(std::string(e.what()).find("servers.py start") != std::string::npos);
  }
  if (saved != nullptr) ::setenv("DATAPORT_TEST_STATE", restore.c_str(), 1);
}
