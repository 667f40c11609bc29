// Code snapshots: which files of a job's code folder are sent, and the platform's limits.
//
// Why it looks like this: one depth-first walk, in name order, with a stack of ignore files (the
// folder's .amlignore, else its .gitignore) so every entry is decided once, when its folder is
// read; an ignored folder is never opened, which keeps `node_modules/`-style trees cheap. The
// limit check is separate from the walk so the CLI can show what is big even when a limit is
// exceeded. The error text is the platform's (azureml snapshots client), plus a hint.
#include "dataport/snapshot.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

#include "dataport/error.hpp"
#include "snapshot/detail/ignore_rules.hpp"

namespace dataport::snapshot {
namespace {

namespace fs = std::filesystem;
constexpr std::size_t biggest_count = 10;
constexpr std::uint64_t mebibyte = 1ull << 20;

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw_error(errc::io, fmt::format("cannot read the ignore file '{}': check its permissions",
                                      file.string()));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string join(const std::string& folder, const std::string& name) {
  return folder.empty() ? name : folder + "/" + name;
}

class walker {
 public:
  explicit walker(plan& out) : out_(out) {}

  void walk(const fs::path& dir, const std::string& rel) {
    // The folder's own ignore file applies to everything below it.
    bool pushed = false;
    for (const char* name : {".amlignore", ".gitignore"}) {
      std::error_code ec;
      if (fs::is_regular_file(dir / name, ec)) {
        rules_.push(rel, detail::parse_ignore_text(read_text(dir / name)));
        out_.ignore_files.push_back(join(rel, name));
        pushed = true;
        break;
      }
    }
    std::vector<fs::directory_entry> entries;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      entries.push_back(*it);
    }
    if (ec) {
      throw_error(errc::io, fmt::format("cannot read folder '{}' of the snapshot: {}; make it "
                                        "readable or list it in .amlignore",
                                        dir.string(), ec.message()));
    }
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
      return a.path().filename() < b.path().filename();
    });
    for (const auto& entry : entries) {
      const std::string name = entry.path().filename().string();
      const std::string path = join(rel, name);
      std::error_code type_ec;
      const auto link_status = entry.symlink_status(type_ec);
      const bool is_link = fs::is_symlink(link_status);
      const bool is_dir = !is_link && fs::is_directory(link_status);  // git: a link is no folder
      if (rules_.ignored(path, is_dir)) {
        ++out_.ignored_count;
        continue;
      }
      if (is_dir) {
        walk(entry.path(), path);
        continue;
      }
      const auto target = is_link ? entry.status(type_ec) : link_status;
      if (!fs::is_regular_file(target)) {
        ++out_.ignored_count;  // links to folders (not followed), sockets, fifos, dangling links
        continue;
      }
      std::error_code size_ec;
      const auto size = fs::file_size(entry.path(), size_ec);
      if (size_ec) {
        throw_error(errc::io, fmt::format("cannot read the size of '{}': {}", entry.path().string(),
                                          size_ec.message()));
      }
      out_.files.push_back(file{path, size});
      out_.total_bytes += size;
    }
    if (pushed) rules_.pop();
  }

 private:
  plan& out_;
  detail::ignore_stack rules_;
};

void rank_biggest(plan& p) {
  std::vector<file> files = p.files;
  const auto n = std::min(biggest_count, files.size());
  std::partial_sort(files.begin(), files.begin() + static_cast<std::ptrdiff_t>(n), files.end(),
                    [](const file& a, const file& b) {
                      return a.size != b.size ? a.size > b.size : a.relative_path < b.relative_path;
                    });
  files.resize(n);
  p.biggest_files = std::move(files);

  std::map<std::string, folder_total> folders;
  for (const auto& f : p.files) {
    for (auto slash = f.relative_path.find('/'); slash != std::string::npos;
         slash = f.relative_path.find('/', slash + 1)) {
      auto& total = folders[f.relative_path.substr(0, slash)];
      total.bytes += f.size;
      ++total.files;
    }
  }
  std::vector<folder_total> ranked;
  ranked.reserve(folders.size());
  for (auto& [name, total] : folders) {
    total.relative_path = name;
    ranked.push_back(total);
  }
  const auto m = std::min(biggest_count, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(m), ranked.end(),
                    [](const folder_total& a, const folder_total& b) {
                      return a.bytes != b.bytes ? a.bytes > b.bytes
                                                : a.relative_path < b.relative_path;
                    });
  ranked.resize(m);
  p.biggest_folders = std::move(ranked);
}

std::string mb_text(std::uint64_t bytes) {
  return fmt::format("{:.1f}", static_cast<double>(bytes) / static_cast<double>(mebibyte));
}

}  // namespace

limits limits::from_settings(const settings& config) {
  limits lim;
  lim.max_bytes = config.snapshot_max_size_mb * mebibyte;
  lim.max_files = static_cast<std::size_t>(config.snapshot_max_files);
  return lim;
}

plan scan(const std::filesystem::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    throw_error(
        errc::invalid_argument,
        fmt::format("the snapshot folder '{}' {}: give the job's code folder", root.string(),
                    fs::exists(root, ec) ? "is not a folder" : "does not exist"));
  }
  plan p;
  p.root = root;
  walker(p).walk(root, "");
  std::sort(p.files.begin(), p.files.end(),
            [](const file& a, const file& b) { return a.relative_path < b.relative_path; });
  rank_biggest(p);
  return p;
}

std::string limit_error(const plan& p, const limits& lim) {
  std::string text;
  if (p.total_bytes > lim.max_bytes) {
    text = fmt::format(
        "While attempting to take snapshot of {}\n"
        "Your total snapshot size exceeds the limit of {} MB\n",
        p.root.string(), mb_text(lim.max_bytes));
  } else if (p.files.size() > lim.max_files) {
    text = fmt::format(
        "While attempting to take snapshot of {}\n"
        "Your project exceeds the file limit of {}.\n",
        p.root.string(), lim.max_files);
  } else {
    return {};
  }
  text += fmt::format(
      "The snapshot holds {} files, {} MB. Leave out what the job does not need with a "
      ".amlignore file in {} (gitignore syntax; it replaces .gitignore in its folder), keep data "
      "in a datastore, or raise the limits with --max-size-mb/--max-files or "
      "AZUREML_SNAPSHOT_MAX_SIZE_MB/AZUREML_SNAPSHOT_MAX_FILES.",
      p.files.size(), mb_text(p.total_bytes), p.root.string());
  if (!p.biggest_folders.empty() || !p.biggest_files.empty()) {
    text += " Biggest:";
    std::size_t shown = 0;
    for (const auto& f : p.biggest_folders) {
      if (shown++ == 3) break;
      text += fmt::format(" {}/ ({} MB, {} files)", f.relative_path, mb_text(f.bytes), f.files);
    }
    shown = 0;
    for (const auto& f : p.biggest_files) {
      if (shown++ == 3) break;
      text += fmt::format(" {} ({} MB)", f.relative_path, mb_text(f.size));
    }
  }
  return text;
}

plan make_plan(const std::filesystem::path& root, const limits& lim) {
  plan p = scan(root);
  const auto message = limit_error(p, lim);
  if (!message.empty()) throw_error(errc::invalid_argument, message);
  return p;
}

}  // namespace dataport::snapshot
