// `dataport ls`: lists a folder page by page, printing each page as it arrives, so the first
// entries of a huge folder show long before the listing ends. --json prints one JSON object per
// line (NDJSON), which scripts can stream.
#include <chrono>
#include <cstdio>

#include <fmt/format.h>

#include "app.hpp"
#include "dataport/error.hpp"
#include "dataport/log.hpp"
#include "dataport/object_store.hpp"
#include "output.hpp"

namespace dataport::cli {
namespace {

struct ls_flags {
  std::string uri;
  bool recursive = false;
  bool long_format = false;
  bool json = false;
};

std::string display_path(const std::string& path, const std::string& prefix) {
  if (prefix.empty()) return path;
  if (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 &&
      path[prefix.size()] == '/') {
    return path.substr(prefix.size() + 1);
  }
  return path;
}

std::string format_entry(const object_info& info, const ls_flags& flags,
                         const std::string& prefix) {
  if (flags.json) {
    auto j = to_json(info);
    j["name"] = display_path(info.path, prefix);
    return j.dump() + "\n";
  }
  std::string name = display_path(info.path, prefix);
  if (info.is_directory) name += "/";
  if (!flags.long_format) return name + "\n";
  return fmt::format("{:>14}  {:20}  {}\n",
                     info.is_directory ? std::string("DIR") : std::to_string(info.size),
                     format_time(info.last_modified), name);
}

boost::asio::awaitable<std::uint64_t> list_all(object_store& store, const location& where,
                                               const ls_flags& flags) {
  std::string prefix = store_path(where);
  const std::string path = prefix;
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  auto pager = store.list({.prefix = prefix, .recursive = flags.recursive});
  std::uint64_t count = 0;
  const auto started = std::chrono::steady_clock::now();
  while (auto page = co_await pager->next_page()) {
    std::string out;
    for (const auto& entry : *page) out += format_entry(entry, flags, prefix);
    write_stdout(out.data(), out.size());
    if (count == 0 && !page->empty()) {
      log::debug("ls", "first entry after {} ms",
                 std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - started)
                     .count());
    }
    count += page->size();
  }
  if (count == 0) {
    // Not a folder (or an empty one): a single file lists as itself.
    const object_info info = co_await store.stat(path);
    if (!info.is_directory) {
      object_info shown = info;
      const std::string text = format_entry(shown, flags, "");
      write_stdout(text.data(), text.size());
      count = 1;
    }
  }
  log::info("ls", "listed {} entries in {} ms", count,
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started)
                .count());
  co_return count;
}

}  // namespace

void add_ls_command(CLI::App& app, app_state& state, std::optional<int>& result) {
  auto* cmd = app.add_subcommand("ls", "List a folder (lazily, page by page) or show one file");
  auto flags = std::make_shared<ls_flags>();
  cmd->add_option("URI", flags->uri, "folder or file URI")->required();
  cmd->add_flag("-R,--recursive", flags->recursive, "list every level below the folder");
  cmd->add_flag("-l,--long", flags->long_format, "show size and last-modified time");
  cmd->add_flag("--json", flags->json, "one JSON object per line (path, name, size, etag, ...)");
  cmd->footer(uri_help);
  cmd->callback([&state, &result, flags] {
    auto& ctx = state.ctx();
    const location where = ctx.resolve(flags->uri);
    auto store = ctx.open_store(where);
    ctx.run(list_all(*store, where, *flags));
    result = 0;
  });
}

}  // namespace dataport::cli
