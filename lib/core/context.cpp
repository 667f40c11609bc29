// The runtime: one io_context run by a few threads, shared by every store, transfer and reader.
// Few threads is deliberate: the work is asynchronous, and on small machines every CPU second
// the client burns is taken from the server (or from the training job).
#include "dataport/context.hpp"

#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <fmt/format.h>

#include "dataport/credential.hpp"
#include "dataport/error.hpp"
#include "dataport/http/client.hpp"
#include "dataport/log.hpp"
#include "dataport/metrics.hpp"
#include "dataport/object_store.hpp"
#include "dataport/resolve.hpp"
#include "dataport/storage.hpp"
#include "dataport/workspace.hpp"

namespace dataport {
namespace {

unsigned default_io_threads(unsigned requested) {
  if (requested > 0) return requested;
  if (const char* env = std::getenv("DATAPORT_IO_THREADS"); env && *env) {
    char* end = nullptr;
    const unsigned long value = std::strtoul(env, &end, 10);
    if (*end != '\0' || value == 0 || value > 64) {
      throw_error(errc::invalid_argument,
                  fmt::format("DATAPORT_IO_THREADS='{}' is not a thread count: use 1 to 64", env));
    }
    return static_cast<unsigned>(value);
  }
  return std::max(1u, std::min(2u, std::thread::hardware_concurrency()));
}

std::string current_directory() {
  std::string buffer(4096, '\0');
  if (::getcwd(buffer.data(), buffer.size()) == nullptr) return "/";
  buffer.resize(std::strlen(buffer.c_str()));
  return buffer;
}

std::string credential_cache_key(const location& where) {
  const auto& c = where.credential;
  const std::size_t secret_hash =
      std::hash<std::string>{}(c.account_key + "\n" + c.sas_token + "\n" + c.token);
  return fmt::format("{}|{}|{}|{}|{}|{}", c.kind_name(), where.service_url, c.account_name,
                     c.token_file, c.client_id, secret_hash);
}

}  // namespace

struct context::impl {
  settings config;
  workspace ws;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard;
  std::shared_ptr<metrics> counters = std::make_shared<metrics>();
  std::shared_ptr<http::client> client;
  std::vector<std::thread> threads;
  std::mutex credentials_mutex;
  std::map<std::string, std::shared_ptr<credential>> credentials;

  explicit impl(settings s) : config(std::move(s)), guard(io.get_executor()) {}
};

context::context(context_options options) {
  auto state = std::make_unique<impl>(std::move(options.config));
  state->ws = options.workspace_file.empty() ? load_default_workspace(state->config.workspace_file)
                                             : load_workspace(options.workspace_file);
  state->client =
      std::make_shared<http::client>(state->io.get_executor(), state->config, state->counters);
  const unsigned thread_count = default_io_threads(options.io_threads);
  impl_ = std::move(state);
  for (unsigned i = 0; i < thread_count; ++i) {
    impl_->threads.emplace_back([this] { impl_->io.run(); });
  }
  if (log::enabled(log::level::debug)) {
    std::string effective;
    for (const auto& [name, value] : impl_->config.describe()) {
      effective += fmt::format("{}{}={}", effective.empty() ? "" : " ", name, value);
    }
    log::debug("runtime", "started {} I/O threads; settings in effect: {}", thread_count,
               effective);
  }
}

context::~context() {
  impl_->client->close_idle();
  impl_->guard.reset();
  impl_->io.stop();
  for (auto& t : impl_->threads) t.join();
}

const settings& context::config() const noexcept {
  return impl_->config;
}
const workspace& context::workspace_description() const noexcept {
  return impl_->ws;
}
boost::asio::io_context& context::io() noexcept {
  return impl_->io;
}
std::shared_ptr<http::client> context::http() const noexcept {
  return impl_->client;
}
std::shared_ptr<metrics> context::counters() const noexcept {
  return impl_->counters;
}

location context::resolve(std::string_view uri) const {
  resolve_context rc;
  rc.ws = &impl_->ws;
  rc.cwd = current_directory();
  return dataport::resolve(uri, rc);
}

std::shared_ptr<object_store> context::open_store(const location& where) {
  std::shared_ptr<credential> cred;
  {
    std::lock_guard lock(impl_->credentials_mutex);
    auto& slot = impl_->credentials[credential_cache_key(where)];
    if (!slot) slot = make_credential(where.credential, *impl_->client);
    cred = slot;
  }
  return make_store(where, impl_->client, std::move(cred), impl_->counters);
}

void context::check_not_io_thread() const {
  if (impl_->io.get_executor().running_in_this_thread()) {
    throw_error(errc::internal,
                "context::run() was called from an I/O thread; await the coroutine instead");
  }
}

}  // namespace dataport
