// dataport_reader_bench: readable_file throughput through the library (no FUSE).
// Usage: dataport_reader_bench <scenario> <blob-url-or-uri> [request-bytes] [threads | reads]
//   scenario: seq | threads | random | small (the URI is then a folder; files listed in it)
//   random: `reads` reads (default 2000) of request-bytes at uniformly random offsets
// Prints one JSON line: MB/s, storage bytes fetched per byte read, peak RSS (MiB), metrics.
// With DATAPORT_BENCH_SHA256=1 the seq scenario also hashes what it read (field "sha256"), for an
// untimed verification run.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>

#include <openssl/evp.h>

#include <fmt/format.h>

#include "dataport/context.hpp"
#include "dataport/metrics.hpp"
#include "dataport/object_store.hpp"
#include "dataport/readable_file.hpp"

using namespace dataport;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: %s seq|threads|random|small URI [request-bytes] [threads | reads]\n",
                 argv[0]);
    return 2;
  }
  const std::string scenario = argv[1];
  const std::size_t request = argc > 3 ? std::stoul(argv[3]) : 1u << 20;
  const unsigned threads = argc > 4 ? static_cast<unsigned>(std::stoul(argv[4])) : 4;
  const unsigned reads = argc > 4 ? threads : 2000;  // the random scenario's count
  context ctx;
  auto services = std::make_shared<reader_services>(ctx);
  const auto where = ctx.resolve(argv[2]);
  auto store = ctx.open_store(where);
  std::string base = store_path(where);
  std::vector<std::string> paths;
  if (scenario == "small") {
    auto pager = store->list({base, true, 5000});
    while (auto page = ctx.run(pager->next_page())) {
      for (auto& e : *page)
        if (!e.is_directory) paths.push_back(e.path);
    }
  } else {
    paths.push_back(base);
  }
  std::atomic<std::uint64_t> read_bytes{0};
  const auto start = std::chrono::steady_clock::now();
  auto read_range = [&](readable_file& f, std::uint64_t from, std::uint64_t to) {
    std::vector<std::byte> buffer(request);
    for (std::uint64_t off = from; off < to;) {
      const auto n = f.read_at_blocking(
          off, std::span(buffer).first(std::min<std::uint64_t>(request, to - off)));
      if (n == 0) break;
      off += n;
      read_bytes += n;
    }
  };
  std::string digest;
  if (scenario == "seq" && std::getenv("DATAPORT_BENCH_SHA256")) {
    auto f = readable_file::open_blocking(services, store, paths[0]);
    EVP_MD_CTX* hash = EVP_MD_CTX_new();
    EVP_DigestInit_ex(hash, EVP_sha256(), nullptr);
    std::vector<std::byte> buffer(request);
    for (std::uint64_t off = 0; off < f->size();) {
      const auto n = f->read_at_blocking(off, buffer);
      if (n == 0) break;
      EVP_DigestUpdate(hash, buffer.data(), n);
      off += n;
      read_bytes += n;
    }
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(hash, out, &length);
    EVP_MD_CTX_free(hash);
    for (unsigned int i = 0; i < length; ++i) digest += fmt::format("{:02x}", out[i]);
  } else if (scenario == "seq") {
    auto f = readable_file::open_blocking(services, store, paths[0]);
    read_range(*f, 0, f->size());
  } else if (scenario == "threads") {
    auto f = readable_file::open_blocking(services, store, paths[0]);
    std::vector<std::thread> pool;
    const std::uint64_t part = (f->size() + threads - 1) / threads;
    for (unsigned t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] { read_range(*f, t * part, std::min(f->size(), (t + 1) * part)); });
    }
    for (auto& t : pool) t.join();
  } else if (scenario == "random") {
    auto f = readable_file::open_blocking(services, store, paths[0]);
    std::mt19937_64 rng(1);
    std::vector<std::byte> buffer(request);
    for (unsigned i = 0; i < reads; ++i) {
      const auto off = std::uniform_int_distribution<std::uint64_t>(0, f->size() - request)(rng);
      read_bytes += f->read_at_blocking(off, buffer);
    }
  } else {
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        for (std::size_t i = next++; i < paths.size(); i = next++) {
          auto f = readable_file::open_blocking(services, store, paths[i]);
          read_range(*f, 0, f->size());
        }
      });
    }
    for (auto& t : pool) t.join();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  struct rusage usage {};
  ::getrusage(RUSAGE_SELF, &usage);
  const auto fetched = ctx.counters()->get(counter::bytes_received);
  std::printf(
      "{\"scenario\":\"%s\",\"request\":%zu,\"seconds\":%.3f,\"mb_per_s\":%.1f,"
      "\"fetched_per_read\":%.3f,\"peak_rss_mib\":%.1f,\"sha256\":\"%s\",\"metrics\":%s}\n",
      scenario.c_str(), request, seconds, read_bytes / 1e6 / seconds,
      read_bytes ? static_cast<double>(fetched) / static_cast<double>(read_bytes) : 0.0,
      usage.ru_maxrss / 1024.0, digest.c_str(), ctx.counters()->to_json().c_str());
  return 0;
}
