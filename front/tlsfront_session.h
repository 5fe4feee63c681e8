/*++
 * NAME
 *	front/tlsfront_session.h - one tlsfront client: implicit TLS through
 *	tlsproxy, then a byte relay to the backend
 * SYNOPSIS
 *	#include "front/tlsfront_session.h"
 *
 *	auto s = std::make_unique<TlsfrontSession>(base, cfg, std::move(client), peer, on_done);
 *	s->Start();
 * DESCRIPTION
 *	Start() hands the client socket to tlsproxy at once (front/
 *	handoff_client.h) with SEND_CONTEXT, pftls_flags=half-close and,
 *	when configured, pftls_alpn. After the hand-off our copy of the
 *	client socket is closed; the tlsproxy stream carries first the TLS
 *	context list (ipc/msg_context.h, with the negotiated ALPN protocol)
 *	and then the decrypted client bytes. Once the context arrives (the
 *	handshake is done) the session connects to the backend, writes the
 *	PROXY v1/v2 header when configured (client address and port, our
 *	address and port, and for v2 the TLS version, cipher, signature and
 *	key algorithms and ALPN), then relays both ways (front/relay.h) with
 *	half-close: the client's close_notify/EOF ends the backend's write
 *	side, the backend's EOF makes tlsproxy send close_notify.
 *
 *	Direct relay (cfg.direct_relay, pftls_flags kPftlsDirectRelay):
 *	after the PROXY header the backend socket is handed to tlsproxy,
 *	which relays TLS <-> backend itself; the session then only waits
 *	for tlsproxy's TlsproxyDone record and end of file (the byte counts
 *	of the disconnect line) and closes the tlsproxy connection at the
 *	total time limit, which ends the relay there.
 *
 *	The context wait is bounded by the TLS timeout plus 10 s, the
 *	backend connect by kBackendConnectTimeout; the relay has an idle
 *	and an optional total timeout. TCP_NODELAY is set on the client and
 *	the backend socket.
 * SECURITY
 *	No application protocol is interpreted. The context list comes
 *	from tlsproxy and is strictly decoded and bounded.
 * DIAGNOSTICS
 *	"connect from [addr]:port", "disconnect from [addr]:port
 *	in=N out=M (reason)", one warning per failure (hand-off, context,
 *	backend connect).
 * CONFIGURATION PARAMETERS
 *	Through TlsfrontConfig: tlsfront_relay, tlsfront_proxy_protocol,
 *	tlsfront_tls_alpn, tlsfront_timeout, tlsfront_session_time_limit,
 *	tlsfront_tls_timeout, tlsproxy_service_name.
 *--*/
#pragma once

#include <event2/event.h>
#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "front/handoff_client.h"
#include "front/relay.h"
#include "front/context_reader.h"
#include "ipc/attr0.h"
#include "ipc/msg_tlsproxy.h"
#include "util/fd.h"
#include "util/handles.h"
#include "util/result.h"

namespace pftls::front {

inline constexpr std::chrono::seconds kBackendConnectTimeout{30};

enum class ProxyHeader { kNone, kV1, kV2 };
Result<ProxyHeader> ParseProxyHeader(const std::string& value);

struct TlsfrontConfig {
  sockaddr_storage backend{};
  socklen_t backend_len = 0;
  std::string tlsproxy_path = "private/tlsproxy";
  std::string serverid = "tlsfront";
  ProxyHeader proxy = ProxyHeader::kNone;
  std::string alpn;  // "h2,http/1.1" or empty
  std::chrono::seconds idle_timeout{300};
  std::chrono::seconds total_timeout{0};
  int tls_timeout = 60;
  bool direct_relay = true;  // hand the backend socket to tlsproxy
};

class TlsfrontSession {
 public:
  using DoneFn = std::function<void(TlsfrontSession*)>;
  TlsfrontSession(event_base* base, const TlsfrontConfig& cfg, UniqueFd client, const sockaddr_storage& peer,
                  DoneFn done);
  ~TlsfrontSession();
  TlsfrontSession(const TlsfrontSession&) = delete;
  TlsfrontSession& operator=(const TlsfrontSession&) = delete;

  void Start();

 private:
  static void OnBackendConnect(evutil_socket_t, short what, void* arg);
  void HandoffDone(HandoffResult r);
  void ContextRead(ContextResult r);
  void ConnectBackend();
  void BackendConnected(short what);
  void StartRelay();
  void StartDirect(std::string head);
  static void OnDirectEvent(evutil_socket_t, short what, void* arg);
  void DirectEvent(short what);
  void Finish(const char* why);

  event_base* base_;
  const TlsfrontConfig& cfg_;
  DoneFn done_;
  sockaddr_storage peer_{}, local_{};
  std::string endpoint_;
  UniqueFd client_, proxy_, backend_;
  std::unique_ptr<HandoffClient> handoff_;
  ContextReader ctx_reader_;
  EventPtr ev_;
  ipc::Attr0Parser parser_;  // direct relay: the end record
  size_t context_bytes_ = 0;
  std::string early_;  // client bytes that followed the context list
  std::string tls_version_, tls_cipher_, sig_alg_, key_alg_, alpn_;
  uint32_t peer_status_ = 0;
  std::unique_ptr<Relay> relay_;
  EventPtr total_;  // direct relay: tlsfront_session_time_limit
  std::optional<ipc::TlsproxyDone> done_counts_;
  bool finished_ = false;
};

}  // namespace pftls::front
