// dataport-mount: a thin binary that mounts one URI, the same as `dataport mount`.
//   dataport-mount URI MOUNTPOINT [--rw] [--foreground] [--allow-other] [--cache-dir D]
//                  [--mode block|whole-file] [--preset NAME] [-o opts]
// Settings come from the environment (DATASET_MOUNT_*, DATAPORT_*), like the platform's mount.
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "dataport/context.hpp"
#include "dataport/error.hpp"
#include "dataport/mount.hpp"
#include "dataport/presets.hpp"

int main(int argc, char** argv) {
  dataport::mount_options options;
  bool foreground = false;
  std::string positional[2];
  int count = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--rw") {
      options.read_write = true;
    } else if (arg == "--foreground" || arg == "-f") {
      foreground = true;
    } else if (arg == "--allow-other") {
      options.allow_other = true;
    } else if (arg == "--cache-dir" && i + 1 < argc) {
      options.cache_dir = argv[++i];
    } else if (arg == "-o" && i + 1 < argc) {
      options.fuse_options.emplace_back(argv[++i]);
    } else if (arg == "--mode" && i + 1 < argc) {
      const std::string_view mode = argv[++i];
      if (mode != "block" && mode != "whole-file") {
        std::fprintf(stderr, "dataport-mount: --mode must be 'block' or 'whole-file'\n");
        return 2;
      }
      options.block_mode = mode == "block";
    } else if (arg == "--preset" && i + 1 < argc) {
      options.reader_preset = dataport::parse_preset(argv[++i]);
      if (!options.reader_preset) {
        std::fprintf(stderr, "dataport-mount: unknown --preset '%s'\n", argv[i]);
        return 2;
      }
    } else if (!arg.starts_with("-") && count < 2) {
      positional[count++] = std::string(arg);
    } else {
      count = -1;
      break;
    }
  }
  if (count != 2) {
    std::fprintf(stderr,
                 "usage: dataport-mount URI MOUNTPOINT [--rw] [--foreground] [--allow-other] "
                 "[--cache-dir D] [--mode block|whole-file] [--preset NAME] [-o opts]\n");
    return 2;
  }
  std::unique_ptr<dataport::context> ctx;
  return dataport::run_mount(
      [&ctx]() -> dataport::context& {
        ctx = std::make_unique<dataport::context>();
        return *ctx;
      },
      positional[0], positional[1], options, foreground);
}
