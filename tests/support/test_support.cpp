// Server discovery, names and deterministic data for the tests (see test_support.hpp).
#include "support/test_support.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>

#include <unistd.h>

#include <openssl/evp.h>

#include "dataport/error.hpp"

namespace dataport::test {

namespace {

nlohmann::json load_servers() {
  const char* state = std::getenv("DATAPORT_TEST_STATE");
  if (state == nullptr || *state == '\0') {
    throw_error(errc::invalid_argument,
                "DATAPORT_TEST_STATE is not set, so the test servers are unknown; run integration "
                "tests through ctest (the `servers` fixture starts them) or start them with "
                "`python3 tests/fixtures/servers.py start --state DIR` and export "
                "DATAPORT_TEST_STATE=DIR");
  }
  const std::filesystem::path file = std::filesystem::path(state) / "servers.json";
  std::ifstream in(file);
  if (!in) {
    throw_error(errc::invalid_argument,
                "cannot read " + file.string() +
                    "; the `servers` ctest fixture did not run or failed: run ctest with the "
                    "servers_start test (or tests/fixtures/servers.py start) and check its output");
  }
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw_error(errc::invalid_argument, file.string() + " is not valid JSON (" + e.what() +
                                            "); restart the servers fixture");
  }
}

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

const nlohmann::json& servers() {
  static std::mutex mutex;
  static std::optional<nlohmann::json> loaded;
  std::lock_guard lock(mutex);
  if (!loaded) loaded = load_servers();  // a failed load throws and is retried on the next call
  return *loaded;
}

std::filesystem::path state_dir() {
  return servers().at("state_dir").get<std::string>();
}

std::filesystem::path write_www_file(std::string_view relative_path,
                                     std::span<const std::byte> data) {
  const std::filesystem::path path =
      std::filesystem::path(servers().at("nginx").at("root").get<std::string>()) / relative_path;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) throw_error(errc::io, "cannot write test file " + path.string() + "; check the disk");
  return path;
}

std::string unique_name(std::string_view prefix) {
  std::string clean;
  for (char c : prefix) {
    const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    const bool valid = (lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9');
    if (valid) {
      clean.push_back(lower);
    } else if (!clean.empty() && clean.back() != '-') {
      clean.push_back('-');
    }
  }
  while (!clean.empty() && clean.back() == '-') clean.pop_back();
  if (clean.size() > 40) clean.resize(40);
  while (!clean.empty() && clean.back() == '-') clean.pop_back();
  if (clean.empty()) clean = "t";

  // pid + per-process counter make names unique; the random part keeps reruns apart.
  static std::atomic<std::uint64_t> counter{0};
  static const std::uint64_t process_salt = std::random_device{}();
  std::uint64_t mix =
      process_salt ^ (static_cast<std::uint64_t>(::getpid()) << 20) ^ counter.fetch_add(1);
  const std::uint64_t random = splitmix64(mix);
  char suffix[64];
  std::snprintf(suffix, sizeof suffix, "-%x-%llx", static_cast<unsigned>(::getpid()),
                static_cast<unsigned long long>(random & 0xFFFFFFFFFFULL));
  return clean + suffix;
}

std::vector<std::byte> random_bytes(std::size_t n, std::uint64_t seed) {
  std::vector<std::byte> out(n);
  std::uint64_t state = seed;
  for (std::size_t i = 0; i < n; i += 8) {
    std::uint64_t word = splitmix64(state);
    for (std::size_t k = 0; k < 8 && i + k < n; ++k) {
      out[i + k] = static_cast<std::byte>(word & 0xFF);
      word >>= 8;
    }
  }
  return out;
}

std::string sha256_hex(std::span<const std::byte> data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    throw_error(errc::internal, "EVP_Digest(sha256) failed; the OpenSSL installation is broken");
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 0xF]);
  }
  return out;
}

std::string well_known_key() {
  return "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
         "K1SZFPTOtr/KBHBeksoGMGw==";
}

std::vector<std::byte> to_bytes(std::string_view text) {
  std::vector<std::byte> out(text.size());
  std::transform(text.begin(), text.end(), out.begin(),
                 [](char c) { return static_cast<std::byte>(c); });
  return out;
}

std::string to_string(std::span<const std::byte> data) {
  return std::string(reinterpret_cast<const char*>(data.data()), data.size());
}

}  // namespace dataport::test
