// make_store: one switch from a resolved location to its backend.
#include "dataport/storage.hpp"

#include "dataport/error.hpp"

namespace dataport {

std::shared_ptr<object_store> make_store(const location& where,
                                         std::shared_ptr<http::client> client,
                                         std::shared_ptr<credential> cred,
                                         std::shared_ptr<metrics> counters) {
  switch (where.backend) {
    case backend_kind::local:
      return make_local_store("/");  // paths: store_path(where)
    case backend_kind::https:
      return make_https_store(where, std::move(client), std::move(cred), std::move(counters));
    case backend_kind::blob:
    case backend_kind::dfs:  // ADLS Gen2 data is served through the account's Blob endpoint
      return make_blob_store(where, std::move(client), std::move(cred), {}, std::move(counters));
  }
  throw_error(errc::internal, "make_store: unknown backend kind");
}

}  // namespace dataport
