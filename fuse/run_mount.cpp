// run_mount: the process side of `dataport mount` (foreground or daemon). Why fork before the
// context: the runtime starts I/O threads and threads do not survive fork(), so the daemon child
// builds the context itself and reports "mounted" or the reason through a pipe; the parent waits
// for that report, so a script can use the mount as soon as the command returns.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>

#include "dataport/error.hpp"
#include "dataport/log.hpp"
#include "dataport/mount.hpp"
#include "dataport/redact.hpp"

namespace dataport {
namespace {

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR1);
  return set;
}

/// Serves until unmounted; a signal thread turns SIGINT/SIGTERM/SIGHUP into a lazy unmount.
int serve(mount_session& session) {
  const pthread_t serving = pthread_self();
  (void)serving;
  std::thread signals([&session] {
    const sigset_t set = stop_signals();
    int sig = 0;
    while (sigwait(&set, &sig) == 0) {
      if (sig == SIGUSR1) return;
      log::info("mount", "signal {}: unmounting {}", sig, session.mountpoint());
      session.unmount();
    }
  });
  const auto left = session.wait();
  pthread_kill(signals.native_handle(), SIGUSR1);
  signals.join();
  return left.empty() ? 0 : 1;
}

int exit_code_of(const error& e) {
  return e.code() == errc::invalid_argument ? 2 : 1;
}

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

/// True once a stat of the mountpoint is answered by the new file system.
bool answers(const std::string& mountpoint) {
  struct stat st {};
  return ::stat(mountpoint.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

int run_mount(const std::function<context&()>& make_context, const std::string& uri,
              const std::string& mountpoint, const mount_options& options, bool foreground) {
  const sigset_t set = stop_signals();
  if (foreground) {
    pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before any thread exists: all inherit it
    mount_session session;
    try {
      session.start(make_context(), uri, mountpoint, options);
    } catch (const error& e) {
      std::fprintf(stderr, "dataport: error: %s\n", redact_text(e.what()).c_str());
      return exit_code_of(e);
    }
    std::printf("Mount started.\n");
    std::fflush(stdout);
    return serve(session);
  }

  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "dataport: error: cannot create a pipe for the mount process\n");
    return 1;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t child = ::fork();
  if (child < 0) {
    std::fprintf(stderr, "dataport: error: cannot start the mount process (fork failed)\n");
    return 1;
  }
  if (child > 0) {
    ::close(report[1]);
    std::string message;
    char buffer[4096];
    ssize_t n = 0;
    while ((n = ::read(report[0], buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR)) {
      if (n > 0) message.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(report[0]);
    if (message.rfind("OK", 0) == 0) {
      std::printf("Mount started.\n");
      return 0;
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    if (message.empty()) message = "1the mount process ended without a report (see its log)";
    std::fprintf(stderr, "dataport: error: %s\n", message.substr(1).c_str());
    return message[0] == '2' ? 2 : 1;
  }

  // The daemon: own session, no terminal, stdout/stderr to /dev/null unless a log file is set.
  ::close(report[0]);
  ::setsid();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  if (const int null = ::open("/dev/null", O_RDWR); null >= 0) {
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    if (!std::getenv("DATAPORT_MOUNT_KEEP_STDERR")) ::dup2(null, STDERR_FILENO);
    if (null > STDERR_FILENO) ::close(null);
  }
  mount_session session;
  try {
    session.start(make_context(), uri, mountpoint, options);
    if (!answers(session.mountpoint())) {
      throw_error(errc::io, "the mount on '" + mountpoint + "' does not answer");
    }
  } catch (const error& e) {
    write_all(report[1], std::to_string(exit_code_of(e)) + redact_text(e.what()));
    ::close(report[1]);
    ::_exit(exit_code_of(e));
  } catch (const std::exception& e) {
    write_all(report[1], std::string("1") + redact_text(e.what()));
    ::close(report[1]);
    ::_exit(1);
  }
  write_all(report[1], "OK");
  ::close(report[1]);
  const int code = serve(session);
  std::fflush(nullptr);
  ::_exit(code);
}

}  // namespace dataport
