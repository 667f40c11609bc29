// A TLS client stream that OpenSSL reads from the socket itself, for Beast.
//
// Boost.Asio's ssl::stream feeds OpenSSL through a memory BIO pair: every TLS record (16 KiB at
// most) costs a recv of its own, a copy into the BIO pair, another into OpenSSL's record buffer
// and a trip through the composed operation (and Beast re-arms its idle timer per read). Over
// https that was more than half of the client's CPU time at ~700 MB/s. Here the SSL object gets
// the non-blocking socket itself (a BIO that calls recv and send) with read-ahead into a 128 KiB
// record buffer: one recv fills it with up to eight records, which are decrypted in place and
// copied once, into the caller's buffer; one read_some returns as many records as fit. OpenSSL
// never blocks: when it wants the socket, the operation waits for readiness (async_wait) and tries
// again.
//
// Timeouts: expires_after()/expires_at() set a deadline for the operations that follow, as
// beast::tcp_stream does, but without re-arming a timer per operation: one timer wakes at the
// deadline, re-sleeps if the deadline moved meanwhile, and otherwise cancels the pending wait;
// that operation then fails with beast::error::timeout. expires_never() stops the timer (an
// idle connection must not keep an io_context's run() busy until its old deadline).
//
// Errors: OpenSSL failures come as error codes in asio's ssl category (value = ERR_get_error(),
// as asio::ssl::stream reports them); a peer that closes without close_notify gives
// asio::ssl::error::stream_truncated, a clean TLS close asio::error::eof.
//
// Thread-safety: one operation of each kind at a time, as for any Asio stream; the timer may fire
// on another I/O thread, which is why the deadline state sits behind a mutex. Ownership: the
// stream owns the socket and the SSL object; destroy it only when no operation is pending.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>

#include <openssl/ssl.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

namespace dataport::http::detail {

class tls_stream {
 public:
  using executor_type = boost::asio::any_io_executor;
  using clock = std::chrono::steady_clock;

  /// Takes a connected socket and makes it non-blocking; `context` supplies the verification
  /// settings. `host` is checked against the certificate when `verify` is set (DNS name or IP
  /// address) and sent as SNI when it is a name. Throws dataport::error(errc::network) when OpenSSL
  /// cannot set the connection up.
  tls_stream(boost::asio::ip::tcp::socket socket, SSL_CTX* context, const std::string& host,
             bool host_is_ip, bool verify);
  ~tls_stream();
  tls_stream(const tls_stream&) = delete;
  tls_stream& operator=(const tls_stream&) = delete;

  executor_type get_executor() noexcept { return core_->socket.get_executor(); }
  boost::asio::ip::tcp::socket& socket() noexcept { return core_->socket; }
  SSL* native_handle() noexcept { return ssl_; }

  /// The operations that follow fail with beast::error::timeout if they are still waiting for
  /// the socket at this time (a deadline, not a per-operation budget: set it before each step).
  void expires_at(clock::time_point deadline);
  void expires_after(clock::duration budget) { expires_at(clock::now() + budget); }
  /// No deadline: cancels the timer, so an idle stream holds no pending work on the io_context
  /// (call it when an exchange ends).
  void expires_never();

  /// Client handshake. Completion: void(error_code).
  template <class Token>
  auto async_handshake(Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code)>(
        op<kind::handshake>{*this, nullptr, 0}, token, core_->socket);
  }
  /// Reads at least one byte: as many as OpenSSL can decrypt without waiting again, up to the
  /// first non-empty buffer's size. Completion: void(error_code, bytes).
  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    const boost::asio::mutable_buffer first = first_buffer(buffers);
    return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        op<kind::read>{*this, first.data(), first.size()}, token, core_->socket);
  }
  /// Writes at least one byte; leading buffers under 16 KiB are gathered into one record.
  /// Completion: void(error_code, bytes).
  template <class Buffers, class Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    const boost::asio::const_buffer first = gather(buffers);
    return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        op<kind::write>{*this, const_cast<void*>(first.data()), first.size()}, token,
        core_->socket);
  }

 private:
  enum class kind { handshake, read, write };
  enum class next { done, want_read, want_write };
  struct outcome {
    next then = next::done;
    boost::system::error_code ec;
  };
  static constexpr std::size_t gather_limit = 16 * 1024;  // one TLS record

  /// What the deadline timer and the waits share; the timer's handler keeps it alive.
  struct core {
    explicit core(boost::asio::ip::tcp::socket s)
        : socket(std::move(s)), timer(socket.get_executor()) {}
    boost::asio::ip::tcp::socket socket;
    boost::asio::steady_timer timer;
    std::mutex mutex;  // guards everything below, the timer, and waits against cancel()
    clock::time_point deadline = clock::time_point::max();
    bool armed = false;  // a timer wait is pending, due at timer_at
    clock::time_point timer_at;
    std::uint64_t generation = 0;  // of the current timer wait
    bool expired = false;          // the deadline passed: waits fail with timeout until it is reset
    bool closed = false;
  };
  static void schedule(const std::shared_ptr<core>& state, clock::time_point at);
  static void on_timer(const std::shared_ptr<core>& state, std::uint64_t generation);

  /// Runs OpenSSL without blocking: a handshake step, reads into [data, data + size) after
  /// `done` bytes (until OpenSSL wants the socket or the buffer is full), or one write.
  outcome attempt(kind what, void* data, std::size_t size, std::size_t& done);
  /// An OpenSSL failure of the last call as an error code (clears the error queue).
  boost::system::error_code failure_of(int ssl_error);
  boost::system::error_code translate_wait_error(boost::system::error_code ec);

  /// Waits until the socket is readable or writable, or the deadline passes.
  template <class Handler>
  void wait(next what, Handler&& handler) {
    std::lock_guard lock(core_->mutex);
    if (core_->expired) {
      boost::asio::post(core_->socket.get_executor(), [h = std::move(handler)]() mutable {
        std::move(h)(boost::system::error_code(boost::asio::error::operation_aborted));
      });
      return;
    }
    core_->socket.async_wait(what == next::want_read ? boost::asio::ip::tcp::socket::wait_read
                                                     : boost::asio::ip::tcp::socket::wait_write,
                             std::move(handler));
  }

  template <class Buffers>
  static boost::asio::mutable_buffer first_buffer(const Buffers& buffers) {
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      boost::asio::mutable_buffer b(*it);
      if (b.size() > 0) return b;
    }
    return {};
  }
  template <class Buffers>
  boost::asio::const_buffer gather(const Buffers& buffers) {
    auto it = boost::asio::buffer_sequence_begin(buffers);
    const auto end = boost::asio::buffer_sequence_end(buffers);
    while (it != end && boost::asio::const_buffer(*it).size() == 0) ++it;
    if (it == end) return {};
    const boost::asio::const_buffer first(*it);
    if (first.size() >= gather_limit || std::next(it) == end) return first;
    std::size_t used = 0;
    for (; it != end && used < gather_limit; ++it) {
      const boost::asio::const_buffer b(*it);
      const std::size_t n = std::min(b.size(), gather_limit - used);
      std::memcpy(scratch_ + used, b.data(), n);
      used += n;
    }
    return {scratch_, used};
  }

  template <kind What>
  struct op {
    tls_stream& stream;
    void* data;
    std::size_t size;
    std::size_t done = 0;
    bool started = false;

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}) {
      const bool first_call = !started;
      started = true;
      if (!first_call && ec) return finish(self, stream.translate_wait_error(ec), done);
      if (size == 0 && What != kind::handshake) return complete(self, first_call, {}, 0);
      const outcome result = stream.attempt(What, data, size, done);
      if (result.then == next::done) return complete(self, first_call, result.ec, done);
      stream.wait(result.then, std::move(self));
    }

    // Completing inside the initiating call would run the caller's handler before async_*
    // returned; such results are posted (asio's own streams do the same).
    template <class Self>
    void complete(Self& self, bool first_call, boost::system::error_code ec, std::size_t n) {
      if (!first_call) return finish(self, ec, n);
      auto executor = stream.get_executor();
      boost::asio::post(executor,
                        [self = std::move(self), ec, n]() mutable { finish(self, ec, n); });
    }
    template <class Self>
    static void finish(Self& self, boost::system::error_code ec, std::size_t n) {
      if constexpr (What == kind::handshake) {
        self.complete(ec);
      } else {
        self.complete(ec, n);
      }
    }
  };

  std::shared_ptr<core> core_;
  SSL* ssl_ = nullptr;
  boost::system::error_code deferred_;   // a read's failure after it returned bytes: next read
  unsigned char scratch_[gather_limit];  // gathered small writes
};

}  // namespace dataport::http::detail
