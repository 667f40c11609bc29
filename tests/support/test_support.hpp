// dataport::test — helpers shared by every test: the servers started by the ctest `servers`
// fixture (tests/fixtures/servers.py), deterministic data, a tiny blocking HTTP client for
// checking servers independently of dataport's own client, and the fault-injecting proxy.
//
// Thread-safety: servers() is safe from any thread; a fault_proxy object is used by one thread at
// a time (the proxy process itself serves any number of connections).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <sys/types.h>

// GCC 12 at -O2 reports a false "potential null pointer dereference" in Boost.Asio's executor
// comparison (io_context.hpp) wherever co_spawn meets an io_context. The warning is attributed to
// the Boost header's lines, so ignoring it while those headers are first included silences it
// without hiding real warnings in test code (include this header before other Asio headers).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#pragma GCC diagnostic pop
#include <nlohmann/json.hpp>

#include "dataport/error.hpp"

namespace dataport::test {

// ---- errors -------------------------------------------------------------------------------------

/// The errc of the dataport::error that `call` throws (errc::ok when it returns), with its message
/// and service details copied into the outputs given. Other exceptions pass through.
template <class F>
errc code_of(F&& call, std::string* message = nullptr, service_details* details = nullptr) {
  try {
    call();
  } catch (const error& e) {
    if (message) *message = e.what();
    if (details) *details = e.details();
    return e.code();
  }
  return errc::ok;
}

// ---- servers ------------------------------------------------------------------------------------

/// The parsed ${DATAPORT_TEST_STATE}/servers.json (shape: tests/fixtures/README.md). Loaded once.
/// Throws dataport::error (invalid_argument) naming what to do when the fixture did not run.
const nlohmann::json& servers();

/// The fixture's state directory (servers()["state_dir"]).
std::filesystem::path state_dir();

/// Writes `data` to <nginx root>/<relative_path> (creating folders) and returns the full path.
/// The file is then served at <http_url|https_url>/files/<relative_path> (and /noranges/, /slow/).
std::filesystem::path write_www_file(std::string_view relative_path,
                                     std::span<const std::byte> data);

// ---- names and data -----------------------------------------------------------------------------

/// A name unique across processes and calls that is also a valid Azure container name:
/// 3..63 characters of [a-z0-9-], starting and ending with a letter or digit, no "--".
/// `prefix` is lowercased and sanitised; it is truncated so the result stays within 63 chars.
std::string unique_name(std::string_view prefix);

/// n pseudo-random bytes, fully determined by seed (splitmix64). random_bytes(n, s) is a prefix
/// of random_bytes(m, s) for n <= m, so sub-ranges can be checked against a longer buffer.
std::vector<std::byte> random_bytes(std::size_t n, std::uint64_t seed);

/// Lower-case hex SHA-256 of data.
std::string sha256_hex(std::span<const std::byte> data);

/// The Azurite/Azure storage emulator's well-known devstoreaccount1 key (base64).
std::string well_known_key();

/// Byte/string conversions for comparing bodies.
std::vector<std::byte> to_bytes(std::string_view text);
std::string to_string(std::span<const std::byte> data);

// ---- a tiny blocking HTTP/1.1 client (one connection per call) ----------------------------------

struct http_reply {
  unsigned status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  ///< in arrival order
  std::string body;

  /// Value of the first header named `name` (case-insensitive), or "" when absent.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
};

struct http_call_options {
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// CA bundle for https URLs; empty means servers()["ca_file"]. The peer's certificate must
  /// chain to it and name the URL's host (IP SAN for 127.0.0.1).
  std::string ca_file;
  std::chrono::milliseconds timeout{30'000};  ///< per operation (connect, write, read)
};

/// Sends one request to an http:// or https:// URL and reads the whole response. Redirects are
/// not followed. Throws dataport::error (network, timeout, tls, protocol) on failure.
http_reply http_call(std::string_view url, const http_call_options& options = {});

// ---- the fault-injecting proxy ------------------------------------------------------------------

/// Runs tests/fixtures/fault_proxy.py in front of `upstream_url` on a free 127.0.0.1 port for the
/// lifetime of this object. Rules (JSON, see tests/fixtures/README.md) script the faults.
class fault_proxy {
 public:
  /// Starts the proxy and waits (bounded, 15 s) until it listens. For an https upstream the CA is
  /// `ca_file`, or servers()["ca_file"] when empty. Throws dataport::error when it cannot start.
  explicit fault_proxy(std::string upstream_url, std::string ca_file = {});
  ~fault_proxy();  ///< stops the proxy process (SIGTERM, then SIGKILL) and reaps it

  fault_proxy(const fault_proxy&) = delete;
  fault_proxy& operator=(const fault_proxy&) = delete;

  /// "http://127.0.0.1:<port>", no trailing slash: use it in place of the upstream's origin.
  const std::string& url() const { return url_; }

  /// Replaces the current rules with `rules` (a JSON array).
  void set_rules(const nlohmann::json& rules);
  /// Every proxied request so far, oldest first (fields: method, path, range, if_match,
  /// x_ms_client_request_id, x_ms_date, body_length, action, status).
  std::vector<nlohmann::json> requests();
  /// Forgets the rules and the request log.
  void clear();

 private:
  nlohmann::json control(std::string_view method, std::string_view path, std::string body);
  void stop() noexcept;

  pid_t pid_ = -1;
  std::string url_;
  std::filesystem::path port_file_;
  std::filesystem::path log_file_;
};

// ---- coroutines ---------------------------------------------------------------------------------

/// Runs `task` to completion on a private io_context and returns its result; an exception thrown
/// by the coroutine is rethrown here.
template <class T>
T run_async(boost::asio::awaitable<T> task) {
  boost::asio::io_context io;
  std::exception_ptr failure;
  if constexpr (std::is_void_v<T>) {
    boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr e) { failure = e; });
    io.run();
    if (failure) std::rethrow_exception(failure);
  } else {
    std::optional<T> result;
    boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
      failure = e;
      if (!e) result.emplace(std::move(value));
    });
    io.run();
    if (failure) std::rethrow_exception(failure);
    return std::move(*result);
  }
}

}  // namespace dataport::test
