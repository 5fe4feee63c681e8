/*++
 * NAME
 *	tlsload - TLS and SMTP load generator for pftls and its peers
 * SYNOPSIS
 *	tlsload [-M starttls|wrapper|raw|idle] [-c concurrency] [-n sessions]
 *		[-t seconds] [-V 1.2|1.3] [-r none|ticket|id] [-k rsa|ecdsa]
 *		[-m] [-s message_bytes] [-b bytes] [-d up|down|echo]
 *		[-T timeout] [-H hold] [-j threads] [-S] [-J] [--allow-remote]
 *		host:port
 * DESCRIPTION
 *	In the spirit of Postfix's smtp-source: drives many client sessions
 *	at once from non-blocking event loops (epoll; -j threads, default 1)
 *	and reports what the server sustained.
 *
 *	-M starttls	banner, EHLO, STARTTLS, TLS handshake, EHLO, QUIT
 *			(-m: MAIL, RCPT, DATA and a -s byte message before QUIT)
 *	-M wrapper	TLS handshake at once (implicit TLS), banner, EHLO,
 *			[mail], QUIT (default)
 *	-M raw		TLS handshake, then -b bytes in direction -d (up,
 *			down, echo) with benchsink's bulk protocol, then close
 *	-M idle		open -n TLS connections and hold them: prints one
 *			line "ready held=N" (JSON with -J) once all are up,
 *			then holds them for -H seconds or until stdin closes
 *
 *	-c sessions in progress (10), -n sessions in all, -t seconds of
 *	starting new sessions (either bounds the run; default -n 1000),
 *	-T per-session timeout (10 s), -V TLS version, -k restricts the
 *	signature algorithms to the key type, -r resumption: none (full
 *	handshakes, no session cache), ticket (RFC 5077 / TLS 1.3 tickets),
 *	id (TLS 1.2 session id: the client sends no ticket extension).
 *	Source addresses are spread over 127.1.0.0/16 (-S: off) so that
 *	per-client limits and allowlists of the server stay out of the way.
 *
 *	Output: a text summary on stderr; with -J one JSON line on stdout:
 *	sessions, sessions_per_s, handshake_ms_p50/p99, session_ms_p50/p99,
 *	reuse_ratio, errors by kind, bytes and mb_per_s.
 * SECURITY
 *	A flood tool: refuses a target outside 127.0.0.0/8 and ::1 unless
 *	--allow-remote is given. Every run is bounded by count or time, and
 *	every session by its timeout.
 * DIAGNOSTICS
 *	The first error of each kind is printed. Exit status 0 when no
 *	session failed, 1 otherwise, 2 on usage.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "bench/load_worker.h"

using namespace pftls;
using namespace pftls::bench;

namespace {

void RaiseFdLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

const char* ModeName(Mode m) {
  switch (m) {
    case Mode::kStarttls: return "starttls";
    case Mode::kWrapper: return "wrapper";
    case Mode::kRaw: return "raw";
    case Mode::kIdle: return "idle";
  }
  return "?";
}

// Idle mode: wait for -H seconds or until stdin closes.
void Hold(double seconds) {
  auto end = Clock::now() + std::chrono::milliseconds(static_cast<long>(seconds * 1000));
  bool watch_stdin = !isatty(0);
  while (Clock::now() < end) {
    pollfd p{0, POLLIN, 0};
    int rc = poll(&p, watch_stdin ? 1 : 0, 100);
    if (rc > 0) {
      char c;
      if (read(0, &c, 1) <= 0) return;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  LoadOptions o;
  std::string err;
  if (!ParseLoadOptions(argc, argv, &o, &err)) {
    fprintf(stderr, "tlsload: %s\n%s", err.c_str(), LoadUsage());
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  RaiseFdLimit();
  std::atomic<bool> stop{false};
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < o.threads; i++) {
    long share = o.sessions / o.threads + (i < o.sessions % o.threads ? 1 : 0);
    int conc = o.concurrency / o.threads + (i < o.concurrency % o.threads ? 1 : 0);
    workers.push_back(std::make_unique<Worker>(o, i, share, conc, &stop));
    if (!workers.back()->Init(&err)) {
      fprintf(stderr, "tlsload: %s\n", err.c_str());
      return 1;
    }
  }
  auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->Run(); });
  if (o.mode == Mode::kIdle) {
    auto limit = t0 + std::chrono::milliseconds(static_cast<long>((o.timeout + 5) * 1000));
    for (;;) {
      bool all = true;
      for (auto& w : workers) all = all && w->ready();
      if (all || Clock::now() > limit) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    long held = 0;
    for (auto& w : workers) held += w->held();
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    if (o.json) printf("{\"ready\":true,\"held\":%ld,\"seconds\":%.3f}\n", held, secs);
    else printf("ready held=%ld\n", held);
    fflush(stdout);
    Hold(o.hold);
    stop.store(true);
  }
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  LoadStats total;
  for (auto& w : workers) total.Merge(w->stats());
  fputs(total.Text(seconds).c_str(), stderr);
  if (o.json) printf("%s\n", total.Json(seconds, ModeName(o.mode)).c_str());
  return total.errors() == 0 ? 0 : 1;
}
