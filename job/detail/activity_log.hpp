// logs/data_capability/data-runtime.log: what the data runtime did for a job, in the platform's
// words: the settings in effect, then "ActivityStarted, <name>" and "ActivityCompleted:
// Activity=<name>, HowEnded=Success|Failure, Duration=<ms> [ms]" for every step. Lines are also
// logged at info level. Every line is redacted.
//
// Thread-safety: all members may be called from any thread.
#pragma once

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace dataport::job::detail {

class activity_log {
 public:
  /// Opens (creates) `path` for appending. Throws dataport::error(io).
  explicit activity_log(const std::string& path);
  ~activity_log();
  activity_log(const activity_log&) = delete;
  activity_log& operator=(const activity_log&) = delete;

  void line(std::string_view level, std::string_view text);

  /// One activity: started when constructed, completed by success()/failure() (a destructor
  /// without either records a failure).
  class activity {
   public:
    activity(activity_log& log, std::string name, std::string detail);
    ~activity();
    activity(const activity&) = delete;
    activity& operator=(const activity&) = delete;
    void success();
    void failure(std::string_view reason);

   private:
    void complete(bool ok, std::string_view reason);
    activity_log& log_;
    std::string name_;
    std::string detail_;
    std::chrono::steady_clock::time_point start_;
    bool done_ = false;
  };

 private:
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
};

}  // namespace dataport::job::detail
