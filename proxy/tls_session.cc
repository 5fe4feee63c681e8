// proxy/tls_session.cc - see proxy/tls_session.h.
#include "proxy/tls_session.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "ipc/fdpass.h"
#include "ipc/msg_tlsproxy.h"
#include "util/log.h"
#include "util/timeval.h"

namespace pftls::proxy {
namespace {

// LogLibraryErrors - one warning per queued OpenSSL error, then clear.
void LogLibraryErrors() {
  const char *file = nullptr, *func = nullptr, *data = nullptr;
  int line = 0, flags = 0;
  unsigned long e;
  char buf[256];
  while ((e = ERR_get_error_all(&file, &line, &func, &data, &flags)) != 0) {
    ERR_error_string_n(e, buf, sizeof(buf));
    log::Warn("TLS library problem: %s:%s:%d:%s", buf, file ? file : "", line,
              (flags & ERR_TXT_STRING) && data ? data : "");
  }
}

bool IsLostConnection(int err) {
  if (err == SSL_ERROR_SYSCALL) return ERR_peek_error() == 0;
  if (err == SSL_ERROR_SSL) {
    unsigned long e = ERR_peek_last_error();
    return ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
  }
  return false;
}

ssize_t SendNoSignal(int fd, const char* p, size_t n) {
  ssize_t r = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (r < 0 && errno == ENOTSOCK) r = write(fd, p, n);
  return r;
}

// kShortRecord - a record this small came from a socket read that the
// socket could not fill (read-ahead asks for 16 KiB and more).
constexpr size_t kShortRecord = 4096;

int SessionExIndex() {
  static int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

}  // namespace

TlsSession* TlsSession::FromSsl(const SSL* ssl) {
  return static_cast<TlsSession*>(SSL_get_ex_data(ssl, SessionExIndex()));
}

int TlsSession::ClientHelloCallback(SSL* ssl, int*, void*) {
  TlsSession* s = FromSsl(ssl);
  if (!s || !s->params_.client_hello) return SSL_CLIENT_HELLO_SUCCESS;
  return s->params_.client_hello(*s, ssl) ? SSL_CLIENT_HELLO_SUCCESS : SSL_CLIENT_HELLO_RETRY;
}

void TlsSession::InstallClientHelloHook(SSL_CTX* ctx) {
  SSL_CTX_set_client_hello_cb(ctx, ClientHelloCallback, nullptr);
}

int TlsSession::AlpnCallback(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                             unsigned int inlen, void*) {
  TlsSession* s = FromSsl(ssl);
  if (!s || s->params_.alpn.empty()) return SSL_TLSEXT_ERR_NOACK;
  const auto* srv = reinterpret_cast<const unsigned char*>(s->params_.alpn.data());
  unsigned char* chosen = nullptr;
  unsigned char len = 0;
  // Server preference: the first of ours that the client lists.
  if (SSL_select_next_proto(&chosen, &len, srv, static_cast<unsigned>(s->params_.alpn.size()), in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;  // no overlap: go on without ALPN
  *out = chosen;
  *outlen = len;
  return SSL_TLSEXT_ERR_OK;
}

void TlsSession::InstallAlpnHook(SSL_CTX* ctx) { SSL_CTX_set_alpn_select_cb(ctx, AlpnCallback, nullptr); }

std::string TlsSession::AlpnWire(const std::string& list) {
  std::string out;
  size_t start = 0;
  while (start < list.size()) {
    size_t comma = list.find(',', start);
    size_t end = comma == std::string::npos ? list.size() : comma;
    if (end > start && end - start <= 255) {
      out.push_back(static_cast<char>(end - start));
      out.append(list, start, end - start);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

void TlsSession::Resume() {
  if (finished_ || !paused_) return;
  paused_ = false;
  DoHandshake();
}

TlsSession::TlsSession(event_base* base, SSL_CTX* ctx, UniqueFd plaintext, UniqueFd ciphertext,
                       SessionParams params, DoneFn on_done)
    : base_(base),
      params_(std::move(params)),
      on_done_(std::move(on_done)),
      cipher_fd_(std::move(ciphertext)),
      ssl_(SSL_new(ctx)) {
  if (params_.direct_relay) ctl_fd_ = std::move(plaintext);
  else plain_fd_ = std::move(plaintext);
}

TlsSession::~TlsSession() = default;

bool TlsSession::Start() {
  if (!ssl_ || !cipher_fd_ || (!plain_fd_ && !ctl_fd_)) return false;
  if (!params_.plaintext_nonblocking && !SetNonBlocking(plain_fd_ ? plain_fd_.get() : ctl_fd_.get())) return false;
  if (!SetNonBlocking(cipher_fd_.get())) return false;
  if (SSL_set_fd(ssl_.get(), cipher_fd_.get()) != 1) return false;
  if (SSL_set_ex_data(ssl_.get(), SessionExIndex(), this) != 1) return false;
  SSL_set_accept_state(ssl_.get());
  // Small TLS records (ticket, SMTP replies) must not wait for Nagle.
  int one = 1;
  (void)setsockopt(cipher_fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  cipher_rd_ev_.reset(event_new(base_, cipher_fd_.get(), EV_READ | EV_PERSIST, OnCipherEvent, this));
  cipher_wr_ev_.reset(event_new(base_, cipher_fd_.get(), EV_WRITE | EV_PERSIST, OnCipherEvent, this));
  if (plain_fd_) {
    plain_rd_ev_.reset(event_new(base_, plain_fd_.get(), EV_READ | EV_PERSIST, OnPlainEvent, this));
    plain_wr_ev_.reset(event_new(base_, plain_fd_.get(), EV_WRITE | EV_PERSIST, OnPlainEvent, this));
    if (!plain_rd_ev_ || !plain_wr_ev_) return false;
  }
  timer_ev_.reset(evtimer_new(base_, OnTimer, this));
  resume_ev_.reset(event_new(base_, -1, 0, OnResume, this));
  if (!cipher_rd_ev_ || !cipher_wr_ev_ || !timer_ev_ || !resume_ev_) return false;
  handshake_deadline_ = std::chrono::steady_clock::now() + params_.handshake_timeout;
  ArmTimer();
  DoHandshake();
  return true;
}

void TlsSession::OnCipherEvent(evutil_socket_t, short what, void* arg) {
  auto* s = static_cast<TlsSession*>(arg);
  if (what & EV_READ) s->cipher_rd_ready_ = true;
  if (what & EV_WRITE) s->cipher_wr_ready_ = true;
  if (!s->handshake_done_) {
    if (!s->paused_) s->DoHandshake();
  } else {
    s->Pump();
  }
}

void TlsSession::OnPlainEvent(evutil_socket_t, short what, void* arg) {
  auto* s = static_cast<TlsSession*>(arg);
  if (what & EV_READ) s->PlainRead();
  s->Pump();
}

void TlsSession::OnResume(evutil_socket_t, short, void* arg) { static_cast<TlsSession*>(arg)->Pump(); }

void TlsSession::OnTimer(evutil_socket_t, short, void* arg) {
  auto* s = static_cast<TlsSession*>(arg);
  const char* ep = s->params_.endpoint.c_str();
  if (!s->handshake_done_) {
    log::Warn("TLS handshake timeout for %s", ep);
    log::Info("TLS handshake failed for service=%s peer=%s", s->params_.serverid.c_str(), ep);
  } else if (!s->to_plain_buf_.empty()) {
    log::Warn("deadlock on ciphertext stream for %s", ep);
  } else if (!s->to_cipher_buf_.empty()) {
    log::Warn("ciphertext read/write timeout for %s", ep);
  } else {
    log::Warn("deadlock on plaintext stream for %s", ep);
  }
  s->Finish();
}

void TlsSession::DoHandshake() {
  if (finished_) return;
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_.get());
  if (r == 1) {
    handshake_done_ = true;
    read_want_ = Want::kRead;
    write_want_ = Want::kNone;
    // The handshake's last read took what the socket had (read-ahead):
    // whatever comes later wakes the (level-triggered) read event, so no
    // read() just to learn EAGAIN. Records OpenSSL already holds count.
    cipher_rd_ready_ = SSL_has_pending(ssl_.get()) != 0;
    cipher_wr_ready_ = true;
    std::string alpn;
    if (!params_.alpn.empty()) {
      const unsigned char* sel = nullptr;
      unsigned len = 0;
      SSL_get0_alpn_selected(ssl_.get(), &sel, &len);
      if (sel && len > 0) {
        alpn.assign(reinterpret_cast<const char*>(sel), len);
        log::Info("ALPN protocol %s for %s", alpn.c_str(), params_.endpoint.c_str());
      } else {
        log::Info("no ALPN protocol negotiated for %s", params_.endpoint.c_str());
      }
    }
    if (params_.loglevel >= 1 || params_.context) {
      tls::SessionFacts facts = tls::DescribeServerSession(ssl_.get(), params_.fingerprint_md);
      facts.alpn = std::move(alpn);
      if (params_.loglevel >= 1) log::Info("%s", tls::SummaryLine(facts, "from", params_.endpoint).c_str());
      if (params_.context && params_.direct_relay) {
        if (!StartControl(params_.context(facts))) {
          log::Warn("cannot send the TLS context to the front end for %s", params_.endpoint.c_str());
          Finish();
          return;
        }
      } else if (params_.context) {
        std::string ctx = params_.context(facts);
        if (!to_plain_buf_.Append(ctx.data(), ctx.size())) {
          log::Warn("TLS context list too large for %s", params_.endpoint.c_str());
          Finish();
          return;
        }
      }
    }
    ArmTimer();
    Pump();
    return;
  }
  int e = SSL_get_error(ssl_.get(), r);
  if (e == SSL_ERROR_WANT_READ) {
    handshake_want_ = Want::kRead;
    cipher_rd_ready_ = false;
  } else if (e == SSL_ERROR_WANT_WRITE) {
    handshake_want_ = Want::kWrite;
    cipher_wr_ready_ = false;
  } else if (e == SSL_ERROR_WANT_CLIENT_HELLO_CB) {
    paused_ = true;  // the hook calls Resume(); no ciphertext events meanwhile
    handshake_want_ = Want::kNone;
  } else {
    LogSslError("SSL_accept", r, e);
    log::Info("TLS handshake failed for service=%s peer=%s", params_.serverid.c_str(), params_.endpoint.c_str());
    Finish();
    return;
  }
  Rearm();
}

void TlsSession::LogSslError(const char* op, int ret, int err) {
  const char* ep = params_.endpoint.c_str();
  if (IsLostConnection(err)) {
    log::Info("%s error from %s: lost connection", op, ep);
  } else if (err == SSL_ERROR_SYSCALL) {
    log::Info("%s error from %s: %s", op, ep, errno ? strerror(errno) : "lost connection");
  } else {
    log::Info("%s error from %s: %d", op, ep, ret);
  }
  LogLibraryErrors();
}

bool TlsSession::SslWrite() {
  bool progress = false;
  while (!to_cipher_buf_.empty() && !tls_fatal_ && !close_notify_sent_) {
    if (write_want_ == Want::kWrite && !cipher_wr_ready_) break;
    if (write_want_ == Want::kRead && !cipher_rd_ready_) break;
    ERR_clear_error();
    size_t done = 0;
    int r = SSL_write_ex(ssl_.get(), to_cipher_buf_.Data(), to_cipher_buf_.size(), &done);
    if (r == 1) {
      to_cipher_buf_.Consume(done);
      to_cipher_ += done;
      write_want_ = Want::kNone;
      progress = true;
      continue;
    }
    int e = SSL_get_error(ssl_.get(), r);
    if (e == SSL_ERROR_WANT_WRITE) {
      write_want_ = Want::kWrite;
      cipher_wr_ready_ = false;
    } else if (e == SSL_ERROR_WANT_READ) {
      write_want_ = Want::kRead;
      cipher_rd_ready_ = false;
    } else {
      LogSslError("SSL_write", r, e);
      tls_fatal_ = tls_eof_ = true;
      to_cipher_buf_.Clear();
    }
    break;
  }
  return progress;
}

bool TlsSession::SslRead() {
  bool progress = false;
  while (!tls_eof_ && !tls_fatal_ && to_plain_buf_.room() > 0) {
    if (read_want_ == Want::kRead && !cipher_rd_ready_ && !SSL_has_pending(ssl_.get())) break;
    if (read_want_ == Want::kWrite && !cipher_wr_ready_) break;
    ERR_clear_error();
    size_t got = 0;
    int r = SSL_read_ex(ssl_.get(), to_plain_buf_.WriteSpace(), to_plain_buf_.room(), &got);
    if (r == 1) {
      to_plain_buf_.Commit(got);
      to_plain_ += got;
      read_want_ = Want::kNone;
      progress = true;
      // A record short of a full read-ahead buffer drained the socket
      // (almost always): let the read event say when more has come
      // instead of a read() that would only return EAGAIN.
      if (!SSL_has_pending(ssl_.get()) && got < kShortRecord) {
        read_want_ = Want::kRead;
        cipher_rd_ready_ = false;
        break;
      }
      continue;
    }
    to_plain_buf_.Trim();
    int e = SSL_get_error(ssl_.get(), r);
    if (e == SSL_ERROR_WANT_READ) {
      read_want_ = Want::kRead;
      cipher_rd_ready_ = false;
    } else if (e == SSL_ERROR_WANT_WRITE) {
      read_want_ = Want::kWrite;
      cipher_wr_ready_ = false;
    } else if (e == SSL_ERROR_ZERO_RETURN) {
      tls_eof_ = true;  // close_notify, or a bare EOF (SSL_OP_IGNORE_UNEXPECTED_EOF)
      progress = true;
    } else {
      LogSslError("SSL_read", r, e);
      tls_eof_ = tls_fatal_ = true;
      progress = true;
    }
    break;
  }
  return progress;
}

bool TlsSession::PlainWrite() {
  bool progress = false;
  while (plain_fd_ && !to_plain_buf_.empty() && !plain_dead_) {
    ssize_t n = SendNoSignal(plain_fd_.get(), to_plain_buf_.Data(), to_plain_buf_.size());
    if (n > 0) {
      to_plain_buf_.Consume(static_cast<size_t>(n));
      progress = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    plain_dead_ = plain_eof_ = true;  // the plaintext peer is gone
    to_plain_buf_.Clear();
    progress = true;
  }
  return progress;
}

void TlsSession::PlainRead() {
  if (!plain_fd_ || plain_eof_ || to_cipher_buf_.full() || finished_) return;
  ssize_t n = read(plain_fd_.get(), to_cipher_buf_.WriteSpace(), to_cipher_buf_.room());
  if (n > 0) {
    to_cipher_buf_.Commit(static_cast<size_t>(n));
    return;
  }
  to_cipher_buf_.Trim();
  if (n == 0) {
    plain_eof_ = true;
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    plain_eof_ = plain_dead_ = true;
    to_plain_buf_.Clear();
  }
}

void TlsSession::Pump() {
  if (finished_) return;
  bool any = false, more = false;
  for (int i = 0; i < 8; ++i) {
    bool progress = SslWrite();
    progress |= SslRead();
    progress |= PlainWrite();
    any |= progress;
    if (!progress) break;
    more = i == 7;
  }
  MaybeShutdown();
  if (finished_) return;
  Rearm();
  if (any) ArmTimer();
  // The cap above lets other sessions run; the "ready" flags mean no event
  // would wake us for what is left (bytes in the kernel or in OpenSSL), so
  // come back on the next loop pass.
  if (more) event_active(resume_ev_.get(), EV_TIMEOUT, 0);
}

void TlsSession::SendCloseNotify() {
  if (close_notify_sent_ || tls_fatal_) return;
  close_notify_sent_ = true;
  ERR_clear_error();
  (void)SSL_shutdown(ssl_.get());  // one attempt; a WANT result is not waited for
  ERR_clear_error();
}

void TlsSession::MaybeShutdown() {
  if (!plain_fd_) return;  // direct relay: everything waits for the backend (or the timer)
  bool up_done = plain_eof_ && to_cipher_buf_.empty();                  // nothing more for TLS
  bool down_done = (tls_eof_ && to_plain_buf_.empty()) || plain_dead_;  // nothing more for plaintext
  if (!params_.half_close) {
    if (plain_dead_ || up_done) {
      SendCloseNotify();  // plaintext side done: close_notify, then close both
      Finish();
    } else if (tls_eof_ && to_plain_buf_.empty()) {
      Finish();  // the TLS peer is done: no close_notify reply (spec §4.4)
    }
    return;
  }
  if (tls_eof_ && to_plain_buf_.empty() && !plain_wr_shut_ && !plain_dead_ && !up_done) {
    shutdown(plain_fd_.get(), SHUT_WR);  // (both done: the close below says it)
    plain_wr_shut_ = true;
  }
  if (up_done) SendCloseNotify();
  if (down_done && (up_done || tls_fatal_)) Finish();
}

void TlsSession::SetEvent(event* ev, bool* armed, bool want) {
  if (want == *armed) return;
  if (want) event_add(ev, nullptr);
  else event_del(ev);
  *armed = want;
}

void TlsSession::Rearm() {
  if (finished_) return;
  if (!handshake_done_) {
    SetEvent(cipher_rd_ev_.get(), &cipher_rd_armed_, handshake_want_ == Want::kRead);
    SetEvent(cipher_wr_ev_.get(), &cipher_wr_armed_, handshake_want_ == Want::kWrite);
    return;  // no plaintext I/O before the handshake completes
  }
  bool ssl_ok = !tls_fatal_;
  bool want_cr = ssl_ok && !cipher_rd_ready_ &&
                 ((read_want_ == Want::kRead && !tls_eof_ && to_plain_buf_.room() > 0) ||
                  (write_want_ == Want::kRead && !to_cipher_buf_.empty()));
  bool want_cw = ssl_ok && !cipher_wr_ready_ &&
                 ((read_want_ == Want::kWrite && !tls_eof_) ||
                  (write_want_ == Want::kWrite && !to_cipher_buf_.empty()));
  bool plain = static_cast<bool>(plain_fd_);  // direct relay: not before the backend arrives
  bool want_pr = plain && !plain_eof_ && to_cipher_buf_.room() > 0 && ssl_ok && !close_notify_sent_;
  bool want_pw = plain && !to_plain_buf_.empty() && !plain_dead_;
  SetEvent(cipher_rd_ev_.get(), &cipher_rd_armed_, want_cr);
  SetEvent(cipher_wr_ev_.get(), &cipher_wr_armed_, want_cw);
  if (plain) {
    SetEvent(plain_rd_ev_.get(), &plain_rd_armed_, want_pr);
    SetEvent(plain_wr_ev_.get(), &plain_wr_armed_, want_pw);
  }
}

void TlsSession::ArmTimer() {
  timeval tv;
  if (!handshake_done_) {
    tv = ToTimeval(handshake_deadline_ - std::chrono::steady_clock::now());
  } else {
    tv = {static_cast<time_t>(params_.session_timeout.count() + kSessionTimeoutSlack), 0};
  }
  evtimer_add(timer_ev_.get(), &tv);
}

void TlsSession::Finish() {
  if (finished_) return;
  finished_ = true;
  alive_.reset();
  // Events go before the descriptors they watch; SSL before its socket.
  cipher_rd_ev_.reset();
  cipher_wr_ev_.reset();
  plain_rd_ev_.reset();
  plain_wr_ev_.reset();
  timer_ev_.reset();
  resume_ev_.reset();
  slot_retry_ev_.reset();
  ctl_ev_.reset();
  SendDone();
  // A session that ended without a TLS error stays resumable: without this
  // OpenSSL would remove it from the cache (and tlsmgr) on SSL_free.
  if (ssl_ && handshake_done_ && !tls_fatal_) SSL_set_shutdown(ssl_.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  ssl_.reset();
  cipher_fd_.reset();
  plain_fd_.reset();
  ctl_fd_.reset();
  to_plain_buf_.Clear();
  to_cipher_buf_.Clear();
  if (on_done_) on_done_(this);
}

bool TlsSession::StartControl(const std::string& context) {
  // A fresh local stream has room for a context list (< 8 KiB): one send.
  ssize_t n = send(ctl_fd_.get(), context.data(), context.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n != static_cast<ssize_t>(context.size())) return false;
  ctl_ev_.reset(event_new(base_, ctl_fd_.get(), EV_READ | EV_PERSIST, OnControl, this));
  return ctl_ev_ && event_add(ctl_ev_.get(), nullptr) == 0;
}

void TlsSession::OnControl(evutil_socket_t, short, void* arg) { static_cast<TlsSession*>(arg)->ControlReadable(); }

void TlsSession::OnSlotRetry(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<TlsSession*>(arg);
  if (!self->finished_ && self->ctl_ev_) event_add(self->ctl_ev_.get(), nullptr);
}

void TlsSession::ControlReadable() {
  if (finished_) return;
  if (plain_fd_) {
    // Nothing more is expected: the front end ended the session.
    if (params_.loglevel >= 2) log::Info("front end closed the session for %s", params_.endpoint.c_str());
    Finish();
    return;
  }
  bool at_limit = false;
  auto got = params_.recv_fd ? params_.recv_fd(ctl_fd_.get(), &at_limit) : ipc::RecvFd(ctl_fd_.get());
  if (at_limit) {
    // Level-triggered: stop watching (no spin) and look again soon.
    event_del(ctl_ev_.get());
    if (!slot_retry_ev_) slot_retry_ev_.reset(evtimer_new(base_, OnSlotRetry, this));
    timeval tv = ToTimeval(kFdSlotRetry);
    if (slot_retry_ev_) evtimer_add(slot_retry_ev_.get(), &tv);
    return;
  }
  if (!got) {
    // The front end went away (or sent garbage) before the backend socket.
    if (params_.loglevel >= 2 || got.error().find("end of file") == std::string::npos)
      log::Info("no backend socket from the front end for %s: %s", params_.endpoint.c_str(), got.error().c_str());
    Finish();
    return;
  }
  if (!got->has_value()) return;
  if (!AttachBackend(std::move(**got))) {
    log::Warn("cannot relay to the backend for %s", params_.endpoint.c_str());
    Finish();
  }
}

bool TlsSession::AttachBackend(UniqueFd backend) {
  // Only a stream socket is a backend (not a file, not a pipe).
  int type = 0;
  socklen_t len = sizeof(type);
  if (getsockopt(backend.get(), SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) return false;
  if (!SetNonBlocking(backend.get())) return false;
  plain_fd_ = std::move(backend);
  plain_rd_ev_.reset(event_new(base_, plain_fd_.get(), EV_READ | EV_PERSIST, OnPlainEvent, this));
  plain_wr_ev_.reset(event_new(base_, plain_fd_.get(), EV_WRITE | EV_PERSIST, OnPlainEvent, this));
  if (!plain_rd_ev_ || !plain_wr_ev_) return false;
  cipher_rd_ready_ = SSL_has_pending(ssl_.get()) != 0;  // else the read event says
  cipher_wr_ready_ = true;
  Pump();
  return true;
}

void TlsSession::SendDone() {
  if (!ctl_fd_ || !handshake_done_) return;
  auto rec = ipc::TlsproxyDone{to_plain_, to_cipher_}.Encode();
  if (!rec) return;
  ssize_t n = send(ctl_fd_.get(), rec->data(), rec->size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  (void)n;  // best effort: the front end also learns the end from the close
}

}  // namespace pftls::proxy
