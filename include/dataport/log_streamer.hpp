// dataport::log_streamer — uploads a local folder (a job's ./logs) to a remote folder while the
// files in it grow, so the remote copy can be followed during the run.
//
// Every `interval` a background thread scans the folder (recursively; regular files only, links
// are not followed). A new or grown file sends only its new bytes as blocks (Put Block) and
// re-commits the block list (Put Block List: the ids committed before plus the new ones), so the
// remote object is always a prefix of the local file. A file that shrank or was rewritten (new
// inode, or its first/last uploaded bytes changed) is uploaded whole again. Failures are logged,
// counted and retried the next round; they are never thrown. Files deleted locally stay remote.
//
// Destinations: blob and abfss (block re-commit) and local folders (bytes appended in place);
// https is read only and is refused by the constructor (errc::unsupported).
//
// Thread-safety: start(), stop(), sync_now() and current() may be called from any thread except
// the context's I/O threads; rounds never overlap. The streamer must not outlive `ctx`; the
// destructor stops it (with a final sync bounded by 10 s) if stop() was not called.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dataport/context.hpp"

namespace dataport {

class object_store;

class log_streamer {
 public:
  /// Tuning (tests use small values).
  struct tuning {
    std::size_t block_size = 4u << 20;  ///< bytes per staged block (a round's new bytes)
    std::size_t max_blocks = 49'000;    ///< past this (blob limit 50,000) the file is re-sent whole
  };

  /// Resolves `remote_folder_uri` (any writable URI form) now; throws dataport::error for a bad
  /// or read-only destination. `interval` is the time between rounds (at least 10 ms).
  log_streamer(context& ctx, std::filesystem::path local_dir, std::string remote_folder_uri,
               std::chrono::milliseconds interval);
  /// Same with an already opened store; `remote_prefix` is the folder inside it ("" = root).
  log_streamer(context& ctx, std::filesystem::path local_dir, std::shared_ptr<object_store> store,
               std::string remote_prefix, std::chrono::milliseconds interval);
  ~log_streamer();
  log_streamer(const log_streamer&) = delete;
  log_streamer& operator=(const log_streamer&) = delete;

  void set_tuning(tuning t);  ///< call before start()

  /// Starts the background thread (a second call does nothing).
  void start();
  /// Stops the background rounds, then syncs everything once more (bounded by `timeout`; an
  /// in-flight request may add its own HTTP timeouts). Never throws; calling it twice is fine.
  void stop(std::chrono::seconds timeout);
  /// One round now, on the calling thread. Returns true when every file is in sync.
  bool sync_now();

  struct stats {
    std::uint64_t files_synced = 0;    ///< successful file uploads or appends
    std::uint64_t bytes_uploaded = 0;  ///< bytes sent in blocks
    std::uint64_t failures = 0;        ///< failed file syncs (each retried next round)
  };
  stats current() const;

 private:
  struct file_state;
  using clock = std::chrono::steady_clock;
  bool round(clock::time_point deadline);
  void sync_file(file_state& state, const std::filesystem::path& path, const std::string& remote,
                 clock::time_point deadline);
  void run_thread();

  context& ctx_;
  std::filesystem::path local_dir_;
  std::shared_ptr<object_store> store_;
  std::string remote_prefix_;
  std::chrono::milliseconds interval_;
  tuning tuning_;

  std::mutex round_mutex_;  ///< one round at a time; guards files_
  std::map<std::string, std::shared_ptr<file_state>> files_;
  std::uint64_t generation_ = 0;

  std::mutex thread_mutex_;  ///< guards thread_, stopping_
  std::condition_variable wake_;
  std::thread thread_;
  bool stopping_ = false;
  bool stopped_ = false;

  std::atomic<std::uint64_t> files_synced_{0}, bytes_uploaded_{0}, failures_{0};
};

}  // namespace dataport
