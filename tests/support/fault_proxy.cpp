// fault_proxy: runs tests/fixtures/fault_proxy.py as a child process (its own process group, so
// the destructor can stop it without touching anything else) and drives its control endpoints
// with http_call.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "dataport/error.hpp"
#include "support/test_support.hpp"

extern char** environ;

namespace dataport::test {

namespace {

std::filesystem::path scratch_dir() {
  std::filesystem::path dir;
  if (const char* state = std::getenv("DATAPORT_TEST_STATE"); state != nullptr && *state != '\0') {
    dir = std::filesystem::path(state) / "logs";
  } else {
    dir = std::filesystem::temp_directory_path() / "dataport-tests";
  }
  std::filesystem::create_directories(dir);
  return dir;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string tail(std::string text, std::size_t max_chars = 2000) {
  return text.size() > max_chars ? text.substr(text.size() - max_chars) : text;
}

}  // namespace

fault_proxy::fault_proxy(std::string upstream_url, std::string ca_file) {
  static std::atomic<unsigned> counter{0};
  const std::string stem =
      "fault_proxy-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
  const std::filesystem::path dir = scratch_dir();
  port_file_ = dir / (stem + ".port");
  log_file_ = dir / (stem + ".log");
  std::filesystem::remove(port_file_);

  if (upstream_url.starts_with("https://") && ca_file.empty()) {
    ca_file = servers().at("ca_file").get<std::string>();
  }
  const std::string script = std::string(DATAPORT_SOURCE_DIR) + "/tests/fixtures/fault_proxy.py";
  std::vector<std::string> args = {DATAPORT_PYTHON, script,        "--upstream",
                                   upstream_url,    "--port-file", port_file_.string()};
  if (!ca_file.empty()) {
    args.insert(args.end(), {"--ca-file", ca_file});
  }
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_file_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);
  const int rc = ::posix_spawn(&pid_, argv[0], &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) {
    pid_ = -1;
    throw_error(errc::internal, std::string("cannot start ") + DATAPORT_PYTHON + " " + script +
                                    ": " + std::strerror(rc) + "; check that python3 is installed");
  }

  // Bounded wait for the port file; an early exit of the child fails at once with its log.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (true) {
    std::string text = read_text(port_file_);
    if (!text.empty() && text.back() == '\n') {
      url_ = "http://127.0.0.1:" + text.substr(0, text.size() - 1);
      return;
    }
    int status = 0;
    const bool exited = ::waitpid(pid_, &status, WNOHANG) == pid_;
    if (exited || std::chrono::steady_clock::now() > deadline) {
      if (exited) pid_ = -1;
      stop();
      throw_error(errc::internal,
                  std::string("fault_proxy.py ") +
                      (exited ? "exited during start-up" : "did not start within 15 s") +
                      "; its log (" + log_file_.string() + ") ends with:\n" +
                      tail(read_text(log_file_)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

fault_proxy::~fault_proxy() {
  stop();
}

void fault_proxy::stop() noexcept {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 300; ++i) {  // up to 3 s, then force
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  std::error_code ignored;  // the port file is scratch; a leftover is harmless
  std::filesystem::remove(port_file_, ignored);
}

nlohmann::json fault_proxy::control(std::string_view method, std::string_view path,
                                    std::string body) {
  http_call_options options;
  options.method = std::string(method);
  options.body = std::move(body);
  options.headers = {{"Content-Type", "application/json"}};
  options.timeout = std::chrono::seconds(10);
  const http_reply reply = http_call(url_ + std::string(path), options);
  if (reply.status != 200) {
    throw_error(errc::invalid_argument, "fault proxy " + std::string(path) + " answered " +
                                            std::to_string(reply.status) + ": " + reply.body +
                                            "; check the rule syntax in tests/fixtures/README.md");
  }
  return nlohmann::json::parse(reply.body);
}

void fault_proxy::set_rules(const nlohmann::json& rules) {
  if (!rules.is_array()) {
    throw_error(errc::invalid_argument, "fault_proxy::set_rules needs a JSON array of rules");
  }
  control("POST", "/__proxy/rules", rules.dump());
}

std::vector<nlohmann::json> fault_proxy::requests() {
  const nlohmann::json list = control("GET", "/__proxy/requests", {});
  return std::vector<nlohmann::json>(list.begin(), list.end());
}

void fault_proxy::clear() {
  control("POST", "/__proxy/clear", {});
}

}  // namespace dataport::test
