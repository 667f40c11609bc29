// The job's data-runtime.log (see detail/activity_log.hpp).
#include "job/detail/activity_log.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>

#include <fmt/format.h>

#include "dataport/error.hpp"
#include "dataport/log.hpp"
#include "dataport/redact.hpp"

namespace dataport::job::detail {

activity_log::activity_log(const std::string& path) {
  file_ = std::fopen(path.c_str(), "ae");
  if (!file_)
    throw_error(errc::io,
                fmt::format("cannot create the job log '{}': {}", path, std::strerror(errno)));
}

activity_log::~activity_log() {
  if (file_) std::fclose(file_);
}

void activity_log::line(std::string_view level, std::string_view text) {
  const std::string clean = redact_text(text);
  {
    std::lock_guard lock(mutex_);
    std::fprintf(file_, "%s %-5.*s %s\n", log::utc_timestamp().c_str(),
                 static_cast<int>(level.size()), level.data(), clean.c_str());
    std::fflush(file_);
  }
  if (level == "ERROR")
    log::error("job", "{}", clean);
  else if (level == "WARN")
    log::warn("job", "{}", clean);
  else
    log::info("job", "{}", clean);
}

activity_log::activity::activity(activity_log& log, std::string name, std::string detail)
    : log_(log),
      name_(std::move(name)),
      detail_(std::move(detail)),
      start_(std::chrono::steady_clock::now()) {
  log_.line("INFO",
            fmt::format("ActivityStarted, {}{}{}", name_, detail_.empty() ? "" : " ", detail_));
}

activity_log::activity::~activity() {
  if (!done_) complete(false, "interrupted");
}

void activity_log::activity::success() {
  complete(true, {});
}

void activity_log::activity::failure(std::string_view reason) {
  complete(false, reason);
}

void activity_log::activity::complete(bool ok, std::string_view reason) {
  if (done_) return;
  done_ = true;
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
  log_.line(
      ok ? "INFO" : "ERROR",
      fmt::format("ActivityCompleted: Activity={}, HowEnded={}, Duration={:.2f} [ms]{}{}", name_,
                  ok ? "Success" : "Failure", ms, reason.empty() ? "" : ", Reason=", reason));
}

}  // namespace dataport::job::detail
