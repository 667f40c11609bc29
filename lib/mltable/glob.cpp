// Glob compilation and matching for MLTable patterns (see mltable/detail/glob.hpp).
//
// A pattern is split into segments; a `**` segment matches any number of path segments, the
// others match exactly one, token by token. Within a segment the classic wildcard walk is used:
// tokens of width one character advance in step, and on a mismatch the walk returns to the last
// `*` and lets it swallow one more character, so matching is O(pattern × segment) with no
// recursion. Across segments a memo table bounds the work of several `**`.
#include "mltable/detail/glob.hpp"

#include <fmt/format.h>

namespace dataport::mltable_detail {
namespace {

/// The code point starting at text[i] (advancing i); an invalid UTF-8 byte stands for itself.
std::uint32_t next_code_point(std::string_view text, std::size_t& i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = 1;
  std::uint32_t cp = lead;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    cp = lead & 0x1Fu;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    cp = lead & 0x0Fu;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    cp = lead & 0x07u;
  }
  if (length > 1) {
    if (i + length > text.size()) length = 1;
    for (std::size_t k = 1; k < length; ++k) {
      if ((byte(i + k) & 0xC0u) != 0x80u) {
        length = 1;
        break;
      }
      cp = (cp << 6) | (byte(i + k) & 0x3Fu);
    }
    if (length == 1) cp = lead;
  }
  i += length;
  return cp;
}

std::vector<std::uint32_t> code_points(std::string_view text) {
  std::vector<std::uint32_t> out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) out.push_back(next_code_point(text, i));
  return out;
}

std::vector<std::string_view> split_segments(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const auto slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(path.substr(start));
      return out;
    }
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
}

/// Parses a bracket expression starting at pattern[i] == '['; leaves i after the ']'.
glob::token parse_class(std::string_view pattern, std::size_t& i) {
  const std::size_t open = i;
  glob::token t;
  t.type = glob::token::kind::one_of;
  ++i;
  if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) {
    t.negated = true;
    ++i;
  }
  bool first = true;
  while (true) {
    if (i >= pattern.size() || pattern[i] == '/') {
      throw glob_error(
          "unclosed '[': close the character class with ']' (or write \\[ for a "
          "literal '[')",
          open);
    }
    if (pattern[i] == ']' && !first) {
      ++i;
      break;
    }
    first = false;
    if (pattern[i] == '\\' && i + 1 < pattern.size()) ++i;
    const std::size_t member_at = i;
    const std::uint32_t low = next_code_point(pattern, i);
    std::uint32_t high = low;
    if (i + 1 < pattern.size() && pattern[i] == '-' && pattern[i + 1] != ']') {
      ++i;
      if (pattern[i] == '\\' && i + 1 < pattern.size()) ++i;
      if (pattern[i] == '/') continue;  // reported as unclosed above
      high = next_code_point(pattern, i);
      if (high < low) {
        throw glob_error(fmt::format("reversed range '{}': write the lower end first",
                                     pattern.substr(member_at, i - member_at)),
                         member_at);
      }
    }
    t.members.push_back({low, high});
  }
  return t;
}

glob::segment parse_segment(std::string_view pattern, std::size_t begin, std::size_t end,
                            bool& has_double_star) {
  glob::segment seg;
  const std::string_view text = pattern.substr(begin, end - begin);
  if (text.empty()) {
    throw glob_error("empty path segment ('//' or a leading '/'): remove the extra '/'", begin);
  }
  if (text == "**") {
    seg.double_star = true;
    has_double_star = true;
    return seg;
  }
  std::size_t i = begin;
  while (i < end) {
    const char c = pattern[i];
    glob::token t;
    if (c == '*') {
      if (i + 1 < end && pattern[i + 1] == '*') {
        throw glob_error(
            "'**' must be a whole path segment (as in data/**/x.csv); use '*' "
            "within a name",
            i);
      }
      t.type = glob::token::kind::any_run;
      ++i;
    } else if (c == '?') {
      t.type = glob::token::kind::any_one;
      ++i;
    } else if (c == '[') {
      t = parse_class(pattern.substr(0, end), i);
    } else if (c == '\\') {
      if (i + 1 >= end) {
        throw glob_error(
            "'\\' at the end of a segment escapes nothing: write '\\\\' for a "
            "literal backslash",
            i);
      }
      ++i;
      t.literal = next_code_point(pattern, i);
    } else {
      t.literal = next_code_point(pattern, i);
    }
    // Consecutive '*' cannot occur (rejected above), so no run folding is needed.
    seg.tokens.push_back(std::move(t));
  }
  return seg;
}

bool token_accepts(const glob::token& t, std::uint32_t cp) {
  switch (t.type) {
    case glob::token::kind::literal:
      return t.literal == cp;
    case glob::token::kind::any_one:
      return true;
    case glob::token::kind::one_of: {
      bool inside = false;
      for (const auto& r : t.members) {
        if (cp >= r.low && cp <= r.high) {
          inside = true;
          break;
        }
      }
      return inside != t.negated;
    }
    case glob::token::kind::any_run:
      return false;
  }
  return false;
}

bool segment_matches(const glob::segment& seg, std::string_view name) {
  const auto text = code_points(name);
  const auto& tokens = seg.tokens;
  std::size_t ti = 0, pi = 0;
  std::size_t star_token = tokens.size(), star_text = 0;
  while (pi < text.size()) {
    if (ti < tokens.size() && tokens[ti].type == glob::token::kind::any_run) {
      star_token = ti++;
      star_text = pi;
    } else if (ti < tokens.size() && token_accepts(tokens[ti], text[pi])) {
      ++ti;
      ++pi;
    } else if (star_token != tokens.size()) {
      ti = star_token + 1;
      pi = ++star_text;
    } else {
      return false;
    }
  }
  while (ti < tokens.size() && tokens[ti].type == glob::token::kind::any_run) ++ti;
  return ti == tokens.size();
}

}  // namespace

bool has_wildcard(std::string_view text) noexcept {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
      continue;
    }
    if (text[i] == '*' || text[i] == '?' || text[i] == '[') return true;
  }
  return false;
}

glob glob::compile(std::string_view pattern) {
  if (pattern.empty()) throw glob_error("the pattern is empty", 0);
  if (pattern.back() == '/') {
    throw glob_error(
        "a pattern matches files, not folders: drop the trailing '/' (or use "
        "folder: for a whole folder)",
        pattern.size() - 1);
  }
  glob out;
  std::size_t start = 0;
  while (start <= pattern.size()) {
    auto slash = pattern.find('/', start);
    if (slash == std::string_view::npos) slash = pattern.size();
    out.segments_.push_back(parse_segment(pattern, start, slash, out.has_double_star_));
    start = slash + 1;
  }
  return out;
}

bool glob::matches(std::string_view path) const {
  const auto names = split_segments(path);
  const std::size_t rows = segments_.size() + 1, cols = names.size() + 1;
  // memo[s * cols + n]: 0 unknown, 1 no, 2 yes — whether segments_[s..] match names[n..].
  std::vector<unsigned char> memo(rows * cols, 0);
  // Iterative fill from the end keeps the stack flat whatever the depth.
  for (std::size_t s = rows; s-- > 0;) {
    for (std::size_t n = cols; n-- > 0;) {
      bool result = false;
      if (s == segments_.size()) {
        result = n == names.size();
      } else if (segments_[s].double_star) {
        // Zero segments, or swallow names[n] and stay on this '**'.
        result = memo[(s + 1) * cols + n] == 2 || (n < names.size() && memo[s * cols + n + 1] == 2);
      } else {
        result = n < names.size() && segment_matches(segments_[s], names[n]) &&
                 memo[(s + 1) * cols + n + 1] == 2;
      }
      memo[s * cols + n] = result ? 2 : 1;
    }
  }
  return memo[0] == 2;
}

}  // namespace dataport::mltable_detail
