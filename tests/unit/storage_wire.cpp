// URL/path encoding, block ids, HTTP dates, Content-Range and ranged-body placement.
#include "storage/detail/wire.hpp"

#include <cstring>
#include <vector>

#include <catch2/catch.hpp>

#include "dataport/error.hpp"
#include "storage/detail/range_body.hpp"
#include "transfer/detail/md5.hpp"
#include "transfer/detail/md5_lanes.hpp"

using namespace dataport;
using namespace dataport::storage_detail;

TEST_CASE("paths are encoded per segment, keeping '/'") {
  CHECK(encode_path("a/b/c.txt") == "a/b/c.txt");
  CHECK(encode_path("dir with space/x y") == "dir%20with%20space/x%20y");
  CHECK(encode_path("100%/#hash?q+plus") == "100%25/%23hash%3Fq%2Bplus");
  CHECK(encode_path("\xC3\xA9t\xC3\xA9/\xE6\x97\xA5") == "%C3%A9t%C3%A9/%E6%97%A5");
  CHECK(encode_path("keep-._~") == "keep-._~");
  CHECK(encode_path("a&b=c;d") == "a%26b%3Dc%3Bd");
  CHECK(encode_query_value("a/b c+") == "a%2Fb%20c%2B");
}

TEST_CASE("percent decoding inverts encoding and keeps malformed escapes") {
  for (std::string name : {"a b", "100%", "x#y?z+w", "\xC3\xA9t\xC3\xA9", "a/b/c"}) {
    CHECK(percent_decode(encode_path(name)) == name);
  }
  CHECK(percent_decode("%zz%4") == "%zz%4");
  CHECK(percent_decode("a+b") == "a+b");
}

TEST_CASE("base64 and block ids") {
  CHECK(base64_encode(std::string_view("")) == "");
  CHECK(base64_encode(std::string_view("f")) == "Zg==");
  CHECK(base64_encode(std::string_view("fo")) == "Zm8=");
  CHECK(base64_encode(std::string_view("foo")) == "Zm9v");
  CHECK(base64_encode(std::string_view("foobar")) == "Zm9vYmFy");
  CHECK(encode_block_id("block-000001") == "YmxvY2stMDAwMDAx");
  // Ids of equal raw length encode to equal lengths (the service requires it).
  CHECK(encode_block_id("00000000").size() == encode_block_id("99999999").size());
  const std::string binary("\xff\xfe\x00\x01", 4);
  CHECK(encode_block_id(binary) == "//4AAQ==");
}

TEST_CASE("HTTP dates format and parse in GMT") {
  const auto when = std::chrono::system_clock::from_time_t(784111777);
  CHECK(format_http_date(when) == "Sun, 06 Nov 1994 08:49:37 GMT");
  REQUIRE(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").has_value());
  CHECK(*parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == when);
  CHECK_FALSE(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT").has_value());
  CHECK_FALSE(parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT").has_value());
  CHECK_FALSE(parse_http_date("").has_value());
}

TEST_CASE("Content-Range parsing") {
  auto r = parse_content_range("bytes 0-99/1234");
  REQUIRE(r);
  CHECK(*r->first == 0);
  CHECK(*r->last == 99);
  CHECK(*r->total == 1234);
  r = parse_content_range("bytes */50");
  REQUIRE(r);
  CHECK_FALSE(r->first);
  CHECK(*r->total == 50);
  r = parse_content_range("bytes 5-9/*");
  REQUIRE(r);
  CHECK_FALSE(r->total);
  CHECK_FALSE(parse_content_range("bytes 9-5/50"));
  CHECK_FALSE(parse_content_range("bytes 0-50/50"));
  CHECK_FALSE(parse_content_range("items 0-1/2"));
  CHECK_FALSE(parse_content_range("bytes */*"));
}

TEST_CASE("etags, content types, numbers") {
  CHECK(quote_etag("0x8D") == "\"0x8D\"");
  CHECK(quote_etag("\"0x8D\"") == "\"0x8D\"");
  CHECK(quote_etag("W/\"x\"") == "W/\"x\"");
  CHECK(is_weak_etag("W/\"x\""));
  CHECK(guess_content_type("data/Train.CSV") == "text/csv");
  CHECK(guess_content_type("a.parquet") == "application/vnd.apache.parquet");
  CHECK(guess_content_type("noext") == "application/octet-stream");
  CHECK(parse_u64("18446744073709551615") == 18446744073709551615ull);
  CHECK_FALSE(parse_u64("18446744073709551616"));
  CHECK_FALSE(parse_u64("-1"));
  CHECK_FALSE(parse_u64(""));
}

TEST_CASE("ranged bodies: 206 in place, 200 moved to the front, bad ranges refused") {
  std::vector<std::byte> buffer(10);
  for (std::size_t i = 0; i < buffer.size(); ++i) buffer[i] = std::byte(i);
  auto placed = place_range_body(206, "bytes 4-9/100", "6", 6, 4, buffer, "x");
  CHECK(placed.bytes == 6);
  CHECK(placed.object_size == 100);
  CHECK(buffer[0] == std::byte(0));

  // The server ignored Range and sent 8 bytes from the start: bytes 3.. move to the front.
  placed = place_range_body(200, "", "8", 8, 3, buffer, "x");
  CHECK(placed.bytes == 5);
  CHECK(placed.object_size == 8);
  CHECK(buffer[0] == std::byte(3));
  CHECK(buffer[4] == std::byte(7));
  placed = place_range_body(200, "", "8", 8, 8, buffer, "x");
  CHECK(placed.bytes == 0);
  CHECK_THROWS_AS(place_range_body(206, "bytes 0-5/100", "6", 6, 4, buffer, "x"), error);
  // Azurite's answer to a range that starts at the end: empty 206.
  placed = place_range_body(206, "bytes 100-99/100", "0", 0, 100, buffer, "x");
  CHECK(placed.bytes == 0);
  CHECK(placed.object_size == 100);
  CHECK_THROWS_AS(place_range_body(206, "", "6", 6, 4, buffer, "x"), error);
}

TEST_CASE("Content-MD5: the two-lane MD5 gives OpenSSL's digests, split any way") {
  using dataport::transfer_detail::md5_base64;
  using dataport::transfer_detail::md5_state;
  using dataport::transfer_detail::md5_update_both;
  // RFC 1321's test suite.
  const auto of_text = [](std::string_view text) {
    md5_state s;
    s.update(std::as_bytes(std::span(text.data(), text.size())));
    return s.finish_base64();
  };
  CHECK(of_text("") == "1B2M2Y8AsgTpgAmY7PhCfg==");     // d41d8cd98f00b204e9800998ecf8427e
  CHECK(of_text("abc") == "kAFQmDzST7DWlj99KOF/cg==");  // 900150983cd24fb0d6963f7d28e17f72
  CHECK(
      of_text("12345678901234567890123456789012345678901234567890123456789012345678901234567890") ==
      "V+30oivjyVWsSdouIQe2eg==");  // 57edf4a22be3c955ac49da2e2107b67a
  // Every length around the padding boundaries, fed in uneven pieces, and both lanes fed
  // together from aligned and unaligned starts: each digest equals OpenSSL's of the same bytes.
  std::vector<std::byte> data(300 * 64 + 17);
  std::uint32_t x = 12345;
  for (auto& b : data) b = static_cast<std::byte>((x = x * 1103515245u + 12345u) >> 24);
  for (std::size_t n : {0u, 1u, 55u, 56u, 57u, 63u, 64u, 65u, 119u, 120u, 128u, 1000u, 19217u}) {
    const auto bytes = std::span<const std::byte>(data).first(n);
    md5_state pieces;
    for (std::size_t at = 0; at < n; at += 7)
      pieces.update(bytes.subspan(at, std::min<std::size_t>(7, n - at)));
    CHECK(pieces.finish_base64() == md5_base64(bytes));
    for (std::size_t prefix :
         {0u, 64u, 3u}) {  // the running "whole file" lane already holds this much
      if (prefix > n) continue;
      md5_state whole, block;
      whole.update(bytes.first(prefix));
      md5_update_both(whole, block, bytes.subspan(prefix));
      CHECK(block.finish_base64() == md5_base64(bytes.subspan(prefix)));
      CHECK(whole.finish_base64() == md5_base64(bytes));
    }
  }
}
