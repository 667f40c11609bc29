// The command of a job: fork + execve of /bin/bash -c in a new process group. Everything the
// child needs (argv, envp) is built before fork(): the parent has I/O threads, so the child may
// only make async-signal-safe calls until execve.
#include "job/detail/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "dataport/error.hpp"

namespace dataport::job::detail {
namespace {

std::atomic<pid_t> child_group{0};
std::atomic<int> first_signal{0};
std::atomic<int> signal_count{0};
struct sigaction previous_int {
}, previous_term{};

extern "C" void forward_signal(int sig) {
  int expected = 0;
  first_signal.compare_exchange_strong(expected, sig);
  signal_count.fetch_add(1);
  if (const pid_t group = child_group.load(); group > 0) ::kill(-group, sig);
}

/// Closes a descriptor on scope exit.
struct fd_closer {
  int fd = -1;
  ~fd_closer() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

signal_guard::signal_guard() {
  first_signal = 0;
  signal_count = 0;
  struct sigaction action {};
  action.sa_handler = forward_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a blocking poll() wakes up to notice the signal
  ::sigaction(SIGINT, &action, &previous_int);
  ::sigaction(SIGTERM, &action, &previous_term);
}

signal_guard::~signal_guard() {
  ::sigaction(SIGINT, &previous_int, nullptr);
  ::sigaction(SIGTERM, &previous_term, nullptr);
}

int signal_guard::received() noexcept {
  return first_signal.load();
}

int signal_guard::count() noexcept {
  return signal_count.load();
}

command_outcome run_command(const command_request& request,
                            const std::function<void(std::string_view)>& on_output) {
  std::vector<std::string> args{"bash", "-c", request.command};
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = request.environment;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  const char* bash = ::access("/bin/bash", X_OK) == 0 ? "/bin/bash" : "/usr/bin/bash";

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    throw_error(errc::io,
                fmt::format("cannot create a pipe for the command: {}", std::strerror(errno)));
  fd_closer read_end{pipe_fds[0]};
  fd_closer write_end{pipe_fds[1]};
  const int dev_null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  fd_closer null_closer{dev_null};

  const pid_t pid = ::fork();
  if (pid < 0)
    throw_error(errc::io, fmt::format("cannot start the command (fork): {}", std::strerror(errno)));
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    ::setpgid(0, 0);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    ::sigaction(SIGINT, &dfl, nullptr);
    ::sigaction(SIGTERM, &dfl, nullptr);
    ::sigaction(SIGPIPE, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (::chdir(request.working_dir.c_str()) != 0) ::_exit(126);
    if (dev_null >= 0) ::dup2(dev_null, 0);
    ::dup2(pipe_fds[1], 1);
    ::dup2(pipe_fds[1], 2);
    ::execve(bash, argv.data(), envp.data());
    static const char message[] = "dataport: cannot run bash (execve failed)\n";
    [[maybe_unused]] auto ignored = ::write(2, message, sizeof message - 1);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also done in the child: whichever runs first wins the race
  child_group = pid;
  if (const int sig = first_signal.load(); sig != 0) ::kill(-pid, sig);  // arrived meanwhile
  ::close(write_end.fd);
  write_end.fd = -1;

  command_outcome outcome;
  using clock = std::chrono::steady_clock;
  std::optional<clock::time_point> kill_at;
  bool reaped = false;
  int status = 0;
  char buffer[65536];
  while (true) {
    if (!kill_at && first_signal.load() != 0) kill_at = clock::now() + request.kill_grace;
    if (kill_at && clock::now() >= *kill_at) {
      ::kill(-pid, SIGKILL);
      kill_at = clock::time_point::max();
    }
    if (!reaped && ::waitpid(pid, &status, WNOHANG) == pid) reaped = true;
    pollfd pfd{read_end.fd, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, reaped ? 0 : 200);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      if (reaped) break;  // the command is gone and nothing more is buffered
      continue;
    }
    const ssize_t n = ::read(read_end.fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: every writer closed the pipe
    if (on_output) on_output(std::string_view(buffer, static_cast<std::size_t>(n)));
  }
  if (!reaped) {
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  // Leftover members of the group (background processes) would keep mounts busy: stop them.
  ::kill(-pid, SIGTERM);
  child_group = 0;
  outcome.forwarded_signal = first_signal.load();
  if (WIFEXITED(status)) {
    outcome.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    outcome.exit_code = 128 + WTERMSIG(status);
  } else {
    outcome.exit_code = 1;
  }
  return outcome;
}

}  // namespace dataport::job::detail
