// front/smtp_session.cc - see front/smtp_session.h.
#include "front/smtp_session.h"

#include <algorithm>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>

#include "front/backend_addr.h"
#include "util/log.h"

namespace pftls::front {
namespace {

constexpr char kEndOfData[] = "\r\n.\r\n";

bool AllowedBeforeTls(Verb v) {
  return v == Verb::kEhlo || v == Verb::kHelo || v == Verb::kNoop || v == Verb::kRset || v == Verb::kQuit ||
         v == Verb::kStartTls;
}

}  // namespace

SmtpSession::SmtpSession(event_base* base, const FrontConfig& cfg, UniqueFd client, const sockaddr_storage& peer,
                         DoneFn done)
    : base_(base), cfg_(cfg), done_(std::move(done)), client_fd_(std::move(client)) {
  addr_ = AddrString(peer);
  port_ = std::to_string(AddrPort(peer));
  endpoint_ = "[" + addr_ + "]:" + port_;
}

SmtpSession::~SmtpSession() = default;

void SmtpSession::ExpectQueue::pop_front() {
  if (++head_ == items_.size()) {
    std::vector<Expect>().swap(items_);  // empty: no storage
    head_ = 0;
  } else if (head_ >= 64 && head_ * 2 >= items_.size()) {
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));  // a long pipeline
    head_ = 0;
  }
}

bool SmtpSession::AttachClient(int fd) {
  client_ = std::make_unique<SmtpConn>(base_, kMaxBuffered);
  if (!client_->Attach(fd)) return false;
  client_->SetCallbacks(ClientRead, ClientWritten, ClientEvent, this);
  client_->SetTimeouts(cfg_.idle_timeout, cfg_.idle_timeout);
  client_->Enable(EV_READ | EV_WRITE);
  return true;
}

// HandoffRequest - the tlsproxy request: the handshake timeout is
// smtpfront_tls_timeout; the session timeout (tlsproxy's inactivity limit
// for the relayed session, + 10 s) is the larger of that and
// smtpfront_timeout. postscreen sends one value for both because it hands
// the session to smtpd after a few commands; smtpfront relays the whole
// session, so a backend that takes longer than the handshake timeout to
// answer (a large message) must not end it.
ipc::TlsproxyRequest SmtpSession::HandoffRequest() const {
  long session = std::max<long>(cfg_.idle_timeout.count(), cfg_.tls_timeout);
  // Wrapper mode asks for the context: its arrival says the handshake is
  // done (the backend is connected only then).
  uint32_t flags = ipc::kTlsproxyRoleServer | (cfg_.wrapper ? ipc::kTlsproxySendContext : 0u);
  return {endpoint_, flags, static_cast<uint32_t>(cfg_.tls_timeout),
          static_cast<uint32_t>(session), cfg_.serverid, {}};
}

void SmtpSession::Start() {
  log::Info("CONNECT from %s", endpoint_.c_str());
  if (cfg_.wrapper) {
    phase_ = Phase::kHandoff;
    ipc::TlsproxyRequest req = HandoffRequest();
    handoff_ = std::make_unique<HandoffClient>(base_, cfg_.tlsproxy_path, req, client_fd_.get(),
                                               [this](HandoffResult r) { HandoffDone(std::move(r)); });
    handoff_->Start();
    return;
  }
  // The client's input waits in its buffer until the relay starts; its
  // EOF or idle timeout ends the session even while the backend is slow.
  if (!AttachClient(client_fd_.release())) return Finish("out of memory");
  if (!ConnectBackend()) return CloseAfter("421 4.3.2 Service currently unavailable\r\n", "backend unavailable");
}

// ConnectBackend - connect and wait for the greeting, bounded until the
// relay starts (after that the client's idle timeout bounds each wait).
bool SmtpSession::ConnectBackend() {
  phase_ = Phase::kConnecting;
  backend_ = std::make_unique<SmtpConn>(base_, kMaxBuffered);
  backend_->SetCallbacks(BackendRead, BackendWritten, BackendEvent, this);
  backend_->SetTimeouts(cfg_.idle_timeout, kBackendConnectTimeout);
  if (!backend_->Connect(reinterpret_cast<const sockaddr*>(&cfg_.backend), cfg_.backend_len)) {
    log::Warn("connect to backend: %s", strerror(errno));
    backend_.reset();
    return false;
  }
  return true;
}

// EnterRelay - the backend's greeting is the client's: relay from now on.
void SmtpSession::EnterRelay() {
  phase_ = Phase::kRelay;
  std::string().swap(greeting_);  // not needed any more
  // From now on the client's idle timeout bounds each wait for a reply;
  // the backend's output must still make progress (see Backpressure).
  if (backend_) backend_->SetTimeouts(std::chrono::seconds(0), cfg_.idle_timeout);
  client_->Enable(EV_READ);
  OnClientData();  // input that came meanwhile waits in the buffer
}

void SmtpSession::ClientRead(SmtpConn*, void* arg) { static_cast<SmtpSession*>(arg)->OnClientData(); }
void SmtpSession::BackendRead(SmtpConn*, void* arg) { static_cast<SmtpSession*>(arg)->OnBackendData(); }

void SmtpSession::ClientEvent(SmtpConn*, short what, void* arg) {
  auto* s = static_cast<SmtpSession*>(arg);
  if (s->phase_ == Phase::kDone) return s->Finish(s->closing_why_);  // last reply not deliverable
  if (what & BEV_EVENT_TIMEOUT) {
    if (what & BEV_EVENT_WRITING) {  // replies not read for the idle timeout: a last one would not be either
      log::Info("timeout after %s from %s (client not reading)", s->data_mode_ ? "DATA" : "command",
                s->endpoint_.c_str());
      return s->Finish("timeout");
    }
    log::Info("timeout after %s from %s", s->data_mode_ ? "DATA" : "command", s->endpoint_.c_str());
    return s->CloseAfter("421 4.4.2 " + s->cfg_.myhostname + " Error: timeout exceeded\r\n", "timeout");
  }
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
    if ((what & BEV_EVENT_EOF) && s->phase_ == Phase::kRelay && s->backend_ && !s->client_eof_) {
      // The client sent all it will; it may still read (a half-close).
      // What it sent is still relayed and answered, then the session
      // ends (EndAfterEof). No client read timeout runs any more: the
      // backend's replies are bounded by the idle timeout instead.
      s->client_eof_ = true;
      s->backend_->SetTimeouts(s->cfg_.idle_timeout, s->cfg_.idle_timeout);
      s->OnClientData();  // ends with EndAfterEof()
      return;
    }
    // A client that went away: bytes it sent still reach the backend.
    if (((what & BEV_EVENT_EOF) || s->client_eof_) && s->backend_ && s->backend_->output_size() > 0)
      return s->FlushBackendThenFinish();
    s->Finish("client disconnected");
  }
}

// FlushBackendThenFinish - the client is gone or done: what it sent and
// the backend has not taken yet still goes (bounded by the backend's
// write timeout), then the session ends.
void SmtpSession::FlushBackendThenFinish() {
  client_.reset();
  backend_->SetCallbacks(nullptr, BackendFlushed, BackendEvent, this);
}

// EndAfterEof - after the client's EOF: once its input holds no further
// command or content, every reply has been passed on and the client has
// taken them all, the session ends.
void SmtpSession::EndAfterEof() {
  if (!client_eof_ || finished_ || phase_ != Phase::kRelay || !client_) return;
  std::string_view in = client_->input();
  bool more = !in.empty() && (data_mode_ || bdat_left_ > 0 || in.find('\n') != std::string_view::npos);
  if (more || !expect_.empty() || client_->output_size() > 0) return;
  if (backend_ && backend_->output_size() > 0) return FlushBackendThenFinish();
  Finish("client disconnected");
}

void SmtpSession::BackendFlushed(SmtpConn*, void* arg) { static_cast<SmtpSession*>(arg)->Finish("client disconnected"); }

// BackendWritten - the backend took everything queued: held client
// input may move on.
void SmtpSession::BackendWritten(SmtpConn*, void* arg) { static_cast<SmtpSession*>(arg)->OnClientData(); }

void SmtpSession::BackendEvent(SmtpConn*, short what, void* arg) {
  auto* s = static_cast<SmtpSession*>(arg);
  if (what & BEV_EVENT_CONNECTED) {
    s->phase_ = Phase::kGreeting;
    s->backend_->Enable(EV_READ | EV_WRITE);
    return;
  }
  static const char kUnavailable[] = "421 4.3.2 Service currently unavailable\r\n";
  if (what & BEV_EVENT_TIMEOUT) {
    const char* what_for = s->phase_ == Phase::kConnecting   ? "to accept the connection"
                           : (what & BEV_EVENT_WRITING) != 0 ? "to take data"
                                                             : "to answer";
    log::Warn("timeout while waiting for the backend %s for %s", what_for, s->endpoint_.c_str());
    return s->CloseAfter(kUnavailable, "backend timeout");
  }
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
    if (s->phase_ == Phase::kConnecting) {
      log::Warn("connect to backend for %s: %s", s->endpoint_.c_str(), strerror(errno));
      return s->CloseAfter(kUnavailable, "backend unavailable");
    }
    // Deliver what the backend said last (e.g. 221), then close.
    s->CloseAfter("", "backend disconnected");
  }
}

// CloseAfter - last words to the client, then close: the backend goes at
// once, the client once its pending output is written (bounded by the
// idle timeout, as a write timeout).
void SmtpSession::CloseAfter(const std::string& reply, const char* why) {
  backend_.reset();
  phase_ = Phase::kDone;
  closing_why_ = why;
  if (!client_) return Finish(why);
  SendClient(reply);
  if (client_->output_size() == 0) return Finish(why);
  client_->Disable(EV_READ);
  client_->SetTimeouts(std::chrono::seconds(0), cfg_.idle_timeout);
  client_->SetCallbacks(nullptr, ClientWritten, ClientEvent, this);
}

// ClientWritten - the client took every reply: a pending STARTTLS can go
// on, and backend replies and client input held back by a full reply
// queue move again.
void SmtpSession::ClientWritten(SmtpConn*, void* arg) {
  auto* s = static_cast<SmtpSession*>(arg);
  if (s->phase_ == Phase::kDone) return s->Finish(s->closing_why_);
  if (s->phase_ == Phase::kRelay && s->backend_ && !s->backend_->input().empty()) {
    s->OnBackendData();
    if (s->finished_) return;
  }
  s->OnClientData();
  if (s->finished_) return;
  s->MaybeStartTls();
}

void SmtpSession::SendClient(std::string_view bytes) {
  if (client_) client_->Write(bytes);
}

void SmtpSession::SendBackend(std::string_view bytes) {
  if (backend_) backend_->Write(bytes);
}

void SmtpSession::OnBackendData() {
  // A client that does not read its replies: the backend's replies wait
  // (ClientWritten resumes).
  if (client_ && client_->output_size() >= kMaxBuffered) return;
  std::string_view in = backend_->input();
  replies_.Feed(in);
  backend_->Drain(in.size());
  while (auto r = replies_.Next()) {
    OnBackendReply(*r);
    if (finished_) return;
  }
  if (replies_.Overflowed()) {
    log::Warn("backend reply too long for %s", endpoint_.c_str());
    Finish("backend protocol error");
  }
}

void SmtpSession::OnBackendReply(const SmtpReply& r) {
  switch (phase_) {
    case Phase::kConnecting:
    case Phase::kGreeting:
      greeting_ = r.raw;
      if (r.code != 220) {
        SendClient(greeting_);
        return EnterRelay();
      }
      SendBackend("EHLO " + cfg_.myhostname + "\r\n");
      phase_ = Phase::kProbeEhlo;
      return;
    case Phase::kProbeEhlo: {
      EhloInfo info = InspectEhloReply(r);
      if (r.code == 250 && info.xclient) {
        std::string x = "XCLIENT ADDR=" + std::string(addr_.find(':') != std::string::npos ? "IPV6:" : "") + addr_;
        for (const auto& a : info.xclient_attrs)
          if (a == "PORT") x += " PORT=" + port_;
        SendBackend(x + "\r\n");
        phase_ = Phase::kXclient;
        return;
      }
      SendClient(greeting_);
      return EnterRelay();
    }
    case Phase::kXclient:
      if (r.code != 220) log::Warn("backend refused XCLIENT for %s: %s", endpoint_.c_str(), r.lines[0].c_str());
      SendClient(r.code == 220 ? r.raw : greeting_);
      EnterRelay();
      return;
    default:
      break;
  }
  while (!expect_.empty() && expect_.front().local) {
    SendClient(expect_.front().text);
    expect_.pop_front();
  }
  std::string text = r.raw;
  if (!expect_.empty()) {
    Verb v = expect_.front().verb;
    expect_.pop_front();
    if (v == Verb::kEhlo) text = RewriteEhloReply(r, cfg_.level != tls::TlsLevel::kNone && !tls_active_);
    if (v == Verb::kData) {
      await_data_reply_ = false;
      if (r.code == 354) {
        data_mode_ = true;
        data_tail_ = 2;  // content starts at the beginning of a line
      }
    }
  }
  SendClient(text);
  Drain();
  OnClientData();  // input held back while a reply was outstanding
}

void SmtpSession::Local(const std::string& text) {
  expect_.push_back(Expect{true, text, Verb::kOther});
  Drain();
}

void SmtpSession::Drain() {
  while (!expect_.empty() && expect_.front().local) {
    SendClient(expect_.front().text);
    expect_.pop_front();
  }
  MaybeStartTls();
}

// Congested - a queue is full: client input waits (see Backpressure in
// smtp_session.h); BackendWritten, ClientWritten or the next backend
// reply resumes.
bool SmtpSession::Congested() const {
  return (backend_ && backend_->output_size() >= kMaxBuffered) ||
         (client_ && client_->output_size() >= kMaxBuffered) || expect_.size() >= kMaxPipelined;
}

void SmtpSession::OnClientData() {
  if (!client_ || finished_ || phase_ != Phase::kRelay) return;
  // client_ stays while the loop runs: only Finish() (which sets
  // finished_) and a successful hand-off (after this returns) drop it.
  while (!finished_ && !starttls_pending_ && !await_data_reply_ && phase_ == Phase::kRelay && !Congested()) {
    std::string_view in = client_->input();
    size_t len = in.size();
    if (len == 0) break;
    if (data_mode_) {
      DataBytes();
      continue;
    }
    if (bdat_left_ > 0) {
      size_t n = std::min<uint64_t>(bdat_left_, len);
      SendBackend(in.substr(0, n));
      client_->Drain(n);
      bdat_left_ -= n;
      continue;
    }
    size_t eol = in.find('\n');
    if (eol == std::string_view::npos) {
      if (len > kMaxCommandLine) {
        log::Warn("command line too long from %s", endpoint_.c_str());
        SendClient("421 4.7.0 " + cfg_.myhostname + " Error: line too long\r\n");
        return Finish("line too long");
      }
      break;
    }
    size_t n = eol + 1;
    if (n > kMaxCommandLine) {
      log::Warn("command line too long from %s", endpoint_.c_str());
      SendClient("421 4.7.0 " + cfg_.myhostname + " Error: line too long\r\n");
      return Finish("line too long");
    }
    std::string line(in.substr(0, n));
    client_->Drain(n);
    OnCommand(line);
  }
  if (client_eof_) EndAfterEof();
}

void SmtpSession::DataBytes() {
  std::string_view chunk = client_->input();
  size_t len = chunk.size();
  size_t i = 0;
  for (; i < len; ++i) {
    char c = chunk[i];
    if (c == kEndOfData[data_tail_]) {
      if (++data_tail_ == 5) {
        ++i;
        break;
      }
    } else {
      data_tail_ = c == '\r' ? 1 : 0;
    }
  }
  SendBackend(chunk.substr(0, i));
  client_->Drain(i);
  if (data_tail_ == 5) {
    data_mode_ = false;
    data_tail_ = 0;
    expect_.push_back(Expect{false, {}, Verb::kOther});  // the reply to the message
  }
}

void SmtpSession::OnCommand(const std::string& line) {
  SmtpCommand cmd = ClassifyCommand(line);
  if (cmd.verb == Verb::kStartTls) {
    if (cmd.has_args) return Local("501 5.5.4 Syntax: STARTTLS\r\n");
    if (tls_active_) return Local("554 5.5.1 Error: TLS already active\r\n");
    if (cfg_.level == tls::TlsLevel::kNone) return Local("502 5.5.1 Error: command not implemented\r\n");
    starttls_pending_ = true;
    return MaybeStartTls();
  }
  if (cmd.verb == Verb::kXclient) return Local("502 5.5.1 Error: command not implemented\r\n");
  if (cfg_.level >= tls::TlsLevel::kEncrypt && !tls_active_ && !AllowedBeforeTls(cmd.verb))
    return Local("530 5.7.0 Must issue a STARTTLS command first\r\n");
  if (cmd.verb == Verb::kBdat) {
    char* end = nullptr;
    unsigned long long n = strtoull(cmd.args.c_str(), &end, 10);
    if (!cmd.has_args || end == cmd.args.c_str()) return Local("501 5.5.4 Syntax: BDAT count [LAST]\r\n");
    bdat_left_ = n;
  }
  SendBackend(line);
  expect_.push_back(Expect{false, {}, cmd.verb});
  // What follows DATA is content or commands depending on the reply.
  if (cmd.verb == Verb::kData) await_data_reply_ = true;
}

void SmtpSession::MaybeStartTls() {
  if (!starttls_pending_ || phase_ != Phase::kRelay || !expect_.empty() || !client_) return;
  if (client_eof_) return Finish("client disconnected");  // it cannot send a ClientHello any more
  if (client_->output_size() > 0) return;  // ClientWritten() comes back here
  if (size_t n = client_->input().size()) {
    log::Warn("%s: discarding %zu bytes of input sent after STARTTLS (possible command injection)",
              endpoint_.c_str(), n);
    client_->Drain(n);
  }
  client_->Disable(EV_READ | EV_WRITE);
  phase_ = Phase::kHandoff;
  ipc::TlsproxyRequest req = HandoffRequest();
  handoff_ = std::make_unique<HandoffClient>(base_, cfg_.tlsproxy_path, req, client_->fd(),
                                             [this](HandoffResult r) { HandoffDone(std::move(r)); });
  handoff_->Start();
}

void SmtpSession::HandoffDone(HandoffResult r) {
  handoff_.reset();  // allowed: the client's callback is its last action
  starttls_pending_ = false;
  if (!r.ready) {
    log::Warn("%s: %s", endpoint_.c_str(), r.error.c_str());
    if (cfg_.wrapper) return Finish("TLS not available");
    phase_ = Phase::kRelay;
    client_->Enable(EV_READ | EV_WRITE);
    Local("454 4.7.0 TLS not available due to local problem\r\n");
    return OnClientData();
  }
  if (cfg_.wrapper) {
    client_fd_.reset();  // tlsproxy owns the client socket now
  } else {
    static const char kReady[] = "220 2.0.0 Ready to start TLS\r\n";
    ssize_t w = send(client_->fd(), kReady, sizeof(kReady) - 1, MSG_NOSIGNAL);
    (void)w;  // the client's socket is tlsproxy's now; a failure shows up as a failed handshake
    client_.reset();  // closes our copy of the client socket
  }
  tls_active_ = true;
  if (cfg_.wrapper) {
    // Implicit TLS: the backend is reached once the handshake is done.
    proxy_fd_ = std::move(r.proxy);
    ctx_reader_ = std::make_unique<ContextReader>();
    if (!ctx_reader_->Start(base_, proxy_fd_.get(), std::chrono::seconds(cfg_.tls_timeout + 10), endpoint_,
                            [this](ContextResult c) { WrapperHandshakeDone(std::move(c)); }))
      return Finish("out of memory");
    return;
  }
  if (!AttachClient(r.proxy.release())) return Finish("out of memory");
  phase_ = Phase::kRelay;
}

void SmtpSession::WrapperHandshakeDone(ContextResult c) {
  ctx_reader_.reset();  // allowed: the reader's callback is its last action
  if (c.failure) return Finish(c.failure);
  if (!AttachClient(proxy_fd_.release())) return Finish("out of memory");
  // Commands the client sent right after its Finished wait for the relay.
  client_->AddInput(c.early);
  if (!ConnectBackend()) return CloseAfter("421 4.3.2 Service currently unavailable\r\n", "backend unavailable");
}

void SmtpSession::Finish(const char* why) {
  if (finished_) return;
  finished_ = true;
  phase_ = Phase::kDone;
  if (log::Verbose()) log::Info("%s: %s", endpoint_.c_str(), why);
  log::Info("DISCONNECT %s", endpoint_.c_str());
  handoff_.reset();
  ctx_reader_.reset();
  proxy_fd_.reset();
  client_.reset();
  backend_.reset();
  client_fd_.reset();
  if (done_) done_(this);
}

}  // namespace pftls::front
