// Transfer engine under faults: a 503 storm with Retry-After, a connection reset mid-body (the
// range resumes from the offset), a permanent 500 on one file, --fail-fast, a blob overwritten
// between two ranges (the 412 path, with and without restart_on_change), the progress callback
// and cancellation. Faults come from the fault proxy in front of Azurite, or from a wrapping
// in-memory store where timing must be exact.
#include "transfer_support.hpp"

#include <future>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "dataport/error.hpp"
#include "dataport/memory_store.hpp"
#include "transfer/detail/md5.hpp"
#include "transfer/detail/plan.hpp"

using namespace xfer;
using dataport::transfer_options;
using nlohmann::json;

namespace {

struct dataset {
  std::string container = dataport::test::unique_name("faults");
  hashes expected;  // name → sha
  std::map<std::string, std::vector<std::byte>> bytes;
};

dataset make_dataset(dataport::context& ctx,
                     const std::vector<std::pair<std::string, std::size_t>>& files) {
  dataset d;
  create_container(ctx, blob(d.container, ""));
  std::uint64_t seed = 900;
  for (const auto& [name, size] : files) {
    auto data = dataport::test::random_bytes(size, seed++);
    put_blob(ctx, blob(d.container, "set/" + name), data);
    d.expected[name] = dataport::test::sha256_hex(data);
    d.bytes[name] = std::move(data);
  }
  return d;
}

std::vector<json> range_gets(dataport::test::fault_proxy& proxy, const std::string& name_part) {
  std::vector<json> out;
  for (const auto& r : proxy.requests()) {
    if (r.at("method") == "GET" && !r.at("range").is_null() &&
        r.at("path").get<std::string>().find(name_part) != std::string::npos) {
      out.push_back(r);
    }
  }
  return out;
}

std::uint64_t range_start(const json& request) {
  const auto range = request.at("range").get<std::string>();  // bytes=N-M
  return std::stoull(range.substr(6, range.find('-') - 6));
}

/// No hidden partial files and nothing but `names` under root.
void check_only(const fs::path& root, std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  CHECK(walk(root) == names);
}

}  // namespace

TEST_CASE("a 503 storm with Retry-After is retried and the files are identical") {
  auto ctx = make_context(6);
  temp_dir tmp("storm");
  auto d = make_dataset(*ctx, {{"a.bin", 3 * chunk}, {"b.bin", 2 * chunk + 7}, {"c.bin", 100}});
  dataport::test::fault_proxy proxy(azurite_url());
  proxy.set_rules(json::array(
      {{{"match", {{"method", "GET"}, {"path_regex", "/set/"}}},
        {"times", 5},
        {"action",
         {{"status", 503}, {"headers", {{"Retry-After", "1"}}}, {"body", "server busy"}}}}}));
  transfer_options o;
  o.recursive = true;
  o.chunk_size = chunk;
  o.threads = 3;
  auto s = dataport::copy(*ctx, blob(d.container, "set", "devstoreaccount1", proxy.url()),
                          local(tmp / "dst"), o);
  INFO(describe(s));
  CHECK(s.files_done == 3);
  CHECK(s.files_failed == 0);
  CHECK(s.retries >= 5);
  std::size_t injected = 0;
  for (const auto& r : proxy.requests()) injected += r.at("status") == 503 ? 1 : 0;
  CHECK(injected == 5);
  CHECK(local_tree(tmp / "dst") == d.expected);
}

TEST_CASE("a connection reset mid-body resumes from the offset reached - output identical") {
  auto ctx = make_context();
  temp_dir tmp("reset");
  constexpr std::size_t size = 4u << 20;
  auto d = make_dataset(*ctx, {{"big.bin", size}});
  const std::string how = GENERATE(std::string("fin"), std::string("rst"));
  dataport::test::fault_proxy proxy(azurite_url());
  proxy.set_rules(json::array(
      {{{"match", {{"method", "GET"}, {"path_regex", "big\\.bin"}, {"has_header", "Range"}}},
        {"times", 1},
        {"action", {{"cut_body_at", 0.5}, {"how", how}}}}}));
  transfer_options o;
  o.chunk_size = 8u << 20;  // one range for the whole file
  o.threads = 1;
  auto s = dataport::copy(*ctx, blob(d.container, "set/big.bin", "devstoreaccount1", proxy.url()),
                          local(tmp / "big.bin"), o);
  INFO(describe(s));
  REQUIRE(s.files_done == 1);
  CHECK(file_sha(tmp / "big.bin") == d.expected["big.bin"]);
  const auto gets = range_gets(proxy, "big.bin");
  REQUIRE(gets.size() >= 2);
  CHECK(range_start(gets[0]) == 0);
  // The resumed request starts mid-way (where the cut body stopped), not at 0 again.
  const auto resumed = range_start(gets[1]);
  INFO("second range: " << gets[1].at("range") << " how=" << how);
  // With "rst" the kernel may drop bytes not yet read when the reset arrives, so the client can
  // legitimately have nothing to resume from; with "fin" everything sent is received.
  if (how == "fin") CHECK(resumed > 0);
  CHECK(resumed <= size / 2);
  CHECK(gets[1].at("if_match").is_string());  // still pinned to the version
  check_only(tmp.path(), {"big.bin"});
}

TEST_CASE("a permanent 500 on one range fails that file only - --fail-fast stops the rest") {
  auto ctx = make_context(2);
  temp_dir tmp("perm");
  auto d = make_dataset(*ctx,
                        {{"a_bad.bin", 3 * chunk}, {"b.bin", 3 * chunk + 1}, {"c.bin", 2 * chunk}});
  dataport::test::fault_proxy proxy(azurite_url());
  // The first range of a_bad.bin passes, every later one is a 500 (retries included).
  const json bad_range = {
      {"method", "GET"}, {"path_regex", "a_bad\\.bin"}, {"has_header", "Range"}};
  proxy.set_rules(
      json::array({{{"match", bad_range}, {"times", 1}, {"action", {{"delay_ms", 1}}}},
                   {{"match", bad_range}, {"action", {{"status", 500}, {"body", "boom"}}}}}));
  transfer_options o;
  o.recursive = true;
  o.chunk_size = chunk;
  o.threads = 1;
  const auto source = blob(d.container, "set", "devstoreaccount1", proxy.url());

  SECTION("without --fail-fast the others succeed") {
    auto s = dataport::copy(*ctx, source, local(tmp / "dst"), o);
    INFO(describe(s));
    CHECK(s.files_done == 2);
    CHECK(s.files_failed == 1);
    REQUIRE(paths_of(s.failed) == std::vector<std::string>{"a_bad.bin"});
    CHECK(s.failed[0].reason.find("500") != std::string::npos);
    CHECK_FALSE(s.cancelled);
    check_only(tmp / "dst", {"b.bin", "c.bin"});
    CHECK(file_sha(tmp / "dst/b.bin") == d.expected["b.bin"]);
    CHECK(file_sha(tmp / "dst/c.bin") == d.expected["c.bin"]);
  }
  SECTION("--fail-fast stops everything after the first failure") {
    o.fail_fast = true;
    auto s = dataport::copy(*ctx, source, local(tmp / "dst"), o);
    INFO(describe(s));
    CHECK(s.files_done == 0);
    CHECK(paths_of(s.failed) == std::vector<std::string>{"a_bad.bin"});
    CHECK_FALSE(s.cancelled);  // a failure stopped it, not the caller
    check_only(tmp / "dst", {});
    // Nothing of c.bin was requested: the listing stopped feeding work.
    CHECK(range_gets(proxy, "c.bin").empty());
  }
}

TEST_CASE("a blob overwritten between two ranges: 'changed during download' / or restarted") {
  auto ctx = make_context();
  auto writer_ctx = make_context();  // overwrites the blob directly, not through the proxy
  temp_dir tmp("changed");
  auto d = make_dataset(*ctx, {{"moving.bin", 4 * chunk}});
  // The new version under and over 1 MiB: a restarted file of 1 MiB or more is written direct.
  const std::uint64_t v2_size = GENERATE(3 * xfer::chunk + 99, 5 * xfer::chunk + 99);
  const auto v2 = dataport::test::random_bytes(v2_size, 4242);
  dataport::test::fault_proxy proxy(azurite_url());
  const json ranges = {{"method", "GET"}, {"path_regex", "moving\\.bin"}, {"has_header", "Range"}};
  proxy.set_rules(
      json::array({{{"match", ranges}, {"times", 1}, {"action", {{"delay_ms", 1}}}},
                   {{"match", ranges}, {"times", 1}, {"action", {{"delay_ms", 1500}}}}}));
  transfer_options o;
  o.chunk_size = chunk;
  o.threads = 1;
  const bool restart = GENERATE(false, true);
  o.restart_on_change = restart;
  auto run = std::async(std::launch::async, [&] {
    return dataport::copy(*ctx,
                          blob(d.container, "set/moving.bin", "devstoreaccount1", proxy.url()),
                          local(tmp / "moving.bin"), o);
  });
  // Wait until the second range is held by the proxy, then overwrite the blob.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (range_gets(proxy, "moving.bin").size() < 2 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(range_gets(proxy, "moving.bin").size() >= 2);
  put_blob(*writer_ctx, blob(d.container, "set/moving.bin"), v2);
  const auto s = run.get();
  INFO(describe(s) << " restart=" << restart << " v2=" << v2_size);
  bool saw_412 = false;
  for (const auto& r : range_gets(proxy, "moving.bin")) saw_412 = saw_412 || r.at("status") == 412;
  CHECK(saw_412);
  if (!restart) {
    CHECK(s.files_done == 0);
    REQUIRE(s.failed.size() == 1);
    CHECK(s.failed[0].code == dataport::errc::changed);
    CHECK(s.failed[0].reason.find("changed during download") != std::string::npos);
    check_only(tmp.path(), {});
  } else {
    CHECK(s.files_done == 1);
    CHECK(s.files_failed == 0);
    CHECK(file_sha(tmp / "moving.bin") == dataport::test::sha256_hex(v2));
    check_only(tmp.path(), {"moving.bin"});
  }
}

namespace {

/// A memory store with scripted behaviour: it can replace an object the first time a range past
/// offset 0 is read (the deterministic version of "overwritten between ranges"), fail the read
/// of one offset (after a pause, so later chunks are already waiting for their turn to be
/// hashed), and records the Content-MD5 of every commit.
class scripted_store final : public dataport::object_store {
 public:
  explicit scripted_store(std::shared_ptr<dataport::memory_store> inner)
      : inner_(std::move(inner)) {}
  std::optional<std::vector<std::byte>> replace_with;
  std::optional<std::uint64_t> fail_read_at;
  /// put() lands (these bytes instead, when set: another writer won), then its answer is "lost":
  /// the caller sees the retry's 409 already_exists.
  bool lose_put_answer = false;
  std::optional<std::vector<std::byte>> put_by_other;
  std::mutex mutex;
  std::vector<std::string> committed_md5s;

  boost::asio::awaitable<dataport::object_info> stat(std::string path) override {
    auto info = co_await inner_->stat(path);
    // Like the service: a blob keeps the Content-MD5 it was written with.
    if (!info.is_directory)
      info.content_md5 = dataport::transfer_detail::md5_base64(inner_->object(path));
    co_return info;
  }
  std::unique_ptr<dataport::list_pager> list(dataport::list_options options) override {
    return inner_->list(std::move(options));
  }
  boost::asio::awaitable<dataport::read_result> read_range(std::string path, std::uint64_t offset,
                                                           std::span<std::byte> into,
                                                           std::string if_match) override {
    if (replace_with && offset > 0 && !replaced_.exchange(true)) {
      inner_->set_object(path, *replace_with);
    }
    if (fail_read_at && offset == *fail_read_at) {
      boost::asio::steady_timer pause(co_await boost::asio::this_coro::executor,
                                      std::chrono::milliseconds(200));
      co_await pause.async_wait(boost::asio::use_awaitable);
      throw dataport::error(dataport::errc::io, "injected read failure");
    }
    co_return co_await inner_->read_range(std::move(path), offset, into, std::move(if_match));
  }
  boost::asio::awaitable<dataport::object_info> put(std::string path,
                                                    std::span<const std::byte> data,
                                                    dataport::put_options options) override {
    if (!lose_put_answer) co_return co_await inner_->put(std::move(path), data, std::move(options));
    co_await inner_->put(path, put_by_other ? std::span<const std::byte>(*put_by_other) : data,
                         options);
    throw dataport::error(dataport::errc::already_exists, "409 BlobAlreadyExists (the retry)");
  }
  boost::asio::awaitable<void> stage_block(std::string path, std::string id,
                                           std::span<const std::byte> data,
                                           std::string md5) override {
    CHECK(md5 == dataport::transfer_detail::md5_base64(data));  // the block's own MD5
    return inner_->stage_block(std::move(path), std::move(id), data, std::move(md5));
  }
  boost::asio::awaitable<dataport::object_info> commit_blocks(
      std::string path, std::vector<std::string> ids, dataport::put_options options) override {
    {
      std::lock_guard lock(mutex);
      committed_md5s.push_back(options.content_md5);
    }
    return inner_->commit_blocks(std::move(path), std::move(ids), std::move(options));
  }
  boost::asio::awaitable<void> remove(std::string path) override {
    return inner_->remove(std::move(path));
  }
  boost::asio::awaitable<void> create_container() override { co_return; }
  dataport::store_capabilities capabilities() const noexcept override {
    return inner_->capabilities();
  }
  std::string describe() const override { return "recording://"; }

 private:
  std::shared_ptr<dataport::memory_store> inner_;
  std::atomic<bool> replaced_{false};
};

}  // namespace

TEST_CASE("fake store: a source changed between ranges never yields a mixed file") {
  auto ctx = make_context();
  temp_dir tmp("fake412");
  auto inner = std::make_shared<dataport::memory_store>();
  const auto v1 = dataport::test::random_bytes(5 * chunk, 1);
  const auto v2 = dataport::test::random_bytes(2 * chunk + 3, 2);
  inner->set_object("f.bin", v1);
  auto source = std::make_shared<scripted_store>(inner);
  source->replace_with = v2;
  const bool restart = GENERATE(false, true);
  transfer_options o;
  o.chunk_size = chunk;
  o.threads = 2;
  o.restart_on_change = restart;
  dataport::transfer_detail::copy_plan plan;
  plan.source = source;
  plan.single_file = ctx->run(source->stat("f.bin"));
  plan.single_relative = "f.bin";
  plan.target = dataport::transfer_detail::make_local_destination((tmp / "dst").string(), {});
  const auto s = dataport::transfer_detail::execute_plan(*ctx, std::move(plan), o, "test");
  INFO(describe(s));
  if (restart) {
    CHECK(s.files_done == 1);
    CHECK(file_sha(tmp / "dst/f.bin") == dataport::test::sha256_hex(v2));
    check_only(tmp / "dst", {"f.bin"});
  } else {
    CHECK(s.files_done == 0);
    REQUIRE(s.failed.size() == 1);
    CHECK(s.failed[0].reason.find("changed during download") != std::string::npos);
    check_only(tmp / "dst", {});
  }
}

TEST_CASE(
    "fake store: a multi-block upload sets the whole blob's Content-MD5 / a failed chunk "
    "releases the chunks waiting for their turn") {
  auto ctx = make_context();
  auto source_inner = std::make_shared<dataport::memory_store>();
  const auto data = dataport::test::random_bytes(9 * chunk + 77, 7);
  source_inner->set_object("f.bin", data);
  auto source = std::make_shared<scripted_store>(source_inner);
  auto dest_inner = std::make_shared<dataport::memory_store>();
  auto dest = std::make_shared<scripted_store>(dest_inner);
  const bool fail = GENERATE(false, true);
  if (fail) source->fail_read_at = chunk;  // the second chunk
  transfer_options o;
  o.chunk_size = chunk;
  o.threads = 4;
  dataport::transfer_detail::copy_plan plan;
  plan.source = source;
  plan.single_file = ctx->run(source->stat("f.bin"));
  plan.single_relative = "f.bin";
  plan.target = dataport::transfer_detail::make_store_destination(dest, "out", {});
  // A chunk waiting for a turn that never comes would hang here: the test's timeout fails it.
  const auto s = dataport::transfer_detail::execute_plan(*ctx, std::move(plan), o, "test");
  INFO(describe(s) << " fail=" << fail);
  if (fail) {
    CHECK(s.files_done == 0);
    REQUIRE(s.failed.size() == 1);
    CHECK(s.failed[0].reason.find("injected read failure") != std::string::npos);
    CHECK(dest->committed_md5s.empty());
    CHECK_THROWS(ctx->run(dest_inner->stat("out/f.bin")));
  } else {
    REQUIRE(s.files_done == 1);
    REQUIRE(dest->committed_md5s.size() == 1);
    CHECK(dest->committed_md5s[0] == dataport::transfer_detail::md5_base64(data));
    CHECK(dataport::test::sha256_hex(dest_inner->object("out/f.bin")) ==
          dataport::test::sha256_hex(data));
  }
}

TEST_CASE(
    "fake store: a Put Blob whose answer was lost finds its own blob - another writer's is a "
    "conflict") {
  auto ctx = make_context();
  const std::size_t size = GENERATE(std::size_t{0}, std::size_t{1000});
  const bool other = GENERATE(false, true);
  auto source_inner = std::make_shared<dataport::memory_store>();
  const auto data = dataport::test::random_bytes(size, 9);
  source_inner->set_object("f.bin", data);
  auto dest_inner = std::make_shared<dataport::memory_store>();
  auto dest = std::make_shared<scripted_store>(dest_inner);
  dest->lose_put_answer = true;
  if (other) dest->put_by_other = dataport::test::random_bytes(size + 1, 10);
  dataport::transfer_detail::copy_plan plan;
  plan.source = source_inner;
  plan.single_file = ctx->run(source_inner->stat("f.bin"));
  plan.single_relative = "f.bin";
  plan.target = dataport::transfer_detail::make_store_destination(dest, "out", {});
  const auto s = dataport::transfer_detail::execute_plan(*ctx, std::move(plan), {}, "test");
  INFO(describe(s) << " size=" << size << " other=" << other);
  if (!other) {
    CHECK(s.files_done == 1);
    CHECK(s.failed.empty());
    CHECK(dataport::test::sha256_hex(dest_inner->object("out/f.bin")) ==
          dataport::test::sha256_hex(data));
  } else {
    CHECK(s.files_done == 0);
    REQUIRE(s.failed.size() == 1);
    CHECK(s.failed[0].code == dataport::errc::already_exists);
    CHECK(s.failed[0].reason.find("already exists at the destination") != std::string::npos);
    CHECK(dest_inner->object("out/f.bin") == *dest->put_by_other);  // theirs, untouched
  }
}

TEST_CASE("progress: the callback runs and its final values equal the summary") {
  auto ctx = make_context();
  temp_dir tmp("progress");
  std::vector<std::pair<std::string, std::size_t>> files;
  for (int i = 0; i < 12; ++i)
    files.emplace_back(fmt::format("p{:02}.bin", i), 2 * chunk + static_cast<std::size_t>(i));
  auto d = make_dataset(*ctx, files);
  std::mutex m;
  std::vector<dataport::transfer_progress> seen;
  transfer_options o;
  o.recursive = true;
  o.chunk_size = chunk;
  o.threads = 2;
  o.progress_interval = std::chrono::milliseconds(5);
  o.on_progress = [&](const dataport::transfer_progress& p) {
    std::lock_guard lock(m);
    seen.push_back(p);
  };
  const auto s = dataport::copy(*ctx, blob(d.container, "set"), local(tmp / "dst"), o);
  REQUIRE(s.files_done == 12);
  CHECK(local_tree(tmp / "dst") == d.expected);
  REQUIRE_FALSE(seen.empty());
  const auto& last = seen.back();
  CHECK(last.files_done == s.files_done);
  CHECK(last.files_failed == s.files_failed);
  CHECK(last.files_skipped == s.files_skipped);
  CHECK(last.bytes_done == s.bytes);
  CHECK(last.files_known == 12);
  CHECK(last.listing_done);
  std::uint64_t total = 0;
  for (const auto& f : files) total += f.second;
  CHECK(last.bytes_known == total);
  CHECK(s.bytes == total);
  for (std::size_t i = 1; i < seen.size(); ++i) CHECK(seen[i].bytes_done >= seen[i - 1].bytes_done);
}

TEST_CASE("cancel: the transfer stops / finished files are whole / unfinished ones leave nothing") {
  auto ctx = make_context();
  temp_dir tmp("cancel");
  std::vector<std::pair<std::string, std::size_t>> files;
  for (int i = 0; i < 10; ++i) files.emplace_back(fmt::format("c{:02}.bin", i), 4 * chunk);
  auto d = make_dataset(*ctx, files);
  dataport::test::fault_proxy proxy(azurite_url());
  proxy.set_rules(json::array({{{"match", {{"method", "GET"}, {"has_header", "Range"}}},
                                {"action", {{"delay_ms", 100}}}}}));
  transfer_options o;
  o.recursive = true;
  o.chunk_size = chunk;
  o.threads = 2;
  o.progress_interval = std::chrono::milliseconds(10);
  o.cancel = std::make_shared<dataport::cancel_token>();
  o.on_progress = [token = o.cancel](const dataport::transfer_progress& p) {
    if (p.files_done >= 1) token->cancel();
  };
  const auto s = dataport::copy(*ctx, blob(d.container, "set", "devstoreaccount1", proxy.url()),
                                local(tmp / "dst"), o);
  INFO(describe(s));
  CHECK(s.cancelled);
  CHECK(s.files_done >= 1);
  CHECK(s.files_done < 10);
  CHECK(s.files_failed == 0);  // cancelled files are not failures
  const auto present = walk(tmp / "dst");
  CHECK(present.size() == s.files_done);  // no partial files, only finished ones
  for (const auto& name : present) CHECK(file_sha(tmp / "dst" / name) == d.expected[name]);
}
