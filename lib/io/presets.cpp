// Presets: the platform's per-scenario recommendations as data, applied under explicit settings.
#include "dataport/presets.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "dataport/error.hpp"

namespace dataport {
namespace {

std::optional<std::string> process_env(std::string_view name) {
  const std::string key(name);
  if (const char* value = std::getenv(key.c_str())) return std::string(value);
  return std::nullopt;
}

}  // namespace

std::string_view to_string(preset p) noexcept {
  switch (p) {
    case preset::large_sequential:
      return "large-sequential";
    case preset::large_parallel:
      return "large-parallel";
    case preset::small_files_once:
      return "small-files-once";
    case preset::small_files_epochs:
      return "small-files-epochs";
    case preset::large_random:
      return "large-random";
  }
  return "unknown";
}

std::vector<preset> all_presets() {
  return {preset::large_sequential, preset::large_parallel, preset::small_files_once,
          preset::small_files_epochs, preset::large_random};
}

std::optional<preset> parse_preset(std::string_view name) {
  std::string normal;
  for (char c : name)
    normal.push_back(c == '_' ? '-'
                              : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  for (preset p : all_presets()) {
    if (to_string(p) == normal) return p;
  }
  return std::nullopt;
}

void apply_preset(settings& config, preset p) {
  switch (p) {
    case preset::large_sequential:
      config.block_based_cache_enabled = true;
      config.block_file_cache_enabled = false;
      config.memory_cache_size = 0;
      config.read_buffer_block_count = 80;
      break;
    case preset::large_parallel:
    case preset::small_files_once:
      config.block_based_cache_enabled = true;
      config.block_file_cache_enabled = false;
      config.memory_cache_size = 0;
      break;
    case preset::small_files_epochs:
      config.block_based_cache_enabled = true;
      config.block_file_cache_enabled = true;
      if (config.memory_cache_size == 0) config.memory_cache_size = 128ull << 20;
      break;
    case preset::large_random:
      config.block_based_cache_enabled = false;
      break;
  }
}

settings settings_with_preset(preset p, const settings::env_lookup& lookup) {
  const settings::env_lookup get = lookup ? lookup : settings::env_lookup(process_env);
  settings config;
  apply_preset(config, p);
  for (const auto& [name, value] : settings{}.describe()) {
    (void)value;
    if (auto explicit_value = get(name)) config.set(name, *explicit_value);
  }
  config.validate();
  return config;
}

settings settings_from_environment_with_preset(const settings::env_lookup& lookup) {
  const settings::env_lookup get = lookup ? lookup : settings::env_lookup(process_env);
  const auto name = get("DATAPORT_PRESET");
  if (!name || name->empty()) return settings::from_environment(get);
  const auto p = parse_preset(*name);
  if (!p) {
    std::string known;
    for (preset each : all_presets())
      known += (known.empty() ? "" : ", ") + std::string(to_string(each));
    throw_error(errc::invalid_argument,
                fmt::format("DATAPORT_PRESET='{}' is not a preset; use one of: {}", *name, known));
  }
  return settings_with_preset(*p, get);
}

}  // namespace dataport
