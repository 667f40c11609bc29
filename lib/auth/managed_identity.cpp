// Managed-identity token acquisition; see include/dataport/auth/managed_identity.hpp.
#include "dataport/auth/managed_identity.hpp"

#include <cstdlib>
#include <cstdio>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "auth/detail/encoding.hpp"
#include "dataport/error.hpp"
#include "dataport/log.hpp"
#include "dataport/redact.hpp"

namespace dataport::auth {
namespace {

constexpr std::string_view default_imds = "http://169.254.169.254";
constexpr std::string_view imds_path = "/metadata/identity/oauth2/token";

std::optional<std::string> process_env(std::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

std::optional<std::string> non_empty(const settings::env_lookup& env, std::string_view name) {
  auto value = env(name);
  if (value && detail::trim(*value).empty()) return std::nullopt;
  if (value) return std::string(detail::trim(*value));
  return std::nullopt;
}

std::string with_query(std::string base, std::string_view query) {
  base += base.find('?') == std::string::npos ? '?' : '&';
  return base + std::string(query);
}

// "MM/dd/yyyy hh:mm:ss AM +00:00" (api-version 2017-09-01) → time point.
std::optional<std::chrono::system_clock::time_point> parse_msi_date(const std::string& text) {
  int month = 0, day = 0, year = 0, hour = 0, minute = 0, second = 0;
  char ampm[3] = {};
  if (std::sscanf(text.c_str(), "%d/%d/%d %d:%d:%d %2s", &month, &day, &year, &hour, &minute,
                  &second, ampm) < 6) {
    return std::nullopt;
  }
  std::string_view marker(ampm);
  if ((marker == "PM" || marker == "pm") && hour < 12) hour += 12;
  if ((marker == "AM" || marker == "am") && hour == 12) hour = 0;
  using namespace std::chrono;
  year_month_day ymd{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                     std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return std::nullopt;
  return time_point_cast<system_clock::duration>(sys_days{ymd} + hours{hour} + minutes{minute} +
                                                 seconds{second});
}

std::optional<std::int64_t> json_integer(const nlohmann::json& value) {
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (value.is_number()) return static_cast<std::int64_t>(value.get<double>());
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    return std::stoll(text);
  }
  return std::nullopt;
}

std::string service_message(const std::string& body) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  std::string message;
  if (!json.is_discarded() && json.is_object()) {
    if (json.contains("error_description") && json["error_description"].is_string()) {
      message = json["error_description"].get<std::string>();
    } else if (json.contains("error") && json["error"].is_string()) {
      message = json["error"].get<std::string>();
    } else if (json.contains("message") && json["message"].is_string()) {
      message = json["message"].get<std::string>();
    }
  }
  if (message.size() > 300) message.resize(300);
  return redact_text(message);
}

}  // namespace

std::string_view to_string(identity_style style) noexcept {
  switch (style) {
    case identity_style::identity_endpoint:
      return "IDENTITY_ENDPOINT";
    case identity_style::msi_endpoint:
      return "MSI_ENDPOINT";
    case identity_style::imds:
      return "IMDS";
  }
  return "unknown";
}

identity_request make_identity_request(const settings::env_lookup& lookup,
                                       std::string_view resource, std::string_view client_id) {
  settings::env_lookup env = lookup ? lookup : settings::env_lookup(process_env);
  identity_request out;
  auto& req = out.request;
  req.method = "GET";
  req.headers.emplace_back("Metadata", "true");
  std::string res = "resource=" + detail::percent_encode(resource);
  auto identity_endpoint = non_empty(env, "IDENTITY_ENDPOINT");
  auto identity_header = non_empty(env, "IDENTITY_HEADER");
  auto msi_endpoint = non_empty(env, "MSI_ENDPOINT");
  auto msi_secret = non_empty(env, "MSI_SECRET");
  if (identity_endpoint && identity_header) {
    out.style = identity_style::identity_endpoint;
    std::string query = res + "&api-version=2019-08-01";
    if (!client_id.empty()) query += "&client_id=" + detail::percent_encode(client_id);
    req.url = with_query(*identity_endpoint, query);
    req.headers.emplace_back("X-IDENTITY-HEADER", *identity_header);
    register_secret(*identity_header);
  } else if (msi_endpoint && msi_secret) {
    out.style = identity_style::msi_endpoint;
    std::string query = res + "&api-version=2017-09-01";
    if (!client_id.empty()) query += "&clientid=" + detail::percent_encode(client_id);
    req.url = with_query(*msi_endpoint, query);
    req.headers.emplace_back("secret", *msi_secret);
    register_secret(*msi_secret);
  } else {
    out.style = identity_style::imds;
    std::string base(non_empty(env, "DATAPORT_IMDS_ENDPOINT").value_or(std::string(default_imds)));
    while (base.ends_with('/')) base.pop_back();
    if (base.find(imds_path) == std::string::npos) base += imds_path;
    std::string query = "api-version=2018-02-01&" + res;
    if (!client_id.empty()) query += "&client_id=" + detail::percent_encode(client_id);
    req.url = with_query(base, query);
  }
  return out;
}

access_token parse_identity_response(std::string_view body,
                                     std::chrono::system_clock::time_point now) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object() || !json.contains("access_token") ||
      !json["access_token"].is_string() || json["access_token"].get<std::string>().empty()) {
    throw_error(errc::protocol,
                "the managed identity endpoint answered 200 without an access_token in a JSON "
                "body; check that the endpoint is a managed identity token service");
  }
  access_token token;
  token.value = json["access_token"].get<std::string>();
  register_secret(token.value);
  if (json.contains("expires_on")) {
    if (auto epoch = json_integer(json["expires_on"])) {
      token.expires_on = std::chrono::system_clock::time_point{} + std::chrono::seconds{*epoch};
    } else if (json["expires_on"].is_string()) {
      token.expires_on = parse_msi_date(json["expires_on"].get<std::string>());
    }
  }
  if (!token.expires_on && json.contains("expires_in")) {
    if (auto seconds = json_integer(json["expires_in"])) {
      token.expires_on = now + std::chrono::seconds{*seconds};
    }
  }
  if (!token.expires_on) token.expires_on = jwt_expiry(token.value);
  // No expiry anywhere: assume a short life so the token is refreshed soon.
  if (!token.expires_on) token.expires_on = now + std::chrono::minutes{10};
  return token;
}

boost::asio::awaitable<access_token> fetch_managed_identity_token(
    const identity_sender& send, const identity_request& request,
    const managed_identity_options& options) {
  auto clock = options.clock ? options.clock : system_clock_fn();
  std::string endpoint = redact_url(request.request.url);
  auto delay = options.not_found_delay;
  for (unsigned attempt = 0;; ++attempt) {
    http::response resp;
    try {
      resp = co_await send(request.request);
    } catch (const error& e) {
      throw_error(errc::authentication_failed,
                  fmt::format("could not get a managed identity token from {} ({} style): {}; "
                              "check that a managed identity is assigned to this machine",
                              endpoint, to_string(request.style), redact_text(e.what())));
    }
    if (resp.status == 200) co_return parse_identity_response(resp.body, clock());
    if ((resp.status == 404 || resp.status == 410) && attempt < options.not_found_retries) {
      log::debug("auth", "managed identity endpoint {} returned {}; retrying in {} ms", endpoint,
                 resp.status, delay.count());
      if (options.sleep) {
        co_await options.sleep(delay);
      } else {
        boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, delay);
        co_await timer.async_wait(boost::asio::use_awaitable);
      }
      delay *= 2;
      continue;
    }
    std::string detail_text = service_message(resp.body);
    service_details details;
    details.http_status = resp.status;
    throw_error(errc::authentication_failed,
                fmt::format("the managed identity endpoint {} ({} style) returned HTTP {}{}{}; "
                            "check that a managed identity is assigned{} and can get tokens "
                            "for the storage resource",
                            endpoint, to_string(request.style), resp.status,
                            detail_text.empty() ? "" : ": ", detail_text,
                            options.client_id.empty() ? "" : " (and the client_id is right)"),
                details);
  }
}

}  // namespace dataport::auth
