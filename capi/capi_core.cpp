// The C ABI's foundation: error funnel, strings, version, context, resolve, stat, metrics.
//
// Every entry point is `noexcept` and goes through guarded(), so no C++ exception crosses the
// ABI. The last-error buffer is a fixed thread_local char array on purpose: a thread_local with
// a destructor would register __cxa_thread_atexit against this library, which pins it in memory
// and turns dlclose() into a no-op while the thread lives.
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <new>

#include <fmt/format.h>

#include "capi_internal.hpp"
#include "dataport/metrics.hpp"
#include "dataport/redact.hpp"
#include "dataport/settings.hpp"

namespace dataport::capi {
namespace {

constexpr std::size_t error_capacity = 4096;
thread_local char last_error_buffer[error_capacity] = {};

void set_last_error(std::string_view text) noexcept {
  const std::size_t n = std::min(text.size(), error_capacity - 1);
  std::memcpy(last_error_buffer, text.data(), n);
  last_error_buffer[n] = '\0';
}

std::string format_time(std::chrono::system_clock::time_point when) {
  const auto seconds = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

/// A JSON option value as the text settings::set() parses.
std::string setting_text(const std::string& key, const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_number_integer() || value.is_number_unsigned()) return value.dump();
  if (value.is_number_float()) return fmt::format("{}", value.get<double>());
  throw_error(errc::invalid_argument,
              fmt::format("context option '{}' must be a string, number or boolean, not {}", key,
                          value.type_name()));
}

context_options make_context_options(const char* options_json) {
  const auto options = parse_options(options_json, "context options");
  context_options out;  // settings from the environment; the JSON overrides them
  for (const auto& [key, value] : options.items()) {
    if (key == "workspace") {
      if (!value.is_string())
        throw_error(errc::invalid_argument,
                    "context option 'workspace' must be a file path string");
      out.workspace_file = value.get<std::string>();
    } else if (key == "io_threads") {
      if (!value.is_number_unsigned() || value.get<std::uint64_t>() < 1 ||
          value.get<std::uint64_t>() > 64) {
        throw_error(errc::invalid_argument,
                    "context option 'io_threads' must be a number from 1 to 64");
      }
      out.io_threads = value.get<unsigned>();
    } else {
      // settings::set names unknown keys and bad values in its message.
      out.config.set(key, setting_text(key, value));
    }
  }
  out.config.validate();
  return out;
}

}  // namespace

runtime::runtime(context_options options) : ctx_(std::make_unique<context>(std::move(options))) {}

runtime::~runtime() {
  services_.reset();
  ctx_.reset();  // stops the io_context and joins the I/O threads
}

std::shared_ptr<reader_services> runtime::services() {
  std::lock_guard lock(mutex_);
  if (!services_) services_ = std::make_shared<reader_services>(*ctx_);
  return services_;
}

runtime& checked(dataport_context* handle) {
  if (handle == nullptr || !handle->rt) {
    throw_error(errc::invalid_argument,
                "the dataport_context handle is NULL: create one with dataport_context_create()");
  }
  return *handle->rt;
}

dataport_status fail(errc code, std::string_view message) {
  try {
    set_last_error(redact_text(message));
  } catch (...) {
    set_last_error("dataport: error message could not be redacted (out of memory?)");
  }
  return static_cast<dataport_status>(code);
}

dataport_status succeed() {
  last_error_buffer[0] = '\0';
  return DATAPORT_OK;
}

dataport_status fail_current_exception() {
  try {
    throw;
  } catch (const error& e) {
    return fail(e.code(), e.what());
  } catch (const nlohmann::json::exception& e) {
    return fail(errc::invalid_argument, fmt::format("invalid JSON value: {}", e.what()));
  } catch (const std::bad_alloc&) {
    set_last_error("dataport: out of memory");
    return DATAPORT_E_INTERNAL;
  } catch (const std::exception& e) {
    return fail(errc::internal, fmt::format("internal error (please report): {}", e.what()));
  } catch (...) {
    set_last_error("dataport: internal error (unknown exception; please report)");
    return DATAPORT_E_INTERNAL;
  }
}

nlohmann::json parse_options(const char* options_json, std::string_view what) {
  if (options_json == nullptr || *options_json == '\0') return nlohmann::json::object();
  nlohmann::json parsed = nlohmann::json::parse(options_json, nullptr, false);
  if (parsed.is_discarded()) {
    throw_error(
        errc::invalid_argument,
        fmt::format("{} are not valid JSON: pass a JSON object such as {{\"key\": \"value\"}}",
                    what));
  }
  if (!parsed.is_object()) {
    throw_error(errc::invalid_argument,
                fmt::format("{} must be a JSON object, not {}", what, parsed.type_name()));
  }
  return parsed;
}

void check_keys(const nlohmann::json& options, std::initializer_list<std::string_view> allowed,
                std::string_view what) {
  for (const auto& item : options.items()) {
    bool known = false;
    for (auto name : allowed) known = known || item.key() == name;
    if (!known) {
      throw_error(errc::invalid_argument,
                  fmt::format("unknown key '{}' in {}: the known keys are {}", item.key(), what,
                              fmt::join(allowed, ", ")));
    }
  }
}

char* to_c_string(const std::string& text) {
  char* out = static_cast<char*>(std::malloc(text.size() + 1));
  if (out == nullptr) throw std::bad_alloc();
  std::memcpy(out, text.c_str(), text.size() + 1);
  return out;
}

void require(const void* pointer, std::string_view what) {
  if (pointer == nullptr) throw_error(errc::invalid_argument, fmt::format("{} is NULL", what));
}

nlohmann::json to_json(const object_info& info) {
  nlohmann::json out{{"path", info.path}, {"size", info.size}, {"is_directory", info.is_directory}};
  if (!info.etag.empty()) out["etag"] = info.etag;
  if (info.last_modified) out["last_modified"] = format_time(*info.last_modified);
  if (!info.content_md5.empty()) out["content_md5"] = info.content_md5;
  if (!info.content_type.empty()) out["content_type"] = info.content_type;
  return out;
}

nlohmann::json to_json(const location& where) {
  nlohmann::json out{{"backend", std::string(to_string(where.backend))},
                     {"service_url", redact_url(where.service_url)},
                     {"path", where.path},
                     {"credential", std::string(where.credential.kind_name())}};
  if (!where.account.empty()) out["account"] = where.account;
  if (!where.container.empty()) out["container"] = where.container;
  if (!where.asset_type.empty()) out["asset_type"] = where.asset_type;
  if (!where.source_uri.empty()) out["uri"] = redact_url(where.source_uri);
  return out;
}

}  // namespace dataport::capi

using namespace dataport;
using namespace dataport::capi;

extern "C" {

const char* dataport_version(void) {
  return DATAPORT_VERSION_STRING;
}

const char* dataport_last_error(void) {
  return last_error_buffer;
}

const char* dataport_status_name(dataport_status status) {
  if (status < 0 || status > DATAPORT_E_TLS) return "unknown";
  return to_string(static_cast<errc>(status)).data();  // string literals: NUL-terminated
}

void dataport_free_string(char* text) {
  std::free(text);
}

dataport_status dataport_context_create(const char* options_json, dataport_context** out) {
  if (out != nullptr) *out = nullptr;
  return guarded([&] {
    require(out, "dataport_context_create: the output pointer");
    auto handle = std::make_unique<dataport_context>();
    handle->rt = std::make_shared<runtime>(make_context_options(options_json));
    *out = handle.release();
    return succeed();
  });
}

void dataport_context_destroy(dataport_context* context) {
  try {
    delete context;
  } catch (...) {
    // ~context is noexcept in practice; never let anything escape.
  }
}

dataport_status dataport_resolve(dataport_context* context, const char* uri, char** out_json) {
  if (out_json != nullptr) *out_json = nullptr;
  return guarded([&] {
    auto& rt = checked(context);
    require(uri, "dataport_resolve: uri");
    require(out_json, "dataport_resolve: out_json");
    *out_json = to_c_string(to_json(rt.ctx().resolve(uri)).dump());
    return succeed();
  });
}

dataport_status dataport_stat(dataport_context* context, const char* uri, char** out_json) {
  if (out_json != nullptr) *out_json = nullptr;
  return guarded([&] {
    auto& rt = checked(context);
    require(uri, "dataport_stat: uri");
    require(out_json, "dataport_stat: out_json");
    const location where = rt.ctx().resolve(uri);
    auto store = rt.ctx().open_store(where);
    const object_info info = rt.ctx().run(store->stat(store_path(where)));
    *out_json = to_c_string(to_json(info).dump());
    return succeed();
  });
}

dataport_status dataport_metrics(dataport_context* context, char** out_json) {
  if (out_json != nullptr) *out_json = nullptr;
  return guarded([&] {
    auto& rt = checked(context);
    require(out_json, "dataport_metrics: out_json");
    *out_json = to_c_string(rt.ctx().counters()->to_json());
    return succeed();
  });
}

}  // extern "C"
