// The MLTable file as text: its `paths:` entries with where each value sits in the text, and the
// byte-exact rewrite of those values. Private to lib/mltable.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace dataport::mltable_detail {

enum class path_kind { file, folder, pattern };

std::string_view to_string(path_kind kind) noexcept;

/// One `paths:` entry.
struct path_entry {
  path_kind kind = path_kind::file;
  std::string value;          ///< the path as YAML parsed it
  std::size_t line = 0;       ///< 1-based line of the value, for messages
  std::size_t value_pos = 0;  ///< byte offset of the value's token (quote included)
  std::size_t value_end = 0;  ///< one past its last byte
  char quote = 0;             ///< '"', '\'' or 0 for a plain scalar
  bool in_flow = false;       ///< inside [...] or {...}: ',', ']' and '}' end a plain scalar
};

struct document {
  std::string text;  ///< the file as read
  std::vector<path_entry> paths;
  bool delta = false;  ///< transformations include read_delta_lake (not evaluated)
};

/// Parses and checks an MLTable. `origin` names the file in messages ("<origin>:<line>: ...").
/// Throws dataport::error(invalid_argument): not YAML, not a mapping, `query_source` without
/// paths, no (or empty) `paths:`, an entry that is not one of file/folder/pattern, an empty
/// value, an anchor/alias/tag on a value.
document parse_document(std::string text, std::string_view origin);

/// The document's text with entry i's value replaced by new_values[i] (quoted as the original
/// was, or double-quoted when a plain scalar cannot hold it); every other byte unchanged.
/// Checks that the result parses back to the new values (throws errc::internal otherwise).
std::string rewrite_paths(const document& doc, const std::vector<std::string>& new_values,
                          std::string_view origin);

}  // namespace dataport::mltable_detail
