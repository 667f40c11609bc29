// Credentials: make_credential() and the kinds it builds (anonymous, Shared Key, SAS, bearer).
//
// Why this shape: a credential only decorates one attempt of a request (the http::client calls
// apply() from send_options::prepare before every try), so signatures carry a fresh x-ms-date
// and tokens are refreshed between retries. Everything with a notion of time takes a clock seam
// so expiry logic is tested without sleeping; managed identity takes its transport and
// environment as seams so tests only ever reach 127.0.0.1.
#include "dataport/credential.hpp"

#include <sys/stat.h>

#include <fstream>
#include <mutex>
#include <sstream>

#include <fmt/format.h>

#include "auth/detail/encoding.hpp"
#include "dataport/auth/credentials.hpp"
#include "dataport/auth/sas.hpp"
#include "dataport/auth/shared_key.hpp"
#include "dataport/error.hpp"
#include "dataport/http/client.hpp"
#include "dataport/redact.hpp"

namespace dataport {
namespace auth {
namespace {

using namespace std::chrono_literals;

class anonymous_credential final : public credential {
 public:
  boost::asio::awaitable<void> apply(http::request&) override { co_return; }
  bool is_secret_bearing() const noexcept override { return false; }
  std::string_view kind_name() const noexcept override { return "anonymous"; }
  std::optional<std::string> read_grant(std::string_view, std::string_view) const override {
    return std::string();
  }
};

class shared_key_credential final : public credential {
 public:
  shared_key_credential(std::string account, std::string key_base64, clock_fn clock)
      : account_(std::move(account)), clock_(clock ? std::move(clock) : system_clock_fn()) {
    register_secret(key_base64);
    key_ = decode_account_key(key_base64, account_);
    key_base64_ = std::move(key_base64);
  }
  boost::asio::awaitable<void> apply(http::request& req) override {
    sign_shared_key(req, account_, key_, rfc1123_date(clock_()));
    co_return;
  }
  bool is_secret_bearing() const noexcept override { return true; }
  std::string_view kind_name() const noexcept override { return "shared_key"; }
  std::optional<std::string> read_grant(std::string_view container,
                                        std::string_view blob) const override {
    blob_service_sas_options o;
    o.account = account_;
    o.account_key = key_base64_;
    o.container = std::string(container);
    o.blob = std::string(blob);
    o.permissions = "r";
    const auto now = clock_();
    o.start = now - 15min;  // clock skew between this machine and the service
    o.expiry = now + 2h;
    return generate_blob_service_sas(o);
  }

 private:
  std::string account_;
  std::string key_;         // decoded
  std::string key_base64_;  // as given (the SAS generator takes it so)
  clock_fn clock_;
};

class sas_credential final : public credential {
 public:
  sas_credential(std::string sas, clock_fn clock)
      : sas_(std::move(sas)), clock_(clock ? std::move(clock) : system_clock_fn()) {
    while (!sas_.empty() && sas_.front() == '?') sas_.erase(0, 1);
    register_secret(sas_);
    for (const auto& [name, value] : detail::split_query(sas_)) {
      if (detail::to_lower(name) == "sig") {
        register_secret(value);
        register_secret(detail::percent_decode(value));
      }
    }
  }
  boost::asio::awaitable<void> apply(http::request& req) override {
    check_sas_not_expired(sas_, clock_());
    req.url = append_sas(req.url, sas_);
    co_return;
  }
  bool is_secret_bearing() const noexcept override { return true; }
  std::string_view kind_name() const noexcept override { return "sas"; }
  std::optional<std::string> read_grant(std::string_view, std::string_view) const override {
    if (const auto expiry = sas_expiry_text(sas_)) {
      const auto when = parse_iso8601(*expiry);
      if (when && *when <= clock_()) return std::nullopt;
    }
    return sas_;
  }

 private:
  std::string sas_;
  clock_fn clock_;
};

void throw_if_expired(std::string_view token, std::chrono::system_clock::time_point now,
                      std::string_view what) {
  auto exp = jwt_expiry(token);
  if (exp && *exp <= now) {
    throw_error(errc::authentication_failed,
                fmt::format("the bearer token {} expired at {}; get a new token", what,
                            format_iso8601(*exp)));
  }
}

class static_token_credential final : public credential {
 public:
  static_token_credential(std::string token, clock_fn clock)
      : token_(detail::trim(token)), clock_(clock ? std::move(clock) : system_clock_fn()) {
    register_secret(token_);
  }
  boost::asio::awaitable<void> apply(http::request& req) override {
    throw_if_expired(token_, clock_(), "given in the configuration");
    set_bearer(req, token_);
    co_return;
  }
  bool is_secret_bearing() const noexcept override { return true; }
  std::string_view kind_name() const noexcept override { return "bearer"; }

 private:
  std::string token_;
  clock_fn clock_;
};

class token_file_credential final : public credential {
 public:
  token_file_credential(std::string path, clock_fn clock)
      : path_(std::move(path)), clock_(clock ? std::move(clock) : system_clock_fn()) {}

  boost::asio::awaitable<void> apply(http::request& req) override {
    std::string token = current();
    set_bearer(req, token);
    co_return;
  }
  bool is_secret_bearing() const noexcept override { return true; }
  std::string_view kind_name() const noexcept override { return "bearer"; }

 private:
  std::string current() {
    std::lock_guard lock(mutex_);
    auto now = clock_();
    struct stat info {};
    if (::stat(path_.c_str(), &info) != 0) {
      throw_error(errc::authentication_failed,
                  fmt::format("cannot read the bearer token file {}: it does not exist or is "
                              "not accessible; check the token_file setting",
                              path_));
    }
    auto mtime =
        std::chrono::seconds{info.st_mtim.tv_sec}.count() * 1'000'000'000LL + info.st_mtim.tv_nsec;
    bool near_expiry = expires_on_ && now >= *expires_on_ - 5min;
    if (!loaded_ || mtime != mtime_ || near_expiry) {
      std::ifstream in(path_, std::ios::binary);
      std::stringstream buffer;
      buffer << in.rdbuf();
      if (!in) {
        throw_error(
            errc::authentication_failed,
            fmt::format("cannot read the bearer token file {}; check its permissions", path_));
      }
      std::string token(detail::trim(buffer.str()));
      if (token.empty()) {
        throw_error(errc::authentication_failed,
                    fmt::format("the bearer token file {} is empty; write a token into it", path_));
      }
      register_secret(token);
      token_ = std::move(token);
      expires_on_ = jwt_expiry(token_);
      mtime_ = mtime;
      loaded_ = true;
    }
    if (expires_on_ && *expires_on_ <= now) {
      throw_error(errc::authentication_failed,
                  fmt::format("the bearer token in {} expired at {}; write a fresh token into "
                              "the file",
                              path_, format_iso8601(*expires_on_)));
    }
    return token_;
  }

  std::string path_;
  clock_fn clock_;
  std::mutex mutex_;
  bool loaded_ = false;  // the fields below are guarded by mutex_
  long long mtime_ = 0;
  std::string token_;
  std::optional<std::chrono::system_clock::time_point> expires_on_;
};

class cached_token_credential final : public credential {
 public:
  cached_token_credential(token_cache::fetch_fn fetch, clock_fn clock)
      : cache_(std::move(fetch), std::move(clock)) {}
  boost::asio::awaitable<void> apply(http::request& req) override {
    std::string token = co_await cache_.get();
    set_bearer(req, token);
  }
  bool is_secret_bearing() const noexcept override { return true; }
  std::string_view kind_name() const noexcept override { return "bearer"; }

 private:
  token_cache cache_;
};

}  // namespace

void set_bearer(http::request& req, std::string_view token) {
  std::erase_if(req.headers,
                [](const auto& h) { return detail::to_lower(h.first) == "authorization"; });
  req.headers.emplace_back("Authorization", "Bearer " + std::string(token));
  bool version_ok = false;
  for (auto& [name, value] : req.headers) {
    if (detail::to_lower(name) == "x-ms-version") {
      if (value < "2017-11-09") value = std::string(bearer_min_version);
      version_ok = true;
    }
  }
  if (!version_ok) req.headers.emplace_back("x-ms-version", std::string(bearer_min_version));
}

std::shared_ptr<credential> make_anonymous_credential() {
  return std::make_shared<anonymous_credential>();
}

std::shared_ptr<credential> make_shared_key_credential(std::string account, std::string key_base64,
                                                       clock_fn clock) {
  if (account.empty()) {
    throw_error(errc::invalid_argument,
                "Shared Key authentication needs the storage account name; set account_name");
  }
  return std::make_shared<shared_key_credential>(std::move(account), std::move(key_base64),
                                                 std::move(clock));
}

std::shared_ptr<credential> make_sas_credential(std::string sas_token, clock_fn clock) {
  return std::make_shared<sas_credential>(std::move(sas_token), std::move(clock));
}

std::shared_ptr<credential> make_static_token_credential(std::string token, clock_fn clock) {
  if (detail::trim(token).empty()) {
    throw_error(errc::invalid_argument, "the bearer token is empty; pass a token");
  }
  return std::make_shared<static_token_credential>(std::move(token), std::move(clock));
}

std::shared_ptr<credential> make_token_file_credential(std::string path, clock_fn clock) {
  if (path.empty()) {
    throw_error(errc::invalid_argument, "the bearer token file path is empty; set token_file");
  }
  return std::make_shared<token_file_credential>(std::move(path), std::move(clock));
}

std::shared_ptr<credential> make_cached_token_credential(token_cache::fetch_fn fetch,
                                                         clock_fn clock) {
  return std::make_shared<cached_token_credential>(std::move(fetch), std::move(clock));
}

std::shared_ptr<credential> make_managed_identity_credential(identity_sender send,
                                                             managed_identity_options options) {
  auto request = std::make_shared<identity_request>(
      make_identity_request(options.env, options.resource, options.client_id));
  auto shared_options = std::make_shared<managed_identity_options>(std::move(options));
  auto fetch = [send = std::move(send), request,
                shared_options]() -> boost::asio::awaitable<access_token> {
    co_return co_await fetch_managed_identity_token(send, *request, *shared_options);
  };
  return make_cached_token_credential(std::move(fetch), shared_options->clock);
}

}  // namespace auth

std::optional<std::string> credential::read_grant(std::string_view, std::string_view) const {
  return std::nullopt;
}

std::shared_ptr<credential> make_credential(const credential_config& config,
                                            http::client& identity_client) {
  using kind = credential_config::kind;
  switch (config.type) {
    case kind::anonymous:
      return auth::make_anonymous_credential();
    case kind::shared_key:
      return auth::make_shared_key_credential(config.account_name, config.account_key);
    case kind::sas:
      return auth::make_sas_credential(config.sas_token);
    case kind::bearer_static:
      return auth::make_static_token_credential(config.token);
    case kind::bearer_file:
      return auth::make_token_file_credential(config.token_file);
    case kind::managed_identity: {
      auth::managed_identity_options options;
      options.resource = config.resource;
      options.client_id = config.client_id;
      http::client* client = &identity_client;
      auto send = [client](http::request req) -> boost::asio::awaitable<http::response> {
        co_return co_await client->send(std::move(req));
      };
      return auth::make_managed_identity_credential(std::move(send), std::move(options));
    }
  }
  throw_error(errc::internal, "unknown credential kind; this is a bug in dataport");
}

}  // namespace dataport
