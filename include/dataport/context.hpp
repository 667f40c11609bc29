// dataport::context — the runtime a program creates once: settings, workspace, I/O threads,
// the HTTP client, credentials and metrics. Everything else (stores, transfers, readers) is
// made from a context and must not outlive it.
//
// Threads: `io_threads` threads run one boost::asio::io_context; all network I/O is
// asynchronous on them. run() blocks the calling thread until a coroutine finishes; it must not
// be called from an I/O thread (it would deadlock) and throws errc::internal if it is.
//
// Thread-safety: every member function may be called from any thread. Destruction stops the
// io_context and joins the I/O threads; callers must have finished their operations.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "dataport/location.hpp"
#include "dataport/settings.hpp"

namespace dataport {

class metrics;
class object_store;
class credential;
struct workspace;
namespace http {
class client;
}

struct context_options {
  settings config = settings::from_environment();
  std::string workspace_file;  ///< empty: DATAPORT_WORKSPACE, then the default search path
  unsigned io_threads = 0;     ///< 0: min(2, cores); DATAPORT_IO_THREADS overrides
};

class context {
 public:
  explicit context(context_options options = {});
  ~context();
  context(const context&) = delete;
  context& operator=(const context&) = delete;

  const settings& config() const noexcept;
  const workspace& workspace_description() const noexcept;
  boost::asio::io_context& io() noexcept;
  std::shared_ptr<http::client> http() const noexcept;
  std::shared_ptr<metrics> counters() const noexcept;

  /// Resolves any supported URI (see dataport/uri.hpp) against the workspace and environment.
  location resolve(std::string_view uri) const;

  /// Opens the store for a location. Credentials are cached per (account, kind) so tokens are
  /// shared between stores.
  std::shared_ptr<object_store> open_store(const location& where);

  /// Runs a coroutine on the I/O threads and waits for its result (rethrows its exception).
  template <class T>
  T run(boost::asio::awaitable<T> work) {
    check_not_io_thread();
    return boost::asio::co_spawn(io(), std::move(work), boost::asio::use_future).get();
  }

 private:
  void check_not_io_thread() const;
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace dataport
