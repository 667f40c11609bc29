// gitignore rules: parsing one ignore file, git's wildmatch, and the stack of ignore files that
// applies to one folder of a walk (deeper files override shallower ones, and within a file the
// last matching pattern wins, as in git).
//
// Thread-safety: plain values; an ignore_stack belongs to one walk.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dataport::snapshot::detail {

struct ignore_pattern {
  std::string pattern;          ///< without '!', the trailing '/' and a leading '/'
  bool negated = false;         ///< "!pattern": re-include
  bool directory_only = false;  ///< "pattern/": matches folders only
  bool basename_only = false;   ///< no '/' inside: matches the name at any depth below the file
};

/// Parses the text of a .gitignore/.amlignore: comments, blank lines, trailing spaces (unless
/// escaped), CRLF line ends, '!' and "\!" / "\#" escapes.
std::vector<ignore_pattern> parse_ignore_text(std::string_view text);

/// git's wildmatch with WM_PATHNAME: '*' and '?' never match '/', "**" between slashes (or at
/// either end) matches any number of folders, brackets with ranges, '!'/'^' and [:classes:],
/// backslash escapes.
bool wildmatch(std::string_view pattern, std::string_view text);

/// The ignore files in effect for the folder being walked, shallowest first.
class ignore_stack {
 public:
  /// Adds the patterns of the ignore file in `folder` ('/'-separated, "" for the root).
  void push(std::string folder, std::vector<ignore_pattern> patterns);
  void pop();

  /// Whether `relative_path` (below the root; inside the deepest pushed folder) is ignored.
  bool ignored(std::string_view relative_path, bool is_directory) const;

 private:
  struct level {
    std::string folder;
    std::vector<ignore_pattern> patterns;
  };
  std::vector<level> levels_;
};

}  // namespace dataport::snapshot::detail
