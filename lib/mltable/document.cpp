// Reading an MLTable's `paths:` and rewriting their values in place (mltable/detail/document.hpp).
//
// Why positions and not a YAML emitter: the evaluated copy must keep every other byte as the
// user wrote it (comments, key order, quoting, transformations), and yaml-cpp's emitter would
// reformat all of that. yaml-cpp gives the byte offset of each value's token; the token's end is
// found here by the scalar's own rules and then checked by parsing the token alone, so a value
// that cannot be cut out safely (written over several lines) is refused instead of garbled.
#include <algorithm>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "dataport/error.hpp"
#include "mltable/detail/document.hpp"

namespace dataport::mltable_detail {
namespace {

constexpr std::string_view docs_hint = "see docs/mltable.md";

[[noreturn]] void fail_at(std::string_view origin, std::size_t line, std::string_view problem) {
  throw_error(errc::invalid_argument,
              fmt::format("{}:{}: {} ({})", origin, line, problem, docs_hint));
}

[[noreturn]] void fail_node(std::string_view origin, const YAML::Node& node,
                            std::string_view problem) {
  fail_at(origin, static_cast<std::size_t>(node.Mark().line) + 1, problem);
}

bool is_flow(const YAML::Node& node) {
  return node.Style() == YAML::EmitterStyle::Flow;
}

/// One past the end of the scalar token starting at `pos`.
std::size_t token_end(std::string_view text, std::size_t pos, char quote, bool in_flow) {
  std::size_t i = pos;
  if (quote == '"') {
    for (++i; i < text.size(); ++i) {
      if (text[i] == '\\') {
        ++i;
      } else if (text[i] == '"') {
        return i + 1;
      }
    }
    return text.size();
  }
  if (quote == '\'') {
    for (++i; i < text.size(); ++i) {
      if (text[i] != '\'') continue;
      if (i + 1 < text.size() && text[i + 1] == '\'') {
        ++i;
        continue;
      }
      return i + 1;
    }
    return text.size();
  }
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n' || c == '\r') break;
    if (c == '#' && i > pos && (text[i - 1] == ' ' || text[i - 1] == '\t')) break;
    if (in_flow && (c == ',' || c == ']' || c == '}')) break;
  }
  while (i > pos && (text[i - 1] == ' ' || text[i - 1] == '\t')) --i;
  return i;
}

/// True when `token`, parsed on its own, is the scalar `value`.
bool token_reads_as(std::string_view token, const std::string& value) {
  try {
    const YAML::Node node = YAML::Load(std::string(token));
    return node.IsScalar() && node.Scalar() == value;
  } catch (const YAML::Exception&) {
    return false;
  }
}

path_entry read_entry(std::string_view text, const YAML::Node& item, bool outer_flow,
                      std::string_view origin) {
  if (!item.IsMap()) {
    fail_node(origin, item,
              "each entry of 'paths:' is a mapping with one key: - file: <path>, - folder: "
              "<path> or - pattern: <glob>");
  }
  if (item.size() != 1) {
    std::string keys;
    for (const auto& kv : item) keys += (keys.empty() ? "'" : ", '") + kv.first.Scalar() + "'";
    fail_node(origin, item,
              fmt::format("a path entry has exactly one key (file, folder or pattern); this one "
                          "has {}: write each path as its own '- ' item",
                          keys.empty() ? "none" : keys));
  }
  const auto kv = *item.begin();
  const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string("?");
  path_entry entry;
  if (key == "file") {
    entry.kind = path_kind::file;
  } else if (key == "folder") {
    entry.kind = path_kind::folder;
  } else if (key == "pattern") {
    entry.kind = path_kind::pattern;
  } else {
    fail_node(origin, kv.first,
              fmt::format("unknown path kind '{}': use file:, folder: or pattern:", key));
  }
  const YAML::Node& value = kv.second;
  if (!value.IsScalar() || value.Scalar().empty()) {
    fail_node(
        origin, value.IsNull() ? kv.first : value,
        fmt::format("'{}:' needs a path (a URI or a path relative to the MLTable's folder)", key));
  }
  entry.value = value.Scalar();
  entry.line = static_cast<std::size_t>(value.Mark().line) + 1;
  entry.value_pos = static_cast<std::size_t>(value.Mark().pos);
  entry.in_flow = outer_flow || is_flow(item);
  if (entry.value_pos >= text.size()) fail_node(origin, value, "cannot locate this path value");
  const char first = text[entry.value_pos];
  if (first == '&' || first == '*' || first == '!') {
    fail_node(origin, value,
              fmt::format("write the '{}:' path as a plain or quoted string (anchors, aliases and "
                          "tags are not supported in path values)",
                          key));
  }
  if (first == '"' || first == '\'') entry.quote = first;
  if (first == '|' || first == '>') {
    fail_node(origin, value, fmt::format("write the '{}:' path on one line", key));
  }
  entry.value_end = token_end(text, entry.value_pos, entry.quote, entry.in_flow);
  const auto token = text.substr(entry.value_pos, entry.value_end - entry.value_pos);
  if (!token_reads_as(token, entry.value)) {
    fail_node(origin, value,
              fmt::format("write the '{}:' path on one line (as a plain or quoted string)", key));
  }
  return entry;
}

bool mentions_delta(const YAML::Node& transformations) {
  if (!transformations || !transformations.IsSequence()) return false;
  for (const auto& step : transformations) {
    if (step.IsScalar() && step.Scalar() == "read_delta_lake") return true;
    if (step.IsMap() && step["read_delta_lake"]) return true;
  }
  return false;
}

bool safe_as_plain(std::string_view value, bool in_flow) {
  if (value.empty() || value.front() == ' ' || value.back() == ' ') return false;
  if (std::string_view("-?:,[]{}#&*!|>'\"%@`").find(value.front()) != std::string_view::npos)
    return false;
  if (value.find(": ") != std::string_view::npos || value.find(" #") != std::string_view::npos)
    return false;
  if (value.back() == ':') return false;
  for (const char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    if (in_flow && std::string_view(",[]{}").find(c) != std::string_view::npos) return false;
  }
  return true;
}

std::string double_quoted(std::string_view value) {
  std::string out = "\"";
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string format_value(const path_entry& entry, std::string_view value) {
  if (entry.quote == '\'') {
    std::string out = "'";
    for (const char c : value) {
      out += c;
      if (c == '\'') out += '\'';
    }
    return out + "'";
  }
  if (entry.quote == 0 && safe_as_plain(value, entry.in_flow)) return std::string(value);
  return double_quoted(value);
}

}  // namespace

std::string_view to_string(path_kind kind) noexcept {
  switch (kind) {
    case path_kind::file:
      return "file";
    case path_kind::folder:
      return "folder";
    case path_kind::pattern:
      return "pattern";
  }
  return "unknown";
}

document parse_document(std::string text, std::string_view origin) {
  document doc;
  doc.text = std::move(text);
  YAML::Node root;
  try {
    root = YAML::Load(doc.text);
  } catch (const YAML::Exception& e) {
    throw_error(errc::invalid_argument,
                fmt::format("{}:{}:{}: the MLTable file is not valid YAML: {} ({})", origin,
                            e.mark.line + 1, e.mark.column + 1, e.msg, docs_hint));
  }
  try {
    if (root.IsNull()) {
      fail_at(origin, 1,
              "the MLTable file is empty: it needs a 'paths:' list of file:, folder: or "
              "pattern: entries");
    }
    if (!root.IsMap()) {
      fail_node(origin, root,
                "an MLTable file is a YAML mapping with a 'paths:' list (and optional "
                "transformations:)");
    }
    const YAML::Node paths = root["paths"];
    if (!paths) {
      if (root["query_source"]) {
        fail_node(origin, root["query_source"],
                  "'query_source' tables (database queries) name no files: dataport cannot "
                  "evaluate them for eval_mount/eval_download; use mode: direct");
      }
      fail_at(origin, 1, "no 'paths:' list: add one with - file:, - folder: or - pattern: entries");
    }
    if (!paths.IsSequence() || paths.size() == 0) {
      fail_node(origin, paths.IsNull() ? root : paths,
                "'paths:' must be a non-empty list of - file:, - folder: or - pattern: entries");
    }
    const bool outer_flow = is_flow(root) || is_flow(paths);
    for (const auto& item : paths) {
      doc.paths.push_back(read_entry(doc.text, item, outer_flow, origin));
    }
    doc.delta = mentions_delta(root["transformations"]);
  } catch (const YAML::Exception& e) {
    throw_error(errc::invalid_argument, fmt::format("{}:{}: unexpected MLTable content: {} ({})",
                                                    origin, e.mark.line + 1, e.msg, docs_hint));
  }
  return doc;
}

std::string rewrite_paths(const document& doc, const std::vector<std::string>& new_values,
                          std::string_view origin) {
  if (new_values.size() != doc.paths.size()) {
    throw_error(errc::internal, "rewrite_paths: one new value per path entry expected");
  }
  std::vector<std::size_t> order(doc.paths.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return doc.paths[a].value_pos < doc.paths[b].value_pos;
  });
  std::string out;
  out.reserve(doc.text.size() + 64 * new_values.size());
  std::size_t copied = 0;
  for (const std::size_t i : order) {
    const auto& entry = doc.paths[i];
    out.append(doc.text, copied, entry.value_pos - copied);
    out += format_value(entry, new_values[i]);
    copied = entry.value_end;
  }
  out.append(doc.text, copied, std::string::npos);

  // The copy must read back as exactly the new values; anything else is a bug here.
  const document check = parse_document(out, origin);
  for (std::size_t i = 0; i < doc.paths.size(); ++i) {
    if (check.paths.size() != doc.paths.size() || check.paths[i].value != new_values[i] ||
        check.paths[i].kind != doc.paths[i].kind) {
      throw_error(errc::internal,
                  fmt::format("{}:{}: the evaluated MLTable copy does not read back as written "
                              "(a dataport bug; please report it with the MLTable file)",
                              origin, doc.paths[i].line));
    }
  }
  return out;
}

}  // namespace dataport::mltable_detail
