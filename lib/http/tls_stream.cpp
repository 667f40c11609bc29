// tls_stream: OpenSSL on the socket itself; see lib/http/detail/tls_stream.hpp for the design.
#include "http/detail/tls_stream.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>

#include "dataport/error.hpp"

namespace dataport::http::detail {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr long record_buffer_bytes = 128 * 1024;  // read-ahead: up to eight records per recv

// A socket BIO of our own: OpenSSL's writes with write(2), which raises SIGPIPE in the whole
// process when the peer has gone; send(MSG_NOSIGNAL) gets EPIPE instead. Non-blocking: EAGAIN
// sets the retry flag, and SSL_get_error then says which readiness to wait for.
int descriptor(BIO* bio) {
  return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(bio)));
}

int socket_write(BIO* bio, const char* data, std::size_t size, std::size_t* written) {
  BIO_clear_retry_flags(bio);
  for (;;) {
    const ssize_t n = ::send(descriptor(bio), data, size, MSG_NOSIGNAL);
    if (n >= 0) {
      *written = static_cast<std::size_t>(n);
      return 1;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_write(bio);
    return 0;
  }
}

int socket_read(BIO* bio, char* data, std::size_t size, std::size_t* read) {
  BIO_clear_retry_flags(bio);
  for (;;) {
    const ssize_t n = ::recv(descriptor(bio), data, size, 0);
    if (n > 0) {
      *read = static_cast<std::size_t>(n);
      return 1;
    }
    if (n == 0) {
      errno = 0;  // end of stream: SSL_ERROR_SYSCALL with errno 0 (or the EOF reason) follows
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_read(bio);
    return 0;
  }
}

long socket_ctrl(BIO*, int command, long, void*) {
  return command == BIO_CTRL_FLUSH ? 1 : 0;  // nothing is buffered here
}

int socket_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

const BIO_METHOD* socket_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "dataport socket");
    if (m) {
      BIO_meth_set_write_ex(m, socket_write);
      BIO_meth_set_read_ex(m, socket_read);
      BIO_meth_set_ctrl(m, socket_ctrl);
      BIO_meth_set_create(m, socket_create);
    }
    return m;
  }();
  return method;
}

}  // namespace

tls_stream::tls_stream(asio::ip::tcp::socket socket, SSL_CTX* context, const std::string& host,
                       bool host_is_ip, bool verify)
    : core_(std::make_shared<core>(std::move(socket))) {
  core_->socket.non_blocking(true);
  ssl_ = SSL_new(context);
  BIO* bio = ssl_ && socket_method() ? BIO_new(socket_method()) : nullptr;
  bool ok = bio != nullptr;
  if (ok) {
    BIO_set_data(
        bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(core_->socket.native_handle())));
    SSL_set_bio(ssl_, bio, bio);  // one reference, owned by the SSL object
    SSL_set_connect_state(ssl_);
    SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_set_read_ahead(ssl_, 1);
    SSL_set_default_read_buffer_len(ssl_, record_buffer_bytes);
    if (!host_is_ip) ok = SSL_set_tlsext_host_name(ssl_, host.c_str()) == 1;
  }
  if (ok && verify) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    ok = host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1
                    : X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) == 1;
  }
  if (!ok) {
    ERR_clear_error();
    if (ssl_) SSL_free(ssl_);
    throw_error(errc::network,
                "cannot set up a TLS connection (OpenSSL refused the host name or "
                "ran out of memory)");
  }
}

tls_stream::~tls_stream() {
  {
    std::lock_guard lock(core_->mutex);
    core_->closed = true;
    core_->timer.cancel();
    error_code ignored;
    core_->socket.close(ignored);
  }
  SSL_free(ssl_);  // frees the BIO; the descriptor was closed with the socket
}

void tls_stream::schedule(const std::shared_ptr<core>& state, clock::time_point at) {
  state->armed = true;
  state->timer_at = at;
  const auto generation = ++state->generation;  // a wait this one replaces wakes to nothing
  state->timer.expires_at(at);
  state->timer.async_wait([state, generation](const error_code&) { on_timer(state, generation); });
}

void tls_stream::expires_at(clock::time_point deadline) {
  std::lock_guard lock(core_->mutex);
  core_->deadline = deadline;
  core_->expired = false;
  // A later deadline leaves the pending wake-up alone (it re-sleeps when it comes); an earlier
  // one (an idle timeout after the connect deadline) needs an earlier wake-up.
  if (!core_->armed || deadline < core_->timer_at) schedule(core_, deadline);
}

void tls_stream::expires_never() {
  std::lock_guard lock(core_->mutex);
  core_->deadline = clock::time_point::max();
  core_->expired = false;
  if (!core_->armed) return;
  core_->armed = false;
  ++core_->generation;
  core_->timer.cancel();
}

void tls_stream::on_timer(const std::shared_ptr<core>& state, std::uint64_t generation) {
  std::lock_guard lock(state->mutex);
  if (state->closed || generation != state->generation) return;  // stopped or replaced
  if (clock::now() < state->deadline) {                          // moved while this wait slept
    schedule(state, state->deadline);
    return;
  }
  state->armed = false;
  state->expired = true;
  error_code ignored;
  state->socket.cancel(ignored);  // the pending wait, if any, ends with operation_aborted
}

error_code tls_stream::translate_wait_error(error_code ec) {
  if (ec == asio::error::operation_aborted) {
    std::lock_guard lock(core_->mutex);
    if (core_->expired) return boost::beast::error::timeout;
  }
  return ec;
}

error_code tls_stream::failure_of(int ssl_error) {
  const unsigned long queued = ERR_get_error();
  ERR_clear_error();
  if (ssl_error == SSL_ERROR_ZERO_RETURN) return asio::error::eof;  // close_notify
  if (ssl_error == SSL_ERROR_SYSCALL && queued == 0) {
    const int e = errno;
    if (e == 0) return asio::ssl::error::stream_truncated;
    return {e, boost::system::system_category()};
  }
  if (queued == 0) return asio::error::connection_aborted;  // a failed connection, no detail
  if (ERR_GET_REASON(queued) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    return asio::ssl::error::stream_truncated;
  }
  return {static_cast<int>(queued), asio::error::get_ssl_category()};
}

tls_stream::outcome tls_stream::attempt(kind what, void* data, std::size_t size,
                                        std::size_t& done) {
  auto wants = [](int e) { return e == SSL_ERROR_WANT_READ ? next::want_read : next::want_write; };
  if (what == kind::handshake) {
    ERR_clear_error();
    const int r = SSL_do_handshake(ssl_);
    if (r == 1) return {};
    const int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return {wants(e), {}};
    return {next::done, failure_of(e)};
  }
  if (what == kind::write) {
    ERR_clear_error();
    std::size_t n = 0;
    const int r = SSL_write_ex(ssl_, data, size, &n);
    if (r == 1) {
      done = n;
      return {};
    }
    const int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return {wants(e), {}};
    return {next::done, failure_of(e)};
  }
  if (deferred_) return {next::done, std::exchange(deferred_, {})};
  auto* bytes = static_cast<unsigned char*>(data);
  while (done < size) {
    ERR_clear_error();
    std::size_t n = 0;
    const int r = SSL_read_ex(ssl_, bytes + done, size - done, &n);
    if (r == 1) {
      done += n;
      continue;
    }
    const int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      if (done > 0) return {};  // what is decrypted goes back now; wait on the next read
      return {wants(e), {}};
    }
    const error_code ec = failure_of(e);
    if (done == 0) return {next::done, ec};
    deferred_ = ec;  // return the bytes first; the failure ends the next read
    return {};
  }
  return {};
}

}  // namespace dataport::http::detail
