// dataport presets — named reader settings for the platform's recommended scenarios
// (docs/reader.md has the table and the reasoning).
//
//   large-sequential    one large file read sequentially once: block mode, no RAM or disk tier,
//                       80 prefetch blocks
//   large-parallel      one large file read by several threads once: block mode, no tiers
//   small-files-once    many small files read once: block mode, no tiers
//   small-files-epochs  many small files read for several epochs: block mode, RAM and disk tiers
//   large-random        random reads of a large file (a database): whole-file mode
//
// Explicit settings win: apply a preset first, then the variables the user set. The helpers below
// do that for environment variables; the CLI applies its flags after the preset.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "dataport/settings.hpp"

namespace dataport {

enum class preset {
  large_sequential,
  large_parallel,
  small_files_once,
  small_files_epochs,
  large_random,
};

/// "large-sequential", ... (the names accepted by parse_preset and DATAPORT_PRESET).
std::string_view to_string(preset p) noexcept;
/// Every preset, in declaration order.
std::vector<preset> all_presets();
/// Parses a preset name (case-insensitive, '_' and '-' equivalent); nullopt when unknown.
std::optional<preset> parse_preset(std::string_view name);

/// Overwrites the reader fields that `p` decides (only those).
void apply_preset(settings& config, preset p);

/// Defaults, then `p`, then every variable set in the environment (or `lookup`): explicit
/// settings override the preset. Throws invalid_argument like settings::from_environment.
settings settings_with_preset(preset p, const settings::env_lookup& lookup = {});

/// Like settings::from_environment, plus DATAPORT_PRESET when set (applied under the explicit
/// variables). Throws invalid_argument naming DATAPORT_PRESET and the known names if unknown.
settings settings_from_environment_with_preset(const settings::env_lookup& lookup = {});

}  // namespace dataport
