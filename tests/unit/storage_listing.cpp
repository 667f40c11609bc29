// List Blobs XML decoding and nginx autoindex decoding, from canned responses in
// tests/fixtures/listings.
#include "support/test_support.hpp"  // first: it includes Asio with a GCC false positive silenced
#include "storage/detail/blob_listing.hpp"

#include <chrono>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "dataport/error.hpp"
#include "storage/detail/autoindex.hpp"
#include "storage/detail/wire.hpp"

using namespace dataport;
using storage_detail::parse_list_blobs;

namespace {

std::string fixture(const std::string& name) {
  std::string path = DATAPORT_SOURCE_DIR;  // (one + chain trips GCC 12's -Warray-bounds)
  path.append("/tests/fixtures/listings/").append(name);
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

using test::code_of;

}  // namespace

TEST_CASE("a normal page decodes names, sizes, etags, dates and md5") {
  const auto page = parse_list_blobs(fixture("normal_page.xml"), "logs/", "http://host/c");
  REQUIRE(page.entries.size() == 3);
  CHECK(page.next_marker.empty());
  const auto& a = page.entries[0];
  CHECK(a.path == "logs/a.txt");
  CHECK(a.size == 12);
  CHECK(a.etag == "\"0x8DBEB4E5C2D1A7B\"");  // quoted like the ETag header
  CHECK(a.content_md5 == "XrY7u+Ae7tCTyyK7j1rNww==");
  CHECK(a.content_type == "text/plain");
  CHECK_FALSE(a.is_directory);
  REQUIRE(a.last_modified.has_value());
  CHECK(std::chrono::system_clock::to_time_t(*a.last_modified) == 1700647872);
  const auto& b = page.entries[1];
  CHECK(b.path == "logs/b & c.bin");  // XML entity decoded
  CHECK(b.size == 1099511627776ull);
  CHECK(b.etag == "\"0x8DBEB4E5C2D1A7C\"");               // already quoted: unchanged
  CHECK(page.entries[2].path == "logs/\xEF\xBF\xBEodd");  // Encoded="true" is percent-decoded
  CHECK(page.entries[2].size == 0);
}

TEST_CASE("an empty page has no entries and no marker") {
  const auto page = parse_list_blobs(fixture("empty.xml"), "nothing/", "u");
  CHECK(page.entries.empty());
  CHECK(page.next_marker.empty());
}

TEST_CASE("NextMarker is returned verbatim") {
  const auto page = parse_list_blobs(fixture("next_marker.xml"), "", "u");
  REQUIRE(page.entries.size() == 2);
  CHECK(page.entries[0].path == "f1");
  CHECK(page.entries[1].size == 2);
  CHECK(page.next_marker == "2!16!MDAwMDA2IWYyLmJpbg--");
}

TEST_CASE("BlobPrefix entries become directories - the folder marker itself is skipped") {
  const auto page = parse_list_blobs(fixture("blob_prefix.xml"), "root/", "u");
  REQUIRE(page.entries.size() == 3);
  CHECK(page.entries[0].path == "root/file.csv");
  CHECK_FALSE(page.entries[0].is_directory);
  CHECK(page.entries[1].path == "root/sub dir");
  CHECK(page.entries[1].is_directory);
  CHECK(page.entries[1].size == 0);
  CHECK(page.entries[2].path == "root/z");
  CHECK(page.entries[2].is_directory);
}

TEST_CASE("truncated XML is a protocol error naming the URL and the position") {
  std::string message;
  CHECK(code_of([] { parse_list_blobs(fixture("truncated.xml"), "", "http://h/c?comp=list"); },
                &message) == errc::protocol);
  CHECK_THAT(message, Catch::Contains("http://h/c?comp=list"));
  CHECK_THAT(message, Catch::Contains("at byte"));
}

TEST_CASE("a DOCTYPE (entity bomb, external entity) is refused before parsing") {
  std::string message;
  CHECK(code_of([] { parse_list_blobs(fixture("entity_bomb.xml"), "", "u"); }, &message) ==
        errc::protocol);
  CHECK_THAT(message, Catch::Contains("DOCTYPE"));
  CHECK_THAT(message, !Catch::Contains("root:"));  // /etc/passwd never read
}

TEST_CASE("a document that is not a listing is a protocol error") {
  CHECK(code_of([] { parse_list_blobs(fixture("not_a_listing.xml"), "", "u"); }) == errc::protocol);
  CHECK(code_of([] { parse_list_blobs("", "", "u"); }) == errc::protocol);
  CHECK(code_of([] {
          parse_list_blobs(
              "<EnumerationResults><Blobs><Blob><Name>x</Name><Properties>"
              "<Content-Length>12abc</Content-Length></Properties></Blob></Blobs>"
              "</EnumerationResults>",
              "", "u");
        }) == errc::protocol);
  CHECK(code_of([] {
          parse_list_blobs(
              "<EnumerationResults><Blobs><Blob><Properties/></Blob></Blobs>"
              "</EnumerationResults>",
              "", "u");
        }) == errc::protocol);
}

TEST_CASE("a huge page (5000 entries with long names) decodes quickly and completely") {
  std::string xml = "<?xml version=\"1.0\"?><EnumerationResults><Blobs>";
  const std::string long_part(900, 'n');
  for (int i = 0; i < 5000; ++i) {
    xml += "<Blob><Name>big/" + long_part + std::to_string(i) + "</Name><Properties><Etag>0x" +
           std::to_string(i) + "</Etag><Content-Length>" + std::to_string(i * 7) +
           "</Content-Length></Properties></Blob>";
  }
  xml += "</Blobs><NextMarker>m</NextMarker></EnumerationResults>";
  const auto start = std::chrono::steady_clock::now();
  const auto page = parse_list_blobs(xml, "big/", "u");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE(page.entries.size() == 5000);
  CHECK(page.entries[4999].path == "big/" + long_part + "4999");
  CHECK(page.entries[4999].size == 4999u * 7u);
  CHECK(page.entries[123].etag == "\"0x123\"");
  CHECK(page.next_marker == "m");
  CHECK(elapsed < std::chrono::seconds(5));
}

TEST_CASE("nginx autoindex pages decode names, sizes and folders") {
  const auto entries = storage_detail::parse_autoindex(fixture("autoindex.html"), "files/t1");
  REQUIRE(entries.has_value());
  REQUIRE(entries->size() == 3);
  CHECK((*entries)[0].path == "files/t1/a b.txt");
  CHECK((*entries)[0].size == 12);
  CHECK((*entries)[1].path == "files/t1/sub");
  CHECK((*entries)[1].is_directory);
  CHECK((*entries)[2].path == "files/t1/\xC3\xA9t\xC3\xA9.bin");
  CHECK((*entries)[2].size == 1048576);
  // Dates (UTC): 29-Feb-2024 23:59 = 1709251140 s; 22-Nov-2023 10:00 = 1700647200 s.
  auto seconds = [](const object_info& e) {
    REQUIRE(e.last_modified.has_value());
    return std::chrono::duration_cast<std::chrono::seconds>(e.last_modified->time_since_epoch())
        .count();
  };
  CHECK(seconds((*entries)[0]) == 1709251140);
  CHECK(seconds((*entries)[1]) == 1700647200);
  CHECK(seconds((*entries)[2]) == 1700647200);
  CHECK_FALSE(storage_detail::parse_autoindex("<html>hello</html>", "").has_value());
}

TEST_CASE("autoindex dates: the nginx format or nothing") {
  CHECK(storage_detail::parse_autoindex_time("01-Jan-1970 00:00")->time_since_epoch().count() == 0);
  for (const char* bad :
       {"", "31-Feb-2024 10:00", "22-Nvx-2023 10:00", "22-Nov-2023 24:00", "22-Nov-2023 10:60",
        "2-Nov-2023 10:00 ", "22/Nov/2023 10:00", "22-Nov-1969 10:00", "aa-Nov-2023 10:00"}) {
    INFO(bad);
    CHECK_FALSE(storage_detail::parse_autoindex_time(bad).has_value());
  }
}
