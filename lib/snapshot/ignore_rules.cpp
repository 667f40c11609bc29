// gitignore syntax, following git's own rules (dir.c and wildmatch.c) so that a snapshot leaves
// out exactly what `git check-ignore` reports; tests/unit/ignore_rules_git.cpp checks a table of
// cases against git itself.
#include "snapshot/detail/ignore_rules.hpp"

#include <cctype>

namespace dataport::snapshot::detail {
namespace {

enum class wm { no_match, match, abort_all, abort_to_starstar };

/// Removes unescaped trailing spaces (git trims spaces only, not tabs).
std::string_view trim_trailing_spaces(std::string_view line) {
  std::size_t keep = line.size();
  bool in_spaces = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == ' ') {
      if (!in_spaces) keep = i;
      in_spaces = true;
    } else {
      if (line[i] == '\\') {
        ++i;
        if (i == line.size()) return line;  // a trailing lone backslash: keep as is
      }
      in_spaces = false;
    }
  }
  return in_spaces ? line.substr(0, keep) : line;
}

bool class_matches(std::string_view name, unsigned char c) {
  if (name == "alnum") return std::isalnum(c) != 0;
  if (name == "alpha") return std::isalpha(c) != 0;
  if (name == "blank") return c == ' ' || c == '\t';
  if (name == "cntrl") return std::iscntrl(c) != 0;
  if (name == "digit") return std::isdigit(c) != 0;
  if (name == "graph") return std::isgraph(c) != 0;
  if (name == "lower") return std::islower(c) != 0;
  if (name == "print") return std::isprint(c) != 0;
  if (name == "punct") return std::ispunct(c) != 0;
  if (name == "space") return std::isspace(c) != 0;
  if (name == "upper") return std::isupper(c) != 0;
  if (name == "xdigit") return std::isxdigit(c) != 0;
  return false;
}

bool is_known_class(std::string_view name) {
  static constexpr std::string_view names[] = {"alnum", "alpha", "blank", "cntrl",
                                               "digit", "graph", "lower", "print",
                                               "punct", "space", "upper", "xdigit"};
  for (auto n : names)
    if (n == name) return true;
  return false;
}

/// Matches a bracket expression starting at p[pi] == '['. On return pi is at the closing ']'.
/// Returns abort_all for an unterminated or malformed expression.
wm match_bracket(std::string_view p, std::size_t& pi, unsigned char t) {
  auto at = [&](std::size_t i) -> char { return i < p.size() ? p[i] : '\0'; };
  char pc = at(++pi);
  if (pc == '^') pc = '!';
  const bool negated = pc == '!';
  if (negated) pc = at(++pi);
  char prev = 0;
  bool matched = false;
  for (;;) {  // the first character may be ']' and is then literal, as in git
    if (pi >= p.size()) return wm::abort_all;
    if (pc == '\\') {
      pc = at(++pi);
      if (pi >= p.size()) return wm::abort_all;
      if (t == static_cast<unsigned char>(pc)) matched = true;
    } else if (pc == '-' && prev != 0 && pi + 1 < p.size() && p[pi + 1] != ']') {
      pc = at(++pi);
      if (pc == '\\') {
        pc = at(++pi);
        if (pi >= p.size()) return wm::abort_all;
      }
      if (t <= static_cast<unsigned char>(pc) && t >= static_cast<unsigned char>(prev))
        matched = true;
      pc = 0;  // a range cannot start another range
    } else if (pc == '[' && at(pi + 1) == ':') {
      const std::size_t start = pi + 2;
      std::size_t end = start;
      while (end < p.size() && p[end] != ']') ++end;
      if (end >= p.size()) return wm::abort_all;
      if (end == start || p[end - 1] != ':') {
        if (t == '[') matched = true;  // no ":]": an ordinary '[' in the set
      } else {
        const auto name = p.substr(start, end - 1 - start);
        if (!is_known_class(name)) return wm::abort_all;
        if (class_matches(name, t)) matched = true;
        pi = end;
        pc = 0;
      }
    } else if (t == static_cast<unsigned char>(pc)) {
      matched = true;
    }
    prev = pc;
    pc = at(++pi);
    if (pc == ']' && pi < p.size()) break;
  }
  if (matched == negated || t == '/') return wm::no_match;
  return wm::match;
}

wm dowild(std::string_view p, std::string_view t) {
  std::size_t pi = 0;
  std::size_t ti = 0;
  for (; pi < p.size(); ++pi, ++ti) {
    const char pc = p[pi];
    if (ti >= t.size() && pc != '*') return wm::abort_all;
    const char tc = ti < t.size() ? t[ti] : '\0';
    switch (pc) {
      case '\\':
        ++pi;
        if (pi >= p.size() || tc != p[pi]) return wm::no_match;
        break;
      case '?':
        if (tc == '/') return wm::no_match;
        break;
      case '*': {
        bool match_slash = false;
        if (pi + 1 < p.size() && p[pi + 1] == '*') {
          const std::size_t first = pi;
          while (pi + 1 < p.size() && p[pi + 1] == '*') ++pi;
          const std::size_t next = pi + 1;
          const bool before_ok = first == 0 || p[first - 1] == '/';
          const bool after_ok = next == p.size() || p[next] == '/' ||
                                (p[next] == '\\' && next + 1 < p.size() && p[next + 1] == '/');
          if (before_ok && after_ok) {
            // "**/" may also match no folder at all
            if (next < p.size() && p[next] == '/' &&
                dowild(p.substr(next + 1), t.substr(ti)) == wm::match) {
              return wm::match;
            }
            match_slash = true;
          }
        }
        const std::size_t next = pi + 1;
        if (next == p.size()) {
          // a trailing "**" matches everything; a trailing '*' only up to the next '/'
          if (!match_slash && t.find('/', ti) != std::string_view::npos)
            return wm::abort_to_starstar;
          return wm::match;
        }
        if (!match_slash && p[next] == '/') {
          const auto slash = t.find('/', ti);
          if (slash == std::string_view::npos) return wm::abort_all;
          ti = slash;  // the '/' of both is consumed by the loop's increment
          pi = next;
          break;
        }
        for (; ti < t.size(); ++ti) {
          const wm r = dowild(p.substr(next), t.substr(ti));
          if (r != wm::no_match) {
            if (!match_slash || r != wm::abort_to_starstar) return r;
          } else if (!match_slash && t[ti] == '/') {
            return wm::abort_to_starstar;
          }
        }
        return wm::abort_all;
      }
      case '[': {
        const wm r = match_bracket(p, pi, static_cast<unsigned char>(tc));
        if (r != wm::match) return r;
        break;
      }
      default:
        if (tc != pc) return wm::no_match;
        break;
    }
  }
  return ti >= t.size() ? wm::match : wm::no_match;
}

}  // namespace

bool wildmatch(std::string_view pattern, std::string_view text) {
  return dowild(pattern, text) == wm::match;
}

std::vector<ignore_pattern> parse_ignore_text(std::string_view text) {
  std::vector<ignore_pattern> out;
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    line = trim_trailing_spaces(line);
    ignore_pattern p;
    if (!line.empty() && line.front() == '!') {
      p.negated = true;
      line.remove_prefix(1);
    }
    if (!line.empty() && line.back() == '/') {
      p.directory_only = true;
      line.remove_suffix(1);
    }
    if (line.empty()) continue;
    p.basename_only = line.find('/') == std::string_view::npos;
    if (line.front() == '/') line.remove_prefix(1);
    p.pattern = std::string(line);
    out.push_back(std::move(p));
  }
  return out;
}

void ignore_stack::push(std::string folder, std::vector<ignore_pattern> patterns) {
  levels_.push_back(level{std::move(folder), std::move(patterns)});
}

void ignore_stack::pop() {
  if (!levels_.empty()) levels_.pop_back();
}

bool ignore_stack::ignored(std::string_view relative_path, bool is_directory) const {
  const auto slash = relative_path.rfind('/');
  const std::string_view name =
      slash == std::string_view::npos ? relative_path : relative_path.substr(slash + 1);
  for (auto lvl = levels_.rbegin(); lvl != levels_.rend(); ++lvl) {
    std::string_view below = relative_path;
    if (!lvl->folder.empty()) {
      if (below.size() <= lvl->folder.size() || !below.starts_with(lvl->folder) ||
          below[lvl->folder.size()] != '/') {
        continue;
      }
      below.remove_prefix(lvl->folder.size() + 1);
    }
    for (auto p = lvl->patterns.rbegin(); p != lvl->patterns.rend(); ++p) {
      if (p->directory_only && !is_directory) continue;
      const bool hit = wildmatch(p->pattern, p->basename_only ? name : below);
      if (hit) return !p->negated;
    }
  }
  return false;
}

}  // namespace dataport::snapshot::detail
