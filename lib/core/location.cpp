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
  // Blob and dfs paths are blob names: a leading '/' is part of the name. Local paths are
  // absolute and web paths origin-rooted; their stores list entries without the '/', so the
  // path given to them goes without it too (a mount compares the two: with the '/', a web
  // folder's listing never matched a lookup and every file cost two extra requests).
  if (where.backend == backend_kind::blob || where.backend == backend_kind::dfs) return where.path;
  std::string_view path = where.path;
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  return std::string(path);
}

}  // namespace dataport
