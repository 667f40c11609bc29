// dataport's own http::client driven from tests (tests of the client itself; fixture checks use
// the independent support/http_call instead): settings with the test CA, one request run to
// completion, and the error category and message of a call that throws.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio/this_coro.hpp>

#include "dataport/error.hpp"
#include "dataport/http/client.hpp"
#include "dataport/metrics.hpp"
#include "support/test_support.hpp"

namespace dataport::test {

/// Default settings with the fixture's CA bundle and short retry delays (10 ms base, 100 ms cap).
inline settings client_settings() {
  settings s;
  s.ca_file = servers().at("ca_file").get<std::string>();
  s.retry_base_delay = std::chrono::milliseconds(10);
  s.retry_max_delay = std::chrono::milliseconds(100);
  return s;
}

inline boost::asio::awaitable<http::response> client_send(settings config,
                                                          std::shared_ptr<metrics> counters,
                                                          http::request req,
                                                          http::send_options options) {
  http::client c(co_await boost::asio::this_coro::executor, config, counters);
  co_return co_await c.send(std::move(req), std::move(options));
}

/// One request through a fresh client on a private io_context.
inline http::response client_fetch(const settings& config, http::request req,
                                   http::send_options options = {},
                                   std::shared_ptr<metrics> counters = nullptr) {
  return run_async(client_send(config, std::move(counters), std::move(req), std::move(options)));
}

}  // namespace dataport::test
