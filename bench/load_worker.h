/*++
 * NAME
 *	bench/load_worker.h - one event loop of tlsload(1)
 * SYNOPSIS
 *	#include "bench/load_worker.h"
 *
 *	bench::Worker w(opts, id, sessions, concurrency, &stop);
 *	w.Run();  // in its own thread
 *	w.stats(); w.ready();
 * DESCRIPTION
 *	A Worker owns an epoll instance, a client SSL_CTX (TLS version,
 *	signature algorithms for the key type, tickets on or off) and up to
 *	`concurrency` sessions in progress. It starts sessions until its
 *	share of the count is used or the duration is over, and returns when
 *	none is left in progress. With resumption, it opens one session
 *	first and the others only once the server has given it a session to
 *	resume (the first handshake is full, the rest offer resumption).
 *
 *	Idle mode: the sessions that completed their handshake are held
 *	(not counted against the concurrency); ready() turns true once every
 *	session of the share is held or failed, and the loop runs until
 *	*stop.
 * SECURITY
 *	None beyond load_session.h.
 * DIAGNOSTICS
 *	See load_session.h.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <vector>

#include "bench/load_session.h"

namespace pftls::bench {

class Worker {
 public:
  Worker(const LoadOptions& o, int id, long sessions, int concurrency, const std::atomic<bool>* stop);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  bool Init(std::string* err);
  void Run();
  const LoadStats& stats() const { return stats_; }
  bool ready() const { return ready_.load(); }
  long held() const { return held_.load(); }

 private:
  static int NewSession(SSL* ssl, SSL_SESSION* sess);
  bool MayStart(Clock::time_point now) const;
  void StartOne(Clock::time_point now);
  void Update(Session* s);

  const LoadOptions& opts_;
  int id_;
  long quota_;
  int concurrency_;
  const std::atomic<bool>* stop_;
  std::vector<ScriptStep> script_;
  SslCtxPtr ctx_;
  LoadStats stats_;
  std::unique_ptr<SessionEnv> env_;
  UniqueFd ep_;
  std::map<int, std::unique_ptr<Session>> live_;
  std::map<int, uint32_t> interest_;
  uint32_t source_base_ = 0;
  long launched_ = 0;
  int in_progress_ = 0;
  Clock::time_point start_, stop_starting_;
  std::atomic<bool> ready_{false};
  std::atomic<long> held_{0};
};

}  // namespace pftls::bench
