// Internals of the C ABI (capi/include/dataport.h): handle structs, the error funnel and JSON
// option helpers. Nothing here is exported; the version script keeps every C++ symbol local.
//
// Why the handles share a `runtime`: readers and listings must never outlive the I/O threads
// they use, and a C caller cannot be trusted to free things in order. Each handle holds a
// shared_ptr to the runtime, so the last handle freed (usually dataport_context_destroy) stops
// and joins the threads, and a reader freed after its context still works until then.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "dataport.h"
#include "dataport/context.hpp"
#include "dataport/error.hpp"
#include "dataport/location.hpp"
#include "dataport/object_store.hpp"
#include "dataport/readable_file.hpp"

struct dataport_context;

namespace dataport::capi {

/// The C++ runtime behind a context handle, shared by the handles made from it.
class runtime {
 public:
  explicit runtime(context_options options);
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  context& ctx() noexcept { return *ctx_; }
  /// The reader services, made on first use (they may open the disk cache).
  std::shared_ptr<reader_services> services();

 private:
  std::unique_ptr<context> ctx_;
  std::mutex mutex_;
  std::shared_ptr<reader_services> services_;
};

/// The runtime of a context handle; throws invalid_argument for NULL.
runtime& checked(dataport_context* handle);

/// Records `code` and `message` (redacted, truncated to 4 KiB) as this thread's last error.
dataport_status fail(errc code, std::string_view message);
/// Clears this thread's last error; returns DATAPORT_OK.
dataport_status succeed();
/// Maps the exception in flight (call only inside a catch block) to a status and message.
dataport_status fail_current_exception();

/// Runs `body` (returning dataport_status) with every exception turned into a status.
template <class F>
dataport_status guarded(F&& body) noexcept {
  try {
    return body();
  } catch (...) {
    return fail_current_exception();
  }
}

/// Parses an options string: NULL or "" gives an empty object; anything but a JSON object
/// throws invalid_argument naming `what`.
nlohmann::json parse_options(const char* options_json, std::string_view what);

/// Throws invalid_argument when `options` has a key outside `allowed`.
void check_keys(const nlohmann::json& options, std::initializer_list<std::string_view> allowed,
                std::string_view what);

/// Copies `text` into a malloc'ed string for dataport_free_string().
char* to_c_string(const std::string& text);

/// Throws invalid_argument when `pointer` is NULL.
void require(const void* pointer, std::string_view what);

nlohmann::json to_json(const object_info& info);
nlohmann::json to_json(const location& where);

}  // namespace dataport::capi

struct dataport_context {
  std::shared_ptr<dataport::capi::runtime> rt;
};
