// MLTable path values as text: splitting a URI into the part that names the store and the path
// below it, joining relative entries onto the MLTable's folder, and naming listed files in the
// same URI form the MLTable used. Private to lib/mltable.
//
// Why text and not dataport::location: an evaluated file's URI should read like the entry it
// came from (wasbs://..., azureml://datastores/..., a SAS kept), and relative entries are joined
// the way a browser joins URLs — both are operations on the written form.
#pragma once

#include <string>
#include <string_view>

namespace dataport::mltable_detail {

struct uri_text {
  bool local = false;  ///< a local path (also from file://)
  /// Remote: "scheme://authority", or for azureml datastore URIs everything up to ".../paths".
  std::string head;
  /// Local: absolute, lexically normal path. Remote: "" or "/seg/..." as written (percent-encoded).
  std::string path;
  std::string query;  ///< SECRET (usually a SAS), without '?'

  std::string text() const;  ///< head + path + "?" + query
};

/// True for a value that names a URI scheme dataport knows (file:, http(s):, wasb(s):,
/// abfs(s):, azureml:), as opposed to a local path. Throws dataport::error(invalid_argument) for
/// "<other scheme>://..." (say which schemes work).
bool is_uri(std::string_view value);

/// Splits a URI or a local path (relative ones against the process's working folder). In a
/// pattern ('?' is a wildcard) only a last '?' followed by text with a '=' and no '/' starts the
/// query. Throws dataport::error(invalid_argument) for a URI it cannot split.
uri_text split_uri(std::string_view value, bool pattern = false);

/// The folder holding `file` (its path without the last segment).
uri_text parent_folder(const uri_text& file);

/// `relative` ('/'-separated; "." and ".." segments allowed) below `folder`; the folder's query
/// is kept. Throws dataport::error(invalid_argument) when ".." climbs above the root.
uri_text join_relative(const uri_text& folder, std::string_view relative);

/// The URI of a listed file `decoded_relative` below `folder` (remote: each segment
/// percent-encoded, so names with ' ', '%', '#', '?' stay one name).
uri_text child(const uri_text& folder, std::string_view decoded_relative);

/// Percent-decodes a remote path fragment (malformed escapes are kept as written).
std::string percent_decoded(std::string_view text);

}  // namespace dataport::mltable_detail
