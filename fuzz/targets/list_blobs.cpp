// Fuzz target: the List Blobs XML decoder (storage_detail::parse_list_blobs).
// Input byte 0 chooses the mode:
//  - even: the rest is a response body. The decoder returns a page or throws
//    dataport::error(protocol) naming the URL; every entry has a non-empty path without a
//    trailing '/', no entry is the listed prefix itself, directories have size 0, and ETags are
//    quoted (or empty).
//  - odd: the rest describes entries (kind, name, size, ETag, date, flags) and a next marker; the
//    target writes them as XML the way the service does (names with unusual bytes as
//    Encoded="true" percent-escapes) and checks that the decoder returns exactly those entries
//    (by the documented rules: folder markers and the prefix skipped, trailing '/' removed) and
//    the same next marker.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "../fuzz_check.hpp"
#include "dataport/error.hpp"
#include "storage/detail/blob_listing.hpp"
#include "storage/detail/wire.hpp"

namespace {

namespace sd = dataport::storage_detail;
using dataport::object_info;
constexpr std::string_view list_url =
    "https://acct.blob.core.windows.net/data?restype=container&comp=list";

class byte_reader {
 public:
  byte_reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::uint64_t u64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | byte();
    return v;
  }
  std::string text(std::size_t max) {
    const std::size_t n = std::min<std::size_t>(byte() % (max + 1), size_ - std::min(pos_, size_));
    std::string out(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return out;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

std::string xml_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

bool plain_xml_text(std::string_view text) {
  bool visible = false;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c > 0x7e) return false;
    if (c != ' ') visible = true;
  }
  return visible;
}

std::string name_element(std::string_view name, bool prefer_encoded) {
  if (!prefer_encoded && plain_xml_text(name)) return "<Name>" + xml_escape(name) + "</Name>";
  return "<Name Encoded=\"true\">" + sd::encode_path(name) + "</Name>";
}

// ETags, MD5s, types and markers: characters the service uses, never whitespace-only.
std::string token(std::string raw) {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-.!*";
  for (char& c : raw) c = alphabet[static_cast<unsigned char>(c) % alphabet.size()];
  return raw;
}

struct generated_entry {
  bool prefix_element = false;
  std::string name;
  std::uint64_t size = 0;
  std::string etag;
  std::optional<std::chrono::system_clock::time_point> last_modified;
  std::string md5;
  std::string content_type;
  bool folder_flag = false;
};

std::string describe(const object_info& e) {
  return "path='" + e.path + "' size=" + std::to_string(e.size) + " etag=" + e.etag +
         " dir=" + std::to_string(e.is_directory) + " md5=" + e.content_md5 +
         " type=" + e.content_type + " date=" + (e.last_modified ? "yes" : "no");
}

void structured(byte_reader& in) {
  const std::string list_prefix = in.byte() % 2 ? "" : "dir/";
  std::vector<generated_entry> generated;
  std::string xml =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults "
      "ServiceEndpoint=\"https://acct.blob.core.windows.net/\" ContainerName=\"data\"><Prefix>" +
      list_prefix + "</Prefix><Blobs>";
  const std::string marker = token(in.text(40));
  const unsigned count = in.byte() % 8;
  for (unsigned i = 0; i < count && !in.empty(); ++i) {
    const std::uint8_t flags = in.byte();
    generated_entry e;
    e.prefix_element = flags & 1;
    e.name = in.text(64);
    if (flags & 2) e.name = list_prefix + e.name;
    if (e.prefix_element) {
      xml += "<BlobPrefix>" + name_element(e.name, flags & 4) + "</BlobPrefix>";
    } else {
      e.size = in.u64();
      e.etag = token(in.text(20));
      e.md5 = token(in.text(24));
      e.content_type = token(in.text(16));
      e.folder_flag = flags & 8;
      // Dates the decoder can represent: years 1970-2200.
      const auto seconds = static_cast<std::int64_t>(in.u64() % 7258118400ULL);
      if (flags & 16) e.last_modified = std::chrono::system_clock::from_time_t(seconds);
      xml += "<Blob>" + name_element(e.name, flags & 4) + "<Properties>";
      if (e.last_modified) {
        xml += "<Last-Modified>" + sd::format_http_date(*e.last_modified) + "</Last-Modified>";
      }
      xml += "<Etag>" + e.etag + "</Etag><Content-Length>" + std::to_string(e.size) +
             "</Content-Length><Content-Type>" + e.content_type + "</Content-Type><Content-MD5>" +
             e.md5 + "</Content-MD5></Properties>";
      if (e.folder_flag) xml += "<Metadata><hdi_isfolder>true</hdi_isfolder></Metadata>";
      xml += "</Blob>";
    }
    generated.push_back(std::move(e));
  }
  xml += "</Blobs><NextMarker>" + marker + "</NextMarker></EnumerationResults>";

  // The documented rules, applied to what was generated.
  std::vector<object_info> expected;
  bool expect_error = false;
  for (const auto& e : generated) {
    if (e.name.empty()) expect_error = true;
    if (expect_error || e.name == list_prefix) continue;
    object_info info;
    if (e.prefix_element || e.name.ends_with('/')) {
      std::string name = e.name;
      while (name.ends_with('/')) name.pop_back();
      if (name.empty() || name + "/" == list_prefix) continue;
      info.path = name;
      info.is_directory = true;
    } else {
      info.path = e.name;
      info.size = e.folder_flag ? 0 : e.size;
      info.is_directory = e.folder_flag;
      info.etag = sd::quote_etag(e.etag);
      info.last_modified = e.last_modified;
      info.content_md5 = e.md5;
      info.content_type = e.content_type;
    }
    expected.push_back(std::move(info));
  }

  try {
    const auto page = sd::parse_list_blobs(xml, list_prefix, list_url);
    FUZZ_CHECK(!expect_error, "a blob without a name was accepted: " + xml);
    FUZZ_CHECK(page.next_marker == marker, "marker '" + page.next_marker + "' in " + xml);
    FUZZ_CHECK(page.entries.size() == expected.size(),
               std::to_string(page.entries.size()) + " entries from " + xml);
    for (std::size_t i = 0; i < expected.size(); ++i) {
      const auto& got = page.entries[i];
      const auto& want = expected[i];
      FUZZ_CHECK(got.path == want.path && got.size == want.size && got.etag == want.etag &&
                     got.is_directory == want.is_directory &&
                     got.last_modified == want.last_modified &&
                     got.content_md5 == want.content_md5 && got.content_type == want.content_type,
                 "got " + describe(got) + ", expected " + describe(want) + " from " + xml);
    }
  } catch (const dataport::error& e) {
    FUZZ_CHECK(expect_error, std::string(e.what()) + " for " + xml);
  }
}

void raw(std::string_view xml, std::string_view list_prefix) {
  try {
    const auto page = sd::parse_list_blobs(xml, list_prefix, list_url);
    for (const auto& entry : page.entries) {
      FUZZ_CHECK(!entry.path.empty() && !entry.path.ends_with('/'), describe(entry));
      FUZZ_CHECK(entry.path != list_prefix, describe(entry));
      FUZZ_CHECK(!entry.is_directory || entry.size == 0, describe(entry));
      FUZZ_CHECK(entry.etag.empty() || entry.etag.starts_with('"') || entry.etag.starts_with("W/"),
                 describe(entry));
    }
  } catch (const dataport::error& e) {
    FUZZ_CHECK(e.code() == dataport::errc::protocol, e.what());
    FUZZ_CHECK(dataport_fuzz::contains(e.what(), list_url), e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || size > 65536) return 0;
  if (data[0] % 2 == 1) {
    byte_reader in(data + 1, size - 1);
    structured(in);
  } else {
    raw(dataport_fuzz::as_text(data + 1, size - 1), data[0] % 4 == 0 ? "" : "dir/");
  }
  return 0;
}
