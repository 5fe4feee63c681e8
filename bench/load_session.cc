// bench/load_session.cc - see load_session.h.
#include "bench/load_session.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace pftls::bench {

namespace {

constexpr size_t kMaxInput = 64 * 1024;
constexpr size_t kChunk = 16 * 1024;
const char kPayload[kChunk] = {};  // zero bytes: the backend does not look at them

long UsSince(Clock::time_point t, Clock::time_point now) {
  return std::chrono::duration_cast<std::chrono::microseconds>(now - t).count();
}

}  // namespace

std::vector<ScriptStep> BuildScript(const LoadOptions& o) {
  std::vector<ScriptStep> s;
  const std::string ehlo = "EHLO " + o.helo + "\r\n";
  auto mail = [&](StepKind k) {
    if (!o.mail) return;
    s.push_back({k, "MAIL FROM:<bench@tlsload.example>\r\n", 250});
    s.push_back({k, "RCPT TO:<sink@tlsload.example>\r\n", 250});
    s.push_back({k, "DATA\r\n", 354});
    std::string body = "Subject: tlsload\r\n\r\n";
    for (long n = 0; n < o.message_bytes; n += 72) body += std::string(70, 'x') + "\r\n";
    s.push_back({k, body + ".\r\n", 250});
  };
  switch (o.mode) {
    case Mode::kStarttls:
      s.push_back({StepKind::kPlainReply, "", 220});
      s.push_back({StepKind::kPlainReply, ehlo, 250});
      s.push_back({StepKind::kPlainReply, "STARTTLS\r\n", 220});
      s.push_back({StepKind::kHandshake, "", 0});
      s.push_back({StepKind::kTlsReply, ehlo, 250});
      mail(StepKind::kTlsReply);
      s.push_back({StepKind::kTlsReply, "QUIT\r\n", 221});
      break;
    case Mode::kWrapper:
      s.push_back({StepKind::kHandshake, "", 0});
      s.push_back({StepKind::kTlsReply, "", 220});
      s.push_back({StepKind::kTlsReply, ehlo, 250});
      mail(StepKind::kTlsReply);
      s.push_back({StepKind::kTlsReply, "QUIT\r\n", 221});
      break;
    case Mode::kRaw:
      s.push_back({StepKind::kHandshake, "", 0});
      if (o.bytes > 0) s.push_back({StepKind::kXfer, "", 0});
      break;
    case Mode::kIdle:
      s.push_back({StepKind::kHandshake, "", 0});
      s.push_back({StepKind::kHold, "", 0});
      break;
  }
  s.push_back({StepKind::kClose, "", 0});
  return s;
}

SslSessionPtr SessionEnv::Take() {
  if (pool.empty()) return nullptr;
  if (SSL_SESSION_get_protocol_version(pool.back().get()) == TLS1_3_VERSION) {
    SslSessionPtr s = std::move(pool.back());
    pool.pop_back();
    return s;
  }
  SSL_SESSION_up_ref(pool.back().get());
  return SslSessionPtr(pool.back().get());
}

void SessionEnv::Keep(SSL_SESSION* s) {
  pool.emplace_back(s);
  if (pool.size() > 1024) pool.pop_front();
}

bool Session::Start(Clock::time_point now) {
  const LoadOptions& o = env_.opts;
  start_ = now;
  deadline_ = now + std::chrono::microseconds(static_cast<long>(o.timeout * 1e6));
  env_.stats.started++;
  fd_.reset(socket(o.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd_) {
    Fail(Err::kConnect, "socket");
    return false;
  }
  int one = 1;
  setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (o.spread_sources) {
    // 127.1.x.y: distinct client addresses, so per-client limits and
    // allowlists of the server under test stay out of the way.
    setsockopt(fd_.get(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    uint32_t i = source_index_ % (250 * 250);
    src.sin_addr.s_addr = htonl((127u << 24) | (1u << 16) | ((i / 250 + 1) << 8) | (i % 250 + 1));
    if (bind(fd_.get(), reinterpret_cast<sockaddr*>(&src), sizeof src) < 0) {
      Fail(Err::kConnect, "bind");
      return false;
    }
  }
  if (connect(fd_.get(), reinterpret_cast<const sockaddr*>(&o.addr), o.addr_len) < 0 && errno != EINPROGRESS) {
    Fail(Err::kConnect, strerror(errno));
    return false;
  }
  connecting_ = true;
  return true;
}

uint32_t Session::WantedEvents() const {
  if (finished_) return 0;
  if (connecting_ || want_write_) return EPOLLOUT | EPOLLIN;
  if (!tls_ && !out_.empty()) return EPOLLOUT | EPOLLIN;
  return EPOLLIN;
}

void Session::OnEvent(uint32_t events, Clock::time_point now) {
  if (finished_) return;
  if (connecting_) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return Fail(Err::kConnect, strerror(err));
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    connecting_ = false;
    Enter(now);
  }
  Pump(now);
}

void Session::CheckTimeout(Clock::time_point now) {
  if (finished_ || holding_ || now < deadline_) return;
  if (completed_) {  // only the closing exchange was left
    finished_ = true;
    fd_.reset();
    return;
  }
  Fail(Err::kTimeout, "timeout");
}

void Session::Fail(Err kind, const char* what) {
  if (finished_) return;
  LoadStats& s = env_.stats;
  switch (kind) {
    case Err::kConnect: s.err_connect++; break;
    case Err::kTls: s.err_tls++; break;
    case Err::kProtocol: s.err_protocol++; break;
    case Err::kTimeout: s.err_timeout++; break;
  }
  if (holding_) env_.held--;
  int k = static_cast<int>(kind);
  if (!env_.reported[k]) {
    env_.reported[k] = true;
    unsigned long e = ERR_peek_last_error();
    char ebuf[256] = "";
    if (e) ERR_error_string_n(e, ebuf, sizeof ebuf);
    fprintf(stderr, "tlsload: first error of its kind: step %zu: %s %s\n", step_, what, ebuf);
  }
  ERR_clear_error();
  finished_ = true;
  holding_ = false;
  ssl_.reset();
  fd_.reset();
}

void Session::Complete(Clock::time_point now) {
  completed_ = true;
  env_.stats.completed++;
  env_.stats.session_us.push_back(static_cast<uint32_t>(UsSince(start_, now)));
  // The close is best effort: a short grace for the server's close.
  Clock::time_point grace = now + std::chrono::seconds(1);
  if (grace < deadline_) deadline_ = grace;
}

void Session::Enter(Clock::time_point now) {
  const ScriptStep& st = env_.script[step_];
  out_ += st.send;
  switch (st.kind) {
    case StepKind::kHandshake: {
      ssl_.reset(SSL_new(env_.ctx));
      if (!ssl_ || SSL_set_fd(ssl_.get(), fd_.get()) != 1) return Fail(Err::kTls, "SSL_new");
      SSL_set_tlsext_host_name(ssl_.get(), "localhost");
      if (env_.opts.resume != Resume::kNone) {
        SslSessionPtr offer = env_.Take();
        if (offer) SSL_set_session(ssl_.get(), offer.get());
      }
      tls_ = true;
      hs_start_ = Clock::now();  // not `now`: a fast server can finish within this event
      break;
    }
    case StepKind::kXfer: {
      const LoadOptions& o = env_.opts;
      char hdr[64];
      char c = o.direction == Direction::kUp ? 'U' : o.direction == Direction::kDown ? 'D' : 'E';
      snprintf(hdr, sizeof hdr, "%c %ld\n", c, o.bytes);
      out_ += hdr;
      up_left_ = o.direction == Direction::kDown ? 0 : o.bytes;
      down_left_ = o.direction == Direction::kUp ? 3 : o.bytes;
      break;
    }
    case StepKind::kHold:
      holding_ = true;
      env_.held++;
      break;
    case StepKind::kClose:
      Complete(now);
      break;
    default:
      break;
  }
}

bool Session::Advance(Clock::time_point now) {
  if (step_ + 1 >= env_.script.size()) return false;
  step_++;
  Enter(now);
  return !finished_;
}

Session::Io Session::WriteOut() {
  while (!out_.empty()) {
    if (tls_) {
      size_t n = 0;
      int rc = SSL_write_ex(ssl_.get(), out_.data(), out_.size(), &n);
      if (rc != 1) {
        int e = SSL_get_error(ssl_.get(), rc);
        if (e == SSL_ERROR_WANT_WRITE) return want_write_ = true, Io::kBlocked;
        if (e == SSL_ERROR_WANT_READ) return Io::kBlocked;
        return Io::kError;
      }
      out_.erase(0, n);
    } else {
      ssize_t n = send(fd_.get(), out_.data(), out_.size(), MSG_NOSIGNAL);
      if (n < 0) return (errno == EAGAIN || errno == EINTR) ? Io::kBlocked : Io::kError;
      out_.erase(0, static_cast<size_t>(n));
    }
  }
  return Io::kDone;
}

Session::Io Session::ReadIn(char* buf, size_t len, size_t* got) {
  *got = 0;
  if (tls_) {
    int rc = SSL_read_ex(ssl_.get(), buf, len, got);
    if (rc == 1) return Io::kDone;
    int e = SSL_get_error(ssl_.get(), rc);
    if (e == SSL_ERROR_WANT_READ) return Io::kBlocked;
    if (e == SSL_ERROR_WANT_WRITE) return want_write_ = true, Io::kBlocked;
    if (e == SSL_ERROR_ZERO_RETURN) return Io::kEof;
    if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) return Io::kEof;
    return Io::kError;
  }
  ssize_t n = recv(fd_.get(), buf, len, 0);
  if (n > 0) return *got = static_cast<size_t>(n), Io::kDone;
  if (n == 0) return Io::kEof;
  return (errno == EAGAIN || errno == EINTR) ? Io::kBlocked : Io::kError;
}

// One complete SMTP reply at the front of in_: its code, and it is consumed.
bool Session::TakeReply(int* code) {
  size_t pos = 0;
  for (;;) {
    size_t nl = in_.find('\n', pos);
    if (nl == std::string::npos) return false;
    if (nl - pos < 4 || in_[pos + 3] == ' ' || in_[pos + 3] == '\r') {
      *code = atoi(in_.substr(pos, 3).c_str());
      in_.erase(0, nl + 1);
      return true;
    }
    pos = nl + 1;
  }
}

// Returns true when the step ended (advance), false when blocked or failed.
bool Session::StepReply() {
  Io w = WriteOut();
  if (w == Io::kError) return Fail(Err::kProtocol, "write"), false;
  char buf[4096];
  for (;;) {
    int code = 0;
    if (TakeReply(&code)) {
      if (code != env_.script[step_].expect) {
        char what[64];
        snprintf(what, sizeof what, "reply %d, expected %d", code, env_.script[step_].expect);
        return Fail(Err::kProtocol, what), false;
      }
      if (!out_.empty()) return false;  // the command is still being written
      return true;
    }
    if (in_.size() > kMaxInput) return Fail(Err::kProtocol, "reply too long"), false;
    size_t got = 0;
    Io r = ReadIn(buf, sizeof buf, &got);
    if (r == Io::kBlocked) return false;
    if (r != Io::kDone) return Fail(env_.script[step_].kind == StepKind::kTlsReply ? Err::kTls : Err::kProtocol,
                                    "closed before the reply"), false;
    in_.append(buf, got);
  }
}

bool Session::StepHandshake(Clock::time_point now) {
  int rc = SSL_connect(ssl_.get());
  if (rc == 1) {
    now = Clock::now();
    env_.stats.handshakes++;
    if (SSL_session_reused(ssl_.get())) env_.stats.reused++;
    env_.stats.handshake_us.push_back(static_cast<uint32_t>(UsSince(hs_start_, now)));
    return true;
  }
  int e = SSL_get_error(ssl_.get(), rc);
  if (e == SSL_ERROR_WANT_READ) return false;
  if (e == SSL_ERROR_WANT_WRITE) return want_write_ = true, false;
  Fail(Err::kTls, "handshake");
  return false;
}

bool Session::StepXfer() {
  char buf[kChunk];
  for (;;) {
    bool progress = false;
    Io w = WriteOut();
    if (w == Io::kError) return Fail(Err::kProtocol, "write"), false;
    while (w == Io::kDone && up_left_ > 0) {
      size_t n = static_cast<size_t>(std::min<long>(up_left_, static_cast<long>(kChunk)));
      size_t wrote = 0;
      int rc = SSL_write_ex(ssl_.get(), kPayload, n, &wrote);
      if (rc != 1) {
        int e = SSL_get_error(ssl_.get(), rc);
        if (e == SSL_ERROR_WANT_WRITE) want_write_ = true;
        else if (e != SSL_ERROR_WANT_READ) return Fail(Err::kProtocol, "payload write"), false;
        break;
      }
      up_left_ -= static_cast<long>(wrote);
      env_.stats.bytes_up += static_cast<long>(wrote);
      progress = true;
    }
    while (down_left_ > 0) {
      size_t got = 0;
      Io r = ReadIn(buf, sizeof buf, &got);
      if (r == Io::kBlocked) break;
      if (r != Io::kDone) return Fail(Err::kProtocol, "payload read"), false;
      if (env_.opts.direction == Direction::kUp) {
        down_left_ -= static_cast<long>(got);  // "OK\n"
      } else {
        down_left_ -= static_cast<long>(got);
        env_.stats.bytes_down += static_cast<long>(got);
      }
      progress = true;
    }
    if (up_left_ <= 0 && down_left_ <= 0 && out_.empty()) return true;
    if (!progress) return false;
  }
}

// Closing: close_notify, then read until the server closes (this also
// lets a TLS 1.3 client take the tickets the server sent).
bool Session::StepClose(Clock::time_point /*now*/) {
  if (!tls_) {
    finished_ = true;
    fd_.reset();
    return false;
  }
  if (!shutdown_sent_) {
    shutdown_sent_ = true;
    SSL_shutdown(ssl_.get());
  }
  char buf[4096];
  for (;;) {
    size_t got = 0;
    Io r = ReadIn(buf, sizeof buf, &got);
    if (r == Io::kBlocked) return false;
    if (r != Io::kDone) break;
  }
  ERR_clear_error();
  finished_ = true;
  ssl_.reset();
  fd_.reset();
  return false;
}

void Session::Pump(Clock::time_point now) {
  want_write_ = false;
  while (!finished_) {
    const ScriptStep& st = env_.script[step_];
    bool done = false;
    switch (st.kind) {
      case StepKind::kPlainReply:
      case StepKind::kTlsReply:
        done = StepReply();
        break;
      case StepKind::kHandshake:
        done = StepHandshake(now);
        break;
      case StepKind::kXfer:
        done = StepXfer();
        break;
      case StepKind::kHold: {
        char buf[4096];
        size_t got = 0;
        Io r;
        while ((r = ReadIn(buf, sizeof buf, &got)) == Io::kDone) {
        }
        if (r == Io::kEof || r == Io::kError) Fail(Err::kProtocol, "held connection closed by the server");
        return;
      }
      case StepKind::kClose:
        StepClose(now);
        return;
    }
    if (!done || finished_) return;
    if (!Advance(now)) return;
  }
}

}  // namespace pftls::bench
