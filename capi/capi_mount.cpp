// The C ABI's mount functions: a location served as a FUSE file system (dataport::mount_session).
//
// A dataport_mount_session holds its context's runtime (like readers and listings), so the mount
// keeps serving after dataport_context_destroy() and the I/O threads are joined only when the
// session is freed. The FUSE loop threads belong to mount_session and are joined by its wait()
// (dataport_mount_wait, or dataport_mount_free which unmounts and waits). Built without FUSE
// (DATAPORT_BUILD_FUSE=OFF) the same symbols exist and return DATAPORT_E_UNSUPPORTED, so callers
// link against either build.
#include <fmt/format.h>

#include "capi_internal.hpp"

#ifdef DATAPORT_WITH_FUSE

#include <vector>

#include "dataport/mount.hpp"
#include "dataport/presets.hpp"

using namespace dataport;
using namespace dataport::capi;

struct dataport_mount_session {
  std::shared_ptr<runtime> rt;  // declared first: destroyed last, after the session's threads
  std::mutex wait_mutex;        // serializes dataport_mount_wait; guards the fields below
  bool waited = false;
  std::vector<pending_upload> pending;
  mount_session session;  // declared last: its destructor unmounts and joins first
};

namespace {

constexpr unsigned max_fuse_threads = 1024;

bool bool_option(const nlohmann::json& options, const char* key) {
  const auto& value = options.at(key);
  if (!value.is_boolean()) {
    throw_error(
        errc::invalid_argument,
        fmt::format("mount option '{}' must be true or false, not {}", key, value.type_name()));
  }
  return value.get<bool>();
}

std::string string_option(const nlohmann::json& options, const char* key) {
  const auto& value = options.at(key);
  if (!value.is_string() || value.get<std::string>().empty()) {
    throw_error(errc::invalid_argument,
                fmt::format("mount option '{}' must be a non-empty string, not {}", key,
                            value.is_string() ? "an empty string" : value.type_name()));
  }
  return value.get<std::string>();
}

std::string preset_names() {
  std::vector<std::string> names;
  for (preset p : all_presets()) names.emplace_back(to_string(p));
  return fmt::format("{}", fmt::join(names, ", "));
}

mount_options make_mount_options(const char* options_json) {
  const auto options = parse_options(options_json, "mount options");
  check_keys(options,
             {"read_write", "mode", "allow_other", "block_mode", "preset", "cache_dir",
              "max_threads", "fuse_options"},
             "mount options");
  mount_options out;
  std::optional<bool> read_write;
  if (options.contains("read_write")) read_write = bool_option(options, "read_write");
  if (options.contains("mode")) {
    const std::string mode = string_option(options, "mode");
    if (mode != "ro_mount" && mode != "rw_mount") {
      throw_error(errc::invalid_argument,
                  fmt::format("mount option mode='{}' is unknown: use \"ro_mount\" (read only) or "
                              "\"rw_mount\" (read-write)",
                              mode));
    }
    const bool rw = mode == "rw_mount";
    if (read_write && *read_write != rw) {
      throw_error(errc::invalid_argument,
                  fmt::format("mount options mode='{}' and read_write={} contradict each other: "
                              "pass one of them",
                              mode, *read_write));
    }
    read_write = rw;
  }
  out.read_write = read_write.value_or(false);
  if (options.contains("allow_other")) out.allow_other = bool_option(options, "allow_other");
  if (options.contains("block_mode")) out.block_mode = bool_option(options, "block_mode");
  if (options.contains("preset")) {
    const std::string name = string_option(options, "preset");
    out.reader_preset = parse_preset(name);
    if (!out.reader_preset) {
      throw_error(
          errc::invalid_argument,
          fmt::format("mount option preset='{}' is unknown: use one of {}", name, preset_names()));
    }
  }
  if (options.contains("cache_dir")) out.cache_dir = string_option(options, "cache_dir");
  if (options.contains("max_threads")) {
    const auto& value = options.at("max_threads");
    if (!value.is_number_unsigned() || value.get<std::uint64_t>() < 1 ||
        value.get<std::uint64_t>() > max_fuse_threads) {
      throw_error(errc::invalid_argument,
                  fmt::format("mount option 'max_threads' must be a number from 1 to {}, not {}",
                              max_fuse_threads, value.dump()));
    }
    out.max_threads = value.get<unsigned>();
  }
  if (options.contains("fuse_options")) {
    const auto& value = options.at("fuse_options");
    const auto bad = [] {
      throw_error(errc::invalid_argument,
                  "mount option 'fuse_options' must be a list of non-empty strings (libfuse -o "
                  "options, e.g. [\"max_read=131072\"]) or one comma-separated string");
    };
    if (value.is_string()) {
      std::string text = value.get<std::string>();
      if (text.empty()) bad();
      out.fuse_options.push_back(std::move(text));
    } else if (value.is_array()) {
      for (const auto& item : value) {
        if (!item.is_string() || item.get<std::string>().empty()) bad();
        out.fuse_options.push_back(item.get<std::string>());
      }
    } else {
      bad();
    }
  }
  return out;
}

dataport_mount_session& checked_session(dataport_mount_session* session) {
  if (session == nullptr) {
    throw_error(errc::invalid_argument,
                "the dataport_mount_session handle is NULL: create one with dataport_mount()");
  }
  return *session;
}

std::string pending_json(const std::vector<pending_upload>& pending) {
  auto list = nlohmann::json::array();
  for (const auto& item : pending)
    list.push_back({{"path", item.path}, {"staging_file", item.staging_file}});
  return list.dump();
}

}  // namespace

extern "C" {

dataport_status dataport_mount(dataport_context* context, const char* uri, const char* mountpoint,
                               const char* options_json, dataport_mount_session** out) {
  if (out != nullptr) *out = nullptr;
  return guarded([&] {
    auto& rt = checked(context);
    require(uri, "dataport_mount: uri");
    require(mountpoint, "dataport_mount: mountpoint");
    require(out, "dataport_mount: the output pointer");
    if (*mountpoint == '\0') {
      throw_error(errc::invalid_argument,
                  "dataport_mount: the mountpoint is an empty string: name an empty folder");
    }
    auto options = make_mount_options(options_json);
    auto handle = std::make_unique<dataport_mount_session>();
    handle->rt = context->rt;
    handle->session.start(rt.ctx(), std::string_view(uri), std::string(mountpoint),
                          std::move(options));
    *out = handle.release();
    return succeed();
  });
}

dataport_status dataport_unmount(dataport_mount_session* session) {
  return guarded([&] {
    checked_session(session).session.unmount();
    return succeed();
  });
}

dataport_status dataport_mount_wait(dataport_mount_session* session, char** out_pending_json) {
  if (out_pending_json != nullptr) *out_pending_json = nullptr;
  return guarded([&] {
    auto& s = checked_session(session);
    std::lock_guard lock(s.wait_mutex);
    if (!s.waited) {
      s.pending = s.session.wait();
      s.waited = true;
    }
    if (out_pending_json != nullptr) *out_pending_json = to_c_string(pending_json(s.pending));
    if (s.pending.empty()) return succeed();
    std::vector<std::string> paths;
    for (const auto& item : s.pending) paths.push_back(item.path);
    return fail(errc::io,
                fmt::format("{} file(s) written through the mount on {} were not uploaded: {}; "
                            "their data is kept in the staging files listed in the JSON (copy "
                            "them up with dataport_copy)",
                            s.pending.size(), s.session.mountpoint(), fmt::join(paths, ", ")));
  });
}

int dataport_mount_is_mounted(const dataport_mount_session* session) {
  return session != nullptr && session->session.running() ? 1 : 0;
}

void dataport_mount_free(dataport_mount_session* session) {
  try {
    delete session;  // ~mount_session unmounts and waits if still mounted; then the runtime goes
  } catch (...) {
  }
}

}  // extern "C"

#else  // built without FUSE: the ABI is the same, every call says so.

using namespace dataport;
using namespace dataport::capi;

namespace {
dataport_status no_fuse(const char* function) {
  return fail(errc::unsupported,
              fmt::format("{}: this libdataport_c was built without FUSE support "
                          "(DATAPORT_BUILD_FUSE=OFF): mounting is unavailable; read with "
                          "dataport_reader_open() or download with dataport_copy() instead",
                          function));
}
}  // namespace

extern "C" {

dataport_status dataport_mount(dataport_context*, const char*, const char*, const char*,
                               dataport_mount_session** out) {
  if (out != nullptr) *out = nullptr;
  return no_fuse("dataport_mount");
}

dataport_status dataport_unmount(dataport_mount_session*) {
  return no_fuse("dataport_unmount");
}

dataport_status dataport_mount_wait(dataport_mount_session*, char** out_pending_json) {
  if (out_pending_json != nullptr) *out_pending_json = nullptr;
  return no_fuse("dataport_mount_wait");
}

int dataport_mount_is_mounted(const dataport_mount_session*) {
  return 0;
}

void dataport_mount_free(dataport_mount_session*) {}

}  // extern "C"

#endif
