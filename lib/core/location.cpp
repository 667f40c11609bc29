#include "dataport/location.hpp"

namespace dataport {

std::string_view to_string(backend_kind kind) noexcept {
  switch (kind) {
    case backend_kind::local:
      return "local";
    case backend_kind::https:
      return "https";
    case backend_kind::blob:
      return "blob";
    case backend_kind::dfs:
      return "dfs";
  }
  return "unknown";
}

std::string_view credential_config::kind_name() const noexcept {
  switch (type) {
    case kind::anonymous:
      return "anonymous";
    case kind::shared_key:
      return "shared_key";
    case kind::sas:
      return "sas";
    case kind::bearer_static:
      return "bearer_static";
    case kind::bearer_file:
      return "bearer_file";
    case kind::managed_identity:
      return "managed_identity";
  }
  return "unknown";
}

std::string store_path(const location& where) {
  if (where.backend != backend_kind::local) return where.path;
  std::string_view path = where.path;
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  return std::string(path);
}

}  // namespace dataport
