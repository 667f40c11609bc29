// The blob backend over a fake transport: pagination requests, the pagination-loop guard,
// request shapes (encoding, Range, If-Match, block ids) and status handling, without a server.
#include <cstring>
#include <functional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "dataport/error.hpp"
#include "dataport/http/client.hpp"
#include "dataport/storage.hpp"

using namespace dataport;

namespace {

class fake_transport final : public http::transport {
 public:
  std::function<http::response(const http::request&)> answer;
  std::vector<http::request> seen;
  std::vector<std::string> bodies;  ///< copies: request bodies are not owned by the request

  boost::asio::awaitable<http::response> round_trip(const http::request& req,
                                                    const http::send_options& options,
                                                    std::size_t& received) override {
    seen.push_back(req);
    bodies.emplace_back(reinterpret_cast<const char*>(req.body.data()), req.body.size());
    auto resp = answer(req);
    if (options.body_into && resp.status / 100 == 2) {
      REQUIRE(resp.body.size() <= options.body_into->size());
      std::memcpy(options.body_into->data(), resp.body.data(), resp.body.size());
      resp.body_size = resp.body.size();
      resp.body.clear();
    } else {
      resp.body_size = resp.body.size();
    }
    received = resp.body_size;
    co_return resp;
  }
};

struct harness {
  boost::asio::io_context io;
  std::shared_ptr<fake_transport> transport = std::make_shared<fake_transport>();
  std::shared_ptr<http::client> client;
  std::shared_ptr<object_store> store;

  harness() {
    http::retry_seams seams;
    seams.sleep = [](std::chrono::milliseconds) -> boost::asio::awaitable<void> { co_return; };
    seams.jitter = [] { return 0.5; };
    seams.now = [] { return std::chrono::system_clock::now(); };
    settings config;
    config.http_retry_count = 0;
    client = std::make_shared<http::client>(io.get_executor(), config, transport, seams);
    location where;
    where.backend = backend_kind::blob;
    where.service_url = "http://127.0.0.1:1/acct";
    where.container = "data";
    store = make_store(where, client, nullptr);
  }

  template <class T>
  T run(boost::asio::awaitable<T> task) {
    std::exception_ptr failure;
    std::optional<T> result;
    boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
      failure = e;
      if (!e) result.emplace(std::move(value));
    });
    io.restart();
    io.run();
    if (failure) std::rethrow_exception(failure);
    return std::move(*result);
  }
};

http::response xml_response(std::string body) {
  http::response resp;
  resp.status = 200;
  resp.headers = {{"Content-Type", "application/xml"}};
  resp.body = std::move(body);
  return resp;
}

std::string page_xml(const std::string& name, const std::string& marker) {
  return "<EnumerationResults><Blobs><Blob><Name>" + name +
         "</Name><Properties><Etag>0x1</Etag><Content-Length>1</Content-Length></Properties>"
         "</Blob></Blobs><NextMarker>" +
         marker + "</NextMarker></EnumerationResults>";
}

}  // namespace

TEST_CASE("listing: one request per page, markers passed on, prefix and delimiter encoded") {
  harness h;
  h.transport->answer = [](const http::request& req) {
    if (req.url.find("marker=m%2F1") != std::string::npos) return xml_response(page_xml("d/b", ""));
    return xml_response(page_xml("d/a", "m/1"));
  };
  list_options options;
  options.prefix = "d";
  options.page_size = 1;
  auto pager = h.store->list(options);
  auto first = h.run(pager->next_page());
  REQUIRE(first);
  CHECK(h.transport->seen.size() == 1);
  CHECK(h.transport->seen[0].url ==
        "http://127.0.0.1:1/acct/data?restype=container&comp=list&prefix=d%2F&maxresults=1"
        "&delimiter=%2F");
  CHECK(http::find_header(h.transport->seen[0].headers, "x-ms-version") == "2021-08-06");
  CHECK(http::find_header(h.transport->seen[0].headers, "x-ms-date").has_value());
  auto second = h.run(pager->next_page());
  REQUIRE(second);
  CHECK((*second)[0].path == "d/b");
  CHECK(h.transport->seen.size() == 2);
  CHECK_FALSE(h.run(pager->next_page()).has_value());
  CHECK(h.transport->seen.size() == 2);

  // The first page is small by default (first names quickly) and full-size when asked.
  const std::string base = "http://127.0.0.1:1/acct/data?restype=container&comp=list&prefix=d%2F";
  h.transport->seen.clear();
  h.transport->answer = [](const http::request&) { return xml_response(page_xml("d/a", "")); };
  options.page_size = 5000;
  h.run(h.store->list(options)->next_page());
  options.quick_first_page = false;
  h.run(h.store->list(options)->next_page());
  REQUIRE(h.transport->seen.size() == 2);
  CHECK(h.transport->seen[0].url == base + "&maxresults=200&delimiter=%2F");
  CHECK(h.transport->seen[1].url == base + "&maxresults=5000&delimiter=%2F");

  // has_entries: flat requests of one entry (no delimiter: the service answers those in constant
  // time however the names below are grouped); an empty page with a marker asks the next one.
  h.transport->seen.clear();
  h.transport->answer = [](const http::request& req) {
    if (req.url.find("marker=") == std::string::npos) {
      return xml_response(
          "<EnumerationResults><Blobs/><NextMarker>m</NextMarker>"
          "</EnumerationResults>");
    }
    return xml_response(page_xml("d/deep/er/x", ""));
  };
  CHECK(h.run(has_entries(*h.store, "d")));
  REQUIRE(h.transport->seen.size() == 2);
  CHECK(h.transport->seen[0].url == base + "&maxresults=1");
  CHECK(h.transport->seen[1].url == base + "&maxresults=1&marker=m");
  h.transport->answer = [](const http::request&) {
    return xml_response("<EnumerationResults><Blobs/><NextMarker/></EnumerationResults>");
  };
  CHECK_FALSE(h.run(has_entries(*h.store, "d")));
}

TEST_CASE("listing: a repeated NextMarker is a pagination loop (protocol error)") {
  harness h;
  int calls = 0;
  h.transport->answer = [&](const http::request&) {
    ++calls;
    return xml_response(
        page_xml("x" + std::to_string(calls), calls == 1 ? "A" : (calls == 2 ? "B" : "A")));
  };
  auto pager = h.store->list({});
  h.run(pager->next_page());
  h.run(pager->next_page());
  try {
    h.run(pager->next_page());
    FAIL("no error");
  } catch (const error& e) {
    CHECK(e.code() == errc::protocol);
    CHECK_THAT(std::string(e.what()), Catch::Contains("pagination loop"));
  }
  CHECK(calls == 3);
}

TEST_CASE("reads send Range and If-Match on an encoded URL - 412 is changed") {
  harness h;
  h.transport->answer = [](const http::request& req) {
    http::response resp;
    if (http::find_header(req.headers, "If-Match") == "\"old\"") {
      resp.status = 412;
      resp.headers = {{"x-ms-error-code", "ConditionNotMet"}, {"x-ms-request-id", "r1"}};
      return resp;
    }
    resp.status = 206;
    resp.headers = {{"Content-Range", "bytes 2-4/10"}, {"ETag", "\"new\""}};
    resp.body = "abc";
    return resp;
  };
  std::vector<std::byte> buffer(3);
  auto result = h.run(h.store->read_range("dir/a b#?%+.bin", 2, buffer, "\"new\""));
  CHECK(result.bytes == 3);
  CHECK(result.object_size == 10);
  CHECK(result.etag == "\"new\"");
  CHECK(buffer[0] == std::byte('a'));
  const auto& req = h.transport->seen.back();
  CHECK(req.url == "http://127.0.0.1:1/acct/data/dir/a%20b%23%3F%25%2B.bin");
  CHECK(http::find_header(req.headers, "Range") == "bytes=2-4");
  try {
    h.run(h.store->read_range("x", 0, buffer, "\"old\""));
    FAIL("no error");
  } catch (const error& e) {
    CHECK(e.code() == errc::changed);
    CHECK(e.details().request_id == "r1");
    CHECK_THAT(std::string(e.what()), Catch::Contains("re-open"));
  }
}

TEST_CASE("block uploads base64 the ids and commit them in order as Latest") {
  harness h;
  h.transport->answer = [](const http::request& req) {
    http::response resp;
    resp.status = req.method == "HEAD" ? 200 : 201;
    resp.headers = {{"ETag", "\"e\""}, {"Content-Length", "6"}};
    return resp;
  };
  const std::string data = "abc";
  h.run([&]() -> boost::asio::awaitable<int> {
    co_await h.store->stage_block("f.bin", "id-1", std::as_bytes(std::span(data)), "");
    co_return 0;
  }());
  CHECK(h.transport->seen[0].url ==
        "http://127.0.0.1:1/acct/data/f.bin?comp=block&blockid=aWQtMQ%3D%3D");
  const auto info = h.run(h.store->commit_blocks("f.bin", {"id-2", "id-1"}, put_options{}));
  CHECK(info.size == 6);
  const auto& commit = h.transport->seen[1];
  CHECK(commit.url == "http://127.0.0.1:1/acct/data/f.bin?comp=blocklist");
  const std::string& body = h.transport->bodies[1];
  CHECK(body.find("<Latest>aWQtMg==</Latest><Latest>aWQtMQ==</Latest>") != std::string::npos);
  CHECK(http::find_header(commit.headers, "x-ms-blob-content-type") == "application/octet-stream");
}
