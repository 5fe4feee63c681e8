/*++
 * NAME
 *	front/smtp_session.h - one smtpfront client: SMTP relay to the
 *	backend with STARTTLS offloaded to tlsproxy
 * SYNOPSIS
 *	#include "front/smtp_session.h"
 *
 *	auto s = std::make_unique<SmtpSession>(base, cfg, std::move(client), peer, on_done);
 *	s->Start();
 * DESCRIPTION
 *	On start the session connects to the backend. It holds the
 *	backend's greeting, asks the backend "EHLO <myhostname>" and, when
 *	the reply offers XCLIENT, sends "XCLIENT ADDR=... PORT=..." so the
 *	backend sees the real client; the greeting the client gets is the
 *	backend's (the new one after XCLIENT).
 *
 *	Commands are relayed line by line and replies reply by reply, in
 *	order, pipelining included (a FIFO of expected replies keeps locally
 *	answered commands in place). EHLO replies get STARTTLS added while
 *	TLS is offered and not active, and removed otherwise. STARTTLS is
 *	answered here: "501 5.5.4 Syntax: STARTTLS" with arguments, "554
 *	5.5.1 Error: TLS already active", "502 5.5.1 Error: command not
 *	implemented" at level none; else, once every earlier reply has been
 *	delivered, the client socket is handed to tlsproxy, "220 2.0.0
 *	Ready to start TLS" is written, every byte the client sent after
 *	STARTTLS is discarded (CVE-2011-0411) and logged, and the relay goes
 *	on over the tlsproxy stream. If tlsproxy is unreachable or answers
 *	status 0: "454 4.7.0 TLS not available due to local problem" and
 *	the session continues in plaintext. At level "encrypt", mail
 *	commands before STARTTLS get "530 5.7.0 Must issue a STARTTLS
 *	command first" (EHLO, HELO, NOOP, RSET, QUIT, STARTTLS pass).
 *	Wrapper mode hands the client to tlsproxy before anything else
 *	(asking for the TLS context) and connects to the backend only once
 *	the handshake is done: a client that never completes it costs the
 *	backend nothing. Until the relay starts, the backend's connect
 *	(kBackendConnectTimeout) and replies (smtpfront_timeout) are bounded,
 *	and a client that leaves meanwhile ends the session at once.
 *	Message content (DATA, BDAT) is relayed without interpretation.
 *
 *	Backpressure: commands and message content move to the backend
 *	only while the backend's output queue and the client's reply queue
 *	each hold less than kMaxBuffered bytes and fewer than kMaxPipelined
 *	replies are outstanding; backend replies are taken only while the
 *	client's reply queue is below kMaxBuffered. Otherwise the input
 *	waits in its socket buffer (reading stops at kMaxBuffered) and the
 *	relay resumes when the queue drains. In the relay, either peer's
 *	output that makes no progress for smtpfront_timeout ends the
 *	session, so a stalled backend or a client that does not read its
 *	replies holds at most about 2 x kMaxBuffered, then goes.
 *
 *	A client's EOF during the relay is a half-close: the commands and
 *	content it sent before are still relayed and their replies written
 *	(it may still be reading), then the session ends; a client that is
 *	gone for good fails the first write, and what it sent still reaches
 *	the backend.
 *
 *	Memory: both sockets are front/smtp_conn.h connections, whose
 *	buffers exist only while they hold bytes; the reply FIFO, the reply
 *	assembler, the greeting and the wrapper's context reader hold no
 *	storage once idle. An idle relayed session costs about 1.2 kB here
 *	(the object, two connections with one read event each); with
 *	bufferevents and std::deque it was about 3.5 kB.
 * SECURITY
 *	Client lines are capped at kMaxCommandLine bytes; every queue is
 *	bounded (see Backpressure); an idle or stalled peer is dropped.
 * DIAGNOSTICS
 *	"connect from/disconnect from [addr]:port", warnings for protocol
 *	violations, the discarded-input warning.
 * CONFIGURATION PARAMETERS
 *	Through FrontConfig: smtpfront_relay, smtpfront_tls_security_level,
 *	smtpfront_tls_wrappermode, tlsproxy_service_name, myhostname,
 *	smtpfront_timeout.
 *--*/
#pragma once

#include <event2/event.h>
#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "front/context_reader.h"
#include "front/handoff_client.h"
#include "front/smtp_conn.h"
#include "front/smtp_text.h"
#include "tls/policy.h"
#include "util/fd.h"
#include "util/handles.h"

namespace pftls::front {

inline constexpr size_t kMaxCommandLine = 4096;
inline constexpr size_t kMaxBuffered = 256 * 1024;  // per direction, before we stop reading
inline constexpr size_t kMaxPipelined = 4096;        // replies outstanding, before commands wait
inline constexpr std::chrono::seconds kBackendConnectTimeout{30};

struct FrontConfig {
  sockaddr_storage backend{};
  socklen_t backend_len = 0;
  std::string tlsproxy_path = "private/tlsproxy";
  tls::TlsLevel level = tls::TlsLevel::kMay;
  bool wrapper = false;
  std::string myhostname = "localhost";
  std::string serverid = "smtpd";
  std::chrono::seconds idle_timeout{300};
  int tls_timeout = 300;  // sent to tlsproxy as both timeouts
};

class SmtpSession {
 public:
  using DoneFn = std::function<void(SmtpSession*)>;
  SmtpSession(event_base* base, const FrontConfig& cfg, UniqueFd client, const sockaddr_storage& peer,
              DoneFn done);
  ~SmtpSession();
  SmtpSession(const SmtpSession&) = delete;
  SmtpSession& operator=(const SmtpSession&) = delete;

  void Start();
  const std::string& endpoint() const { return endpoint_; }
  const std::string& peer_addr() const { return addr_; }

 private:
  ipc::TlsproxyRequest HandoffRequest() const;
  enum class Phase { kConnecting, kGreeting, kProbeEhlo, kXclient, kRelay, kHandoff, kDone };
  struct Expect {
    bool local = false;
    std::string text;  // local reply
    Verb verb = Verb::kOther;
  };
  // ExpectQueue - the FIFO of expected replies; unlike std::deque (about
  // 600 bytes even when empty) it holds no storage while empty.
  class ExpectQueue {
   public:
    bool empty() const { return head_ == items_.size(); }
    size_t size() const { return items_.size() - head_; }
    Expect& front() { return items_[head_]; }
    void push_back(Expect e) { items_.push_back(std::move(e)); }
    void pop_front();

   private:
    std::vector<Expect> items_;
    size_t head_ = 0;  // items_[0, head_) are done
  };

  static void ClientRead(SmtpConn*, void* arg);
  static void ClientEvent(SmtpConn*, short what, void* arg);
  static void BackendRead(SmtpConn*, void* arg);
  static void BackendEvent(SmtpConn*, short what, void* arg);
  static void ClientWritten(SmtpConn*, void* arg);
  static void BackendFlushed(SmtpConn*, void* arg);
  static void BackendWritten(SmtpConn*, void* arg);

  bool AttachClient(int fd);
  void OnClientData();
  bool Congested() const;
  void OnCommand(const std::string& line);
  void OnBackendData();
  void OnBackendReply(const SmtpReply& r);
  void Local(const std::string& text);
  void Drain();
  void SendBackend(std::string_view bytes);
  void SendClient(std::string_view bytes);
  void MaybeStartTls();
  void HandoffDone(HandoffResult r);
  void WrapperHandshakeDone(ContextResult c);
  bool ConnectBackend();
  void EnterRelay();
  void CloseAfter(const std::string& reply, const char* why);
  void DataBytes();
  void Finish(const char* why);
  void FlushBackendThenFinish();
  void EndAfterEof();

  event_base* base_;
  const FrontConfig& cfg_;
  DoneFn done_;
  std::string addr_, port_, endpoint_;
  UniqueFd client_fd_;
  std::unique_ptr<SmtpConn> client_, backend_;
  Phase phase_ = Phase::kConnecting;
  ReplyAssembler replies_;
  std::string greeting_;  // until the relay starts
  ExpectQueue expect_;
  bool tls_active_ = false;
  bool starttls_pending_ = false;
  bool data_mode_ = false;     // relaying message content
  bool await_data_reply_ = false;  // DATA sent: input waits for its 354 (or error)
  int data_tail_ = 2;          // matched prefix of "\r\n.\r\n" (starts after a line end)
  uint64_t bdat_left_ = 0;
  std::unique_ptr<HandoffClient> handoff_;
  std::unique_ptr<ContextReader> ctx_reader_;  // wrapper: until the handshake is done
  UniqueFd proxy_fd_;                           // wrapper: the tlsproxy stream meanwhile
  const char* closing_why_ = "";  // CloseAfter()
  bool finished_ = false;
  bool client_eof_ = false;  // the client half-closed: relay what it sent, then end
};

}  // namespace pftls::front
