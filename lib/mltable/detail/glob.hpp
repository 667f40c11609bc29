// Glob patterns of MLTable `pattern:` entries, matched against '/'-separated relative paths.
//
// Syntax: `*` any run of characters within one segment, `?` one character (a UTF-8 code point),
// `[abc]`, `[a-z]`, `[!a-z]` / `[^a-z]` one character of (or not of) a set (a ']' right after
// the '[' or '[!' is a member), `**` as a whole segment: zero or more segments, `\x` the
// character x literally. Matching is case-sensitive, like blob names.
//
// Thread-safety: a compiled glob is immutable; matches() may be called concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace dataport::mltable_detail {

/// A pattern that does not compile: `reason` says what to write instead; `offset` is the byte
/// offset in the pattern text where the problem starts.
class glob_error : public std::runtime_error {
 public:
  glob_error(std::string reason, std::size_t offset)
      : std::runtime_error(reason), offset_(offset) {}
  std::size_t offset() const noexcept { return offset_; }

 private:
  std::size_t offset_;
};

/// True when `text` has a wildcard character (`*`, `?`, `[`) that is not escaped.
bool has_wildcard(std::string_view text) noexcept;

class glob {
 public:
  /// Compiles `pattern` (no leading '/', segments separated by '/'). Throws glob_error for an
  /// unclosed '[', a reversed range, '**' inside a segment, an empty segment, a trailing '/' or
  /// a trailing '\'.
  static glob compile(std::string_view pattern);

  /// True when the whole `path` ('/'-separated, no leading '/') matches.
  bool matches(std::string_view path) const;

  /// True when matching paths may lie deeper than one segment (the pattern has a '/' or '**').
  bool spans_segments() const noexcept { return segments_.size() > 1 || has_double_star_; }

  struct range {
    std::uint32_t low = 0, high = 0;  ///< code points, inclusive
  };
  struct token {
    enum class kind { literal, any_one, any_run, one_of } type = kind::literal;
    std::uint32_t literal = 0;   ///< code point, for literal
    std::vector<range> members;  ///< for one_of
    bool negated = false;        ///< for one_of
  };
  struct segment {
    bool double_star = false;
    std::vector<token> tokens;
  };

 private:
  std::vector<segment> segments_;
  bool has_double_star_ = false;
};

}  // namespace dataport::mltable_detail
