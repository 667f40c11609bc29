// List Blobs XML decoding (see detail/blob_listing.hpp for the defensive rules).
#include "storage/detail/blob_listing.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <pugixml.hpp>

#include "dataport/error.hpp"
#include "storage/detail/wire.hpp"

namespace dataport::storage_detail {
namespace {

[[noreturn]] void fail(std::string_view url, std::string_view what) {
  throw_error(errc::protocol,
              fmt::format("the blob listing from {} is malformed: {}. The service or a proxy in "
                          "between returned something that is not a List Blobs response; retry, "
                          "and check any proxy configuration if it persists",
                          url, what));
}

bool contains_doctype(std::string_view xml) {
  static constexpr std::string_view needle = "<!doctype";
  auto it = std::search(xml.begin(), xml.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == b;
  });
  return it != xml.end() || xml.find("<!ENTITY") != std::string_view::npos;
}

std::string element_name(const pugi::xml_node& node) {
  const auto name = node.child("Name");
  std::string text = name.text().as_string();
  if (name.attribute("Encoded").as_bool()) text = percent_decode(text);
  return text;
}

}  // namespace

listing_page parse_list_blobs(std::string_view xml, std::string_view list_prefix,
                              std::string_view url_for_messages) {
  if (contains_doctype(xml)) fail(url_for_messages, "it contains a DOCTYPE/ENTITY declaration");
  pugi::xml_document doc;
  const auto result = doc.load_buffer(xml.data(), xml.size(), pugi::parse_default);
  if (!result) {
    fail(url_for_messages, fmt::format("XML error at byte {} of {} ({})", result.offset, xml.size(),
                                       result.description()));
  }
  const auto root = doc.child("EnumerationResults");
  if (!root) fail(url_for_messages, "there is no <EnumerationResults> element");

  listing_page page;
  page.next_marker = root.child("NextMarker").text().as_string();
  const auto blobs = root.child("Blobs");
  for (const auto& node : blobs.children()) {
    const std::string_view kind = node.name();
    if (kind != "Blob" && kind != "BlobPrefix") continue;
    std::string name = element_name(node);
    if (name.empty()) fail(url_for_messages, fmt::format("a <{}> has no <Name>", kind));
    if (name == list_prefix) continue;  // a folder marker blob or the prefix itself
    object_info info;
    if (kind == "BlobPrefix" || name.ends_with('/')) {
      while (name.ends_with('/')) name.pop_back();
      if (name.empty() || name + "/" == list_prefix) continue;
      info.path = std::move(name);
      info.is_directory = true;
      page.entries.push_back(std::move(info));
      continue;
    }
    info.path = std::move(name);
    const auto props = node.child("Properties");
    const auto length_text = props.child("Content-Length").text().as_string();
    const auto length = parse_u64(length_text);
    if (!length) {
      fail(url_for_messages,
           fmt::format("blob '{}' has an invalid Content-Length '{}'", info.path, length_text));
    }
    info.size = *length;
    info.etag = quote_etag(props.child("Etag").text().as_string());
    info.last_modified = parse_http_date(props.child("Last-Modified").text().as_string());
    info.content_md5 = props.child("Content-MD5").text().as_string();
    info.content_type = props.child("Content-Type").text().as_string();
    // ADLS folder markers appear as zero-length blobs with hdi_isfolder metadata.
    const auto folder_flag = node.child("Metadata").child("hdi_isfolder").text().as_string();
    if (std::string_view(folder_flag) == "true") {
      info.is_directory = true;
      info.size = 0;
    }
    page.entries.push_back(std::move(info));
  }
  return page;
}

}  // namespace dataport::storage_detail
