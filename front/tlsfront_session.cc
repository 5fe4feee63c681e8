// front/tlsfront_session.cc - see front/tlsfront_session.h.
#include "front/tlsfront_session.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "front/backend_addr.h"
#include "front/proxy_protocol.h"
#include "ipc/fdpass.h"
#include "ipc/msg_context.h"
#include "ipc/msg_tlsproxy.h"
#include "util/log.h"
#include "util/timeval.h"

namespace pftls::front {
namespace {

void NoDelay(int fd) {
  int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));  // fails harmlessly on AF_UNIX
}

}  // namespace

Result<ProxyHeader> ParseProxyHeader(const std::string& value) {
  if (value.empty() || value == "none") return ProxyHeader::kNone;
  if (value == "v1") return ProxyHeader::kV1;
  if (value == "v2") return ProxyHeader::kV2;
  return MakeError("\"" + value + "\" is not one of none, v1, v2");
}

TlsfrontSession::TlsfrontSession(event_base* base, const TlsfrontConfig& cfg, UniqueFd client,
                                 const sockaddr_storage& peer, DoneFn done)
    : base_(base), cfg_(cfg), done_(std::move(done)), peer_(peer), client_(std::move(client)) {
  endpoint_ = "[" + AddrString(peer) + "]:" + std::to_string(AddrPort(peer));
}

TlsfrontSession::~TlsfrontSession() = default;

void TlsfrontSession::Start() {
  log::Info("connect from %s", endpoint_.c_str());
  if (cfg_.proxy != ProxyHeader::kNone) {  // the header's destination
    socklen_t len = sizeof(local_);
    getsockname(client_.get(), reinterpret_cast<sockaddr*>(&local_), &len);
  }
  // TCP_NODELAY on the client socket is tlsproxy's (it writes there).
  ipc::TlsproxyRequest req;
  req.remote_endpoint = endpoint_;
  req.flags = ipc::kTlsproxyRoleServer | ipc::kTlsproxySendContext;
  req.handshake_timeout = static_cast<uint32_t>(cfg_.tls_timeout);
  // tlsproxy's inactivity limit must not cut the relay before ours does.
  long session = std::max<long>(cfg_.idle_timeout.count(), cfg_.tls_timeout);
  req.session_timeout = static_cast<uint32_t>(std::min<long>(session, ipc::kMaxTlsproxyTimeout));
  req.serverid = cfg_.serverid;
  req.pftls_flags = ipc::kPftlsHalfClose | ipc::kPftlsEarlyFd | (cfg_.direct_relay ? ipc::kPftlsDirectRelay : 0);
  if (!cfg_.alpn.empty()) req.alpn = cfg_.alpn;
  handoff_ = std::make_unique<HandoffClient>(base_, cfg_.tlsproxy_path, std::move(req), client_.get(),
                                             [this](HandoffResult r) { HandoffDone(std::move(r)); });
  handoff_->Start();
}

void TlsfrontSession::HandoffDone(HandoffResult r) {
  handoff_.reset();  // allowed: the client's callback is its last action
  client_.reset();   // tlsproxy owns the client socket now (or nobody does)
  if (!r.ready) {
    log::Warn("%s: %s", endpoint_.c_str(), r.error.c_str());
    return Finish("TLS not available");
  }
  proxy_ = std::move(r.proxy);
  if (!ctx_reader_.Start(base_, proxy_.get(), std::chrono::seconds(cfg_.tls_timeout + 10), endpoint_,
                         [this](ContextResult c) { ContextRead(std::move(c)); }, r.prelude))
    return Finish("out of memory");
}

void TlsfrontSession::ContextRead(ContextResult c) {
  if (c.failure) return Finish(c.failure);
  early_ = std::move(c.early);
  if (cfg_.direct_relay && !early_.empty()) {
    log::Warn("unexpected data after the TLS context from tlsproxy for %s", endpoint_.c_str());
    return Finish("bad TLS context");
  }
  tls_version_ = std::move(c.ctx.cipher_protocol);
  tls_cipher_ = std::move(c.ctx.cipher_name);
  sig_alg_ = std::move(c.ctx.srvr_signature);
  key_alg_ = std::move(c.ctx.key_exchange);
  peer_status_ = c.ctx.peer_status;
  if (c.ctx.alpn) alpn_ = std::move(*c.ctx.alpn);
  ConnectBackend();
}

void TlsfrontSession::ConnectBackend() {
  int family = cfg_.backend.ss_family;
  backend_.reset(socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!backend_) {
    log::Warn("%s: backend socket: %s", endpoint_.c_str(), strerror(errno));
    return Finish("backend unavailable");
  }
  if (family != AF_UNIX) NoDelay(backend_.get());
  if (connect(backend_.get(), reinterpret_cast<const sockaddr*>(&cfg_.backend), cfg_.backend_len) == 0)
    return StartRelay();
  if (errno != EINPROGRESS && errno != EAGAIN) {
    log::Warn("%s: connect to backend: %s", endpoint_.c_str(), strerror(errno));
    return Finish("backend unavailable");
  }
  // A loopback backend has usually answered by the time connect()
  // returns: a peer address means connected, no need to wait for it.
  sockaddr_storage peer;
  socklen_t peer_len = sizeof(peer);
  if (getpeername(backend_.get(), reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0) return StartRelay();
  ev_.reset(event_new(base_, backend_.get(), EV_WRITE, OnBackendConnect, this));
  if (!ev_) return Finish("out of memory");
  timeval tv = ToTimeval(kBackendConnectTimeout);
  event_add(ev_.get(), &tv);
}

void TlsfrontSession::OnBackendConnect(evutil_socket_t, short what, void* arg) {
  static_cast<TlsfrontSession*>(arg)->BackendConnected(what);
}

void TlsfrontSession::BackendConnected(short what) {
  ev_.reset();
  if (what & EV_TIMEOUT) {
    log::Warn("%s: connect to backend: timeout", endpoint_.c_str());
    return Finish("backend unavailable");
  }
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(backend_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    log::Warn("%s: connect to backend: %s", endpoint_.c_str(), strerror(err ? err : errno));
    return Finish("backend unavailable");
  }
  StartRelay();
}

void TlsfrontSession::StartRelay() {
  std::string head;
  if (cfg_.proxy != ProxyHeader::kNone) {
    ProxyInfo p;
    p.src = peer_;
    p.dst = local_;
    p.tls = true;
    p.cert_presented = (peer_status_ & ipc::kPeerStatusPresent) != 0;
    p.cert_verified = (peer_status_ & ipc::kPeerStatusTrusted) != 0;
    p.tls_version = tls_version_;
    p.tls_cipher = tls_cipher_;
    p.sig_alg = sig_alg_;
    p.key_alg = key_alg_;
    p.alpn = alpn_;
    head = cfg_.proxy == ProxyHeader::kV1 ? ProxyV1Header(p) : ProxyV2Header(p);
  }
  if (cfg_.direct_relay) return StartDirect(std::move(head));
  head += early_;
  early_.clear();
  RelayOptions opts;
  opts.idle_timeout = cfg_.idle_timeout;
  opts.total_timeout = cfg_.total_timeout;
  relay_ = std::make_unique<Relay>(base_, std::move(proxy_), std::move(backend_), opts, [this](Relay* r) {
    if (log::Verbose()) log::Info("%s: relay ended: %s", endpoint_.c_str(), r->Reason());
    Finish(r->Reason());
  });
  if (!relay_->Start(head)) Finish("cannot start relay");
}

void TlsfrontSession::StartDirect(std::string head) {
  // The header goes out before tlsproxy owns the socket; a freshly
  // connected socket takes a PROXY header (< 600 bytes) in one send.
  if (!head.empty() &&
      send(backend_.get(), head.data(), head.size(), MSG_NOSIGNAL | MSG_DONTWAIT) != static_cast<ssize_t>(head.size())) {
    log::Warn("%s: cannot write the PROXY header to the backend: %s", endpoint_.c_str(), strerror(errno));
    return Finish("backend unavailable");
  }
  if (Status st = ipc::SendFd(proxy_.get(), backend_.get()); !st) {
    log::Warn("%s: cannot hand the backend socket to tlsproxy: %s", endpoint_.c_str(), st.error().c_str());
    return Finish("tlsproxy unavailable");
  }
  backend_.reset();
  parser_ = ipc::Attr0Parser();
  context_bytes_ = 0;
  ev_.reset(event_new(base_, proxy_.get(), EV_READ | EV_PERSIST, OnDirectEvent, this));
  if (!ev_ || event_add(ev_.get(), nullptr) != 0) return Finish("out of memory");
  if (cfg_.total_timeout.count() > 0) {
    total_.reset(evtimer_new(base_, OnDirectEvent, this));
    timeval tv = ToTimeval(cfg_.total_timeout);
    if (!total_ || evtimer_add(total_.get(), &tv) != 0) return Finish("out of memory");
  }
}

void TlsfrontSession::OnDirectEvent(evutil_socket_t, short what, void* arg) {
  static_cast<TlsfrontSession*>(arg)->DirectEvent(what);
}

void TlsfrontSession::DirectEvent(short what) {
  if (what & EV_TIMEOUT) return Finish("timeout");  // closing proxy_ ends tlsproxy's relay
  uint8_t buf[512];
  for (;;) {  // the end record and tlsproxy's close usually come together
    ssize_t n = read(proxy_.get(), buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) return Finish("done");
    if (done_counts_) {
      log::Warn("unexpected data from tlsproxy for %s", endpoint_.c_str());
      return Finish("done");
    }
    auto used = parser_.Feed(std::span<const uint8_t>(buf, static_cast<size_t>(n)));
    context_bytes_ += static_cast<size_t>(n);
    if (!used || context_bytes_ > sizeof(buf)) {
      log::Warn("bad end record from tlsproxy for %s", endpoint_.c_str());
      return Finish("done");
    }
    if (!parser_.done()) continue;
    auto rec = ipc::TlsproxyDone::Decode(parser_.Take());
    if (!rec) {
      log::Warn("bad end record from tlsproxy for %s: %s", endpoint_.c_str(), rec.error().c_str());
      return Finish("done");
    }
    done_counts_ = *rec;
  }
}

void TlsfrontSession::Finish(const char* why) {
  if (finished_) return;
  finished_ = true;
  uint64_t in = relay_ ? relay_->bytes_a_to_b() : 0, out = relay_ ? relay_->bytes_b_to_a() : 0;
  if (done_counts_) {
    in = done_counts_->bytes_in;
    out = done_counts_->bytes_out;
  }
  log::Info("disconnect from %s in=%llu out=%llu (%s)", endpoint_.c_str(), static_cast<unsigned long long>(in),
            static_cast<unsigned long long>(out), why);
  handoff_.reset();
  ctx_reader_.Stop();
  ev_.reset();
  total_.reset();
  client_.reset();
  proxy_.reset();
  backend_.reset();
  // relay_ may be the caller: it is destroyed with the session, later.
  if (done_) done_(this);
}

}  // namespace pftls::front
