// A scripted in-process transport and deterministic retry seams, for tests of the retry layer
// and of anything built on http::client (backends, credentials) without a network.
//
// Each round_trip records the request it was given and runs the next scripted step; a step
// returns a response or throws (transport_error for transport failures). Sleeps are recorded,
// never slept. Single-threaded use only.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "dataport/error.hpp"
#include "dataport/http/client.hpp"

namespace dataport::http::testing {

struct recorded_call {
  request req;  ///< the request as the transport saw it
  std::optional<std::span<std::byte>> body_into;
};

class scripted_transport final : public transport {
 public:
  using step = std::function<response(const request&, const send_options&, std::size_t& received)>;

  void push(step s) { steps_.push_back(std::move(s)); }

  void push_response(unsigned status, header_list headers = {}, std::string body = {}) {
    push([=](const request&, const send_options&, std::size_t&) {
      response r;
      r.status = status;
      r.headers = headers;
      r.body = body;
      r.body_size = body.size();
      return r;
    });
  }

  void push_error(errc code, bool request_sent = true) {
    push([=](const request& req, const send_options&, std::size_t&) -> response {
      throw transport_error(code, "scripted failure for " + req.method, request_sent);
    });
  }

  std::size_t remaining() const { return steps_.size(); }

  boost::asio::awaitable<response> round_trip(const request& req, const send_options& options,
                                              std::size_t& received) override {
    calls.push_back({req, options.body_into});
    received = 0;
    if (steps_.empty()) throw error(errc::internal, "scripted_transport: script exhausted");
    auto next = std::move(steps_.front());
    steps_.pop_front();
    co_return next(req, options, received);
  }

  std::vector<recorded_call> calls;

 private:
  std::deque<step> steps_;
};

/// Seams that record every sleep, return a fixed jitter and a fixed wall clock.
struct recorded_seams {
  std::vector<std::chrono::milliseconds> sleeps;
  double jitter = 1.0;
  std::chrono::system_clock::time_point now =
      std::chrono::system_clock::time_point{} + std::chrono::hours(24 * 365 * 50);

  retry_seams seams() {
    retry_seams s;
    s.sleep = [this](std::chrono::milliseconds d) -> boost::asio::awaitable<void> {
      sleeps.push_back(d);
      co_return;
    };
    s.jitter = [this] { return jitter; };
    s.now = [this] { return now; };
    return s;
  }
};

}  // namespace dataport::http::testing
