// readable_file: block-mode reads with prefetch, and the whole-file mode switch.
//
// Each open file keeps a map block index → slot. A slot is one block loading or loaded: demand
// slots are made by read_at for the blocks it needs, prefetch slots by pump() for the blocks the
// planner wants (lib/io/prefetcher.cpp). A block is looked up RAM tier → disk tier (on the disk
// pool) → storage (ranged GET with If-Match), then offered to both tiers. Readers wait on the
// slot's event (a closed channel wakes every waiter), so concurrent readers of one block share one
// request. A random reader's first touch of a block fetches only the pages it asked for (a part
// slot, private to that read: see plan()). A slot's prefetch memory lease is returned when the last
// reader and the map let go of it, which keeps the shared budget exact.
#include "io/detail/readable_file_core.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <fmt/format.h>

#include "dataport/error.hpp"
#include "dataport/log.hpp"

namespace dataport {

namespace asio = boost::asio;

readable_file::core::core(std::shared_ptr<reader_services> s, std::shared_ptr<object_store> st,
                          std::string p, object_info i)
    : services(std::move(s)),
      svc(services->state()),
      store(std::move(st)),
      path(std::move(p)),
      info(std::move(i)),
      object_id(store->describe() + "\n" + path),
      block_size(svc.options.block_size),
      block_count((info.size + block_size - 1) / block_size),
      planner(svc.options.window_blocks, svc.options.max_streams, svc.options.seek_back_blocks,
              svc.options.seek_forward_blocks, block_count,
              svc.options.prefetch_memory_budget / svc.options.block_size,
              svc.options.fetch_blocks) {}

readable_file::core::~core() = default;

std::uint64_t readable_file::core::block_length(std::uint64_t index) const {
  return std::min<std::uint64_t>(block_size, info.size - index * block_size);
}

// A prefetched block is wasted when its slot dies unread: counted here, once, because a block
// dropped from the map may still be in a reader's hands (kernel readahead runs reads in parallel)
// and then it is used, not wasted.
readable_file::core::slot::~slot() {
  if (prefetch && !used && data) owner->counters->add(counter::prefetch_wasted_bytes, data->size());
  if (leased > 0) owner->release_prefetch(leased);
}

std::shared_ptr<readable_file::core::slot> readable_file::core::make_slot(bool prefetch) {
  auto s = std::make_shared<slot>(svc.io.get_executor());
  s->prefetch = prefetch;
  s->owner = &svc;
  return s;
}

void readable_file::core::add_leased_prefetch(std::uint64_t index, start_list& out) {
  auto s = make_slot(true);
  s->leased = block_length(index);
  svc.counters->add(counter::prefetch_issued_bytes, s->leased);
  slots.emplace(index, s);
  out.emplace_back(std::move(s), index);
}

asio::awaitable<block_data> readable_file::core::cached_block(std::uint64_t index, admission how) {
  const block_key key{object_id, info.etag, index};
  if (svc.memory) {
    if (auto hit = svc.memory->get(key)) co_return hit;
  }
  if (svc.disk && svc.config.block_file_cache_enabled) {
    disk_cache* disk = svc.disk.get();
    auto lookup = [disk, key] { return disk->get_block(key); };
    auto hit = co_await svc.on_disk(std::move(lookup));
    if (hit) {
      if (svc.memory) svc.memory->put(key, hit, how);
      co_return hit;
    }
  }
  co_return block_data{};
}

void readable_file::core::offer(std::uint64_t index, const block_data& data, admission how) {
  const block_key key{object_id, info.etag, index};
  if (svc.memory) svc.memory->put(key, data, how);
  if (svc.disk && svc.config.block_file_cache_enabled) svc.disk->put_block_async(key, data);
}

void readable_file::core::throw_shorter() const {
  throw_error(errc::changed, fmt::format("'{}' is shorter than when it was opened ({} bytes); "
                                         "reopen it to read the new version",
                                         path, info.size));
}

asio::awaitable<void> readable_file::core::fetch_into(std::uint64_t offset,
                                                      std::span<std::byte> into) {
  std::size_t got = 0;
  while (got < into.size()) {
    const auto result =
        co_await store->read_range(path, offset + got, into.subspan(got), info.etag);
    if (result.bytes == 0) throw_shorter();
    got += result.bytes;
  }
}

asio::awaitable<block_data> readable_file::core::load_block(std::uint64_t index) {
  if (auto hit = co_await cached_block(index, admission::reused)) co_return hit;
  auto buffer = svc.make_block(static_cast<std::size_t>(block_length(index)));
  co_await fetch_into(index * block_size, *buffer);
  block_data data = std::move(buffer);
  offer(index, data, admission::reused);
  co_return data;
}

void readable_file::core::start(std::shared_ptr<slot> s, std::uint64_t index) {
  asio::co_spawn(
      svc.io,
      [self = shared_from_this(), s, index]() -> asio::awaitable<void> {
        const abandon_guard guard{self, {s}};
        block_data data;
        std::exception_ptr failure;
        try {
          // Not `?:` with a co_await in each branch: gcc 12 destroys both branches' results.
          if (s->part) {
            data = co_await self->load_part(s, index);
          } else {
            data = co_await self->load_block(index);
          }
        } catch (...) {
          failure = std::current_exception();
        }
        self->finish(s, std::move(data), failure);
      },
      asio::detached);
}

void readable_file::core::launch(start_list& list) {
  for (std::size_t i = 0; i < list.size();) {
    const std::size_t n = std::max<std::size_t>(1, list[i].first->run);
    if (list[i].first->prefetch || n > 1) {
      start_list run(list.begin() + static_cast<std::ptrdiff_t>(i),
                     list.begin() + static_cast<std::ptrdiff_t>(i + n));
      asio::co_spawn(
          svc.io,
          [self = shared_from_this(), run = std::move(run)]() -> asio::awaitable<void> {
            co_await self->fetch_run(run);
          },
          asio::detached);
    } else {
      start(list[i].first, list[i].second);
    }
    i += n;
  }
}

asio::awaitable<void> readable_file::core::fetch_run(start_list run) {
  abandon_guard guard{shared_from_this(), {}};
  for (const auto& entry : run) guard.slots.push_back(entry.first);
  std::size_t next = 0;  // the first block of the run not finished yet
  try {
    for (; next < run.size(); ++next) {
      block_data hit = co_await cached_block(run[next].second, admission::streamed);
      if (!hit) break;
      finish(run[next].first, std::move(hit), nullptr);
    }
    if (next < run.size()) {
      std::uint64_t length = 0;
      for (std::size_t i = next; i < run.size(); ++i) length += block_length(run[i].second);
      // The body lands straight in block memory: the room is the unfilled part of the block
      // being assembled, so every piece the sink gets is already in place (read_range_into's
      // contract) and never spans two blocks.
      std::shared_ptr<block_bytes> filling;
      std::size_t filled = 0;
      std::array<std::byte, 512> overflow;  // never filled: the read ends with the run's blocks
      auto room = [&]() -> std::span<std::byte> {
        if (next >= run.size()) return overflow;
        if (!filling) {
          filling = svc.make_block(static_cast<std::size_t>(block_length(run[next].second)));
          filled = 0;
        }
        return std::span<std::byte>(*filling).subspan(filled);
      };
      auto sink = [&](std::span<const std::byte> piece) {
        if (next >= run.size() || piece.empty()) return;
        if (!filling || piece.data() != filling->data() + filled ||
            piece.size() > filling->size() - filled) {
          throw_error(errc::internal, "read_range_into delivered bytes outside the block's room");
        }
        filled += piece.size();
        if (filled == filling->size()) {  // a whole block: readers may use it now
          block_data data = std::move(filling);
          filling.reset();
          offer(run[next].second, data, admission::streamed);
          finish(run[next].first, std::move(data), nullptr);
          ++next;
        }
      };
      const std::uint64_t offset = run[next].second * block_size;
      std::string etag = info.etag;
      std::string object_path = path;
      co_await store->read_range_into(std::move(object_path), offset, length, std::move(room),
                                      std::move(sink), std::move(etag));
      if (next < run.size()) {
        throw_shorter();
      }
    }
  } catch (...) {
    const auto failure = std::current_exception();
    for (; next < run.size(); ++next) finish(run[next].first, {}, failure);
  }
  start_list to_start;
  {
    std::lock_guard lock(mutex);
    --inflight_prefetch;
    if (!closed && !changed) pump(to_start);
  }
  launch(to_start);
}

void readable_file::core::finish(const std::shared_ptr<slot>& s, block_data data,
                                 std::exception_ptr failure) {
  start_list to_start;
  {
    std::lock_guard lock(mutex);
    s->data = std::move(data);
    s->failure = failure;
    s->done = true;
    if (failure) {
      try {
        std::rethrow_exception(failure);
      } catch (const error& e) {
        if (e.code() == errc::changed && !changed) changed = failure;
      } catch (...) {  // reported to the reader that waits for this block, if any
      }
    }
    s->event.close();
    loaded.notify_all();
    if (!closed && !changed) {
      // A block that arrives unwanted (its stream moved on or was abandoned while it loaded) is
      // let go now, not at the file's next read: an idle file must not hold the prefetch budget
      // that every open file shares.
      retire();
      pump(to_start);
    }
  }
  launch(to_start);
}

void readable_file::core::abandon(const std::shared_ptr<slot>& s) {
  std::lock_guard lock(mutex);
  if (s->done) return;
  s->failure = std::make_exception_ptr(
      error(errc::cancelled, "the read was abandoned: the runtime is shutting down"));
  s->done = true;
  loaded.notify_all();
}

void readable_file::core::retire() {
  for (auto it = slots.begin(); it != slots.end();) {
    // A block still loading stays mapped until it is done, wanted or not: another read of it
    // (kernel readahead runs several at once, some behind the stream's new position) then
    // waits for that request instead of fetching the block a second time.
    if (closed || (it->second->done && !planner.keep(it->first))) {
      it = slots.erase(it);
    } else {
      ++it;
    }
  }
}

void readable_file::core::pump(start_list& out) {
  // Each stream in turn gets one request (a run of adjacent missing blocks, up to fetch_blocks),
  // most recent stream first, until the per-file request limit or the budget is reached: with
  // the whole list in order, the first stream's window took every request and four threads on
  // one file read the others block by block.
  auto wanted = planner.wanted_by_stream();  // per stream, ascending: adjacent blocks form runs
  std::vector<std::size_t> at(wanted.size(), 0);
  for (bool started = true; started;) {
    started = false;
    for (std::size_t k = 0; k < wanted.size(); ++k) {
      if (inflight_prefetch >= svc.options.max_inflight) return;
      const auto& list = wanted[k];
      std::size_t& i = at[k];
      while (i < list.size() && slots.count(list[i]) != 0) ++i;
      if (i == list.size()) continue;
      // The run's blocks: adjacent, missing, up to fetch_blocks. Its budget is taken whole or
      // not at all (budget full: a later read resumes prefetch), so no request is cut short.
      std::size_t n = 0;
      std::uint64_t bytes = 0;
      while (i + n < list.size() && list[i + n] == list[i] + n && slots.count(list[i + n]) == 0 &&
             n < svc.options.fetch_blocks) {
        bytes += block_length(list[i + n]);
        ++n;
      }
      if (!svc.try_acquire_prefetch(bytes)) return;
      const std::size_t run_start = out.size();
      for (std::size_t b = 0; b < n; ++b, ++i) add_leased_prefetch(list[i], out);
      out[run_start].first->run = static_cast<unsigned>(n);
      ++inflight_prefetch;
      started = true;
    }
  }
}

std::vector<std::shared_ptr<readable_file::core::slot>> readable_file::core::plan(
    std::uint64_t offset, std::size_t total, start_list& to_start) {
  const std::uint64_t first = offset / block_size;
  const std::uint64_t last = (offset + total - 1) / block_size;
  std::vector<std::shared_ptr<slot>> needed;
  bool continues = false;
  if (!closed) {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now().time_since_epoch());
    continues = planner.on_read(first, last, now, [this](std::uint64_t block) {
      const auto it = slots.find(block);
      return it != slots.end() && !it->second->done;
    });
  }
  // A random reader (planner.random()) fetches only the pages it asked for of a block that is
  // not loaded, and caches nothing of them, until the block's parts would cost more than the
  // block: then it is loaded whole and cached (random_parts.cpp). Random reads then cost their
  // own bytes, not a 2 MiB block each; a block read many times fills the cache as before. A read
  // that continues a stream whose window has not opened yet (at random: the stream's second
  // read) is a part too: a record and its neighbour are not a sequential reader yet. So is the
  // file's first read when it starts past the first block (a record looked up by offset, a
  // footer): a file read from its start gets whole blocks at once, and a reader that goes on
  // from the middle loads whole blocks from its second read.
  const bool opening = !read_before;
  read_before = true;
  const bool random = svc.options.random_parts && !closed &&
                      ((planner.random() && (!continues || planner.current_window() == 0)) ||
                       (opening && first > 0));
  for (std::uint64_t index = first; index <= last; ++index) {
    auto it = slots.find(index);
    // A failed block is retried once by this read, unless the object changed.
    if (it == slots.end() || (it->second->done && it->second->failure)) {
      if (random && plan_part(index, offset, total, to_start, needed)) continue;
      auto s = make_slot(false);
      slots[index] = s;
      to_start.emplace_back(s, index);
      needed.push_back(s);
      if (index == last && continues && planner.current_window() > 0)
        extend_demand(s, index, to_start);
    } else {
      needed.push_back(it->second);
    }
  }
  if (!closed) {
    retire();
    pump(to_start);
  }
  return needed;
}

void readable_file::core::extend_demand(const std::shared_ptr<slot>& head, std::uint64_t index,
                                        start_list& to_start) {
  // A sequential reader that outran its prefetch (the per-file request limit was spent on other
  // streams' windows) asks for the blocks after this one in the same request: its next reads
  // find them loading instead of each paying a single-block GET. The head block is finished as
  // soon as its bytes arrive, as in any run. No further than the stream's window: a random
  // reader that happens to land next to an old position asks for little more than its block.
  const unsigned limit = std::min(svc.options.fetch_blocks, planner.current_window() + 1);
  const std::uint64_t end = planner.next_origin_after(index);  // another stream's part
  unsigned n = 1;
  for (std::uint64_t next = index + 1; next < end && n < limit && slots.count(next) == 0;
       ++next, ++n) {
    if (!svc.try_acquire_prefetch(block_length(next))) break;
    add_leased_prefetch(next, to_start);
  }
  if (n > 1) {
    head->run = n;
    ++inflight_prefetch;  // fetch_run ends it
  }
}

std::vector<std::shared_ptr<readable_file::core::slot>> readable_file::core::prepare(
    std::uint64_t offset, std::size_t length, std::size_t& total) {
  total = 0;
  if (offset >= info.size || length == 0) return {};
  total = static_cast<std::size_t>(std::min<std::uint64_t>(length, info.size - offset));
  std::vector<std::shared_ptr<slot>> needed;
  start_list to_start;
  {
    std::lock_guard lock(mutex);
    if (changed) std::rethrow_exception(changed);
    needed = plan(offset, total, to_start);
  }
  launch(to_start);
  return needed;
}

void readable_file::core::wait_blocking(const std::vector<std::shared_ptr<slot>>& needed) {
  // A sequential reader behind the prefetcher finds its blocks loaded and never waits here.
  std::unique_lock lock(mutex);
  loaded.wait(lock, [&] {
    return std::all_of(needed.begin(), needed.end(), [](const auto& s) { return s->done; });
  });
}

std::vector<block_view> readable_file::core::views(
    std::uint64_t offset, std::size_t total, const std::vector<std::shared_ptr<slot>>& needed) {
  const std::uint64_t first = offset / block_size;
  std::vector<block_view> out;
  out.reserve(needed.size());
  std::size_t viewed = 0;
  for (std::size_t i = 0; i < needed.size(); ++i) {
    const auto& s = needed[i];
    if (s->failure) std::rethrow_exception(s->failure);
    const std::uint64_t data_start = (first + i) * block_size + s->base;  // base: a part's
    const std::uint64_t from = std::max(offset, data_start) - data_start;
    const std::uint64_t until =
        std::min<std::uint64_t>(offset + total, data_start + s->data->size()) - data_start;
    out.push_back(
        {s->data, static_cast<std::size_t>(from), static_cast<std::size_t>(until - from)});
    viewed += static_cast<std::size_t>(until - from);
  }
  start_list to_start;
  {
    std::lock_guard lock(mutex);
    for (const auto& s : needed) {
      if (s->prefetch && !s->used) svc.counters->add(counter::prefetch_used_bytes, s->data->size());
      s->used = true;
    }
    if (!closed && !changed) {
      retire();
      pump(to_start);
    }
  }
  launch(to_start);
  svc.counters->add(counter::reader_bytes_returned, viewed);
  return out;
}

std::size_t readable_file::core::deliver(std::uint64_t offset, std::size_t total,
                                         const std::vector<std::shared_ptr<slot>>& needed,
                                         std::span<std::byte> into) {
  std::size_t copied = 0;
  for (const auto& view : views(offset, total, needed)) {
    std::memcpy(into.data() + copied, view.bytes().data(), view.length);
    copied += view.length;
  }
  return copied;
}

asio::awaitable<std::size_t> readable_file::core::read(std::uint64_t offset,
                                                       std::span<std::byte> into) {
  if (whole) {
    auto file = whole;
    auto local_read = [file, offset, into] { return file->read_at(offset, into); };
    const std::size_t n = co_await svc.on_disk(std::move(local_read));
    svc.counters->add(counter::reader_bytes_returned, n);
    co_return n;
  }
  std::size_t total = 0;
  const auto needed = prepare(offset, into.size(), total);
  if (total == 0) co_return 0;
  for (const auto& s : needed) {
    bool done;
    {
      std::lock_guard lock(mutex);
      done = s->done;
    }
    if (!done) {
      boost::system::error_code ignored;  // the channel only ever closes: that is the signal
      co_await s->event.async_receive(asio::redirect_error(asio::use_awaitable, ignored));
    }
  }
  co_return deliver(offset, total, needed, into);
}

std::size_t readable_file::core::read_blocking(std::uint64_t offset, std::span<std::byte> into) {
  std::size_t total = 0;
  const auto needed = prepare(offset, into.size(), total);
  if (total == 0) return 0;
  wait_blocking(needed);
  return deliver(offset, total, needed, into);
}

void readable_file::core::close() {
  std::lock_guard lock(mutex);
  closed = true;
  planner.reset();
  retire();
}

}  // namespace dataport
