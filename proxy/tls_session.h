/*++
 * NAME
 *	proxy/tls_session.h - one TLS server session: handshake, then a
 *	full-duplex relay between the ciphertext and the plaintext socket
 * SYNOPSIS
 *	#include "proxy/tls_session.h"
 *
 *	auto s = std::make_unique<TlsSession>(base, ssl_ctx, std::move(plain),
 *	                                      std::move(cipher), params, on_done);
 *	s->Start();
 * DESCRIPTION
 *	A TlsSession owns both descriptors, the SSL object, its events and
 *	its timer; its destructor is the only cleanup path. When the session
 *	ends it calls on_done(this) once, after closing both descriptors;
 *	the owner then destroys it (never from inside a callback: the owner
 *	defers destruction to the next loop pass).
 *
 *	Handshake: TLS server on the ciphertext socket. Nothing is written
 *	before the ClientHello arrives and no plaintext I/O happens before
 *	the handshake completes. The handshake deadline is absolute,
 *	measured from Start(): a client dribbling bytes cannot extend it.
 *	On success the optional context list (params.context) is queued on
 *	the plaintext side ahead of any decrypted byte, the Postfix summary
 *	line is logged at loglevel >= 1, and the relay starts.
 *
 *	Relay: two bounded buffers, one per direction, allocated only while
 *	they hold data; each direction progresses independently (a full
 *	plaintext output never stops ciphertext writes and vice versa). The
 *	session timeout (+10 s) is an inactivity limit re-armed on progress.
 *
 *	ALPN (pftls tlsfront): with params.alpn the server picks the first
 *	of its protocols that the client offers (server preference); with
 *	no overlap the handshake goes on without ALPN, as nginx does (no
 *	no_application_protocol alert), and the log says so. The chosen
 *	protocol is logged and handed to params.context in facts.alpn.
 *
 *	Direct relay (pftls tlsfront, params.direct_relay): the descriptor
 *	passed as "plaintext" is the front end's control connection; the
 *	context list goes there, the backend socket comes back on it, and
 *	the relay then runs between TLS and the backend, with decrypted
 *	bytes held (one buffer at most) until the backend arrives. Data or
 *	EOF on the control connection after that ends the session; at the
 *	end a TlsproxyDone record with the byte counts is sent on it.
 *
 *	Endings (spec §4.4): plaintext EOF -> flush queued plaintext into
 *	TLS, send close_notify, close. TLS close_notify or EOF -> flush
 *	decrypted data to the plaintext side, close. With half_close (pftls
 *	tlsfront) each direction ends on its own: TLS EOF shuts down the
 *	plaintext write side and plaintext EOF sends close_notify; the
 *	session ends when both directions are done.
 * SECURITY
 *	Ciphertext peers are hostile: every wait is bounded, buffers are
 *	capped, a TLS error ends only this session.
 * DIAGNOSTICS
 *	"TLS handshake failed for service=<serverid> peer=<endpoint>",
 *	"SSL_accept error from <endpoint>: lost connection",
 *	"ciphertext read/write timeout for <endpoint>", the summary line.
 * CONFIGURATION PARAMETERS
 *	Supplied by the caller: handshake and session timeouts, loglevel.
 *--*/
#pragma once

#include <event2/event.h>
#include <openssl/ssl.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "proxy/relay_buffer.h"
#include "tls/facts.h"
#include "util/fd.h"
#include "util/handles.h"
#include "util/result.h"

namespace pftls::proxy {

class TlsSession;

// A multiple of the TLS record size: a full buffer becomes whole 16 KiB
// records (16 KiB + 512 made one full and one 512-byte record per fill).
// Storage exists only while a buffer holds data (idle sessions: none).
inline constexpr size_t kRelayBufferSize = 64 * 1024;
inline constexpr int kSessionTimeoutSlack = 10;  // seconds added to the session timeout
// kFdSlotRetry - how soon a descriptor receive that found the process at
// its descriptor limit looks again (a session may have ended meanwhile).
inline constexpr std::chrono::milliseconds kFdSlotRetry{50};

struct SessionParams {
  std::string endpoint;   // "[addr]:port", for logs
  std::string serverid;   // for "TLS handshake failed for service=..."
  std::chrono::seconds handshake_timeout{300};
  std::chrono::seconds session_timeout{300};
  bool half_close = false;
  // plaintext_nonblocking - the caller already made the plaintext (or
  // control) descriptor non-blocking: Start() need not look.
  bool plaintext_nonblocking = false;
  // quiet - the owner logs no DISCONNECT line (the front end logs the
  // session; proxy/handoff.h).
  bool quiet = false;
  // direct_relay - the "plaintext" descriptor given to the constructor is
  // the front end's control connection (ipc/msg_tlsproxy.h): the context
  // goes there, then the backend socket arrives on it and the relay runs
  // TLS <-> backend; a TlsproxyDone record ends it.
  bool direct_relay = false;
  // alpn - the server's ALPN protocols in preference order, in wire form
  // (length-prefixed names); empty: ALPN is not negotiated.
  std::string alpn;
  int loglevel = 0;
  const EVP_MD* fingerprint_md = nullptr;
  // context - when set, called after the handshake; its bytes are sent on
  // the plaintext side before any decrypted data (SEND_CONTEXT).
  std::function<std::string(const tls::SessionFacts&)> context;
  // client_hello - when set, called from OpenSSL's ClientHello callback.
  // Return true to go on; false to pause the handshake while the hook
  // fetches something asynchronously (a ticket key, a cached session);
  // the hook must then call TlsSession::Resume() exactly once later.
  // The handshake deadline keeps running while paused.
  std::function<bool(TlsSession&, SSL*)> client_hello;
  // recv_fd - direct_relay: receives the backend socket from the control
  // connection (unset: ipc::RecvFd). It sets *at_limit instead when the
  // process has no free descriptor (the kernel would drop the socket,
  // MSG_CTRUNC): the session stops reading the control connection and
  // asks again after kFdSlotRetry, within its deadline.
  std::function<Result<std::optional<UniqueFd>>(int fd, bool* at_limit)> recv_fd;
};

class TlsSession {
 public:
  using DoneFn = std::function<void(TlsSession*)>;

  TlsSession(event_base* base, SSL_CTX* ctx, UniqueFd plaintext, UniqueFd ciphertext, SessionParams params,
             DoneFn on_done);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Start - begin the handshake; false when the session could not start
  // (then on_done has not been called and the caller destroys it).
  bool Start();

  // Resume - continue a handshake paused by params.client_hello.
  void Resume();
  // FromSsl - the session that owns ssl (nullptr if none).
  static TlsSession* FromSsl(const SSL* ssl);
  // InstallClientHelloHook - route ctx's ClientHello callback to the
  // owning session's params.client_hello (call once per SSL_CTX).
  static void InstallClientHelloHook(SSL_CTX* ctx);
  // InstallAlpnHook - route ctx's ALPN selection to the owning session's
  // params.alpn (call once per SSL_CTX).
  static void InstallAlpnHook(SSL_CTX* ctx);
  // AlpnWire - "h2,http/1.1" in wire form (names already validated).
  static std::string AlpnWire(const std::string& list);
  // Scratch space for the hook's per-handshake state (e.g. a fetched session).
  SslSessionPtr& pending_session() { return pending_session_; }
  int& hook_state() { return hook_state_; }
  // Liveness - expires when the session finishes; async callbacks check it.
  std::weak_ptr<int> Liveness() const { return alive_; }

  bool handshake_done() const { return handshake_done_; }
  bool finished() const { return finished_; }
  const SessionParams& params() const { return params_; }
  // Bytes relayed in each direction, for statistics and tests.
  uint64_t bytes_to_plaintext() const { return to_plain_; }
  uint64_t bytes_to_ciphertext() const { return to_cipher_; }

 private:
  enum class Want { kNone, kRead, kWrite };

  static void OnCipherEvent(evutil_socket_t fd, short what, void* arg);
  static void OnPlainEvent(evutil_socket_t fd, short what, void* arg);
  static void OnTimer(evutil_socket_t fd, short what, void* arg);
  static void OnResume(evutil_socket_t fd, short what, void* arg);
  static void OnControl(evutil_socket_t fd, short what, void* arg);
  static void OnSlotRetry(evutil_socket_t fd, short what, void* arg);
  static int ClientHelloCallback(SSL* ssl, int* alert, void* arg);
  static int AlpnCallback(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                          unsigned int inlen, void* arg);

  void DoHandshake();
  void Pump();
  bool SslWrite();
  bool SslRead();
  bool PlainWrite();
  void PlainRead();
  void MaybeShutdown();
  void SendCloseNotify();
  void Rearm();
  void SetEvent(event* ev, bool* armed, bool want);
  void ArmTimer();
  void Finish();
  void LogSslError(const char* op, int ret, int err);
  bool StartControl(const std::string& context);
  void ControlReadable();
  bool AttachBackend(UniqueFd backend);
  void SendDone();

  event_base* base_;
  SessionParams params_;
  DoneFn on_done_;
  UniqueFd plain_fd_;
  UniqueFd cipher_fd_;
  UniqueFd ctl_fd_;  // direct_relay: the front end's connection
  EventPtr ctl_ev_;
  EventPtr slot_retry_ev_;  // direct_relay at the descriptor limit
  SslPtr ssl_;
  EventPtr cipher_rd_ev_, cipher_wr_ev_, plain_rd_ev_, plain_wr_ev_, timer_ev_;
  // resume_ev_ - a user event (no descriptor) that runs Pump() on the next
  // loop pass after the round cap. Never event_active() an I/O event for
  // this: libevent's event_add() on an event that is active but not added
  // returns 0 without registering the descriptor, and the session stalls.
  EventPtr resume_ev_;
  bool cipher_rd_armed_ = false, cipher_wr_armed_ = false, plain_rd_armed_ = false, plain_wr_armed_ = false;

  RelayBuffer to_cipher_buf_{kRelayBufferSize};  // plaintext -> SSL_write
  RelayBuffer to_plain_buf_{kRelayBufferSize};   // SSL_read -> plaintext

  std::chrono::steady_clock::time_point handshake_deadline_;
  Want read_want_ = Want::kRead, write_want_ = Want::kNone, handshake_want_ = Want::kRead;
  bool cipher_rd_ready_ = true, cipher_wr_ready_ = true;
  bool handshake_done_ = false;
  bool plain_eof_ = false;      // no more plaintext input
  bool tls_eof_ = false;        // no more TLS input (close_notify/EOF/error)
  bool tls_fatal_ = false;      // TLS broken: no more SSL I/O at all
  bool plain_dead_ = false;     // plaintext side failed: nothing more to write there
  bool plain_wr_shut_ = false;  // half_close: plaintext write side shut down
  bool close_notify_sent_ = false;
  bool finished_ = false;
  bool paused_ = false;
  SslSessionPtr pending_session_;
  int hook_state_ = 0;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  uint64_t to_plain_ = 0, to_cipher_ = 0;
};

}  // namespace pftls::proxy
