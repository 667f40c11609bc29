// The runtime going away under work in flight: the I/O context is destroyed while a disk-tier
// lookup runs on the disk pool (stop 4's exit race: the lookup's completion was posted to a
// destroyed io_context). Deterministic: the tier's slab file is replaced by a FIFO, so the
// lookup blocks in open() until the test writes to it, and the test sees the pool thread
// waiting there (its kernel wait channel) before it starts the destruction.
#include "io_harness.hpp"

#include <atomic>
#include <fstream>
#include <future>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

using namespace dataport;
namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

std::string wait_channel(const fs::path& task) {
  std::ifstream in(task / "wchan");
  std::string name;
  in >> name;
  return name;
}

/// Threads of this process blocked opening a FIFO that nobody has opened for writing.
int threads_waiting_for_a_fifo_writer() {
  int n = 0;
  for (const auto& task : fs::directory_iterator("/proc/self/task")) {
    const auto name = wait_channel(task.path());
    if (name == "wait_for_partner" || name == "fifo_open") ++n;
  }
  return n;
}

template <class Predicate>
bool wait_until(Predicate done, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace

TEST_CASE("the I/O context can be destroyed while a disk-tier lookup is in flight") {
  const auto root = test::fresh_cache_root("exit");
  auto config = test::small_block_settings(4096);
  config.cache_dir = root.string();
  config.memory_cache_size = 0;  // every lookup goes to the disk tier
  auto store = std::make_shared<memory_store>("memory://exit");
  const auto source = test::random_bytes(64 * 4096, 41);
  store->set_object("a", source);
  auto counters = std::make_shared<metrics>();

  auto io = std::make_unique<asio::io_context>();
  std::optional guard{asio::make_work_guard(*io)};
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) threads.emplace_back([context = io.get()] { context->run(); });
  auto services = std::make_shared<reader_services>(*io, config, counters);

  // Every block in the disk tier, then the slab holding them a FIFO.
  {
    auto file = readable_file::open_blocking(services, store, "a");
    std::vector<std::byte> all(source.size());
    REQUIRE(file->read_at_blocking(0, all) == all.size());
    REQUIRE(all == source);
  }
  services->disk()->flush();
  std::vector<fs::path> fifos;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file() && entry.path().extension() == ".slab") fifos.push_back(entry);
  }
  REQUIRE(fifos.size() == 1);
  for (const auto& path : fifos) {
    fs::remove(path);
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  }

  // A coroutine reads block 5 and waits; its lookup blocks in open() on the disk pool. The test
  // then lets go of the file and the services: only the coroutines hold them.
  {
    auto file = readable_file::open_blocking(services, store, "a");
    asio::co_spawn(
        *io,
        [file]() -> asio::awaitable<void> {
          std::vector<std::byte> b(4096);
          co_await file->read_at(5 * 4096, b);
        },
        asio::detached);
  }
  REQUIRE(wait_until([] { return threads_waiting_for_a_fifo_writer() == 1; },
                     std::chrono::seconds(20)));
  const std::weak_ptr<reader_services> gone = services;
  services.reset();
  const auto misses_before = counters->get(counter::cache_misses_disk);

  // The runtime stops (as context's destructor does), and the io_context is destroyed on
  // another thread while the lookup still waits; once that thread waits too (for the pool to
  // finish), the FIFOs get a writer and the lookup ends as a miss.
  guard.reset();
  io->stop();
  for (auto& t : threads) t.join();
  REQUIRE(threads_waiting_for_a_fifo_writer() == 1);
  std::atomic<pid_t> destroyer_tid{0};
  std::atomic<bool> destroyed{false};
  std::thread destroyer([&] {
    destroyer_tid = static_cast<pid_t>(::syscall(SYS_gettid));
    io.reset();
    destroyed = true;
  });
  wait_until(
      [&] {
        const pid_t tid = destroyer_tid;
        return tid != 0 &&
               wait_channel(fs::path("/proc/self/task") / std::to_string(tid)).starts_with("futex");
      },
      std::chrono::seconds(10));  // the release below is correct either way, only less precise
  const bool finished = wait_until(
      [&] {
        for (const auto& path : fifos) {  // wakes a lookup blocked in open(), if any
          const int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
          if (fd >= 0) ::close(fd);
        }
        return destroyed.load();
      },
      std::chrono::seconds(60));
  if (!finished) {
    FAIL("destroying the io_context hung with a disk lookup in flight");
  }
  destroyer.join();
  CHECK(counters->get(counter::cache_misses_disk) > misses_before);  // the lookup did end
  CHECK(gone.expired());  // the coroutines that held the file and its services were destroyed
  CHECK(threads_waiting_for_a_fifo_writer() == 0);
  std::error_code ignored;
  fs::remove_all(root, ignored);
}
