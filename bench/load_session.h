/*++
 * NAME
 *	bench/load_session.h - one client session of tlsload(1): a
 *	non-blocking state machine over a script of steps
 * SYNOPSIS
 *	#include "bench/load_session.h"
 *
 *	std::vector<bench::ScriptStep> script = bench::BuildScript(opts);
 *	bench::Session s(env, source_index);
 *	if (s.Start(now)) { ... s.OnEvent(epoll_events, now); s.WantedEvents(); s.finished(); }
 * DESCRIPTION
 *	A script is a list of steps: read an SMTP reply in plaintext or
 *	inside TLS (after sending a command), run the TLS handshake, move raw
 *	payload, hold the connection (idle mode), close. BuildScript() makes
 *	the script for the mode: starttls (banner, EHLO, STARTTLS, handshake,
 *	EHLO, [MAIL, RCPT, DATA, message], QUIT), wrapper (handshake, banner,
 *	EHLO, [mail], QUIT), raw (handshake, [payload], close), idle
 *	(handshake, hold).
 *
 *	Raw payload speaks benchsink's bulk protocol: "U n\n" + n bytes,
 *	answered "OK\n"; "D n\n", answered by n bytes; "E n\n" + n bytes,
 *	echoed.
 *
 *	Session reports into the SessionEnv's LoadStats: a completed session
 *	records its handshake and session latency; a failed one counts one
 *	error of its kind. Resumption offers a session from env.pool (the sessions
 *	the server gave; see Take()) and counts SSL_session_reused().
 * SECURITY
 *	A test client: replies are bounded (64 KiB of unparsed input ends the
 *	session as a protocol error).
 * DIAGNOSTICS
 *	With env.verbose, the first error of each kind is printed to stderr.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "bench/load_opts.h"
#include "bench/load_stats.h"
#include "util/fd.h"
#include "util/handles.h"

namespace pftls::bench {

using Clock = std::chrono::steady_clock;

enum class StepKind { kPlainReply, kHandshake, kTlsReply, kXfer, kHold, kClose };

struct ScriptStep {
  StepKind kind;
  std::string send;  // sent when the step begins
  int expect = 0;    // SMTP reply code for *Reply steps
};

std::vector<ScriptStep> BuildScript(const LoadOptions& o);

struct SessionEnv {
  const LoadOptions& opts;
  const std::vector<ScriptStep>& script;
  SSL_CTX* ctx;
  LoadStats& stats;
  // Sessions the server gave us, newest last. A TLS 1.3 ticket is offered
  // once (servers may refuse a reused one, and real clients do not reuse);
  // a TLS 1.2 session is offered again and again.
  std::deque<SslSessionPtr> pool;
  SslSessionPtr Take();
  void Keep(SSL_SESSION* s);
  long held = 0;         // idle mode: sessions holding
  bool reported[4] = {};
};

class Session {
 public:
  Session(SessionEnv& env, uint32_t source_index) : env_(env), source_index_(source_index) {}
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Opens the socket and starts connecting; false (error counted) on failure.
  bool Start(Clock::time_point now);
  void OnEvent(uint32_t events, Clock::time_point now);
  // Ends an unfinished session as a timeout when its deadline has passed.
  void CheckTimeout(Clock::time_point now);
  uint32_t WantedEvents() const;
  int fd() const { return fd_.get(); }
  bool finished() const { return finished_; }
  bool holding() const { return holding_; }

 private:
  enum class Io { kDone, kBlocked, kEof, kError };
  enum class Err { kConnect, kTls, kProtocol, kTimeout };

  void Pump(Clock::time_point now);
  void Enter(Clock::time_point now);
  bool Advance(Clock::time_point now);  // false when the script ended
  Io WriteOut();
  Io ReadIn(char* buf, size_t len, size_t* got);
  bool TakeReply(int* code);
  bool StepReply();
  bool StepHandshake(Clock::time_point now);
  bool StepXfer();
  bool StepClose(Clock::time_point now);
  void Fail(Err kind, const char* what);
  void Complete(Clock::time_point now);

  SessionEnv& env_;
  uint32_t source_index_;
  UniqueFd fd_;
  SslPtr ssl_;
  size_t step_ = 0;
  bool connecting_ = false;
  bool tls_ = false;
  bool want_write_ = false;
  bool finished_ = false;
  bool holding_ = false;
  bool completed_ = false;
  bool shutdown_sent_ = false;
  std::string in_;
  std::string out_;
  long up_left_ = 0;    // payload still to send
  long down_left_ = 0;  // payload (or "OK\n") still to receive
  Clock::time_point start_, hs_start_, deadline_;
};

}  // namespace pftls::bench
