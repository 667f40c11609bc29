// Environment lookup through an injectable settings::env_lookup (tests pass a fake one).
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "dataport/settings.hpp"

namespace dataport::detail {

inline std::optional<std::string> getenv_value(const settings::env_lookup& env,
                                               std::string_view name) {
  if (env) return env(name);
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

/// Like getenv_value, but an empty value counts as unset.
inline std::optional<std::string> getenv_nonempty(const settings::env_lookup& env,
                                                  std::string_view name) {
  auto value = getenv_value(env, name);
  if (value && value->empty()) return std::nullopt;
  return value;
}

}  // namespace dataport::detail
