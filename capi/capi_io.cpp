// The C ABI's listing iterator and random-access reader.
//
// A listing fetches one service page at a time (list_pager) and hands out entries one by one,
// so a huge folder costs one page of memory. A reader wraps readable_file (ETag-pinned, block
// cache, prefetch). Both hold their context's runtime (see capi_internal.hpp) and a mutex: the
// listing serializes its calls, the reader only guards the pointer so reads run in parallel.
#include <deque>

#include <fmt/format.h>

#include "capi_internal.hpp"

using namespace dataport;
using namespace dataport::capi;

struct dataport_list {
  std::shared_ptr<runtime> rt;  // declared first: destroyed last
  std::mutex mutex;
  std::unique_ptr<list_pager> pager;
  std::deque<object_info> buffered;
  std::string prefix;
  bool done = false;
};

struct dataport_reader {
  std::shared_ptr<runtime> rt;  // declared first: destroyed last
  std::mutex mutex;
  std::shared_ptr<readable_file> file;
  bool closed = false;
};

namespace {

std::string display_name(const std::string& path, const std::string& prefix) {
  if (prefix.empty()) return path;
  if (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 &&
      path[prefix.size()] == '/') {
    return path.substr(prefix.size() + 1);
  }
  return path;
}

std::shared_ptr<readable_file> open_file(dataport_reader* reader) {
  require(reader, "the dataport_reader handle");
  std::lock_guard lock(reader->mutex);
  if (reader->closed || !reader->file) {
    throw_error(errc::invalid_argument,
                "the dataport_reader is closed: open the file again with dataport_reader_open()");
  }
  return reader->file;
}

}  // namespace

extern "C" {

dataport_status dataport_list_open(dataport_context* context, const char* uri,
                                   const char* options_json, dataport_list** out) {
  if (out != nullptr) *out = nullptr;
  return guarded([&] {
    auto& rt = checked(context);
    require(uri, "dataport_list_open: uri");
    require(out, "dataport_list_open: the output pointer");
    const auto options = parse_options(options_json, "list options");
    check_keys(options, {"recursive", "page_size"}, "list options");
    list_options list;
    if (options.contains("recursive")) list.recursive = options.at("recursive").get<bool>();
    if (options.contains("page_size")) {
      const auto size = options.at("page_size").get<std::int64_t>();
      if (size < 1 || size > 5000) {
        throw_error(errc::invalid_argument,
                    fmt::format("list option page_size={} is out of range: use 1 to 5000", size));
      }
      list.page_size = static_cast<unsigned>(size);
    }
    const location where = rt.ctx().resolve(uri);
    list.prefix = store_path(where);
    while (!list.prefix.empty() && list.prefix.back() == '/') list.prefix.pop_back();
    auto handle = std::make_unique<dataport_list>();
    handle->rt = context->rt;
    handle->prefix = list.prefix;
    handle->pager = rt.ctx().open_store(where)->list(list);
    *out = handle.release();
    return succeed();
  });
}

dataport_status dataport_list_next(dataport_list* list, char** out_json) {
  if (out_json != nullptr) *out_json = nullptr;
  return guarded([&] {
    require(list, "the dataport_list handle");
    require(out_json, "dataport_list_next: out_json");
    std::lock_guard lock(list->mutex);
    while (list->buffered.empty() && !list->done) {
      auto page = list->rt->ctx().run(list->pager->next_page());
      if (!page) {
        list->done = true;
        list->pager.reset();  // releases the store's connections early
      } else {
        for (auto& entry : *page) list->buffered.push_back(std::move(entry));
      }
    }
    if (list->buffered.empty()) return succeed();  // end: *out_json stays NULL
    auto json = to_json(list->buffered.front());
    json["name"] = display_name(list->buffered.front().path, list->prefix);
    *out_json = to_c_string(json.dump());
    list->buffered.pop_front();
    return succeed();
  });
}

void dataport_list_close(dataport_list* list) {
  try {
    delete list;
  } catch (...) {
  }
}

dataport_status dataport_reader_open(dataport_context* context, const char* uri,
                                     dataport_reader** out) {
  if (out != nullptr) *out = nullptr;
  return guarded([&] {
    auto& rt = checked(context);
    require(uri, "dataport_reader_open: uri");
    require(out, "dataport_reader_open: the output pointer");
    const location where = rt.ctx().resolve(uri);
    auto handle = std::make_unique<dataport_reader>();
    handle->rt = context->rt;
    handle->file = readable_file::open_blocking(rt.ctx(), rt.services(), where);
    *out = handle.release();
    return succeed();
  });
}

dataport_status dataport_reader_read_at(dataport_reader* reader, uint64_t offset, void* buffer,
                                        size_t length, size_t* out_read) {
  if (out_read != nullptr) *out_read = 0;
  return guarded([&] {
    require(out_read, "dataport_reader_read_at: out_read");
    auto file = open_file(reader);
    if (length == 0) return succeed();
    require(buffer, "dataport_reader_read_at: buffer");
    *out_read = file->read_at_blocking(
        offset, std::span<std::byte>(static_cast<std::byte*>(buffer), length));
    return succeed();
  });
}

dataport_status dataport_reader_size(dataport_reader* reader, uint64_t* out_size) {
  if (out_size != nullptr) *out_size = 0;
  return guarded([&] {
    require(out_size, "dataport_reader_size: out_size");
    *out_size = open_file(reader)->size();
    return succeed();
  });
}

void dataport_reader_shutdown(dataport_reader* reader) {
  if (reader == nullptr) return;
  try {
    std::shared_ptr<readable_file> file;
    {
      std::lock_guard lock(reader->mutex);
      reader->closed = true;
      file = std::move(reader->file);
    }
    if (file) file->close();
  } catch (...) {
  }
}

void dataport_reader_close(dataport_reader* reader) {
  if (reader == nullptr) return;
  dataport_reader_shutdown(reader);
  try {
    delete reader;
  } catch (...) {
  }
}

}  // extern "C"
