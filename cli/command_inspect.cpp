// `dataport resolve` and `dataport stat`: show where a URI points and what is there.
#include <iostream>

#include "app.hpp"
#include "dataport/object_store.hpp"
#include "output.hpp"

namespace dataport::cli {

void add_resolve_command(CLI::App& app, app_state& state, std::optional<int>& result) {
  auto* cmd = app.add_subcommand(
      "resolve",
      "Print the location a URI resolves to, as JSON (backend, service URL, container, "
      "path, credential kind; never a secret)");
  auto uri = std::make_shared<std::string>();
  cmd->add_option("URI", *uri, "the URI to resolve")->required();
  cmd->footer(uri_help);
  cmd->callback([&state, &result, uri] {
    const location where = state.ctx().resolve(*uri);
    std::cout << to_json(where).dump(2) << std::endl;
    result = 0;
  });
}

void add_stat_command(CLI::App& app, app_state& state, std::optional<int>& result) {
  auto* cmd =
      app.add_subcommand("stat", "Show size, ETag, last-modified and kind of a file or folder");
  auto uri = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("URI", *uri, "file or folder URI")->required();
  cmd->add_flag("--json", *json, "print one JSON object");
  cmd->footer(uri_help);
  cmd->callback([&state, &result, uri, json] {
    auto& ctx = state.ctx();
    const location where = ctx.resolve(*uri);
    auto store = ctx.open_store(where);
    const object_info info = ctx.run(store->stat(store_path(where)));
    if (*json) {
      std::cout << to_json(info).dump() << std::endl;
    } else {
      std::cout << "path:          " << (info.path.empty() ? "/" : info.path) << "\n"
                << "kind:          " << (info.is_directory ? "directory" : "file") << "\n";
      if (!info.is_directory) {
        std::cout << "size:          " << info.size << " (" << format_bytes(info.size) << ")\n";
      }
      if (!info.etag.empty()) std::cout << "etag:          " << info.etag << "\n";
      if (info.last_modified)
        std::cout << "last modified: " << format_time(info.last_modified) << "\n";
      if (!info.content_md5.empty()) std::cout << "content-md5:   " << info.content_md5 << "\n";
      if (!info.content_type.empty()) std::cout << "content-type:  " << info.content_type << "\n";
      std::cout.flush();
    }
    result = 0;
  });
}

}  // namespace dataport::cli
