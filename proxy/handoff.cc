// proxy/handoff.cc - see proxy/handoff.h.
#include "proxy/handoff.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "ipc/attr0.h"
#include "ipc/fdpass.h"
#include "ipc/msg_announce.h"
#include "ipc/msg_tlsproxy.h"
#include "proxy/context_list.h"
#include "util/log.h"
#include "util/timeval.h"

namespace pftls::proxy {

// Conn - one private/tlsproxy connection before its TLS session starts.
class HandoffServer::Conn {
 public:
  enum class State { kRequest, kHangup, kFd, kDone };

  Conn(HandoffServer* owner, UniqueFd fd, daemon::Lease lease)
      : owner_(owner), fd_(std::move(fd)), lease_(std::move(lease)) {}
  daemon::Lease TakeLease() { return std::move(lease_); }

  bool Start() {
    if (!SetNonBlocking(fd_.get())) return false;
    ev_.reset(event_new(owner_->base_, fd_.get(), EV_READ | EV_PERSIST, OnRead, this));
    timer_.reset(evtimer_new(owner_->base_, OnTimeout, this));
    if (!ev_ || !timer_) return false;
    auto hello = ipc::Announce{std::string(ipc::kTlsproxyProtocol)}.Encode();
    if (!hello) return false;
    hello_ = std::move(*hello);
    // pftls fronts send their request without waiting for the
    // announcement. When it is already here, announcement and status go
    // out in one write and (early hand-off) the session starts now: no
    // event, no wake-up on either side. A Postfix client waits for the
    // announcement: the read finds nothing and Wait() sends it. The read
    // runs on the next loop pass, not here: master's TAKEN/AVAIL pair
    // around this accept must not cover a handshake's work, or master
    // sees the pool busy and grows it for nothing.
    event_active(ev_.get(), EV_READ, 0);
    return true;
  }

  const std::string& endpoint() const { return req_.remote_endpoint; }
  const ipc::TlsproxyRequest& request() const { return req_; }
  bool connected() const { return connect_logged_; }
  bool quiet() const { return quiet_; }

  // ReleaseFd - stop watching and give the descriptor away.
  UniqueFd ReleaseFd() {
    ev_.reset();
    timer_.reset();
    retry_.reset();
    state_ = State::kDone;
    return std::move(fd_);
  }

 private:
  static void OnRead(evutil_socket_t, short, void* arg) { static_cast<Conn*>(arg)->Readable(); }
  static void OnRetry(evutil_socket_t, short, void* arg) {
    auto* c = static_cast<Conn*>(arg);
    if (c->state_ == State::kFd || c->state_ == State::kRequest) event_add(c->ev_.get(), nullptr);
  }

  // WaitForSlot - stop watching the socket (level-triggered: no spin) and
  // look again after kFdSlotRetry; the conn's timer still bounds the wait.
  void WaitForSlot() {
    if (!hello_.empty()) {
      if (!WriteAll(hello_)) return Drop();
      hello_.clear();
    }
    if (!watching_) {
      watching_ = true;
      ArmTimer();
    }
    event_del(ev_.get());
    if (!retry_) retry_.reset(evtimer_new(owner_->base_, OnRetry, this));
    timeval tv = ToTimeval(kFdSlotRetry);
    if (retry_) evtimer_add(retry_.get(), &tv);
    time_t now = time(nullptr);
    if (now - owner_->limit_warned_ >= 10) {
      owner_->limit_warned_ = now;
      log::Warn("descriptor limit reached: the client socket from %s waits until a session ends",
                req_.remote_endpoint.empty() ? "plaintext client" : req_.remote_endpoint.c_str());
    }
  }
  static void OnTimeout(evutil_socket_t, short, void* arg) {
    auto* c = static_cast<Conn*>(arg);
    const char* what = c->state_ == State::kRequest ? "request" : c->state_ == State::kFd ? "file descriptor" : "hang-up";
    log::Warn("timeout while waiting for %s from %s", what,
              c->req_.remote_endpoint.empty() ? "plaintext client" : c->req_.remote_endpoint.c_str());
    c->Drop();
  }

  void ArmTimer() {
    timeval tv{static_cast<time_t>(owner_->env_.init_timeout.count()), 0};
    evtimer_add(timer_.get(), &tv);
  }

  // Wait - for more from the client: the announcement goes first if it
  // has not, then the socket is watched under init_timeout.
  void Wait() {
    if (!hello_.empty()) {
      if (!WriteAll(hello_)) return Drop();
      hello_.clear();
    }
    if (!watching_) {
      event_add(ev_.get(), nullptr);
      watching_ = true;
      ArmTimer();
    }
  }

  bool WriteAll(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = send(fd_.get(), bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n > 0) {
        off += static_cast<size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        // A fresh local socket has room for a few dozen bytes; anything
        // else means the peer is gone or not reading.
        return false;
      }
    }
    return true;
  }

  void Drop() {
    if (connect_logged_) log::Info("DISCONNECT %s", req_.remote_endpoint.c_str());
    ev_.reset();
    timer_.reset();
    retry_.reset();
    fd_.reset();
    state_ = State::kDone;
    owner_->Retire(this);
  }

  void Readable() {
    switch (state_) {
      case State::kRequest: return ReadRequest();
      case State::kHangup: return ReadHangup();
      case State::kFd: return ReadFd();
      case State::kDone: return;
    }
  }

  void ReadRequest() {
    // recvmsg, not read: with the early hand-off the client socket rides
    // on the request's bytes, and a plain read would let the kernel
    // close it. The spare slot is given up for it as in ReadFd().
    uint8_t buf[4096];
    bool at_limit = false;
    auto got = owner_->RecvWithSlot(fd_.get(), buf, sizeof(buf), &at_limit);
    if (at_limit) return WaitForSlot();
    if (!got) {
      log::Warn("malformed request from plaintext client: %s", got.error().c_str());
      return Drop();
    }
    if (got->again) return Wait();
    if (got->eof) return Drop();  // gone before asking for anything
    for (UniqueFd& f : got->fds) {
      if (early_fd_) {
        log::Warn("malformed request from plaintext client: more than one descriptor");
        return Drop();
      }
      early_fd_ = std::move(f);
    }
    size_t n = got->n;
    auto used = parser_.Feed(std::span<const uint8_t>(buf, n));
    if (!used) {
      log::Warn("malformed request from plaintext client: %s", used.error().c_str());
      return Drop();
    }
    if (!parser_.done()) return Wait();
    if (*used != n) {
      log::Warn("unexpected data after request from plaintext client");
      return Drop();
    }
    auto req = ipc::TlsproxyRequest::Decode(parser_.Take());
    if (!req) {
      log::Warn("malformed request from plaintext client: %s", req.error().c_str());
      return Drop();
    }
    req_ = std::move(*req);
    bool early = req_.pftls_flags && (*req_.pftls_flags & ipc::kPftlsEarlyFd) != 0;
    if (early_fd_ && !early) {
      log::Warn("malformed request from plaintext client: a descriptor without the early hand-off flag");
      return Drop();
    }
    uint32_t role = req_.flags & (ipc::kTlsproxyRoleServer | ipc::kTlsproxyRoleClient);
    bool server = role == ipc::kTlsproxyRoleServer;
    const char* dir = server ? "from" : role == ipc::kTlsproxyRoleClient ? "to" : "(bogus_direction)";
    // A pftls front end with the early hand-off logs the session itself
    // (connect, disconnect, byte counts): CONNECT/DISCONNECT here would
    // only repeat it, unless the TLS loglevel asks for them.
    quiet_ = early && owner_->env_.loglevel < 1;
    if (!quiet_) {
      log::Info("CONNECT %s %s", dir, req_.remote_endpoint.c_str());
      connect_logged_ = true;
    }
    bool usable = false;
    if (role != ipc::kTlsproxyRoleServer && role != ipc::kTlsproxyRoleClient) {
      log::Warn("bad request flags: 0x%x", req_.flags);
    } else if (Status v = req_.Validate(); !v) {
      log::Warn("bad request from %s: %s", req_.remote_endpoint.c_str(), v.error().c_str());
    } else if (!server) {
      log::Warn("TLS client role is not supported by this tlsproxy; request from %s",
                req_.remote_endpoint.c_str());
    } else {
      usable = owner_->env_.ctx != nullptr;
    }
    // A probe (3.12) gets the answer, then we wait for the hang-up.
    bool probe = (req_.flags & ipc::kTlsproxyProbeOnly) != 0;
    auto status = ipc::TlsproxyStatus{usable ? 1u : 0u}.Encode();
    if (!status) return Drop();
    if (usable && !probe && early) {
      // Early hand-off: the client socket came with the request.
      if (!early_fd_) {
        log::Warn("no descriptor with the early hand-off request from %s", req_.remote_endpoint.c_str());
        return Drop();
      }
      // The front end acts on nothing before the context list: the
      // announcement and status go out with it, in one write (one
      // wake-up less for the front end; a failed handshake closes the
      // connection as before).
      std::string prelude = hello_ + *status;
      hello_.clear();
      if (!(req_.flags & ipc::kTlsproxySendContext)) {
        if (!WriteAll(prelude)) return Drop();
        prelude.clear();
      }
      owner_->StartSession(this, ReleaseFd(), std::move(early_fd_), std::move(prelude));
      return;  // *this is retired
    }
    if (!WriteAll(hello_ + *status)) return Drop();
    hello_.clear();
    early_fd_.reset();  // status 0 or a probe: the front end keeps its copy
    state_ = usable && !probe ? State::kFd : State::kHangup;
    watching_ = false;  // re-arm the deadline for the next step
    Wait();
  }

  void ReadHangup() {
    char buf[512];
    ssize_t n = read(fd_.get(), buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    Drop();  // EOF, error, or unexpected data: done either way
  }

  void ReadFd() {
    // The client socket arrives with the message; without a free slot the
    // kernel drops it (MSG_CTRUNC) and the client with it. At the limit
    // the message stays queued and we retry when a session may have ended.
    bool at_limit = false;
    auto got = owner_->RecvFd(fd_.get(), &at_limit);
    if (at_limit) return WaitForSlot();
    if (!got) {
      log::Warn("cannot receive file descriptor from %s: %s", req_.remote_endpoint.c_str(), got.error().c_str());
      return Drop();
    }
    if (!got->has_value()) return;  // nothing yet (spurious wake-up)
    UniqueFd client = std::move(**got);
    owner_->StartSession(this, ReleaseFd(), std::move(client), {});
  }

  HandoffServer* owner_;
  UniqueFd fd_;
  EventPtr ev_, timer_, retry_;
  State state_ = State::kRequest;
  ipc::Attr0Parser parser_;
  ipc::TlsproxyRequest req_;
  UniqueFd early_fd_;  // the client socket, when it came with the request
  std::string hello_;  // the announcement, until it is sent
  bool watching_ = false;
  bool connect_logged_ = false;
  bool quiet_ = false;  // no CONNECT/DISCONNECT lines
  daemon::Lease lease_;
};

HandoffServer::HandoffServer(event_base* base, HandoffEnv env) : base_(base), env_(std::move(env)) {
  reaper_.reset(event_new(base_, -1, 0, Reap, this));
  // The spare from the start: a process whose very first receive comes
  // at the descriptor limit still has a slot to give up, and the count
  // of descriptors a process holds does not change with its first client.
  TakeSpare();
}

HandoffServer::~HandoffServer() = default;

bool HandoffServer::FreeSlot(int any_fd) {
  if (spare_) {
    spare_.reset();
    return true;
  }
  UniqueFd probe(fcntl(any_fd, F_DUPFD_CLOEXEC, 0));
  return probe.valid();  // closed again at once: the slot it found is free
}

Result<std::optional<UniqueFd>> HandoffServer::RecvFd(int fd, bool* at_limit) {
  *at_limit = !FreeSlot(fd);
  if (*at_limit) return std::optional<UniqueFd>{};
  auto got = ipc::RecvFd(fd);
  TakeSpare();
  return got;
}

Result<ipc::Received> HandoffServer::RecvWithSlot(int fd, void* buf, size_t len, bool* at_limit) {
  *at_limit = !FreeSlot(fd);
  if (*at_limit) return ipc::Received{};
  auto got = ipc::RecvWithFds(fd, buf, len);
  TakeSpare();
  return got;
}

void HandoffServer::TakeSpare() {
  // A copy of standard input (/dev/null under master), never of a
  // connection (a held copy would keep that connection open after its
  // owner closed it). Without one, FreeSlot() probes instead.
  if (!spare_) spare_.reset(fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0));
}

void HandoffServer::Accept(UniqueFd fd, daemon::Lease lease) {
  auto conn = std::make_unique<Conn>(this, std::move(fd), std::move(lease));
  Conn* raw = conn.get();
  conns_.emplace(raw, std::move(conn));
  if (!raw->Start()) {
    log::Warn("cannot start hand-off with plaintext client: %s", strerror(errno));
    Retire(raw);
  }
}

void HandoffServer::StartSession(Conn* conn, UniqueFd plaintext, UniqueFd ciphertext, std::string prelude) {
  const ipc::TlsproxyRequest& req = conn->request();
  SessionParams p;
  p.endpoint = req.remote_endpoint;
  p.serverid = req.serverid;
  p.handshake_timeout = std::chrono::seconds(req.handshake_timeout);
  p.session_timeout = std::chrono::seconds(req.session_timeout);
  p.loglevel = env_.loglevel;
  p.fingerprint_md = env_.fingerprint_md;
  p.client_hello = env_.client_hello;
  p.plaintext_nonblocking = true;  // Conn::Start() made it so
  p.quiet = conn->quiet();
  // pftls extensions (tlsfront): Postfix clients never send them.
  p.half_close = req.pftls_flags && (*req.pftls_flags & ipc::kPftlsHalfClose) != 0;
  p.direct_relay = req.pftls_flags && (*req.pftls_flags & ipc::kPftlsDirectRelay) != 0;
  if (req.alpn) p.alpn = TlsSession::AlpnWire(*req.alpn);
  // The backend socket is a second descriptor to receive: same spare.
  if (p.direct_relay) p.recv_fd = [this](int fd, bool* at_limit) { return RecvFd(fd, at_limit); };
  if (req.flags & ipc::kTlsproxySendContext) {
    int level = static_cast<int>(env_.level);
    std::string namaddr = req.remote_endpoint;
    bool with_alpn = req.HasPftls();
    p.context = [level, namaddr, with_alpn, prelude = std::move(prelude)](const tls::SessionFacts& f) {
      return prelude + EncodeContextList(f, level, namaddr, with_alpn);
    };
  }
  auto session = std::make_unique<TlsSession>(base_, env_.ctx, std::move(plaintext), std::move(ciphertext),
                                              std::move(p), [this](TlsSession* s) { Retire(s); });
  TlsSession* raw = session.get();
  sessions_.emplace(raw, Live{std::move(session), conn->TakeLease()});
  Retire(conn);
  if (!raw->Start()) {
    log::Warn("cannot start TLS session for %s", raw->params().endpoint.c_str());
    Retire(raw);
  }
}

void HandoffServer::Retire(Conn* conn) {
  auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  dead_conns_.push_back(std::move(it->second));
  conns_.erase(it);
  event_active(reaper_.get(), EV_TIMEOUT, 0);
}

void HandoffServer::Retire(TlsSession* session) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  if (!session->params().quiet) log::Info("DISCONNECT %s", session->params().endpoint.c_str());
  if (env_.on_session_end) env_.on_session_end(*session);
  dead_sessions_.push_back(std::move(it->second));
  sessions_.erase(it);
  event_active(reaper_.get(), EV_TIMEOUT, 0);
}

void HandoffServer::Reap(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<HandoffServer*>(arg);
  self->dead_conns_.clear();
  self->dead_sessions_.clear();
}

}  // namespace pftls::proxy
