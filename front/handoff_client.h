/*++
 * NAME
 *	front/handoff_client.h - the postscreen side of the tlsproxy hand-off
 * SYNOPSIS
 *	#include "front/handoff_client.h"
 *
 *	HandoffRequest r{"[192.0.2.1]:54321", ipc::kTlsproxyRoleServer, 300, 300, "smtpd"};
 *	auto h = std::make_unique<HandoffClient>(base, "private/tlsproxy", r, client_fd_number,
 *	                                         [](HandoffResult res) { ... });
 *	h->Start();
 * DESCRIPTION
 *	Spec §3.2 steps 1-5b, non-blocking on libevent: connect to the
 *	tlsproxy socket, send the request record (3.6-3.11 form, plus
 *	pftls_flags and pftls_alpn when set) at once, without waiting for
 *	the announcement (the server reads the request only after writing
 *	it, so announcement and status then come in one read: one wake-up
 *	less on each side), verify "protocol=tlsproxy_protocol", read the
 *	status, and when it is 1 pass the client socket with SCM_RIGHTS (one
 *	NUL byte; no acknowledgement follows). Each wait has a deadline
 *	(10 s, TLSPROXY_INIT_TIMEOUT). The callback runs exactly once:
 *	kReady with the proxy socket (now the plaintext stream of the
 *	client), kUnavailable (tlsproxy unreachable, refused or status 0:
 *	"454 4.7.0 TLS not available due to local problem"), never both. The
 *	caller keeps its copy of the client socket and closes it after
 *	kReady (after writing its "220 2.0.0 Ready to start TLS", for
 *	STARTTLS).
 *
 *	Early hand-off (request with pftls_flags kPftlsEarlyFd, tlsfront and
 *	wrapper mode, ipc/msg_tlsproxy.h): the client socket rides on the
 *	request's bytes and the callback reports kReady at once, with
 *	result.prelude set: announcement and status are read later, with
 *	the context list (ContextReader), which saves a wake-up on each side.
 *	A status 0 then ends the session there, as TLS not available.
 * SECURITY
 *	tlsproxy's replies are bounded and strictly decoded.
 * DIAGNOSTICS
 *	One warning per failure, naming the step and the reason.
 * CONFIGURATION PARAMETERS
 *	tlsproxy_service_name (the socket path is the caller's).
 *--*/
#pragma once

#include <event2/event.h>

#include <chrono>
#include <functional>
#include <string>

#include "ipc/attr0.h"
#include "ipc/msg_tlsproxy.h"
#include "util/fd.h"
#include "util/handles.h"

namespace pftls::front {

inline constexpr std::chrono::seconds kHandoffTimeout{10};
inline constexpr std::chrono::milliseconds kConnectRetry{50};  // full tlsproxy listen queue

struct HandoffResult {
  bool ready = false;
  UniqueFd proxy;     // ready: the plaintext stream to tlsproxy
  std::string error;  // !ready: why
  // prelude - early hand-off: the client socket went with the request and
  // tlsproxy's announcement and status are still to be read from proxy,
  // ahead of the context list (ContextReader does).
  bool prelude = false;
};

class HandoffClient {
 public:
  using DoneFn = std::function<void(HandoffResult)>;

  HandoffClient(event_base* base, std::string socket_path, ipc::TlsproxyRequest request, int client_fd,
                DoneFn done, std::chrono::milliseconds timeout = kHandoffTimeout);
  ~HandoffClient();
  HandoffClient(const HandoffClient&) = delete;
  HandoffClient& operator=(const HandoffClient&) = delete;

  // Start - begin; the callback may run before Start returns.
  void Start();

 private:
  enum class State { kConnecting, kAnnounce, kStatus, kDone };
  static void OnEvent(evutil_socket_t, short what, void* arg);
  static void OnRetry(evutil_socket_t, short, void* arg);
  void Step(short what);
  void ReadRecord();
  bool SendRequest();
  bool early() const { return request_.pftls_flags && (*request_.pftls_flags & ipc::kPftlsEarlyFd) != 0; }
  void Fail(const std::string& why);
  void Succeed();
  void ArmTimer();

  event_base* base_;
  std::string path_;
  ipc::TlsproxyRequest request_;
  int client_fd_;
  DoneFn done_;
  std::chrono::milliseconds timeout_;
  std::chrono::steady_clock::time_point deadline_{};
  UniqueFd sock_;
  EventPtr ev_;
  State state_ = State::kConnecting;
  ipc::Attr0Parser parser_;
};

}  // namespace pftls::front
