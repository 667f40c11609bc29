// dataport::http::client — the retry layer over a transport.
//
// Why a loop of whole attempts: every attempt starts from a fresh copy of the caller's request
// and runs options.prepare on it, so x-ms-date, Shared Key signatures and bearer tokens are new
// on every try and signing always covers the final request (Range and If-Match included). The
// x-ms-client-request-id stays the same across attempts so the server's logs tie them together.
//
// What is retried: 408/429/500/502/503/504 and network/timeout failures, for idempotent
// requests; a non-idempotent request only when the transport proves nothing was sent (connect
// refused). TLS and protocol failures and every other status come back at once. The wait is
// exponential backoff with jitter, or what the server asked for (Retry-After & co), capped.
//
// Resume: a ranged GET into a caller buffer that is cut after k bytes continues with
// Range: bytes=(a+k)-b into the buffer's tail, pinned with If-Match to the first response's ETag
// so the two parts always come from one version of the object (a change gives 412, reported).
//
// Redirects are off by default (signed requests must never follow them); when enabled, only
// same-origin hops are followed, which also rules out https → http downgrades.
#include "dataport/http/client.hpp"

#include <charconv>

#include <fmt/format.h>

#include "dataport/log.hpp"
#include "dataport/metrics.hpp"
#include "dataport/redact.hpp"
#include "http/detail/beast_transport.hpp"
#include "http/detail/range_header.hpp"
#include "http/detail/target_url.hpp"

namespace dataport::http {
namespace {

constexpr std::string_view client_request_id = "x-ms-client-request-id";

bool is_redirect(unsigned status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/// The target of a redirect the policy allows, or nullopt (then the 3xx goes to the caller).
std::optional<std::string> allowed_redirect(const request& req, const response& resp) {
  auto location = resp.header("location");
  if (!location) return std::nullopt;
  auto next = detail::resolve_location(req.url, *location);
  if (next.empty()) return std::nullopt;
  try {
    // Same origin means same scheme, host and port: no other host, and never https → http.
    if (detail::parse_target_url(next).origin() != detail::parse_target_url(req.url).origin()) {
      log::debug("http", "not following redirect from {} to another origin {}", redact_url(req.url),
                 redact_url(next));
      return std::nullopt;
    }
  } catch (const error&) {
    return std::nullopt;  // unsupported or malformed target: report the 3xx as is
  }
  return next;
}

}  // namespace

struct client::impl {
  boost::asio::any_io_executor executor;
  settings config;
  std::shared_ptr<transport> transport_;
  detail::beast_transport* beast = nullptr;  // set when transport_ is the production one
  retry_seams seams;
  std::shared_ptr<metrics> counters;

  void count(counter c, std::uint64_t n = 1) const {
    if (counters) counters->add(c, n);
  }
};

client::client(boost::asio::any_io_executor executor, const settings& config,
               std::shared_ptr<metrics> counters)
    : impl_(std::make_unique<impl>()) {
  auto beast = std::make_shared<detail::beast_transport>(executor, config, counters);
  impl_->beast = beast.get();
  impl_->transport_ = std::move(beast);
  impl_->executor = std::move(executor);
  impl_->config = config;
  impl_->seams = default_retry_seams();
  impl_->counters = std::move(counters);
}

client::client(boost::asio::any_io_executor executor, const settings& config,
               std::shared_ptr<transport> transport, retry_seams seams,
               std::shared_ptr<metrics> counters)
    : impl_(std::make_unique<impl>()) {
  auto defaults = default_retry_seams();
  if (!seams.sleep) seams.sleep = std::move(defaults.sleep);
  if (!seams.jitter) seams.jitter = std::move(defaults.jitter);
  if (!seams.now) seams.now = std::move(defaults.now);
  impl_->executor = std::move(executor);
  impl_->config = config;
  impl_->transport_ = std::move(transport);
  impl_->beast = dynamic_cast<detail::beast_transport*>(impl_->transport_.get());
  impl_->seams = std::move(seams);
  impl_->counters = std::move(counters);
}

client::~client() = default;

void client::close_idle() {
  if (impl_->beast) impl_->beast->close_idle();
}

boost::asio::awaitable<response> client::send(request req, send_options options) {
  auto& self = *impl_;
  if (!find_header(req.headers, client_request_id)) {
    set_header(req.headers, client_request_id, make_uuid_v4());  // one id for every attempt
  }
  const unsigned budget = options.retry_count.value_or(self.config.http_retry_count);

  // Resume state for ranged reads into body_into.
  const auto range = req.method == "GET" && options.body_into && options.resume_ranges
                         ? detail::parse_range(find_header(req.headers, "range").value_or(""))
                         : std::nullopt;
  const bool caller_pinned = find_header(req.headers, "if-match").has_value();
  std::size_t resume_offset = 0;
  std::optional<std::string> pinned_etag;

  unsigned retries = 0;
  unsigned hops = 0;
  for (;;) {
    request attempt = req;
    send_options attempt_options = options;
    if (resume_offset > 0) {
      set_header(attempt.headers, "Range",
                 fmt::format("bytes={}-{}", range->first + resume_offset,
                             range->last ? std::to_string(*range->last) : std::string()));
      if (pinned_etag && !caller_pinned) set_header(attempt.headers, "If-Match", *pinned_etag);
      // A streamed body keeps its scratch buffer; a buffered one continues where it stopped.
      if (!options.body_sink) attempt_options.body_into = options.body_into->subspan(resume_offset);
    }
    if (options.prepare) co_await options.prepare(attempt);
    if (retries > 0) self.count(counter::retries);

    std::optional<response> resp;
    std::exception_ptr failure;
    errc code = errc::internal;
    std::string failure_text;
    bool sent = true;
    unsigned cut_status = 0;
    header_list cut_headers;
    std::size_t received = 0;
    const auto attempt_started = std::chrono::steady_clock::now();
    try {
      resp = co_await self.transport_->round_trip(attempt, attempt_options, received);
    } catch (const transport_error& e) {
      failure = std::current_exception();
      code = e.code();
      failure_text = e.what();
      sent = e.request_sent();
      cut_status = e.status();
      cut_headers = e.headers();
    } catch (const error& e) {
      failure = std::current_exception();
      code = e.code();
      failure_text = e.what();
    }

    const auto redacted = redact_url(req.url);
    std::optional<std::chrono::milliseconds> server_delay;
    std::string reason;
    if (resp) {
      const unsigned status = resp->status;
      // -v (trace) and debug: one line per request, secrets redacted.
      log::debug("http", "{} {} -> {} ({} body bytes) in {} ms", req.method, redacted, status,
                 resp->body_size,
                 std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - attempt_started)
                     .count());
      if (status == 429 || status == 503) self.count(counter::throttled);
      if (is_redirect(status) && hops < options.max_redirects) {
        if (auto next = allowed_redirect(req, *resp)) {
          ++hops;
          log::debug("http", "{} {}: following {} redirect to {}", req.method, redacted, status,
                     redact_url(*next));
          req.url = std::move(*next);
          if (status == 303 || ((status == 301 || status == 302) && req.method == "POST")) {
            req.method = "GET";
            req.body = {};
          }
          continue;
        }
      }
      if (!is_retryable_status(status) || !req.idempotent || retries >= budget) {
        if (status >= 400) self.count(counter::http_errors);
        if (resume_offset > 0 && status >= 200 && status < 300) {
          // The caller asked for the whole range: report the resumed response as covering it.
          resp->body_size += resume_offset;
          if (auto content_range = resp->header("content-range")) {
            const auto slash = content_range->find('/');
            const std::string total = slash == std::string_view::npos
                                          ? "*"
                                          : std::string(content_range->substr(slash + 1));
            const std::uint64_t last = range->first + resp->body_size - 1;
            set_header(resp->headers, "Content-Range",
                       fmt::format("bytes {}-{}/{}", range->first, last, total));
          }
          set_header(resp->headers, "Content-Length", std::to_string(resp->body_size));
        }
        co_return std::move(*resp);
      }
      server_delay = parse_retry_after(resp->headers, self.seams.now());
      reason = fmt::format("status {}", status);
    } else {
      if (code != errc::network && code != errc::timeout) std::rethrow_exception(failure);
      if (!req.idempotent && sent) std::rethrow_exception(failure);
      if (retries >= budget) {
        if (budget == 0) std::rethrow_exception(failure);
        throw_error(errc::transient_exhausted,
                    fmt::format("{} {}: gave up after {} attempts; last error: {}. Check network "
                                "connectivity to the server, or raise "
                                "AZUREML_DATASET_HTTP_RETRY_COUNT (now {})",
                                req.method, redacted, retries + 1, failure_text, budget));
      }
      // A ranged body cut part-way continues from the bytes already in the buffer.
      const bool resumable_cut =
          range && received > 0 && (cut_status == 206 || (cut_status == 200 && range->first == 0));
      if (resumable_cut) {
        if (resume_offset == 0 && !caller_pinned) {
          if (auto etag = find_header(cut_headers, "etag")) pinned_etag = std::string(*etag);
        }
        resume_offset += received;
        self.count(counter::resumed_bodies);
      }
      reason = failure_text;
    }

    ++retries;
    const auto delay = retry_delay(retries, self.config.retry_base_delay,
                                   self.config.retry_max_delay, self.seams.jitter(), server_delay);
    log::debug("http", "retrying {} {} (retry {} of {}) after {}; waiting {} ms", req.method,
               redacted, retries, budget, reason, delay.count());
    co_await self.seams.sleep(delay);
  }
}

}  // namespace dataport::http
